"""stat_open: (issue 23) the open work and open dossiers as of the worker's last snapshot.

Revision ID: b216b7c8d9e0
Revises: b215a6b7c8d9
Create Date: 2026-12-01 13:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b216b7c8d9e0'
down_revision = 'b215a6b7c8d9'
branch_labels = None
depends_on = None


def upgrade():
    # Replaced by the worker's `stat_fold` job (and `flask stats-rebuild`); while `open_taken_at` is
    # NULL (before the first fold) the statistics count the open work live.
    op.create_table(
        "stat_open",
        sa.Column("kind", sa.String(8), nullable=False),  # "dossier" or "step"
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("step_name", sa.String(300), nullable=False),  # "" for dossiers
        sa.Column("unit_code", sa.String(40), nullable=False),  # "" for dossiers
        sa.Column("open", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column("oldest_due_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "province_code", "commune_code", "procedure_code", "step_name", "unit_code"),
    )
    op.add_column("stat_fold", sa.Column("open_taken_at", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("stat_fold") as batch:
        batch.drop_column("open_taken_at")
    op.drop_table("stat_open")
