"""Test harness: every database test runs on SQLite and on PostgreSQL, each test on a fresh
copy of a database migrated and seeded once per session (file copy / CREATE DATABASE TEMPLATE)."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "demo1234"
# Logins cost 0.1 s of CPU with scrypt; the suite logs in thousands of times, so its accounts are
# hashed cheaply (the product's default stays scrypt: tests/security/test_password_hashing.py).
CHEAP_HASH = "pbkdf2:sha256:1000"


def _memoise_url_rule_builders() -> None:
    """Every test builds its own app, and werkzeug compiles each URL rule's builder with `ast` and
    `compile` at every `add_url_rule` (0.1 s of an app's 0.14 s). The builder is a pure function of
    the rule's parsed parts, defaults and converters (it takes the rule as `self`), so the suite
    compiles each once per process; what a rule builds is unchanged."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    built: dict = {}

    def memoised(self, append_unknown: bool = True):
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())),
               tuple((name, type(c), c.regex) for name, c in self._converters.items()), append_unknown)
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    Rule._compile_builder = memoised


_memoise_url_rule_builders()


def _pg_admin_engine():
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


_pg_status: dict = {}


def pg_available() -> bool:
    if "ok" not in _pg_status:
        try:
            with _pg_admin_engine().connect() as conn:
                conn.execute(text("select 1"))
            _pg_status["ok"] = True
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            _pg_status["ok"] = False
            _pg_status["why"] = str(exc).splitlines()[0]
    return _pg_status["ok"]


def require_pg():
    if not pg_available():
        message = f"PostgreSQL not reachable at {PG_URL}: {_pg_status.get('why')}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests are mandatory)", pytrace=False)
        pytest.skip(message)


def _pg_url(dbname: str) -> str:
    return make_url(PG_URL).set(database=dbname).render_as_string(hide_password=False)


def _seed(app) -> None:
    from orchestrator.seed import seed

    seed(app, PASSWORD)


def _config(uri: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": uri, "TESTING": True, "SECRET_KEY": "test-suite-only-8c1f5e0a2b7d4c93a6e1", "DEMO_PASSWORD": PASSWORD,
            "PASSWORD_HASH_METHOD": CHEAP_HASH,
            "RATELIMIT_PUBLIC": "1000 per minute", "RATELIMIT_TOKEN": "1000 per minute", "PROPAGATE_UNEXPECTED": os.environ.get("PROPAGATE_UNEXPECTED") == "1"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from orchestrator import create_app

    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    _seed(create_app(_config(f"sqlite:///{path}")))
    return path


@pytest.fixture(scope="session")
def pg_template():
    require_pg()
    from orchestrator import create_app

    name = f"orch_tmpl_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _seed(create_app(_config(_pg_url(name))))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_uri(request, tmp_path):
    """A fresh seeded database of the backend the test is parametrised with."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"orch_t_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pytest_generate_tests(metafunc):
    """Tests that use the database run once per backend, unless marked for one backend."""
    if "database_uri" in metafunc.fixturenames:
        if metafunc.definition.get_closest_marker("postgres"):
            backends = ["postgresql"]
        elif metafunc.definition.get_closest_marker("sqlite_only"):
            backends = ["sqlite"]
        else:
            backends = BACKENDS
        metafunc.parametrize("database_uri", backends, indirect=True, ids=backends)


@pytest.fixture
def app(database_uri):
    from orchestrator import create_app
    from orchestrator.extensions import db

    app = create_app(_config(database_uri))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class Api:
    """A small client that logs in demo users and speaks JSON."""

    def __init__(self, client):
        self.client = client
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.get_json()
            self._tokens[username] = r.get_json()["token"]
        return self._tokens[username]

    def headers(self, who: str | None) -> dict:
        if who is None:
            return {}
        value = who if who.startswith("ok_") else self.token(who)
        return {"Authorization": f"Bearer {value}"}

    def get(self, path, who=None, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers(who), **kw)

    def post(self, path, who=None, **kw):
        return self.client.post(f"/api/v1{path}", headers=self.headers(who), **kw)

    def put(self, path, who=None, **kw):
        return self.client.put(f"/api/v1{path}", headers=self.headers(who), **kw)

    def delete(self, path, who=None, **kw):
        return self.client.delete(f"/api/v1{path}", headers=self.headers(who), **kw)


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def api_key(app):
    """Make an integrator key: api_key(provinces=[...], permissions=[...]) -> secret."""
    from orchestrator.extensions import db
    from orchestrator.services.auth import create_api_key

    def make(provinces=("01",), permissions=("dossiers:create", "dossiers:read", "events:send"), name="portal"):
        with app.app_context():
            _key, secret = create_api_key(db.session, name, list(provinces), list(permissions))
            db.session.commit()
            return secret

    return make
