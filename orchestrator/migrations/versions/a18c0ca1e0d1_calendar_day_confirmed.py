"""calendar_day.confirmed: a declared day only reported by secondary sources, until an
administrator confirms it (issue 18)

Revision ID: a18c0ca1e0d1
Revises: a18b0b5c7d2e
Create Date: 2026-11-30 20:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a18c0ca1e0d1'
down_revision = 'a18b0b5c7d2e'  # after the supplement window (issue 18), one head
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calendar_day') as batch:
        batch.add_column(sa.Column('confirmed', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('calendar_day') as batch:
        batch.drop_column('confirmed')
