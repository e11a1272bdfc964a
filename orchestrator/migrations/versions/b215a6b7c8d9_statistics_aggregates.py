"""statistics_aggregates: (issue 23) per-day aggregates behind the supervisors' statistics.

Revision ID: b215a6b7c8d9
Revises: b214f5a6b7c8
Create Date: 2026-12-01 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b215a6b7c8d9'
down_revision = 'b214f5a6b7c8'
branch_labels = None
depends_on = None


def upgrade():
    # Recounted by the worker's `stat_fold` job (and `flask stats-rebuild`): empty here, so run
    # `flask stats-rebuild` once after upgrading a database that already holds dossiers.
    op.create_table(
        "stat_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False)
          for name in ("received", "early", "on_time", "late", "refused", "withdrawn", "stopped")],
        sa.PrimaryKeyConstraint("day", "province_code", "commune_code", "procedure_code"),
    )
    op.create_table(
        "stat_unit_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("unit_code", sa.String(40), nullable=False),
        sa.Column("commune_code", sa.String(5), nullable=False),
        sa.Column("steps_done", sa.Integer(), nullable=False),
        sa.Column("steps_late", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("timed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "unit_code", "commune_code"),
    )
    op.create_table(
        "stat_fold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folded_to", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("stat_fold")
    op.drop_table("stat_unit_day")
    op.drop_table("stat_day")
