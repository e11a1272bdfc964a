"""decision tables: the DMN documents uploaded with a procedure version (issue 17)

Revision ID: a17d0d3a1b2c
Revises: f3c2a9d81e47
Create Date: 2026-11-30 18:20:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'a17d0d3a1b2c'
down_revision = 'f3c2a9d81e47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('procedure_version') as batch:
        batch.add_column(sa.Column('decisions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                       'postgresql'),
                                   nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('procedure_version') as batch:
        batch.drop_column('decisions')
