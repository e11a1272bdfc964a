"""designer_safety_nets: (issue 22) designers' safety nets.

Revision ID: b213e4f5a6b7
Revises: b212d3e4f5a6
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b213e4f5a6b7'
down_revision = 'b212d3e4f5a6'
branch_labels = None
depends_on = None


def upgrade():
    # SHA-256 of a version's normalised diagram: an identical upload in a scope is refused (409)
    with op.batch_alter_table("procedure_version") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("procedure_version") as batch:
        batch.drop_column("content_hash")
