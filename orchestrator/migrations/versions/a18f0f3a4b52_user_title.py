"""user_account.title: a leader's title (chức vụ), printed under the signature of the apology
letter and the stop notice issued in the name of the unit at fault (issue 18)

Revision ID: a18f0f3a4b52
Revises: a18e0e2f3a41
Create Date: 2026-11-30 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a18f0f3a4b52'
down_revision = 'a18e0e2f3a41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('title', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('title')
