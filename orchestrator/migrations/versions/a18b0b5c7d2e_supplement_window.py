"""supplement window per procedure version, off (null) unless set (issue 18)

Revision ID: a18b0b5c7d2e
Revises: a17e0e5f6a7b
Create Date: 2026-11-30 20:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a18b0b5c7d2e'
down_revision = 'a17e0e5f6a7b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('procedure_version') as batch:
        batch.add_column(sa.Column('supplement_window_days', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('procedure_version') as batch:
        batch.drop_column('supplement_window_days')
