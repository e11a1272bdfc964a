"""integrators: one scope each, names unique per scope; webhook subscriptions owned by a key

integrator.scope ("VN" or a province code) is filled from the provinces of the integrator's keys:
exactly one province -> that province; several, VN, or no key -> VN. The unique name becomes
unique (scope, name) (uq_integrator_scope_name), so a province can register a name another
province already uses without reaching that one's integrator (security review, issue 14 point 2).

webhook_subscription.api_key_id: the key a subscription belongs to (it gets the events of that
key's provinces only). Existing subscriptions go to their integrator's newest key not revoked, else
its newest key; a subscription whose integrator has no key at all could never deliver (delivery
already required a key) and is dropped.

On SQLite the two tables are rebuilt (batch mode) with foreign keys enforced, and dropping the old
table would cascade-delete api_key, webhook_subscription and webhook_delivery rows: those are copied
to temporary tables first and put back after.

Revision ID: e5a1f07c3b92
Revises: c91d4e2f7a6b
Create Date: 2026-11-27 09:00:00.000000

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

from orchestrator.models.types import JSONType


# revision identifiers, used by Alembic.
revision = 'e5a1f07c3b92'
down_revision = 'c91d4e2f7a6b'
branch_labels = None
depends_on = None

# Children that a rebuild of integrator or webhook_subscription would cascade-delete on SQLite.
CHILDREN = ('api_key', 'webhook_subscription', 'webhook_delivery')
NAMING = {'uq': 'uq_%(table_name)s_%(column_0_name)s'}

integrator = sa.table('integrator', sa.column('id', sa.Integer), sa.column('scope', sa.String),
                      sa.column('name', sa.String))
api_key = sa.table('api_key', sa.column('id', sa.Integer), sa.column('integrator_id', sa.Integer),
                   sa.column('provinces', JSONType), sa.column('revoked_at', sa.DateTime))
subscription = sa.table('webhook_subscription', sa.column('id', sa.Integer), sa.column('integrator_id', sa.Integer),
                        sa.column('api_key_id', sa.Integer))


@contextmanager
def _children_kept(bind):
    """SQLite: keep the rows a table rebuild would cascade-delete, and put them back after."""
    if bind.dialect.name != 'sqlite':
        yield
        return
    for table in CHILDREN:
        bind.exec_driver_sql(f'CREATE TEMP TABLE _keep_{table} AS SELECT * FROM {table}')
    yield
    for table in CHILDREN:
        now = {row[1] for row in bind.exec_driver_sql(f'PRAGMA main.table_info({table})')}
        columns = ', '.join(row[1] for row in bind.exec_driver_sql(f'PRAGMA temp.table_info(_keep_{table})')
                            if row[1] in now)
        bind.exec_driver_sql(f'DELETE FROM {table}')
        bind.exec_driver_sql(f'INSERT INTO {table} ({columns}) SELECT {columns} FROM temp._keep_{table}')
        bind.exec_driver_sql(f'DROP TABLE temp._keep_{table}')
    broken = bind.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
    if broken:
        raise RuntimeError(f'foreign keys broken after the rebuild: {broken[:5]}')


def _unique_name_constraint(bind) -> str:
    """The name of the old UNIQUE (name) on integrator (integrator_name_key as created); an
    unnamed one on SQLite gets its name from NAMING in batch mode."""
    for constraint in sa.inspect(bind).get_unique_constraints('integrator'):
        if constraint['column_names'] == ['name']:
            return constraint['name'] or 'uq_integrator_name'
    raise RuntimeError('UNIQUE (name) on integrator not found')


def _as_list(value):
    if isinstance(value, str):  # JSON read back as text by a driver that does not decode it
        import json
        return json.loads(value)
    return list(value or [])


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('integrator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=10), nullable=True))
    with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key_id', sa.Integer(), nullable=True))

    provinces: dict[int, set] = {}
    newest: dict[int, tuple] = {}  # integrator id -> (not revoked, key id) of its preferred key
    for key_id, integrator_id, codes, revoked_at in bind.execute(
            sa.select(api_key.c.id, api_key.c.integrator_id, api_key.c.provinces, api_key.c.revoked_at)):
        provinces.setdefault(integrator_id, set()).update(_as_list(codes))
        rank = (revoked_at is None, key_id)
        newest[integrator_id] = max(newest.get(integrator_id, rank), rank)
    for (integrator_id,) in bind.execute(sa.select(integrator.c.id)):
        codes = provinces.get(integrator_id, set())
        scope = next(iter(codes)) if len(codes) == 1 else 'VN'
        bind.execute(integrator.update().where(integrator.c.id == integrator_id).values(scope=scope))
    for integrator_id, (_active, key_id) in newest.items():
        bind.execute(subscription.update().where(subscription.c.integrator_id == integrator_id)
                     .values(api_key_id=key_id))
    bind.execute(subscription.delete().where(subscription.c.api_key_id.is_(None)))

    old_unique = _unique_name_constraint(bind)
    with _children_kept(bind):
        with op.batch_alter_table('integrator', schema=None, naming_convention=NAMING) as batch_op:
            batch_op.alter_column('scope', existing_type=sa.String(length=10), nullable=False)
            batch_op.drop_constraint(old_unique, type_='unique')
            batch_op.create_unique_constraint('uq_integrator_scope_name', ['scope', 'name'])
        with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
            batch_op.alter_column('api_key_id', existing_type=sa.Integer(), nullable=False)
            batch_op.create_foreign_key('fk_webhook_subscription_api_key_id_api_key', 'api_key',
                                        ['api_key_id'], ['id'], ondelete='CASCADE')
            batch_op.create_index(batch_op.f('ix_webhook_subscription_api_key_id'), ['api_key_id'], unique=False)


def downgrade():
    bind = op.get_bind()
    # Names were unique per scope only: make them unique again before restoring UNIQUE (name).
    seen: set[str] = set()
    for integrator_id, scope, name in bind.execute(
            sa.select(integrator.c.id, integrator.c.scope, integrator.c.name).order_by(integrator.c.id)):
        if name in seen:
            name = f'{name} ({scope} #{integrator_id})'[:120]
            bind.execute(integrator.update().where(integrator.c.id == integrator_id).values(name=name))
        seen.add(name)
    with _children_kept(bind):
        with op.batch_alter_table('webhook_subscription', schema=None) as batch_op:
            batch_op.drop_index(batch_op.f('ix_webhook_subscription_api_key_id'))
            batch_op.drop_constraint('fk_webhook_subscription_api_key_id_api_key', type_='foreignkey')
            batch_op.drop_column('api_key_id')
        with op.batch_alter_table('integrator', schema=None) as batch_op:
            batch_op.drop_constraint('uq_integrator_scope_name', type_='unique')
            batch_op.create_unique_constraint('integrator_name_key', ['name'])
            batch_op.drop_column('scope')
