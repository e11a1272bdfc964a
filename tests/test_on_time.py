"""On time is judged by the due DAY (a period counted in days ends at 24:00 of its last day, Civil
Code Arts. 147–148): a result returned at 18:00 on the due day is on time everywhere — statistics,
the inbox's marks, the control slip — and late at 00:30 the next day. And the portal's
`DonViXuLy` is the unit that handles, then decides, the dossier."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from orchestrator.extensions import db
from orchestrator.models import Dossier, Unit, WorkItem
from orchestrator.models.types import utcnow
from orchestrator.services import documents, outbox
from orchestrator.timezone import TZ

from .lifecycle_helpers import accepted, complete, paid_at_once, start_online
from .test_sql_budget import ORDER, WHO
from .test_statistics import fold, returned, set_times


def _due_day(days_ago: int) -> datetime:
    """17:00 (end of office hours, Vietnam) of a day `days_ago` before today."""
    day = utcnow().astimezone(TZ).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(17), TZ)


def test_a_result_returned_in_the_evening_of_the_due_day_is_on_time(app, api, api_key):
    key = api_key()
    due = _due_day(3)
    evening, after_midnight = returned(api, key), returned(api, key)
    set_times(app, evening, finished=due.replace(hour=18), legal_due=due)
    set_times(app, after_midnight, finished=due + timedelta(hours=7, minutes=30), legal_due=due)  # 00:30 next day

    s = api.get("/statistics", "supervisor.01").get_json()
    assert s["outcomes"] == {"resolved": 2, "early": 0, "on_time": 1, "late": 1, "on_time_rate": 0.5}

    # The control slip judges each step the same way.
    with app.app_context():
        for code, expected in ((evening, "on_time"), (after_midnight, "late")):
            d = db.session.query(Dossier).filter_by(code=code).one()
            item = db.session.query(WorkItem).filter_by(dossier_id=d.id, step_id="Task_Return").one()
            item.due_at, item.completed_at = due, d.finished_at
            db.session.commit()
            rows = {r.step_id: r for r in documents.control_rows(db.session, d)}
            assert rows["Task_Return"].outcome == expected, code
            assert rows["Task_Return"].outcome_label == {"on_time": "Đúng hạn", "late": "Quá hạn"}[expected]
            assert rows["Task_Return"].due.startswith("17:00"), "the due time shown is unchanged"
            d.updated_at = utcnow()  # the worker's statistics fold recounts the days of changed dossiers
            db.session.commit()
    fold(app)

    # Per unit: the evening step is not counted late, the one after midnight is.
    units = {u["code"]: u for u in api.get("/statistics", "supervisor.01").get_json()["units"]}
    assert units["00454"]["steps_late"] == 1


def test_open_work_due_earlier_today_is_due_today_not_overdue(app, api, api_key):
    key = api_key()
    today_start = datetime.combine(utcnow().astimezone(TZ).date(), time(0), TZ)
    today, yesterday = accepted(api, key)["code"], accepted(api, key)["code"]
    set_times(app, today, due=today_start)  # already past now, but its due day has not ended
    set_times(app, yesterday, due=today_start - timedelta(minutes=1))  # 23:59 yesterday: overdue

    r = api.get("/tasks?view=available", "specialist.00454")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    marks = {t["dossier_code"]: t["due_mark"] for t in body["items"] if t["step_id"] == "Task_CommuneVerification"}
    assert marks[today] == "today" and marks[yesterday] == "overdue"
    assert body["counts"]["overdue"] == 1 and body["counts"]["today"] == 1
    overdue = api.get("/tasks?view=available&due=overdue", "specialist.00454").get_json()
    assert [t["dossier_code"] for t in overdue["items"]] == [yesterday]

    s = api.get("/statistics", "supervisor.01").get_json()
    assert (s["open"], s["open_overdue"]) == (2, 1)

    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=today).one()
        rows = {r.step_id: r.outcome for r in documents.control_rows(db.session, d)}
        assert rows["Task_CommuneVerification"] == "open"
        d = db.session.query(Dossier).filter_by(code=yesterday).one()
        rows = {r.step_id: r.outcome for r in documents.control_rows(db.session, d)}
        assert rows["Task_CommuneVerification"] == "open_late"


def _portal(app, code: str) -> tuple[str, dict[str, str]]:
    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=code).one()
        names = dict(db.session.query(Unit.code, Unit.name))
        return outbox.portal_payload(db.session, d)["DonViXuLy"], names


def test_portal_handling_unit_is_the_land_office_then_the_deciding_commune(app, api, api_key):
    body = start_online(api, api_key())
    seen = {}
    for step in ORDER:
        body = complete(api, WHO[step], body, step)
        if step == "Task_FileCheck":
            body = paid_at_once(api, WHO[step], body)
        if body["status"] != 10:
            seen[step] = _portal(app, body["code"])[0]
    _, names = _portal(app, body["code"])
    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=body["code"]).one()
        units = {w.step_id: w.unit_code for w in db.session.query(WorkItem).filter_by(dossier_id=d.id)}
        commune = d.commune_code
    branch, commune_leader = units["Task_FileCheck"], units["Task_Sign"]
    assert branch.startswith("01.VPDKDD") and names[branch] != names[commune]
    # Only the land office branch's step is open after the commune's verification.
    assert seen["Task_CommuneVerification"] == names[branch]
    assert seen["Task_Draft"] == names[commune_leader]  # the signing step is open at the commune
    # Once the commune's leader signs (the decision), the commune stays the handling unit even while
    # the land office updates the cadastre.
    assert seen["Task_Sign"] == names[commune_leader] == names[commune]
    assert seen["Task_UpdateCadastre"] == names[commune_leader]
    assert _portal(app, body["code"])[0] == names[commune_leader]
