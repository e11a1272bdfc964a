"""connectors: named HTTP calls made by service tasks (issue 17)

Revision ID: a17c0c4e5f60
Revises: a17d0d3a1b2c
Create Date: 2026-11-30 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'a17c0c4e5f60'
down_revision = 'a17d0d3a1b2c'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'connector',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('description', sa.String(length=300), nullable=True),
        sa.Column('method', sa.String(length=8), nullable=False),
        sa.Column('url_template', sa.String(length=500), nullable=False),
        sa.Column('headers', _json(), nullable=False),
        sa.Column('secret_headers', _json(), nullable=False),
        sa.Column('inputs', _json(), nullable=False),
        sa.Column('outputs', _json(), nullable=False),
        sa.Column('timeout_seconds', sa.Float(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('allow_private', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_by', sa.String(length=120), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('scope', 'name'),
    )


def downgrade():
    op.drop_table('connector')
