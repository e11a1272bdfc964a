"""throttle: failed attempts per key (login per username and per address, the tracking page's
phone digits per dossier code and address) with growing backoff (issue 21)

Revision ID: a194e5f6a7b8
Revises: a193d4e5f6a7
Create Date: 2026-12-01 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import orchestrator.models.types


# revision identifiers, used by Alembic.
revision = 'a194e5f6a7b8'
down_revision = 'a193d4e5f6a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'throttle',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('blocked_until', orchestrator.models.types.UTCDateTime(), nullable=True),
        sa.Column('last_failure_at', orchestrator.models.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )


def downgrade():
    op.drop_table('throttle')
