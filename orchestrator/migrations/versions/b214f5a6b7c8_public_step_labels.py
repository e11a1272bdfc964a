"""public_step_labels: (issue 22) public step labels for citizen tracking: the units' contact columns.

Revision ID: b214f5a6b7c8
Revises: b213e4f5a6b7
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b214f5a6b7c8'
down_revision = 'b213e4f5a6b7'
branch_labels = None
depends_on = None


def upgrade():
    # The receiving unit's contact on the citizens' tracking page (public step labels live in the
    # diagram, as the `publicLabel` property of each step, like its deadline).
    with op.batch_alter_table("unit") as batch:
        batch.add_column(sa.Column("address", sa.String(300), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(40), nullable=True))


def downgrade():
    with op.batch_alter_table("unit") as batch:
        batch.drop_column("phone")
        batch.drop_column("address")
