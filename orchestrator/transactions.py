"""How a request's transaction ends on PostgreSQL.

psycopg forgets every prepared statement of a connection when it sends ROLLBACK (in case the
transaction dropped something), and Flask-SQLAlchemy ends each request with a rollback. Most
requests only read after their last commit (the answer is read after the step is saved), so
every connection kept losing its prepared statements and no statement was ever prepared:
PostgreSQL parsed and planned each one again. A transaction that wrote nothing ends with COMMIT
instead, which for a read-only transaction is the same thing for the database.
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

_WROTE = "orchestrator.wrote"


def keep_prepared_statements(app: Flask, engine: Engine, db) -> None:
    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _execute(conn, _cursor, statement, _params, _context, _executemany):
        if not statement.startswith("SELECT "):
            conn.info[_WROTE] = True

    @app.teardown_appcontext
    def _end_read_only(exc):  # registered after Flask-SQLAlchemy's, so it runs before its remove()
        if exc is not None or "sqlalchemy" not in app.extensions:
            return
        session = db.session()
        transaction = session.get_transaction()
        if transaction is None or not transaction.is_active or session.new or session.dirty or session.deleted:
            return  # nothing to end, a failed flush to roll back, or changes never flushed: roll back
        if not session.connection().info.get(_WROTE, True):
            session.commit()
