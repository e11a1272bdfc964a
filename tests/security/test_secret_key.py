"""Issue 14, point 1: session cookies cannot be forged. The app refuses to start without a strong
SECRET_KEY (the shipped `change-me` let anyone sign an administrator's cookie), and every process
given the same configuration accepts the same cookies (a random key per process did not)."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from orchestrator import create_app

from ..admin_client import BackOffice, user_id
from ..conftest import _config

STRONG = "9d0c6f3e2a71b84c5e06d9f1a3b7c2e4d8f05a16"
HOW_TO = 'python -c "import secrets; print(secrets.token_hex(32))"'
ADMIN = "admin.VN"


def _start(tmp_path, **config):
    """create_app on an empty in-memory database, with no key file unless one is named."""
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:", "SECRET_KEY": None,
                       "SECRET_KEY_FILE": str(tmp_path / "no-such-file"), **config})


@pytest.fixture
def make_app(database_uri):
    """Apps on the test's seeded database (as several processes would be), disposed afterwards."""
    from orchestrator.extensions import db

    made = []

    def make(**config):
        app = create_app({**_config(database_uri), **config})
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _cookie_signed_with(key: str, user_id: int) -> str:
    """What an attacker who knows `key` sends: Flask-Login's session for the administrator."""
    signer = Flask("attacker")
    signer.secret_key = key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    # "<user id>:<credential generation>" (admin/views_auth.py): a fresh account is of generation 0
    return serializer.dumps({"_user_id": f"{user_id}:0", "_fresh": True})


def _users_page_with(app, cookie: str):
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get("/admin/users")


def test_start_up_refuses_a_missing_key(tmp_path):
    with pytest.raises(RuntimeError) as refused:
        _start(tmp_path)
    assert "not set" in str(refused.value) and HOW_TO in str(refused.value)


@pytest.mark.parametrize("key", ["change-me", "CHANGE-ME", "changeme", "secret", "dev", "test", "password",
                                 "flask", "orchestrator", "key", "x" * 64, "ab" * 32, "a-random-but-short-key"])
def test_start_up_refuses_a_weak_or_short_key(tmp_path, key):
    with pytest.raises(RuntimeError) as refused:
        _start(tmp_path, SECRET_KEY=key)
    assert HOW_TO in str(refused.value)


def test_a_strong_key_starts_and_the_environment_wins_over_a_weak_file(tmp_path):
    assert _start(tmp_path, SECRET_KEY=STRONG).secret_key == STRONG
    weak = tmp_path / "secret_key"
    weak.write_text("change-me\n")
    with pytest.raises(RuntimeError) as refused:
        _start(tmp_path, SECRET_KEY_FILE=str(weak))
    assert str(weak) in str(refused.value) and "well-known" in str(refused.value)
    assert _start(tmp_path, SECRET_KEY=STRONG, SECRET_KEY_FILE=str(weak)).secret_key == STRONG
    weak.write_text(STRONG + "\n")  # what `make run` writes: read when SECRET_KEY is unset
    assert _start(tmp_path, SECRET_KEY_FILE=str(weak)).secret_key == STRONG


def test_a_cookie_forged_with_change_me_opens_nothing(make_app):
    with pytest.raises(RuntimeError, match="well-known"):
        make_app(SECRET_KEY="change-me")  # the shipped docker-compose value: the app does not start
    app = make_app()
    admin = user_id(app, ADMIN)
    forged = _users_page_with(app, _cookie_signed_with("change-me", admin))
    assert forged.status_code in (302, 403)
    if forged.status_code == 302:
        assert "/admin/login" in forged.headers["Location"]
    # the same cookie signed with the app's own key is a valid session: the refusal above is the key's doing
    genuine = _users_page_with(app, _cookie_signed_with(app.secret_key, admin))
    assert genuine.status_code == 200 and ADMIN in genuine.get_data(as_text=True)


@pytest.mark.parametrize("source", ["environment", "key file"])
def test_two_processes_with_the_same_configuration_share_sessions(make_app, tmp_path, source):
    if source == "environment":
        config = {"SECRET_KEY": STRONG}
    else:  # `make run`: web and worker processes read instance/secret_key
        (tmp_path / "secret_key").write_text(STRONG + "\n")
        config = {"SECRET_KEY": None, "SECRET_KEY_FILE": str(tmp_path / "secret_key")}
    first, second = make_app(**config), make_app(**config)
    office = BackOffice(first.test_client())
    assert office.login(ADMIN).status_code == 302
    cookie = office.client.get_cookie("session").value
    assert office.get("/users").status_code == 200
    assert _users_page_with(second, cookie).status_code == 200
    # an app with another key (what each process had with the old random fallback) refuses the cookie
    other = make_app(SECRET_KEY=STRONG[::-1] + "0")
    assert _users_page_with(other, cookie).status_code == 302
