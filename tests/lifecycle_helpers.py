"""Shared steps for the lifecycle tests: a land dossier (1.013978, started with its former code
1.004227) received at commune 00454."""
from __future__ import annotations

from datetime import datetime, timedelta

from orchestrator.extensions import db
from orchestrator.models import Dossier, WorkItem
from orchestrator.services.calendar import TZ

from .test_land_e2e import APPLICANT, STEP_DATA

COMMUNE, BRANCH = "00454", "01.VPDKDD.CN11"
RECEPTION, BRANCH_OFFICER = "reception.00454", f"specialist.{BRANCH}"
BRANCH_LEADER = f"leader.{BRANCH}"  # a demo leader with a full name and title (services/examples.py)


def start_online(api, key) -> dict:
    r = api.post("/dossiers", key, json={"procedure_code": "1.004227", "province_code": "01", "commune_code": COMMUNE,
                                         "channel": 2, "applicant": APPLICANT, "data": {"declared_area_m2": 150.5}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def task(body: dict, step_id: str) -> dict:
    return next(t for t in body["current_tasks"] if t["step_id"] == step_id)


def complete(api, who, body, step_id, data=None) -> dict:
    r = api.post(f"/tasks/{task(body, step_id)['id']}/complete", who, json={"data": data or STEP_DATA[step_id]})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def accepted(api, key) -> dict:
    """Online dossier accepted at the commune: status 4, commune and branch steps open."""
    return complete(api, RECEPTION, start_online(api, key), "Task_Reception")


def action(api, who, code, name, **body):
    return api.post(f"/dossiers/{code}/actions/{name}", who, json=body)


def event(api, who, code, name, data=None):
    return api.post(f"/dossiers/{code}/events/{name}", who, json={"data": data or {}})


def posting_passes(app, code: str) -> None:
    """The commune's 15-day public posting ends (issue 18): the dossier's timers are made due and
    the worker runs, as `test_land_e2e._fifteen_days_pass` does."""
    from .test_land_e2e import _fifteen_days_pass

    _fifteen_days_pass(app, code)


def paid_at_once(api, who, body: dict) -> dict:
    """After the branch's file check and the commune's public posting the land dossier waits for
    the tax authority or the payment (issue 17): here the applicant pays at once; the certificate
    is prepared next."""
    if not any(h["action"] == "timer" and h["step_id"] == "Event_PublicPosting" for h in body.get("history", [])):
        posting_passes(api.client.application, body["code"])
    r = event(api, who, body["code"], "payment_received", {"receipt_number": "BL-1"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def shift_reception(app, code: str, working_days_ago: int) -> None:
    """Pretend the dossier was received `working_days_ago` working days earlier."""
    from orchestrator.services.deadlines import calendar_for

    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=code).one()
        cal = calendar_for(db.session, "01")
        day = d.received_at.astimezone(TZ).date()
        for _ in range(working_days_ago):
            day -= timedelta(days=1)
            while not cal.is_working_day(day):
                day -= timedelta(days=1)
        d.received_at = datetime.combine(day, d.received_at.astimezone(TZ).time(), tzinfo=TZ)
        d.legal_due_at = d.due_at = cal.due_at(d.received_at, "working", 20)
        db.session.commit()


def set_due(app, code: str, due: datetime) -> None:
    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=code).one()
        d.legal_due_at = d.due_at = due
        db.session.commit()


def snapshot(app, code: str) -> tuple:
    """What must not change when an action is refused."""
    from orchestrator.models import AuditEvent

    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=code).one()
        items = sorted((w.id, w.state, w.assignee_id) for w in db.session.query(WorkItem).filter_by(dossier_id=d.id))
        events = db.session.query(AuditEvent).filter_by(dossier_id=d.id).count()
        return (d.status, d.due_at, d.legal_due_at, d.lock_version, list(d.paused or []), d.apologized_at,
                d.finished_at, items, events)
