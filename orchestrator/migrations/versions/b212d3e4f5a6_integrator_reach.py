"""integrator_reach: (issue 21) which integrator created a dossier; the events a key may send.

dossier.created_by_integrator_id (FK integrator.id, ON DELETE SET NULL): the integrator whose key
submitted the dossier; only it acts for the citizen on it (withdraw, supplement, attachments).
Existing dossiers whose created_by is "integrator:<name>" get the integrator of that name when
exactly one has scope VN or the dossier's province; otherwise (none, or ambiguous) it stays NULL,
and no key may act for the citizen on that dossier (officers still may).

api_key.events: the event names a key may send, ["*"] for all; existing keys get ["*"] (nullable:
NULL reads as all, so the table is not rebuilt on SQLite).

Revision ID: b212d3e4f5a6
Revises: b211c2d3e4f5
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import JSONType


# revision identifiers, used by Alembic.
revision = 'b212d3e4f5a6'
down_revision = 'b211c2d3e4f5'
branch_labels = None
depends_on = None

FK = 'fk_dossier_created_by_integrator'

dossier = sa.table('dossier', sa.column('id', sa.Integer), sa.column('created_by', sa.String),
                   sa.column('province_code', sa.String), sa.column('created_by_integrator_id', sa.Integer))
integrator = sa.table('integrator', sa.column('id', sa.Integer), sa.column('scope', sa.String),
                      sa.column('name', sa.String))
api_key = sa.table('api_key', sa.column('id', sa.Integer), sa.column('events', JSONType))


def backfill(connection) -> int:
    """One portable UPDATE (SQLite and PostgreSQL): dossiers created by "integrator:<name>" get the
    one integrator of that name whose scope is VN or the dossier's province; returns rows written."""
    match = sa.and_(sa.literal('integrator:') + integrator.c.name == dossier.c.created_by,
                    sa.or_(integrator.c.scope == 'VN', integrator.c.scope == dossier.c.province_code))
    only = sa.select(sa.func.min(integrator.c.id)).where(match).scalar_subquery()
    count = sa.select(sa.func.count(integrator.c.id)).where(match).scalar_subquery()
    result = connection.execute(dossier.update()
                                .where(dossier.c.created_by.like('integrator:%'),
                                       dossier.c.created_by_integrator_id.is_(None), count == 1)
                                .values(created_by_integrator_id=only))
    return result.rowcount


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        # ADD COLUMN ... REFERENCES: no table rebuild (which would cascade-delete the dossier's children)
        op.execute('ALTER TABLE dossier ADD COLUMN created_by_integrator_id INTEGER '
                   f'CONSTRAINT {FK} REFERENCES integrator (id) ON DELETE SET NULL')
    else:
        op.add_column('dossier', sa.Column('created_by_integrator_id', sa.Integer(), nullable=True))
        op.create_foreign_key(FK, 'dossier', 'integrator', ['created_by_integrator_id'], ['id'], ondelete='SET NULL')
    op.add_column('api_key', sa.Column('events', JSONType, nullable=True))
    bind.execute(api_key.update().values(events=['*']))
    backfill(bind)


def downgrade():
    bind = op.get_bind()
    op.drop_column('api_key', 'events')
    if bind.dialect.name == 'sqlite':
        # SQLite cannot DROP a column a foreign key uses: rebuild the table (batch mode)
        with op.batch_alter_table('dossier', schema=None) as batch_op:
            batch_op.drop_column('created_by_integrator_id')
    else:
        op.drop_constraint(FK, 'dossier', type_='foreignkey')
        op.drop_column('dossier', 'created_by_integrator_id')
