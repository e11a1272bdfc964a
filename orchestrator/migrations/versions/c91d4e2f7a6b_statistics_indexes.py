"""statistics: indexes for supervisors' figures by province and period

ix_dossier_province_finished (province_code, finished_at): dossiers returned, refused, withdrawn
or stopped in a period; ix_dossier_province_received (province_code, received_at): received in
a period; ix_dossier_open_due (province_code, due_at) WHERE finished_at IS NULL: open dossiers and
the overdue ones, index-only; ix_work_item_completed (completed_at) WHERE state = 'completed':
steps finished in a period. Built CONCURRENTLY on PostgreSQL (no write lock).

Revision ID: c91d4e2f7a6b
Revises: b7e3c91a5d20
Create Date: 2026-11-26 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c91d4e2f7a6b'
down_revision = 'b7e3c91a5d20'
branch_labels = None
depends_on = None

OPEN = sa.text("finished_at IS NULL")
COMPLETED = sa.text("state = 'completed'")
INDEXES = [
    ('ix_dossier_province_finished', 'dossier', ['province_code', 'finished_at'], None),
    ('ix_dossier_province_received', 'dossier', ['province_code', 'received_at'], None),
    ('ix_dossier_open_due', 'dossier', ['province_code', 'due_at'], OPEN),
    ('ix_work_item_completed', 'work_item', ['completed_at'], COMPLETED),
]


def upgrade():
    context = op.get_context()
    if context.dialect.name == 'postgresql':
        with context.autocommit_block():
            for name, table, columns, where in INDEXES:
                op.create_index(name, table, columns, postgresql_where=where, postgresql_concurrently=True)
    else:
        for name, table, columns, where in INDEXES:
            op.create_index(name, table, columns, sqlite_where=where)


def downgrade():
    context = op.get_context()
    if context.dialect.name == 'postgresql':
        with context.autocommit_block():
            for name, table, _columns, _where in INDEXES:
                op.drop_index(name, table_name=table, postgresql_concurrently=True)
    else:
        for name, table, _columns, _where in INDEXES:
            op.drop_index(name, table_name=table)
