"""scheduled starts: a version's schedule and one row per dossier a tick opened (issue 17)

Revision ID: a17e0e5f6a7b
Revises: a17c0c4e5f60
Create Date: 2026-11-30 19:15:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'a17e0e5f6a7b'
down_revision = 'a17c0c4e5f60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('procedure_version') as batch:
        batch.add_column(sa.Column('schedule', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                      'postgresql'),
                                   nullable=False, server_default='{}'))
    op.create_table(
        'scheduled_start',
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('tick', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=40), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['procedure_version.id']),
        sa.ForeignKeyConstraint(['unit_code'], ['unit.code']),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id']),
        sa.PrimaryKeyConstraint('version_id', 'tick', 'unit_code'),
    )


def downgrade():
    op.drop_table('scheduled_start')
    with op.batch_alter_table('procedure_version') as batch:
        batch.drop_column('schedule')
