"""The flask CLI: users with several (role, unit) pairs, API keys printed once."""
from __future__ import annotations


def test_create_user_with_pairs_then_add_one(app, api):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["create-user", "--username", "chuyenvien", "--password", "matkhau123",
                            "--role", "specialist", "--unit", "00070", "--role", "leader", "--unit", "00082"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["create-user", "--username", "chuyenvien", "--role", "reception", "--unit", "00070"])
    assert r.exit_code == 0 and "reception@00070" in r.output and "leader@00082" in r.output
    r = api.client.post("/api/v1/auth/token", json={"username": "chuyenvien", "password": "matkhau123"})
    assert r.status_code == 200
    bad = runner.invoke(args=["create-user", "--username", "x", "--password", "matkhau123", "--role", "king",
                              "--unit", "00070"])
    assert bad.exit_code != 0 and "king" in bad.output
    bad = runner.invoke(args=["create-user", "--username", "y", "--password", "matkhau123", "--role", "leader",
                              "--unit", "99999"])
    assert bad.exit_code != 0 and "99999" in bad.output


def test_create_api_key_prints_key_once_on_last_line(app, api):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["create-api-key", "--name", "Cổng DVC quốc gia", "--province", "01",
                            "--permission", "dossiers:create", "--permission", "dossiers:read"])
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("ok_")
    assert api.get("/units?level=province", key).status_code == 200
    from orchestrator.extensions import db
    from orchestrator.models import ApiKey

    with app.app_context():
        stored = db.session.query(ApiKey).one()
        assert key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    bad = runner.invoke(args=["create-api-key", "--name", "x", "--province", "01", "--permission", "everything"])
    assert bad.exit_code != 0
