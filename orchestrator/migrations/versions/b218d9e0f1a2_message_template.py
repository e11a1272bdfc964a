"""message_template: (issue 24) notification templates per event, channel and province.

Revision ID: b218d9e0f1a2
Revises: b217c8d9e0f1
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b218d9e0f1a2'
down_revision = 'b217c8d9e0f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "message_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("province_code", sa.String(length=10), nullable=True),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("zns_template_id", sa.String(length=100), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.UniqueConstraint("province_code", "event", "channel", name="uq_message_template"),
    )
    op.create_index("uq_message_template_national", "message_template", ["event", "channel"], unique=True,
                    sqlite_where=sa.text("province_code IS NULL"),
                    postgresql_where=sa.text("province_code IS NULL"))


def downgrade():
    op.drop_index("uq_message_template_national", table_name="message_template")
    op.drop_table("message_template")
