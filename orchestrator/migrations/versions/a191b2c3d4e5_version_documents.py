"""procedure_version.documents: the documents a citizen brings for this version (thành phần hồ
sơ), a list designers edit, printed on the receipt (issue 19)

Revision ID: a191b2c3d4e5
Revises: a190a1b2c3d4
Create Date: 2026-12-01 03:30:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'a191b2c3d4e5'
down_revision = 'a190a1b2c3d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('procedure_version') as batch:
        batch.add_column(sa.Column('documents', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                       'postgresql'),
                                   nullable=False, server_default='[]'))


def downgrade():
    with op.batch_alter_table('procedure_version') as batch:
        batch.drop_column('documents')
