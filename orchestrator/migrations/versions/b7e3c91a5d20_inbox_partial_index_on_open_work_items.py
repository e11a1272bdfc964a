"""inbox: partial index on open work items, in the inbox's order

Replaces ix_work_item_inbox (unit_code, role, state) by ix_work_item_open_inbox on
(unit_code, role, due_at, created_at, id) INCLUDE (assignee_id) WHERE state = 'open':
only open items are indexed (about a tenth of the rows), the first inbox page is read in
index order (due_at ASC NULLS LAST, created_at, id) without sorting the unit's whole backlog,
and the counts are an index-only scan. Every query on unit_code/role filters state = 'open'.
On PostgreSQL the indexes are built and dropped CONCURRENTLY (no write lock on work_item).

Revision ID: b7e3c91a5d20
Revises: 4d7455ea08b9
Create Date: 2026-11-26 09:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3c91a5d20'
down_revision = '4d7455ea08b9'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")
COLUMNS = ['unit_code', 'role', 'due_at', 'created_at', 'id']


def upgrade():
    context = op.get_context()
    if context.dialect.name == 'postgresql':
        with context.autocommit_block():
            op.create_index('ix_work_item_open_inbox', 'work_item', COLUMNS, unique=False, postgresql_where=OPEN,
                            postgresql_include=['assignee_id'], postgresql_concurrently=True)
            op.drop_index('ix_work_item_inbox', table_name='work_item', postgresql_concurrently=True)
    else:
        op.create_index('ix_work_item_open_inbox', 'work_item', COLUMNS, unique=False, sqlite_where=OPEN)
        op.drop_index('ix_work_item_inbox', table_name='work_item')


def downgrade():
    context = op.get_context()
    if context.dialect.name == 'postgresql':
        with context.autocommit_block():
            op.create_index('ix_work_item_inbox', 'work_item', ['unit_code', 'role', 'state'], unique=False,
                            postgresql_concurrently=True)
            op.drop_index('ix_work_item_open_inbox', table_name='work_item', postgresql_concurrently=True)
    else:
        op.create_index('ix_work_item_inbox', 'work_item', ['unit_code', 'role', 'state'], unique=False)
        op.drop_index('ix_work_item_open_inbox', table_name='work_item')
