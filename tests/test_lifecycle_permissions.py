"""Who may do each lifecycle action (`access.LIFECYCLE_RULES`): the apology and the stop belong
to a leader of the unit at fault and are issued in its name, signed with the leader's full name
and title; return-to-step to the holder of a current step or a leader of its unit; the apology
reaches the citizen's tracking page (both backends)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Dossier, Unit, User, WorkItem
from orchestrator.services.calendar import TZ

from .lifecycle_helpers import (
    BRANCH, BRANCH_LEADER, BRANCH_OFFICER, RECEPTION, accepted, action, complete, snapshot, task,
)
from .test_dossiers_api import APPLICANT, BIRTH

COMMUNE_LEADER, COMMUNE_SPECIALIST = "leader.00454", "specialist.00454"
RECORD_DATA = {"check_result": "valid", "days_since_birth": 1, "fee_exempt_group": False}


def _profile(app, username: str) -> tuple[str, str]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return user.full_name, user.title


def _unit_name(app, code: str) -> str:
    with app.app_context():
        return db.session.get(Unit, code).name


def _overdue(app, item_id: str) -> None:
    """The step's due day ended three days ago; the dossier's own due date is still weeks away."""
    with app.app_context():
        db.session.get(WorkItem, item_id).due_at = datetime.now(TZ) - timedelta(days=3)
        db.session.commit()


def _new_date(api, code: str) -> str:
    due = api.get(f"/dossiers/{code}", RECEPTION).get_json()["due_at"]
    return (datetime.fromisoformat(due) + timedelta(days=10)).date().isoformat()


def test_the_demo_leaders_sign_with_a_full_name_and_a_title(app):
    name, title = _profile(app, "leader.00070")
    assert name and title == "Chủ tịch UBND phường"  # Phường Hoàn Kiếm
    assert _profile(app, COMMUNE_LEADER)[1] == "Chủ tịch UBND xã"  # Xã Đông Anh
    assert "Chi nhánh" in _profile(app, BRANCH_LEADER)[1]


def test_with_the_land_office_late_only_its_leader_apologises_in_its_name(app, api, api_key, client):
    body = accepted(api, api_key())
    code = body["code"]
    _overdue(app, task(body, "Task_FileCheck")["id"])  # the branch is late; the commune's step is not
    new_date = _new_date(api, code)
    before = snapshot(app, code)
    for who in (RECEPTION, COMMUNE_SPECIALIST, BRANCH_OFFICER, COMMUNE_LEADER):
        r = action(api, who, code, "apologize", new_due_at=new_date, reason="Chờ xác minh nguồn gốc đất")
        assert r.status_code == 403, (who, r.get_json())
        assert "lãnh đạo" in r.get_json()["error"]["message"]
    assert snapshot(app, code) == before

    r = action(api, BRANCH_LEADER, code, "apologize", new_due_at=new_date, reason="Chờ xác minh nguồn gốc đất")
    assert r.status_code == 200, r.get_json()
    name, title = _profile(app, BRANCH_LEADER)
    branch = _unit_name(app, BRANCH)
    entry = next(h for h in r.get_json()["history"] if h["action"] == "apologized")
    assert entry["actor"] == BRANCH_LEADER

    letter = api.get(f"/dossiers/{code}/documents/apology", RECEPTION).get_data(as_text=True)
    issuer = letter.split('id="issuer">')[1].split("<")[0]
    signature = letter.split('id="signature">')[1].split("</td>")[0]
    assert issuer == branch and "Chờ xác minh nguồn gốc đất" in letter
    assert name in signature and title.upper() in signature and "THỦ TRƯỞNG" not in signature
    assert _unit_name(app, "00454") in letter  # the commune received the dossier: the letter says so

    # the letter reads the same once the leader has a new title: what was recorded is printed
    with app.app_context():
        db.session.scalar(select(User).where(User.username == BRANCH_LEADER)).title = "Phó Giám đốc"
        db.session.commit()
    try:
        again = api.get(f"/dossiers/{code}/documents/apology", RECEPTION).get_data(as_text=True)
        assert title.upper() in again and "PHÓ GIÁM ĐỐC" not in again
    finally:
        with app.app_context():
            db.session.scalar(select(User).where(User.username == BRANCH_LEADER)).title = title
            db.session.commit()

    # the citizen sees the apology, the new date and the unit with the code alone; why, with the phone digits
    page = client.get(f"/tra-cuu?code={code}").get_data(as_text=True)
    apology = page.split('id="apology">')[1].split("</div>")[0]
    assert branch in apology and datetime.fromisoformat(new_date).strftime("%d/%m/%Y") in apology
    assert "Chờ xác minh" not in apology
    page = client.get(f"/tra-cuu?code={code}&phone={APPLICANT_PHONE[-4:]}").get_data(as_text=True)
    assert "Chờ xác minh nguồn gốc đất" in page.split('id="apology">')[1].split("</div>")[0]


APPLICANT_PHONE = "0912345678"  # tests/test_land_e2e.APPLICANT


def test_on_parallel_branches_each_holding_leader_may_apologise_for_its_unit(app, api, api_key):
    """Nothing overdue: the commune and the branch both hold the dossier; the commune's leader
    apologises and the letter is the commune's, signed by that leader."""
    code = accepted(api, api_key())["code"]
    r = action(api, COMMUNE_LEADER, code, "apologize", new_due_at=_new_date(api, code), reason="Thiếu cán bộ")
    assert r.status_code == 200, r.get_json()
    letter = api.get(f"/dossiers/{code}/documents/apology", RECEPTION).get_data(as_text=True)
    name, title = _profile(app, COMMUNE_LEADER)
    assert letter.split('id="issuer">')[1].split("<")[0] == _unit_name(app, "00454")
    signature = letter.split('id="signature">')[1].split("</td>")[0]
    assert name in signature and title.upper() in signature


def test_stop_by_the_leader_of_the_unit_at_fault_and_not_by_another_units_specialist(app, api, api_key):
    body = accepted(api, api_key())
    code = body["code"]
    _overdue(app, task(body, "Task_CommuneVerification")["id"])  # now the commune is late
    before = snapshot(app, code)
    r = action(api, BRANCH_OFFICER, code, "stop", reason="Tranh chấp")  # takes part, another unit, a specialist
    assert r.status_code == 403 and "lãnh đạo" in r.get_json()["error"]["message"]
    assert action(api, BRANCH_LEADER, code, "stop", reason="Tranh chấp").status_code == 403  # not late
    assert action(api, "leader.00070", code, "stop", reason="Tranh chấp").status_code == 404  # no part in it
    assert snapshot(app, code) == before
    r = action(api, COMMUNE_LEADER, code, "stop", reason="Có tranh chấp đất đai được Tòa án thụ lý")
    assert r.status_code == 200 and r.get_json()["status"] == 8, r.get_json()
    notice = api.get(f"/dossiers/{code}/documents/stop", RECEPTION).get_data(as_text=True)
    name, title = _profile(app, COMMUNE_LEADER)
    signature = notice.split('id="signature">')[1].split("</td>")[0]
    assert notice.split('id="issuer">')[1].split("<")[0] == _unit_name(app, "00454")
    assert name in signature and title.upper() in signature and "Có tranh chấp đất đai" in notice
    with app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == code))
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.dossier_id == d.id,
                                                           AuditEvent.action == "stopped"))
        assert (event.data["unit"], event.data["leader"]) == ("00454", COMMUNE_LEADER)


def test_with_no_step_open_the_unit_of_the_last_step_done_is_at_fault(app, api, api_key):
    """The land dossier waits for the tax notice or the payment after the branch's file check."""
    body = accepted(api, api_key())
    body = complete(api, COMMUNE_SPECIALIST, body, "Task_CommuneVerification")
    body = complete(api, BRANCH_OFFICER, body, "Task_FileCheck")
    assert body["current_tasks"] == []
    code = body["code"]
    assert action(api, COMMUNE_LEADER, code, "stop", reason="x").status_code == 403
    r = action(api, BRANCH_LEADER, code, "stop", reason="Người sử dụng đất đề nghị")
    assert r.status_code == 200 and r.get_json()["status"] == 8


def _decided_birth(api) -> dict:
    """A birth registration at 00070 signed (status 9): the return step is open at the reception desk."""
    r = api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 1,
        "applicant": APPLICANT, "data": BIRTH})
    assert r.status_code == 201, r.get_json()
    body = complete_birth(api, "specialist.00070", r.get_json(), "Task_Record", RECORD_DATA)
    body = complete_birth(api, "leader.00070", body, "Task_Sign", {"decision": "approve"})
    assert body["status"] == 9
    return body


def complete_birth(api, who, body, step_id, data):
    r = api.post(f"/tasks/{task(body, step_id)['id']}/complete", who, json={"data": data})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_return_to_step_by_the_holder_of_the_current_step_not_by_another_receptionist(app, api):
    from orchestrator.services.auth import create_user

    with app.app_context():
        create_user(db.session, "reception2.00070", "demo1234", [("reception", "00070")])
        db.session.commit()
    body = _decided_birth(api)
    code = body["code"]
    back = {"step_id": "Task_Record", "reason": "Sai ngày sinh trên tờ khai"}
    # unclaimed: nobody holds the return step; its officers claim it first
    r = api.post(f"/dossiers/{code}/actions/return-to-step", "reception.00070", json=back)
    assert r.status_code == 403 and "nhận xử lý" in r.get_json()["error"]["message"]
    assert api.post(f"/tasks/{task(body, 'Task_Return')['id']}/claim", "reception.00070").status_code == 200
    before = snapshot(app, code)
    r = api.post(f"/dossiers/{code}/actions/return-to-step", "reception2.00070", json=back)
    assert r.status_code == 403 and snapshot(app, code) == before
    r = api.post(f"/dossiers/{code}/actions/return-to-step", "reception.00070", json=back)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 4 and [t["step_id"] for t in body["current_tasks"]] == ["Task_Record"]
    # the leader of the step's unit may, without holding it
    body = complete_birth(api, "specialist.00070", body, "Task_Record", RECORD_DATA)
    r = api.post(f"/dossiers/{code}/actions/return-to-step", "leader.00070", json=back)
    assert r.status_code == 200 and [t["step_id"] for t in r.get_json()["current_tasks"]] == ["Task_Record"]


def test_payment_is_asked_by_a_holding_or_the_receiving_unit(app, api, api_key):
    body = accepted(api, api_key())
    body = complete(api, COMMUNE_SPECIALIST, body, "Task_CommuneVerification")  # only the branch holds it now
    code = body["code"]
    r = action(api, "reception.00454", code, "request-payment", amount=50000)  # the receiving unit
    assert r.status_code == 200 and r.get_json()["status"] == 6, r.get_json()


def test_an_administrator_sets_a_leaders_title_in_the_back_office(app, client):
    from .admin_client import BackOffice

    with app.app_context():
        from orchestrator.services.auth import create_user

        uid = create_user(db.session, "leader2.00070", "demo1234", [("leader", "00070")]).id
        db.session.commit()
    office = BackOffice(client)
    office.login("admin.01")
    assert 'id="profile"' in office.text(office.get(f"/users/{uid}"))
    r = office.post(f"/users/{uid}/profile", {"full_name": "Đỗ Thị Mai", "title": "Phó Chủ tịch UBND phường"})
    assert r.status_code in (302, 303)
    assert _profile(app, "leader2.00070") == ("Đỗ Thị Mai", "Phó Chủ tịch UBND phường")
    r = office.post(f"/users/{uid}/profile", {"full_name": "Đỗ Thị Mai", "title": "x" * 121},
                    referrer=f"/users/{uid}", follow=True)
    assert r.status_code in (200, 400) and "120" in office.text(r)
    assert _profile(app, "leader2.00070")[1] == "Phó Chủ tịch UBND phường"
