"""webhook_delivery: the dossier it tells about and its sequence number per (subscription,
dossier), so receivers can order deliveries and integrators filter their log (issue 20)

Revision ID: a193d4e5f6a7
Revises: a192c3d4e5f6
Create Date: 2026-12-01 04:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a193d4e5f6a7'
down_revision = 'a192c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_delivery') as batch:
        batch.add_column(sa.Column('dossier_code', sa.String(length=80), nullable=True))
        batch.add_column(sa.Column('sequence', sa.Integer(), nullable=True))
    op.create_index('ix_webhook_delivery_dossier', 'webhook_delivery', ['subscription_id', 'dossier_code', 'sequence'])


def downgrade():
    op.drop_index('ix_webhook_delivery_dossier', table_name='webhook_delivery')
    with op.batch_alter_table('webhook_delivery') as batch:
        batch.drop_column('sequence')
        batch.drop_column('dossier_code')
