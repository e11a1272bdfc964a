"""BPMN orchestrator for Vietnamese administrative procedures: the app factory."""
from __future__ import annotations

import os
import re

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from . import headers
from .config import Config, require_secret_key
from .extensions import db, limiter, migrate
from .transactions import keep_prepared_statements

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")


def _sqlite_pragmas(engine: Engine) -> None:
    """SQLite as the embedded store: WAL, a busy timeout, foreign keys and BEGIN IMMEDIATE,
    so that writers queue instead of failing and a step's read and write are atomic."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _prepare_threshold(app: Flask) -> None:
    value = str(app.config.get("DATABASE_PREPARE_THRESHOLD", "5")).strip().lower()
    if value in ("none", "off", ""):
        threshold = None
    elif value.isdigit():
        threshold = int(value)
    else:
        raise RuntimeError(f"DATABASE_PREPARE_THRESHOLD must be a whole number or 'none', not {value!r}")
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {**(options.get("connect_args") or {}), "prepare_threshold": threshold}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, read the client's address and scheme from their
    X-Forwarded-For/-Proto (rate limits then count the client, not the proxy). Unset (0), those
    headers are ignored: anyone can send them."""
    value = str(app.config.get("TRUSTED_PROXIES") or "0").strip()
    if not value.isdigit():
        raise RuntimeError(f"TRUSTED_PROXIES must be a whole number of proxy hops, not {value!r}")
    if int(value):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(value), x_proto=int(value))


_HASH_METHOD = re.compile(r"scrypt(:\d{1,7}:\d{1,3}:\d{1,3})?|pbkdf2:sha256(:\d{1,8})?")


def _password_hash_method(app: Flask) -> None:
    """PASSWORD_HASH_METHOD is a werkzeug method: scrypt[:n:r:p] or pbkdf2:sha256[:iterations]."""
    value = str(app.config.get("PASSWORD_HASH_METHOD") or "scrypt").strip()
    if not _HASH_METHOD.fullmatch(value):
        raise RuntimeError(f"PASSWORD_HASH_METHOD must be scrypt[:n:r:p] or pbkdf2:sha256[:iterations], not {value!r}")
    app.config["PASSWORD_HASH_METHOD"] = value


_mail_mode_said: set = set()


def _say_mail_mode(app: Flask) -> None:
    """Once per process at start-up: where citizens' emails go when no SMTP server is configured
    (the log, as a development catch-all) — never a silent drop (docs/notifications.md)."""
    import logging

    if app.config.get("SMTP_HOST") or "no-smtp" in _mail_mode_said:
        return
    _mail_mode_said.add("no-smtp")
    logging.getLogger("orchestrator.messages").warning(
        "SMTP_HOST is not set: citizens' emails are written to the log (recipient masked), not sent")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    app.json.sort_keys = False  # keys in the schemas' order; sorting every answer costs CPU for nothing
    if config:
        app.config.update(config)
    require_secret_key(app)
    _trust_proxies(app)
    _password_hash_method(app)
    headers.init_app(app)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = uri = uri.replace("postgresql://", "postgresql+psycopg://", 1)
    if uri.startswith("postgresql+psycopg://"):
        _prepare_threshold(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_pragmas(db.engine)
        elif db.engine.dialect.name == "postgresql":
            keep_prepared_statements(app, db.engine, db)

    from admin import bp as admin_bp
    from api import init_api

    init_api(app)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    from admin.public import public_bp

    app.register_blueprint(public_bp)  # the home page / and the citizens' tracking page /tra-cuu
    limiter.init_app(app)  # after every view module is imported, so their limits are known

    from . import cli

    cli.register(app)
    _say_mail_mode(app)

    @app.get("/healthz")
    def healthz():
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        """Readiness: the database answers and its schema is the one this code expects. Demo accounts
        still on the demo password are listed; with DEMO_ACCOUNTS_ALLOWED=false (production) they make
        the instance not ready."""
        from .services.checks import demo_accounts_on_default_password, schema_is_current

        try:
            current = schema_is_current(db.session, MIGRATIONS_DIR)
            demo = demo_accounts_on_default_password(db.session, app.config["DEMO_PASSWORD"]) if current else []
        except Exception as exc:  # noqa: BLE001 - any database failure means not ready
            db.session.rollback()
            return {"status": "unavailable", "reason": exc.__class__.__name__}, 503
        if not current:
            return {"status": "unavailable", "reason": "database schema is not at the latest migration"}, 503
        # a count only: the probe is public, and the names would be logins with a known password
        extra = {"demo_accounts_with_demo_password": len(demo)} if demo else {}
        if demo and not app.config["DEMO_ACCOUNTS_ALLOWED"]:
            return {"status": "unavailable", "reason": "demo accounts still have the demo password", **extra}, 503
        return {"status": "ready", **extra}

    return app
