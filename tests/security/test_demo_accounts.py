"""Issue 21: the accounts `flask load-examples` makes keep a published password (demo1234). They are
marked as demo accounts; `flask check` and /readyz report those still on the demo password, and
where demo accounts are not allowed (DEMO_ACCOUNTS_ALLOWED=false, production) they fail. Each test
failed before (no mark, no report: `flask check` passed and /readyz was ready)."""
from __future__ import annotations

from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from orchestrator.extensions import db
from orchestrator.models import User


def test_load_examples_marks_demo_accounts(app, api):
    # Before: no `demo` column; nothing told a demo account from a real one.
    with app.app_context():
        demo = set(db.session.scalars(select(User.username).where(User.demo.is_(True))))
        assert {"reception.00070", "leader.00070", "admin.VN", "designer.01", "supervisor.01"} <= demo
        assert "specialist.01.VPDKDD.CN11" in demo  # the branches' accounts too


def test_readyz_reports_demo_accounts_and_is_not_ready_in_production(app, client):
    # Before: /readyz answered {"status": "ready"} with every demo account on demo1234.
    r = client.get("/readyz")
    assert r.status_code == 200 and r.get_json()["demo_accounts_with_demo_password"] > 10
    assert "admin.VN" not in r.get_data(as_text=True)  # a public probe never lists the logins
    app.config["DEMO_ACCOUNTS_ALLOWED"] = False
    r = client.get("/readyz")
    assert r.status_code == 503 and "demo" in r.get_json()["reason"]


def test_flask_check_fails_in_production_until_demo_passwords_change(app):
    # Before: `flask check` passed (exit 0) whatever the demo accounts' passwords.
    runner = app.test_cli_runner()
    out = runner.invoke(args=["check"])
    assert out.exit_code == 0 and "WARNING demo account admin.VN" in out.output, out.output
    app.config["DEMO_ACCOUNTS_ALLOWED"] = False
    out = runner.invoke(args=["check"])
    assert out.exit_code != 0 and "PROBLEM demo account admin.VN" in out.output, out.output
    with app.app_context():  # the operator changes every demo account's password
        db.session.execute(update(User).where(User.demo.is_(True)).values(password_hash=generate_password_hash("x" * 20)))
        db.session.commit()
    out = runner.invoke(args=["check"])
    assert out.exit_code == 0 and "demo account" not in out.output, out.output
    assert app.test_client().get("/readyz").status_code == 200
