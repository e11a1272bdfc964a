"""search: unit.name_folded and dossier.search_text, folded in Python, with their indexes (issue 19)

Vietnamese search folds case, diacritics, "đ" and the Unicode form the same way on SQLite and
PostgreSQL (`orchestrator.text.fold`), over stored columns the models keep on every write. This
migration adds them, fills existing rows in batches (and stores their people-entered names NFC),
then indexes them: on PostgreSQL a GIN trigram index (extension pg_trgm) serves `%word%`; when the
database user may not create the extension, a plain btree index; on SQLite a plain index.

Revision ID: a190a1b2c3d4
Revises: a18f0f3a4b52
Create Date: 2026-11-30 21:30:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from orchestrator.text import dossier_search_text, fold, nfc


# revision identifiers, used by Alembic.
revision = 'a190a1b2c3d4'
down_revision = 'a18f0f3a4b52'  # after user.title (issue 19), one head
branch_labels = None
depends_on = None

BATCH = 2000
JSON = sa.JSON().with_variant(JSONB(), 'postgresql')
UNIT = sa.table('unit', sa.column('code', sa.String), sa.column('name', sa.String),
                sa.column('name_folded', sa.String))
DOSSIER = sa.table('dossier', sa.column('id', sa.Integer), sa.column('code', sa.String),
                   sa.column('applicant', JSON), sa.column('search_text', sa.Text))
INDEXES = [('ix_unit_name_folded', 'unit', 'name_folded'), ('ix_dossier_search_text', 'dossier', 'search_text')]


def _nfc_applicant(applicant):
    if not isinstance(applicant, dict):
        return applicant
    return {k: nfc(v) if isinstance(v, str) else v for k, v in applicant.items()}


def backfill(connection, batch: int = BATCH) -> tuple[int, int]:
    """Fold every unit's name and every dossier's searched fields, `batch` rows at a time (keyset
    order, so memory stays flat on millions of dossiers); returns (units, dossiers) written."""
    units = dossiers = 0
    last = ''
    while True:
        rows = connection.execute(sa.select(UNIT.c.code, UNIT.c.name).where(UNIT.c.code > last)
                                  .order_by(UNIT.c.code).limit(batch)).all()
        if not rows:
            break
        connection.execute(UNIT.update().where(UNIT.c.code == sa.bindparam('k'))
                           .values(name=sa.bindparam('n'), name_folded=sa.bindparam('f')),
                           [{'k': code, 'n': nfc(name), 'f': fold(name)} for code, name in rows])
        units += len(rows)
        last = rows[-1][0]
    last_id = 0
    while True:
        rows = connection.execute(sa.select(DOSSIER.c.id, DOSSIER.c.code, DOSSIER.c.applicant)
                                  .where(DOSSIER.c.id > last_id).order_by(DOSSIER.c.id).limit(batch)).all()
        if not rows:
            break
        params = []
        for id_, code, applicant in rows:
            if isinstance(applicant, str):  # a driver that hands JSON back as text
                applicant = json.loads(applicant)
            applicant = _nfc_applicant(applicant)
            params.append({'k': id_, 'a': applicant, 's': dossier_search_text(code, applicant)})
        connection.execute(DOSSIER.update().where(DOSSIER.c.id == sa.bindparam('k'))
                           .values(applicant=sa.bindparam('a', type_=JSON), search_text=sa.bindparam('s')), params)
        dossiers += len(rows)
        last_id = rows[-1][0]
    return units, dossiers


def _trigram_available(bind) -> bool:
    """Create pg_trgm if the user may; a refusal (no privilege) leaves the transaction usable."""
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
        return True
    except sa.exc.DBAPIError:
        return False


def upgrade():
    op.add_column('unit', sa.Column('name_folded', sa.String(200), nullable=True))
    op.add_column('dossier', sa.Column('search_text', sa.Text(), nullable=True))
    bind = op.get_bind()
    backfill(bind)
    if bind.dialect.name == 'postgresql':
        trigram = _trigram_available(bind)
        for name, table, column in INDEXES:
            if trigram:
                op.create_index(name, table, [column], postgresql_using='gin',
                                postgresql_ops={column: 'gin_trgm_ops'})
            else:  # serves equality and prefixes only; `%word%` scans
                op.create_index(name, table, [column])
    else:
        for name, table, column in INDEXES:
            op.create_index(name, table, [column])


def downgrade():
    for name, table, _column in INDEXES:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table('dossier') as batch:
        batch.drop_column('search_text')
    with op.batch_alter_table('unit') as batch:
        batch.drop_column('name_folded')
