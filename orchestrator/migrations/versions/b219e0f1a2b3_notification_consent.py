"""notification_consent: (issue 24) the citizen's chosen channels and contacts per dossier.

Revision ID: b219e0f1a2b3
Revises: b218d9e0f1a2
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import JSONType


# revision identifiers, used by Alembic.
revision = 'b219e0f1a2b3'
down_revision = 'b218d9e0f1a2'
branch_labels = None
depends_on = None


def upgrade():
    # {"channels": ["email", "sms", "zalo"], "email": ..., "phone": ...}; NULL: the citizen chose nothing
    with op.batch_alter_table('dossier') as batch:
        batch.add_column(sa.Column('notify', JSONType, nullable=True))


def downgrade():
    with op.batch_alter_table('dossier') as batch:
        batch.drop_column('notify')
