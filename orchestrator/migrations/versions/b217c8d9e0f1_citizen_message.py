"""citizen_message: (issue 24) the notification outbox: one row per message and channel.

Revision ID: b217c8d9e0f1
Revises: b216b7c8d9e0
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import JSONType, UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b217c8d9e0f1'
down_revision = 'b216b7c8d9e0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'citizen_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('event', sa.String(length=60), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('params', JSONType, nullable=False),
        sa.Column('template_id', sa.String(length=100), nullable=True),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('idempotency_key', sa.String(length=64), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.Column('next_attempt_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idempotency_key'),
    )
    op.create_index('ix_citizen_message_dossier_id', 'citizen_message', ['dossier_id'])
    op.create_index('ix_citizen_message_recipient', 'citizen_message', ['recipient', 'created_at'])


def downgrade():
    op.drop_index('ix_citizen_message_recipient', table_name='citizen_message')
    op.drop_index('ix_citizen_message_dossier_id', table_name='citizen_message')
    op.drop_table('citizen_message')
