"""land procedure periods: disadvantaged communes, a version's period rules, procedure aliases (issue 18)

Revision ID: a18e0e2f3a41
Revises: a18d0d1e2f30
Create Date: 2026-11-30 22:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'a18e0e2f3a41'
down_revision = 'a18d0d1e2f30'
branch_labels = None
depends_on = None


def upgrade():
    # No commune is marked: administrators mark them (docs/domain.md).
    with op.batch_alter_table('unit') as batch:
        batch.add_column(sa.Column('disadvantaged', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('procedure_version') as batch:
        batch.add_column(sa.Column('deadline_rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                            'postgresql'),
                                   nullable=False, server_default='{}'))
    op.create_table(
        'procedure_alias',
        sa.Column('alias', sa.String(length=40), nullable=False),
        sa.Column('procedure_code', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['procedure_code'], ['procedure.code']),
        sa.PrimaryKeyConstraint('alias'),
    )
    op.create_index('ix_procedure_alias_procedure_code', 'procedure_alias', ['procedure_code'])


def downgrade():
    op.drop_index('ix_procedure_alias_procedure_code', table_name='procedure_alias')
    op.drop_table('procedure_alias')
    with op.batch_alter_table('procedure_version') as batch:
        batch.drop_column('deadline_rules')
    with op.batch_alter_table('unit') as batch:
        batch.drop_column('disadvantaged')
