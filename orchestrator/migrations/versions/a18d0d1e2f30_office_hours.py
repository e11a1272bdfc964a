"""office_hours: a province's own office hours and same-day cut-off (issue 18)

Revision ID: a18d0d1e2f30
Revises: a18c0ca1e0d1
Create Date: 2026-11-30 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a18d0d1e2f30'
down_revision = 'a18c0ca1e0d1'  # after calendar_day.confirmed (issue 18), one head
branch_labels = None
depends_on = None


def upgrade():
    # No row: the national defaults (07:30–11:30, 13:00–17:00, same-day cut-off 15:00).
    op.create_table(
        'office_hours',
        sa.Column('scope', sa.String(length=10), nullable=False),
        sa.Column('morning_start', sa.Time(), nullable=False),
        sa.Column('morning_end', sa.Time(), nullable=False),
        sa.Column('afternoon_start', sa.Time(), nullable=False),
        sa.Column('afternoon_end', sa.Time(), nullable=False),
        sa.Column('same_day_cutoff', sa.Time(), nullable=False),
        sa.PrimaryKeyConstraint('scope'),
    )


def downgrade():
    op.drop_table('office_hours')
