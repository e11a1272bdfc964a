"""credential_generation: (issue 21) per-user credential generation for revocation.

A user's sessions and tokens carry the generation they were issued in; bumping the user's
generation (password reset, deactivation, a role removed, logout) revokes them all at once.

Revision ID: b211c2d3e4f5
Revises: a197b8c9d0e1
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b211c2d3e4f5'
down_revision = 'a197b8c9d0e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('credential_generation', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('user_token') as batch:
        batch.add_column(sa.Column('generation', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('user_token') as batch:
        batch.drop_column('generation')
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('credential_generation')
