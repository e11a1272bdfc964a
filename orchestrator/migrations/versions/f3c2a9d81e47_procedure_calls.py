"""procedure calls: a version's call activities that call a procedure of the library, with the
called version pinned at publish (issue 16)

Revision ID: f3c2a9d81e47
Revises: e5a1f07c3b92
Create Date: 2026-11-30 16:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3c2a9d81e47'
down_revision = 'e5a1f07c3b92'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'procedure_call',
        sa.Column('caller_version_id', sa.Integer(), nullable=False),
        sa.Column('element_id', sa.String(length=200), nullable=False),
        sa.Column('callee_code', sa.String(length=40), nullable=False),
        sa.Column('callee_version_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['caller_version_id'], ['procedure_version.id'], ),
        sa.ForeignKeyConstraint(['callee_version_id'], ['procedure_version.id'], ),
        sa.PrimaryKeyConstraint('caller_version_id', 'element_id'),
    )
    op.create_index(op.f('ix_procedure_call_callee_code'), 'procedure_call', ['callee_code'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_procedure_call_callee_code'), table_name='procedure_call')
    op.drop_table('procedure_call')
