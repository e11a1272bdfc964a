"""demo_accounts: (issue 21) user_account.demo marks the accounts `flask load-examples` made, so
`flask check` and /readyz report those still on the demo password.

Revision ID: a197b8c9d0e1
Revises: a194e5f6a7b8
Create Date: 2026-12-01 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a197b8c9d0e1'
down_revision = 'a194e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("demo")
