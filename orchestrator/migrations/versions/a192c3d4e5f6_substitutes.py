"""substitute: an officer's substitute for a period of absence, set by a leader of the unit;
new work for the officer goes to the substitute (issue 19)

Revision ID: a192c3d4e5f6
Revises: a191b2c3d4e5
Create Date: 2026-12-01 03:31:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a192c3d4e5f6'
down_revision = 'a191b2c3d4e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'substitute',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('substitute_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('set_by', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['substitute_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_substitute_user_period', 'substitute', ['user_id', 'starts_on', 'ends_on'])
    op.create_index('ix_notification_unread', 'notification', ['user_id', 'read_at', 'id'])


def downgrade():
    op.drop_index('ix_notification_unread', table_name='notification')
    op.drop_index('ix_substitute_user_period', table_name='substitute')
    op.drop_table('substitute')
