"""Issue 21, findings 13 and 14: who may send a dossier back to an earlier step, and who reads
procedure drafts, lane maps and designers' usernames on the API."""
from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import Dossier
from orchestrator.services.auth import create_user

from ..admin_client import BackOffice
from ..test_dossiers_api import APPLICANT, BIRTH

ROOT = Path(__file__).resolve().parents[2]
BIRTH_BPMN = (ROOT / "bpmn" / "national" / "1.001193.bpmn").read_bytes()
RECORD_DATA = {"check_result": "valid", "days_since_birth": 1, "fee_exempt_group": False}
BACK = {"step_id": "Task_Record", "reason": "Sai ngày sinh trên tờ khai"}
INTERNAL = ("lanes", "mapping", "created_by", "published_by", "warnings", "schedule", "called_by", "process_id")


def _ok(r, status=200):
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    return r.get_json()


def _task(body, step_id):
    return next(t["id"] for t in body["current_tasks"] if t["step_id"] == step_id)


def _decided(api) -> dict:
    """A birth registration at 00070 signed (status 9), its return step open and unclaimed."""
    body = _ok(api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 1,
        "applicant": APPLICANT, "data": BIRTH}), 201)
    body = _ok(api.post(f"/tasks/{_task(body, 'Task_Record')}/complete", "specialist.00070",
                        json={"data": RECORD_DATA}))
    body = _ok(api.post(f"/tasks/{_task(body, 'Task_Sign')}/complete", "leader.00070",
                        json={"data": {"decision": "approve"}}))
    assert body["status"] == 9
    return body


def _status(app, code) -> int:
    with app.app_context():
        return db.session.scalar(select(Dossier.status).where(Dossier.code == code))


# -- finding 13: return-to-step ----------------------------------------------------------------

def test_a_receptionist_who_does_not_hold_the_return_step_cannot_send_a_decided_dossier_back(app, api):
    # The finding: reception.00070 sent a decided dossier back (9 -> 4) holding no step.
    body = _decided(api)
    r = api.post(f"/dossiers/{body['code']}/actions/return-to-step", "reception.00070", json=BACK)
    assert r.status_code == 403
    assert "người đang giữ" in r.get_json()["error"]["message"]
    assert _status(app, body["code"]) == 9
    r = api.post(f"/dossiers/{body['code']}/actions/return-to-step", "specialist.00070", json=BACK)
    assert r.status_code == 403 and _status(app, body["code"]) == 9


def test_another_officer_with_the_role_cannot_send_back_a_step_a_colleague_holds(app, api):
    with app.app_context():
        create_user(db.session, "reception3.00070", "demo1234", [("reception", "00070")])
        db.session.commit()
    body = _decided(api)
    _ok(api.post(f"/tasks/{_task(body, 'Task_Return')}/claim", "reception3.00070"))
    r = api.post(f"/dossiers/{body['code']}/actions/return-to-step", "reception.00070", json=BACK)
    assert r.status_code == 403 and _status(app, body["code"]) == 9
    r = api.post(f"/dossiers/{body['code']}/actions/return-to-step", "reception3.00070", json=BACK)
    assert r.status_code == 200 and r.get_json()["status"] == 4


def test_the_leader_of_the_step_unit_sends_back_without_holding_it(app, api):
    body = _decided(api)
    r = api.post(f"/dossiers/{body['code']}/actions/return-to-step", "leader.00070", json=BACK)
    assert r.status_code == 200 and r.get_json()["status"] == 4


def test_the_back_office_shows_the_return_form_only_to_the_holder_or_a_leader(app, api, client):
    # Before the fix every officer who opened the step saw the "Trả về bước trước" form.
    body = _decided(api)
    path = f"/tasks/{_task(body, 'Task_Return')}"

    def shows_form(username: str) -> bool:
        office = BackOffice(app.test_client())
        office.login(username)
        r = office.get(path)
        assert r.status_code == 200, r.status_code
        return 'id="return-to-step"' in office.text(r)

    assert not shows_form("reception.00070")  # has the role, does not hold the step
    assert shows_form("leader.00070")
    _ok(api.post(f"/tasks/{_task(body, 'Task_Return')}/claim", "reception.00070"))
    assert shows_form("reception.00070")      # now the holder


# -- finding 14: drafts, lane maps and usernames ------------------------------------------------

def _draft(api, scope="01", who="designer.01") -> int:
    body = _ok(api.post("/procedures", who, data={
        "code": "1.001193", "scope": scope, "name": "Thủ tục 1.001193", "deadline_kind": "same-day",
        "file": (io.BytesIO(BIRTH_BPMN), "birth.bpmn")}, content_type="multipart/form-data"), 201)
    return body["version"]


def test_an_integrator_reads_published_versions_only_without_lanes_or_usernames(api, api_key):
    # Before the fix any bearer listed Hà Nội's draft with its lane map and designer's username.
    number = _draft(api)
    key = api_key(provinces=["19"])
    items = _ok(api.get("/procedures/1.001193/versions", key))["items"]
    assert items and number not in [v["version"] for v in items]
    assert all(v["state"] != "draft" for v in items)
    for v in items:
        assert not set(INTERNAL) & set(v), v.keys()
        assert {"code", "name", "version", "scope", "published_at", "steps", "in_force"} <= set(v)
        assert all(set(s) <= {"id", "name", "milestone"} and s["name"] for s in v["steps"])
    published = items[0]["version"]
    one = _ok(api.get(f"/procedures/1.001193/versions/{published}", key))
    assert not set(INTERNAL) & set(one) and one["steps"]
    r = api.get(f"/procedures/1.001193/versions/{number}", key)
    assert r.status_code == 404
    assert api.get(f"/procedures/1.001193/versions/{number}", api_key(provinces=["01"])).status_code == 404


def test_a_designer_of_another_province_or_an_officer_gets_404_for_a_draft(api):
    # Before the fix designer.19 and any officer read Hà Nội's draft (200).
    number = _draft(api)
    for who in ("designer.19", "specialist.00070", "supervisor.01"):
        assert api.get(f"/procedures/1.001193/versions/{number}", who).status_code == 404, who
        items = _ok(api.get("/procedures/1.001193/versions", who))["items"]
        assert number not in [v["version"] for v in items], who
        assert all("created_by" not in v and "lanes" not in v for v in items if v["scope"] == "01"), who


def test_the_designers_and_administrators_of_the_scope_read_the_draft_in_full(api, api_key):
    number = _draft(api)
    for who in ("designer.01", "designer.VN", "admin.01", "admin.VN",
                api_key(provinces=["01"], permissions=["procedures:write"])):
        v = _ok(api.get(f"/procedures/1.001193/versions/{number}", who))
        assert v["created_by"] == "designer.01" and v["lanes"] and "mapping" in v, who
        items = _ok(api.get("/procedures/1.001193/versions", who))["items"]
        assert number in [i["version"] for i in items], who
