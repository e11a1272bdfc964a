"""The bell (issue 19): each kind of notification is written where its event happens, only for
the people concerned, never by a refused action; the header's count, the list, opening one
(marks it read, opens the dossier), another user's is a 404, mark all read, the JSON count."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event

from orchestrator.extensions import db
from orchestrator.models import Dossier, Job, Notification, User, WorkItem
from orchestrator.models.types import utcnow
from orchestrator.services import notifications, steps, tasks
from orchestrator.services.auth import actor_for_user
from orchestrator.worker import Worker

from .admin_client import BackOffice
from .lifecycle_helpers import (
    BRANCH_LEADER, BRANCH_OFFICER, RECEPTION, accepted, action, complete, event, paid_at_once, start_online, task,
)
from .test_dossiers_api import APPLICANT, BIRTH


def notes(app, kind: str | None = None) -> list[tuple[str, str, str]]:
    """(username, kind, message) of every notification, oldest first."""
    with app.app_context():
        query = db.session.query(User.username, Notification.kind, Notification.message).join(
            User, User.id == Notification.user_id).order_by(Notification.id)
        if kind:
            query = query.filter(Notification.kind == kind)
        return [tuple(row) for row in query.all()]


def office(client, who: str) -> BackOffice:
    o = BackOffice(client)
    assert o.login(who).status_code == 302
    return o


def birth_assigned_to_specialist(api) -> dict:
    """A birth registration received at 00070 whose step the commune's leader gives to specialist.00070."""
    r = api.post("/dossiers", "reception.00070", json={"procedure_code": "1.001193", "province_code": "01",
                                                       "commune_code": "00070", "channel": 1, "applicant": APPLICANT,
                                                       "data": BIRTH})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    record = task(body, "Task_Record")
    r = api.post(f"/tasks/{record['id']}/assign", "leader.00070", json={"username": "specialist.00070"})
    assert r.status_code == 200, r.get_json()
    return {"code": body["code"], "task": record}


def test_a_leader_assigning_a_step_notifies_the_officer_but_claiming_does_not(app, api, api_key, client):
    body = accepted(api, api_key())
    code, file_check = body["code"], task(body, "Task_FileCheck")
    leader = office(client, BRANCH_LEADER)
    # refused (the user lacks the step's role): nothing written
    r = leader.post(f"/tasks/{file_check['id']}/assign", {"username": "specialist.00454"}, referrer="/inbox?view=unit")
    assert r.status_code in (302, 303) and notes(app) == []
    r = leader.post(f"/tasks/{file_check['id']}/assign", {"username": BRANCH_OFFICER}, referrer="/inbox?view=unit")
    assert r.status_code in (302, 303)
    [(who, kind, message)] = notes(app)
    assert (who, kind) == (BRANCH_OFFICER, "assigned")
    assert code in message and file_check["name"] in message
    # an officer taking a step themselves is told nothing
    verification = task(body, "Task_CommuneVerification")
    assert api.post(f"/tasks/{verification['id']}/claim", "specialist.00454").status_code == 200
    assert len(notes(app)) == 1


def test_a_notification_is_rolled_back_with_its_step(app, api):
    """`notify` only adds to the caller's transaction: a step that does not commit leaves nothing."""
    r = api.post("/dossiers", "reception.00070", json={"procedure_code": "1.001193", "province_code": "01",
                                                       "commune_code": "00070", "channel": 1, "applicant": APPLICANT,
                                                       "data": BIRTH})
    item_id = task(r.get_json(), "Task_Record")["id"]
    with app.app_context():
        leader = actor_for_user(db.session, db.session.query(User).filter_by(username="leader.00070").one())
        tasks.assign(db.session, leader, item_id, "specialist.00070")
        assert db.session.query(Notification).count() == 1  # written with the step ...
        db.session.rollback()                                 # ... and gone with it
        assert db.session.query(Notification).count() == 0
        assert db.session.get(WorkItem, item_id).assignee_id is None
        with pytest.raises(ValueError):
            notifications.notify(db.session, [1], "birthday", None, "x")


def test_return_to_an_earlier_step_notifies_the_officer_who_held_it(app, api, api_key):
    body = accepted(api, api_key())
    body = complete(api, "specialist.00454", body, "Task_CommuneVerification")
    body = paid_at_once(api, BRANCH_OFFICER, complete(api, BRANCH_OFFICER, body, "Task_FileCheck"))
    body = complete(api, BRANCH_OFFICER, body, "Task_Draft")
    code = body["code"]
    before = notes(app)
    r = action(api, "leader.00454", code, "return-to-step", step_id="Task_UpdateCadastre", reason="x")
    assert r.status_code == 409 and notes(app) == before  # refused: nothing written
    r = action(api, "leader.00454", code, "return-to-step", step_id="Task_Draft", reason="Sai số thửa trên GCN")
    assert r.status_code == 200, r.get_json()
    draft = task(r.get_json(), "Task_Draft")
    [(who, kind, message)] = notes(app, "returned")
    assert who == BRANCH_OFFICER and code in message and draft["name"] in message and "Sai số thửa" in message


def test_a_step_returned_to_an_absent_officer_is_announced_to_the_substitute(app, api, api_key):
    from datetime import datetime

    from orchestrator.services import substitutes
    from orchestrator.timezone import TZ
    from orchestrator.services.auth import create_user

    from .test_land_e2e import BRANCH

    body = accepted(api, api_key())
    body = complete(api, "specialist.00454", body, "Task_CommuneVerification")
    body = paid_at_once(api, BRANCH_OFFICER, complete(api, BRANCH_OFFICER, body, "Task_FileCheck"))
    body = complete(api, BRANCH_OFFICER, body, "Task_Draft")
    today = datetime.now(TZ).date()  # Vietnam's day: from 17:00 UTC it is already tomorrow there
    with app.app_context():  # the officer who drafted is away this week: Đỗ Thị Mai stands in
        create_user(db.session, "specialist.mai", "demo1234", [("specialist", BRANCH)], full_name="Đỗ Thị Mai")
        leader = actor_for_user(db.session, db.session.query(User).filter_by(username=BRANCH_LEADER).one())
        substitutes.set_substitute(db.session, leader, BRANCH, BRANCH_OFFICER, "specialist.mai",
                                   today, today + timedelta(days=6))
        db.session.commit()
    r = action(api, "leader.00454", body["code"], "return-to-step", step_id="Task_Draft", reason="Sai số thửa")
    assert r.status_code == 200, r.get_json()
    assert [who for who, _k, _m in notes(app, "returned")] == ["specialist.mai"]


def test_reminders_due_soon_then_overdue_once_to_holders_and_leaders(app, api, api_key):
    body = accepted(api, api_key())
    code = body["code"]
    past = utcnow() - timedelta(hours=1)
    with app.app_context():  # the dossier's due date has come: its reminder is queued again for it
        dossier = db.session.query(Dossier).filter_by(code=code).one()
        db.session.query(WorkItem).filter_by(dossier_id=dossier.id, state="open").update({"due_at": past})
        dossier.due_at = dossier.legal_due_at = past
        db.session.query(Job).filter(Job.kind.in_(["reminder", "overdue"])).delete()
        steps.schedule_reminder(db.session, dossier)
        db.session.commit()
    Worker(app, name="w1").run_until_idle()
    concerned = sorted(["specialist.00454", "leader.00454", BRANCH_OFFICER, BRANCH_LEADER])
    due_soon = notes(app, "due_soon")
    assert sorted(who for who, _k, _m in due_soon) == concerned
    assert all(code in m for _w, _k, m in due_soon)
    overdue = notes(app, "overdue")
    names = {t["name"] for t in body["current_tasks"]}
    # one per open step to its holders (here the role holders of its unit) and the unit's leaders
    assert sorted(who for who, _k, _m in overdue) == concerned
    assert all(code in m and any(n in m for n in names) for _w, _k, m in overdue)

    with app.app_context():  # queued again for the same date (a retry, a second path): nothing more
        steps.schedule_overdue(db.session, db.session.query(Dossier).filter_by(code=code).one(), past)
        db.session.commit()
    Worker(app, name="w1").run_until_idle()
    assert len(notes(app, "overdue")) == len(overdue)


def test_supplement_received_reaches_the_holders_of_the_held_steps(app, api, api_key):
    key = api_key()
    code = accepted(api, key)["code"]
    r = action(api, BRANCH_OFFICER, code, "request-supplement", items=["Bản vẽ sơ đồ tài sản"], reason="thiếu")
    assert r.status_code == 200, r.get_json()
    assert event(api, key, code, "payment_received").status_code == 409 and notes(app) == []
    r = event(api, RECEPTION, code, "supplement_submitted", {"note": "bổ sung tại quầy"})
    assert r.status_code == 200, r.get_json()
    received = notes(app, "supplement_received")
    assert sorted(who for who, _k, _m in received) == sorted(["specialist.00454", BRANCH_OFFICER])
    assert all(code in m for _w, _k, m in received)

    # at reception: the reception step opens again, its officers are told
    online = start_online(api, key)["code"]
    assert action(api, RECEPTION, online, "request-supplement", items=["Mảnh trích đo"]).status_code == 200
    assert event(api, key, online, "supplement_submitted", {"note": "đủ"}).status_code == 200
    assert [(w, online in m) for w, _k, m in notes(app, "supplement_received")[len(received):]] == [(RECEPTION, True)]


def test_the_bell_counts_lists_opens_and_marks_all_read(app, api, client):
    first, second = birth_assigned_to_specialist(api), birth_assigned_to_specialist(api)
    me = office(client, "specialist.00070")
    seen: list[str] = []
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    with app.app_context():
        sa_event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = me.text(me.get("/inbox"))
    finally:
        with app.app_context():
            sa_event.remove(db.engine, "before_cursor_execute", listener)
    assert len([s for s in seen if "FROM notification" in s]) == 1  # the header's count: one COUNT per page
    assert re.search(r'id="bell-count">2</span>', page) and 'aria-label="Thông báo' in page
    r = me.get("/notifications/count")
    assert r.get_json() == {"unread": 2} and r.headers["Cache-Control"] == "no-store"

    page = me.text(me.get("/notifications"))
    rows = re.findall(r'<tr data-notification="(\d+)" data-kind="assigned" class="(\w+)">', page)
    assert [cls for _id, cls in rows] == ["unread", "unread"]
    assert page.index(second["code"]) < page.index(first["code"])  # newest first
    assert "Được giao việc" in page and second["task"]["name"] in page
    newest = rows[0][0]
    # the JSON API gives the same list to the bearer user (and nothing to an integrator's key)
    listed = api.get("/notifications?unread=true", "specialist.00070").get_json()
    assert [n["dossier_code"] for n in listed["items"]] == [second["code"], first["code"]] and listed["unread"] == 2
    assert api.get("/notifications", "leader.00070").get_json()["items"] == []
    # in English the page is in English, the message included
    english = office(app.test_client(), "specialist.00070")
    english.get("/lang/en")
    page = english.text(english.get("/notifications"))
    assert "Assigned to you" in page and f"You were given a step of dossier {second['code']}." in page
    assert "Bạn được giao" not in page and 'aria-label="Notifications (2 unread)"' in page

    # someone else's notification does not exist for them, and stays unread
    other = office(app.test_client(), "reception.00070")
    assert other.post(f"/notifications/{newest}/open").status_code == 404
    assert other.get("/notifications/count").get_json() == {"unread": 0}
    assert me.get("/notifications/count").get_json() == {"unread": 2}

    # opening it marks it read and opens its dossier
    r = me.post(f"/notifications/{newest}/open", referrer="/notifications")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/admin/dossiers/{second['code']}")
    assert me.get("/notifications/count").get_json() == {"unread": 1}
    page = me.text(me.get("/notifications?unread=1"))
    assert f'data-notification="{newest}"' not in page and first["code"] in page

    r = me.post("/notifications/read-all", referrer="/notifications", follow=True)
    assert r.status_code == 200 and 'id="bell-count" hidden' in me.text(r)
    assert me.get("/notifications/count").get_json() == {"unread": 0}
    assert me.post("/notifications/999999/open").status_code == 404
    assert me.get("/notifications?page=abc").status_code == 400  # a 400 page naming `page`

    anonymous = app.test_client().get("/admin/notifications/count")
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
