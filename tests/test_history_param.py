"""`?history=none|latest|all` on the answers that show a dossier, and the history paged at
`GET /dossiers/{code}/history` (issue 23: a late step's answer was mostly its whole history)."""
from __future__ import annotations

from sqlalchemy import event

from api.schemas.dossiers import HISTORY_LATEST
from orchestrator.extensions import db
from orchestrator.models import Dossier
from orchestrator.services import audit
from orchestrator.services.auth import create_user

from .test_dossiers_api import start

EXTRA = HISTORY_LATEST + 3  # more events than `latest` shows
RECORD = {"check_result": "valid", "check_note": "Hồ sơ hợp lệ", "days_since_birth": 21, "fee_exempt_group": False,
          "child_personal_id": "019325000111", "register_book_number": "01/2025", "register_entry_number": 154}


def _long_dossier(app, api) -> tuple[str, str]:
    """A dossier received in person with EXTRA claims/releases of its open step added to its history."""
    body = start(api, "reception.00070").get_json()
    [task] = body["current_tasks"]
    with app.app_context():
        dossier = db.session.query(Dossier).filter_by(code=body["code"]).one()
        for i in range(EXTRA):
            audit.record(db.session, "unclaim" if i % 2 else "claim", "specialist.00070", dossier=dossier,
                         task_id=task["id"], step_id=task["step_id"], unit_code="00070")
        db.session.commit()
    return body["code"], task["id"]


def _audit_selects(app):
    """The statements that read the audit table while the block runs."""
    seen = []
    with app.app_context():
        engine = db.engine

    def on_execute(conn, cursor, statement, *args):
        if "FROM audit_event" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement.upper())
    event.listen(engine, "before_cursor_execute", on_execute)
    return seen, lambda: event.remove(engine, "before_cursor_execute", on_execute)


def test_history_all_latest_none_and_a_bad_value(app, api):
    code, task_id = _long_dossier(app, api)
    full = api.get(f"/dossiers/{code}", "specialist.00070").get_json()
    assert full["history"] == api.get(f"/dossiers/{code}?history=all", "specialist.00070").get_json()["history"]
    assert len(full["history"]) > EXTRA, "the default stays `all`: every event"
    assert full["history_url"] == f"/api/v1/dossiers/{code}/history"

    seen, stop = _audit_selects(app)
    try:
        latest = api.get(f"/dossiers/{code}?history=latest", "specialist.00070").get_json()
        assert latest["history"] == full["history"][-HISTORY_LATEST:], "the last events, oldest first"
        assert len(seen) == 1 and "LIMIT" in seen[0], "limited in the database, not cut after reading all"
        seen.clear()
        none = api.get(f"/dossiers/{code}?history=none", "specialist.00070").get_json()
        assert none["history"] == [] and none["history_url"] == full["history_url"]
        assert none["current_tasks"] == full["current_tasks"] and none["status"] == full["status"]
        assert seen == [], "no history read at all"
    finally:
        stop()

    bad = api.get(f"/dossiers/{code}?history=some", "specialist.00070")
    assert bad.status_code == 400 and "history" in bad.get_json()["error"]["fields"]
    # A step's answer takes it too: completed with `latest`, the answer holds the last events, with the completion.
    api.post(f"/tasks/{task_id}/claim", "specialist.00070")
    done = api.post(f"/tasks/{task_id}/complete?history=latest", "specialist.00070", json={"data": RECORD})
    assert done.status_code == 200, done.get_json()
    after = api.get(f"/dossiers/{code}", "specialist.00070").get_json()["history"]
    assert done.get_json()["history"] == after[-HISTORY_LATEST:]
    assert any(h["action"] == "complete" and h["step_id"] == "Task_Record" for h in done.get_json()["history"])
    refused = api.post(f"/tasks/{task_id}/complete?history=everything", "specialist.00070", json={"data": RECORD})
    assert refused.status_code == 400 and "history" in refused.get_json()["error"]["fields"]


def test_history_pages_walk_every_event_once_and_stay_in_the_province(app, api):
    code, _task = _long_dossier(app, api)
    everything = api.get(f"/dossiers/{code}", "specialist.00070").get_json()["history"]
    walked, cursor, pages = [], None, 0
    while True:
        r = api.get(f"/dossiers/{code}/history?limit=4" + (f"&cursor={cursor}" if cursor else ""), "specialist.00070")
        assert r.status_code == 200, r.get_json()
        walked += r.get_json()["items"]
        cursor, pages = r.get_json()["next_cursor"], pages + 1
        if cursor is None:
            break
    assert walked == everything, "oldest first, each event exactly once"
    assert pages == -(-len(everything) // 4)
    with app.app_context():  # an officer of a commune of Thái Nguyên (19)
        create_user(db.session, "specialist.05443", "demo1234", [("specialist", "05443")])
        db.session.commit()
    assert api.get(f"/dossiers/{code}/history", "specialist.05443").status_code == 404, "another province's officer"
    assert api.get(f"/dossiers/{code}/history?cursor=forged", "specialist.00070").status_code == 400
