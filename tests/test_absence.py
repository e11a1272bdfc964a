"""Absences (issue 19, point 6): a leader names a substitute for an officer of their unit for a
period; work given to the officer in that period goes to the substitute (noted in the history),
outside it to the officer; the officer's held work moves to the substitute in one action."""
from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, User, WorkItem
from orchestrator.models.users import Substitute
from orchestrator.services import substitutes, tasks
from orchestrator.services.auth import actor_for_user, create_user
from orchestrator.services.errors import Conflict, Forbidden, Invalid

from .admin_client import BackOffice
from .test_inbox_page import COLLEAGUE, _birth, _colleague

OFFICER = "specialist.00070"


def _actor(username: str):
    return actor_for_user(db.session, db.session.query(User).filter_by(username=username).one())


def _office(client, who):
    office = BackOffice(client)
    assert office.login(who).status_code == 302
    return office


def test_substitute_rules(app):
    _colleague(app)
    with app.app_context():
        session, today = db.session, substitutes.today()
        leader = _actor("leader.00070")

        def set_(who=leader, officer=OFFICER, substitute=COLLEAGUE, start=today, end=today + timedelta(days=4)):
            return substitutes.set_substitute(session, who, "00070", officer, substitute, str(start), str(end))

        with pytest.raises(Forbidden):  # not a leader of the unit
            set_(who=_actor(OFFICER))
        with pytest.raises(Forbidden):  # a leader of another commune
            set_(who=_actor("leader.00454"))
        with pytest.raises(Invalid) as exc:  # the substitute lacks the officer's role there
            set_(substitute="reception.00070")
        assert "substitute" in exc.value.fields
        with pytest.raises(Invalid) as exc:  # a period in the past
            set_(start=today - timedelta(days=3), end=today - timedelta(days=1))
        assert "starts_on" in exc.value.fields
        with pytest.raises(Invalid) as exc:  # ends before it starts
            set_(start=today + timedelta(days=2), end=today + timedelta(days=1))
        assert "ends_on" in exc.value.fields
        with pytest.raises(Invalid) as exc:
            set_(start="31/12/2026")
        assert "starts_on" in exc.value.fields
        row = set_()
        with pytest.raises(Conflict) as exc:  # overlaps the first for the same officer
            set_(start=today + timedelta(days=4), end=today + timedelta(days=8))
        assert exc.value.code == "substitute_overlap"
        set_(start=today + timedelta(days=5), end=today + timedelta(days=8))  # right after: fine
        assert substitutes.effective(session, row.user_id, today) == row.substitute_id
        assert substitutes.effective(session, row.user_id, today + timedelta(days=9)) is None
        assert session.query(AuditEvent).filter_by(action="substitute_set").count() == 2
        # ended early: one that began today is deleted
        substitutes.end_substitute(session, leader, row.id, "00070")
        assert substitutes.effective(session, row.user_id, today) is None
        session.commit()


def test_work_given_to_the_absent_officer_goes_to_the_substitute_during_the_period(app, api):
    _colleague(app)
    with app.app_context():
        first, second = _birth(api, "Lê Thị Hoa", 3), _birth(api, "Nguyễn Văn Bình", 4)
        session, today, leader = db.session, substitutes.today(), _actor("leader.00070")
        # a period starting tomorrow: today the step still goes to the officer
        substitutes.set_substitute(session, leader, "00070", OFFICER, COLLEAGUE, today + timedelta(days=1),
                                   today + timedelta(days=3))
        assert tasks.assign(session, leader, first["task"], OFFICER).assignee_id == _actor(OFFICER).user_id
        session.commit()
        # a period running today: the next one goes to the substitute, noted in the history
        session.query(Substitute).delete()
        substitutes.set_substitute(session, leader, "00070", OFFICER, COLLEAGUE, today, today + timedelta(days=3))
        item = tasks.assign(session, leader, second["task"], OFFICER)
        session.commit()
        assert item.assignee_id == _actor(COLLEAGUE).user_id
        note = session.query(AuditEvent).filter_by(action="substitute_routed", task_id=second["task"]).one().note
        assert OFFICER in note and COLLEAGUE in note
    assert api.get(f"/tasks/{second['task']}", "leader.00070").get_json()["assignee"] == COLLEAGUE


def test_absence_page_sets_a_substitute_and_moves_held_work(app, api, client):
    _colleague(app)
    with app.app_context():
        held = [_birth(api, name, 2) for name in ("Lê Thị Hoa", "Nguyễn Văn Bình")]
    for h in held:
        assert api.post(f"/tasks/{h['task']}/claim", OFFICER).status_code == 200
    assert _office(app.test_client(), OFFICER).get("/absence").status_code == 403  # not a leader
    leader = _office(client, "leader.00070")
    page = leader.text(leader.get("/absence"))
    assert f'data-officer="{OFFICER}"' in page and 'id="set-substitute"' in page
    today = substitutes.today()
    # refused: the past, with the field named and what was typed kept
    r = leader.post("/absence", {"unit": "00070", "officer": OFFICER, "substitute": COLLEAGUE,
                                 "starts_on": (today - timedelta(days=2)).isoformat(),
                                 "ends_on": today.isoformat()}, referrer="/absence", follow=True)
    assert "không được bắt đầu trong quá khứ" in leader.text(r)
    r = leader.post("/absence", {"unit": "00070", "officer": OFFICER, "substitute": COLLEAGUE,
                                 "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=2)).isoformat()},
                    referrer="/absence", follow=True)
    page = leader.text(r)
    assert "Đã cử Đỗ Thị Mai làm thay" in page and "Chuyển 2 việc đang giữ cho người làm thay" in page
    with app.app_context():
        sid = db.session.query(Substitute).one().id
    r = leader.post(f"/absence/{sid}/move", {"unit": "00070"}, referrer="/absence", follow=True)
    assert "Đã chuyển 2 việc đang giữ cho người làm thay." in leader.text(r)
    for h in held:
        assert api.get(f"/tasks/{h['task']}", "leader.00070").get_json()["assignee"] == COLLEAGUE
    with app.app_context():
        assert db.session.query(WorkItem).filter_by(assignee_id=_actor(OFFICER).user_id, state="open").count() == 0
    # another unit's leader may not touch it; ending it early
    assert _office(app.test_client(), "leader.00454").post(
        f"/absence/{sid}/end", {"unit": "00070"}, referrer="/absence").status_code == 403
    r = leader.post(f"/absence/{sid}/end", {"unit": "00070"}, referrer="/absence", follow=True)
    assert "Đã kết thúc việc làm thay." in leader.text(r)
    with app.app_context():
        assert db.session.query(Substitute).count() == 0  # it began today: nothing of it is left


def test_a_substitute_who_lost_the_role_gets_nothing(app, api):
    """The rule holds at the time the work is given: without the step's role the officer keeps it."""
    _colleague(app)
    with app.app_context():
        item = _birth(api, "Lê Thị Hoa", 2)
        session, leader = db.session, _actor("leader.00070")
        today = substitutes.today()
        substitutes.set_substitute(session, leader, "00070", OFFICER, COLLEAGUE, today, today)
        user = session.query(User).filter_by(username=COLLEAGUE).one()
        for a in list(user.assignments):
            session.delete(a)
        create_user(session, COLLEAGUE, "demo1234", [("reception", "00070")])
        session.flush()
        assert tasks.assign(session, leader, item["task"], OFFICER).assignee_id == _actor(OFFICER).user_id
        session.rollback()
