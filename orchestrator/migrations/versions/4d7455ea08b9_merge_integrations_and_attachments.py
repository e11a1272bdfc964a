"""merge integrations and attachments

Revision ID: 4d7455ea08b9
Revises: 519020ea77a7, aef2585bafc5
Create Date: 2026-11-26 08:18:08.863343

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import orchestrator.models.types  # noqa: F401


# revision identifiers, used by Alembic.
revision = '4d7455ea08b9'
down_revision = ('519020ea77a7', 'aef2585bafc5')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
