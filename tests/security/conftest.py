"""One seeded database per backend for the whole authorisation matrix (a fresh database per cell
would cost more than the cells), the actors' credentials and the states the cells start from."""
from __future__ import annotations

import shutil
import uuid
from urllib.parse import urlparse

import pytest
from sqlalchemy import text

from orchestrator.extensions import db
from orchestrator.services.auth import create_api_key

from ..admin_client import BackOffice
from ..conftest import Api, _config, _pg_admin_engine, _pg_url
from . import authorisation_matrix as m


class MatrixEnv:
    """The application, a client per actor and the shared states of one backend."""

    def __init__(self, app):
        self.app = app
        self.api = Api(app.test_client(use_cookies=False))
        self._keys: dict[str, str] = {}
        self._offices: dict[str, BackOffice] = {}
        self._states: dict[str, dict] = {}
        with app.app_context():
            for actor in m.ACTORS:
                if actor.is_key:
                    _key, self._keys[actor.id] = create_api_key(db.session, actor.key_name, list(actor.key_provinces),
                                                                list(actor.key_permissions))
            _key, self.builder_key = create_api_key(db.session, "matrix-builder", [m.HOME_PROVINCE],
                                                    list(m.PORTAL))
            db.session.commit()

    def key_of(self, actor_id: str) -> str:
        return self._keys[actor_id]

    # -- states: built on first use, rebuilt after a cell consumed them --

    def state(self, name: str) -> dict:
        if name not in self._states:
            self._states[name] = m.STATES[name](self)
        return self._states[name]

    def consume(self, name: str) -> None:
        self._states.pop(name, None)

    # -- requests --

    def _credential(self, who: m.Who) -> str | None:
        if who.is_key:
            return self._keys[who.id]
        return who.username

    def office(self, who: m.Who) -> BackOffice:
        """A back-office session: logged in for users; for keys and nobody, a visitor with a CSRF
        token (so a refusal is about who they are, not a missing form token)."""
        if who.id not in self._offices:
            office = BackOffice(self.app.test_client())
            if who.username:
                r = office.login(who.username)
                assert r.status_code == 302, (who.id, r.status_code)
            else:
                office._token()
            self._offices[who.id] = office
        return self._offices[who.id]

    def call(self, action: m.Action, who: m.Who, state: dict):
        path = action.path.format(**state)
        kwargs = action.body(state) if action.body else {}
        if action.surface == "admin" or (action.surface == "public" and action.method != "GET"):
            # the citizens' forms (issue 24) are CSRF-protected too: a visitor's session with its token
            office = self.office(who) if action.surface == "admin" else self.office(m.Who("visitor"))
            headers = {"Authorization": f"Bearer {self._keys[who.id]}"} if who.is_key else {}
            if action.method == "GET":
                return office.client.get(path, headers=headers)
            # No Referer: a refused form then answers its own status instead of going back to the page.
            data = {"csrf_token": office._token(), **kwargs.get("data", {})}
            return office.client.open(path, method=action.method, data=data, headers=headers)
        headers = self.api.headers(self._credential(who))
        return self.api.client.open(path, method=action.method, headers=headers, **kwargs)


def outcome(action: m.Action, response, state: dict) -> object:
    """What the answer means, in the matrix's vocabulary (any other status is returned as is)."""
    status = response.status_code
    if action.surface == "admin" and status in (301, 302, 303, 307):
        if urlparse(response.headers.get("Location", "")).path == "/admin/login":
            return m.LOGIN
    if status in (m.UNAUTHENTICATED, m.FORBIDDEN, m.NOT_FOUND):
        return status
    if 200 <= status < 400:
        if action.listed is not None and not action.listed(state, response):
            return m.HIDDEN
        return m.ALLOWED
    return status


def _matrix_app(uri: str):
    from orchestrator import create_app

    # Webhook targets are not resolved in DNS here: the matrix checks who may subscribe, not where.
    # The anonymous visitor calls every API route within a minute or so: its per-address limit
    # (RATELIMIT_UNAUTHENTICATED) would answer 429 instead of the 401 the matrix checks.
    return create_app({**_config(uri), "WEBHOOK_ALLOW_PRIVATE": True, "RATELIMIT_UNAUTHENTICATED": "10000 per minute"})


def _env(uri: str):
    app = _matrix_app(uri)
    try:
        yield MatrixEnv(app)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def sqlite_matrix(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("matrix") / "matrix.sqlite3"
    shutil.copyfile(sqlite_template, path)
    yield from _env(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def postgresql_matrix(pg_template):
    name = f"orch_matrix_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    try:
        yield from _env(_pg_url(name))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
