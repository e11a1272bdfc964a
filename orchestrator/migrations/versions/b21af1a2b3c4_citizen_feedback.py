"""citizen_feedback: (issue 24) ratings and feedback from citizens, and the answers.

Revision ID: b21af1a2b3c4
Revises: b219e0f1a2b3
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'b21af1a2b3c4'
down_revision = 'b219e0f1a2b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'citizen_rating',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('comment', sa.String(length=1000), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint('score BETWEEN 1 AND 5', name='ck_citizen_rating_score'),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dossier_id'),
    )
    op.create_table(
        'citizen_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=True),
        sa.Column('procedure_code', sa.String(length=40), nullable=True),
        sa.Column('province_code', sa.String(length=2), nullable=False),
        sa.Column('unit_code', sa.String(length=40), nullable=True),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('contact_email', sa.String(length=254), nullable=True),
        sa.Column('contact_phone', sa.String(length=20), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_by', sa.String(length=120), nullable=True),
        sa.Column('answered_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_citizen_feedback_dossier_id', 'citizen_feedback', ['dossier_id'])
    op.create_index('ix_citizen_feedback_province', 'citizen_feedback', ['province_code', 'created_at'])


def downgrade():
    op.drop_index('ix_citizen_feedback_province', table_name='citizen_feedback')
    op.drop_index('ix_citizen_feedback_dossier_id', table_name='citizen_feedback')
    op.drop_table('citizen_feedback')
    op.drop_table('citizen_rating')
