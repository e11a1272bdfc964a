"""officer_digest: (issue 24) officers' choice of a daily email digest of their notifications.

Revision ID: b21ba2b3c4d5
Revises: b21af1a2b3c4
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b21ba2b3c4d5'
down_revision = 'b21af1a2b3c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('digest_enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('digest_email', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('digest_since', UTCDateTime(), nullable=True))
    with op.batch_alter_table('notification') as batch:
        batch.add_column(sa.Column('digested_at', UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('notification') as batch:
        batch.drop_column('digested_at')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('digest_since')
        batch.drop_column('digest_email')
        batch.drop_column('digest_enabled')
