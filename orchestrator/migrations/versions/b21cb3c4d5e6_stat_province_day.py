"""stat_province_day: (issue 23) per-day statistics per province and procedure, and the province of each unit's day.

Revision ID: b21cb3c4d5e6
Revises: b21ba2b3c4d5
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b21cb3c4d5e6'
down_revision = 'b21ba2b3c4d5'
branch_labels = None
depends_on = None

FIGURES = ("received", "early", "on_time", "late", "refused", "withdrawn", "stopped")


def upgrade():
    # Filled here from what the aggregates already hold, so an upgraded database needs no
    # `flask stats-rebuild`; the worker's fold and the rebuild keep them from now on.
    op.create_table(
        "stat_province_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in FIGURES],
        sa.PrimaryKeyConstraint("day", "province_code", "procedure_code"),
    )
    sums = ", ".join(f"sum({name})" for name in FIGURES)
    op.execute(f"INSERT INTO stat_province_day (day, province_code, procedure_code, {', '.join(FIGURES)}) "
               f"SELECT day, province_code, procedure_code, {sums} FROM stat_day "
               "GROUP BY day, province_code, procedure_code")
    op.add_column("stat_unit_day", sa.Column("province_code", sa.String(2), nullable=True))
    op.execute("UPDATE stat_unit_day SET province_code = "
               "(SELECT unit.province_code FROM unit WHERE unit.code = stat_unit_day.unit_code)")
    # covering on PostgreSQL: a period's units are summed from the index alone
    measured = ["unit_code", "steps_done", "steps_late", "seconds", "timed"]
    op.create_index("ix_stat_unit_day_province_day", "stat_unit_day", ["province_code", "day"],
                    postgresql_include=measured)
    op.create_index("ix_stat_unit_day_day", "stat_unit_day", ["day"], postgresql_include=measured)


def downgrade():
    op.drop_index("ix_stat_unit_day_day", table_name="stat_unit_day")
    op.drop_index("ix_stat_unit_day_province_day", table_name="stat_unit_day")
    with op.batch_alter_table("stat_unit_day") as batch:
        batch.drop_column("province_code")
    op.drop_table("stat_province_day")
