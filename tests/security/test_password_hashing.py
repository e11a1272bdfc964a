"""Passwords are hashed with werkzeug's scrypt unless PASSWORD_HASH_METHOD says otherwise (the test
suite uses a cheap method for its thousands of logins: tests/conftest.py). The setting is checked
at start-up and `flask check` warns about anything but scrypt."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from orchestrator import create_app
from orchestrator.extensions import db
from orchestrator.models import User
from orchestrator.services import administration
from orchestrator.services.auth import actor_for_user, check_password, create_user

from ..conftest import CHEAP_HASH, _config

pytestmark = pytest.mark.sqlite_only


def _default_app(database_uri):
    config = _config(database_uri)
    config.pop("PASSWORD_HASH_METHOD")
    return create_app(config)


def test_new_passwords_are_hashed_with_scrypt_by_default_and_old_hashes_still_verify(database_uri):
    app = _default_app(database_uri)
    with app.app_context():
        user = create_user(db.session, "officer.new", "a-long-passphrase", [("specialist", "00070")])
        assert user.password_hash.startswith("scrypt:32768:8:1$")
        demo = db.session.scalar(select(User).where(User.username == "specialist.00070"))
        assert demo.password_hash.startswith(CHEAP_HASH)  # hashed by the suite's seed: still verifies
        assert check_password(db.session, "specialist.00070", "demo1234").id == demo.id
        admin = actor_for_user(db.session, db.session.scalar(select(User).where(User.username == "admin.VN")))
        administration.reset_password(db.session, admin, demo.id, "another-passphrase")
        assert demo.password_hash.startswith("scrypt:32768:8:1$")
        db.session.rollback()


def test_a_bad_hash_method_stops_the_start_naming_the_setting(database_uri):
    with pytest.raises(RuntimeError, match="PASSWORD_HASH_METHOD"):
        create_app({**_config(database_uri), "PASSWORD_HASH_METHOD": "md5"})


def test_flask_check_warns_when_new_passwords_are_not_hashed_with_scrypt(database_uri):
    cheap = create_app(_config(database_uri)).test_cli_runner().invoke(args=["check"])
    assert f"WARNING new passwords are hashed with {CHEAP_HASH}" in cheap.output
    default = _default_app(database_uri).test_cli_runner().invoke(args=["check"])
    assert "new passwords are hashed" not in default.output
