"""Starting dossiers, statuses, codes, forms, visibility and the public view over HTTP."""
from __future__ import annotations

import io
import re
from datetime import datetime

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Dossier, DossierState, WorkItem
from orchestrator.services.deadlines import calendar_for

from .diagrams import diagram

BIRTH = {"child_full_name": "Trần Minh Khôi", "child_sex": "male", "child_date_of_birth": "2026-11-20",
         "child_place_of_birth": "Bệnh viện Phụ sản Hà Nội", "child_ethnicity": "Kinh", "child_nationality": "Việt Nam",
         "birth_proof_type": "birth_certificate", "mother_full_name": "Lê Thị Hoa", "requester_full_name": "Lê Thị Hoa",
         "requester_id_number": "001190012345", "requester_relationship": "mother"}
APPLICANT = {"full_name": "Lê Thị Hoa", "id_number": "001190012345", "phone": "0987654321"}


def start(api, who, procedure="1.001193", province="01", commune="00070", **extra):
    body = {"procedure_code": procedure, "province_code": province, "commune_code": commune,
            "applicant": APPLICANT, "data": BIRTH, **extra}
    return api.post("/dossiers", who, json=body)


def counts(app):
    with app.app_context():
        return tuple(db.session.query(m).count() for m in (Dossier, DossierState, WorkItem, AuditEvent))


def test_in_person_dossier_is_accepted_at_once_with_its_due_date(app, api):
    r = start(api, "reception.00070")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert re.fullmatch(r"00070-\d{6}-0001", body["code"])
    assert body["status"] == 4 and body["channel"] == 1, "received (2), then processing began (4)"
    received = datetime.fromisoformat(body["received_at"])
    with app.app_context():
        assert datetime.fromisoformat(body["due_at"]) == calendar_for(db.session, "01").due_at(received, "same-day")
    assert body["due_at"].endswith("+07:00")
    [task] = body["current_tasks"]
    assert (task["step_id"], task["unit_code"], task["role"]) == ("Task_Record", "00070", "specialist")
    actions = [(h["action"], h["from_status"], h["to_status"]) for h in body["history"]]
    assert actions[0] == ("created", None, 2) and ("processing", 2, 4) in actions
    # Codes count per receiving unit and day.
    assert start(api, "reception.00070").get_json()["code"].endswith("-0002")
    assert start(api, "reception.00454", commune="00454").get_json()["code"].startswith("00454-")


def test_officer_can_only_receive_for_own_unit_and_integrators_need_scope(app, api, api_key):
    assert start(api, "reception.00454").status_code == 403       # received_by defaults to 00070
    assert start(api, "specialist.00070").status_code == 403
    assert start(api, None).status_code == 401
    assert start(api, "ok_bad_key").status_code == 401
    hanoi = api_key(provinces=["01"])
    assert start(api, hanoi, province="19", commune="05443").status_code == 403
    assert start(api, api_key(provinces=["01"], permissions=["dossiers:read"], name="reader")).status_code == 403
    r = start(api, hanoi)
    assert r.status_code == 201 and r.get_json()["status"] == 1 and r.get_json()["due_at"] is None
    assert api.get(f"/dossiers/{r.get_json()['code']}", hanoi).status_code == 200
    thainguyen = api_key(provinces=["19"], name="tn")
    assert api.get(f"/dossiers/{r.get_json()['code']}", thainguyen).status_code == 404


def test_bad_start_bodies_name_the_field_and_create_nothing(app, api, api_key):
    before = counts(app)
    key = api_key()
    cases = [
        ({"procedure_code": "1.001193"}, {"province_code", "commune_code", "applicant"}),
        ({"procedure_code": "1.001193", "province_code": "01", "commune_code": "05443", "applicant": APPLICANT},
         {"commune_code"}),
        ({"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070",
          "applicant": {"full_name": "A", "id_number": "12ab"}}, {"applicant.id_number"}),
        ({"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "applicant": APPLICANT,
          "channel": 9, "surprise": 1}, {"channel", "surprise"}),
    ]
    for body, fields in cases:
        r = api.post("/dossiers", key, json=body)
        assert r.status_code == 400, r.get_json()
        assert fields <= set(r.get_json()["error"]["fields"]), r.get_json()
    assert api.post("/dossiers", key, data="not json", content_type="application/json").status_code == 400
    r = start(api, key, procedure="0.000000")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "procedure_not_offered"
    assert counts(app) == before


def test_lane_that_cannot_resolve_is_409_and_nothing_is_created(app, api, api_key):
    # Cao Bằng (04) has no land registration office among the seeded units.
    before = counts(app)
    r = start(api, api_key(provinces=["04"]), procedure="1.004227", province="04", commune="01273")
    assert r.status_code == 409, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "unroutable" and "department:VPDKDD" in error["lane"]
    assert counts(app) == before


def test_version_in_force_is_the_province_variant_else_national(app, api, api_key):
    hkd = {"procedure_code": "1.001612", "applicant": APPLICANT, "data": {}}
    hanoi = api.post("/dossiers", api_key(provinces=["01"]),
                     json={**hkd, "province_code": "01", "commune_code": "00070"}).get_json()
    assert hanoi["procedure_scope"] == "01"
    # Hà Nội's variant receives at the service-center branch serving the commune.
    [task] = hanoi["current_tasks"]
    assert task["unit_code"] == "01.TTPVHCC" and task["role"] == "reception"
    tn = api.post("/dossiers", api_key(provinces=["19"], name="tn"),
                  json={**hkd, "province_code": "19", "commune_code": "05443"}).get_json()
    assert tn["procedure_scope"] == "19"
    assert tn["current_tasks"][0]["unit_code"] == "05443"   # Camunda lane "Bộ phận Một cửa" mapped to commune/reception
    other = api.post("/dossiers", api_key(provinces=["04"], name="cb"),
                     json={**hkd, "province_code": "04", "commune_code": "01273"}).get_json()
    assert other["procedure_scope"] == "national"


def test_service_center_branch_that_received_gets_the_work(app, api, api_key):
    hkd = {"procedure_code": "1.001612", "applicant": APPLICANT, "data": {}, "province_code": "01",
           "commune_code": "00070", "received_by_unit": "01.TTPVHCC.CN01"}
    body = api.post("/dossiers", api_key(provinces=["01"]), json=hkd).get_json()
    assert body["code"].startswith("01.TTPVHCC.CN01-")
    assert body["current_tasks"][0]["unit_code"] == "01.TTPVHCC.CN01"


def test_reception_outcomes_refuse_and_supplement(app, api, api_key):
    key = api_key()
    for outcome, extra, status in (("refuse", {"refusal_reason": "Không thuộc thẩm quyền"}, 3),
                                   ("supplement", {"missing_items": ["Giấy chứng sinh"]}, 5)):
        body = start(api, key).get_json()
        task = body["current_tasks"][0]
        r = api.post(f"/tasks/{task['id']}/complete", "reception.00070",
                     json={"data": {"reception_result": outcome, **extra}})
        assert r.status_code == 200, r.get_json()
        after = r.get_json()
        assert after["status"] == status and after["current_tasks"] == []
        assert after["due_at"] is None, "a dossier not accepted has no legal due date"
        last = [h for h in after["history"] if h["to_status"] == status][0]
        assert last["from_status"] == 1


def test_task_form_and_field_errors_leave_the_dossier_unchanged(app, api, api_key):
    body = start(api, api_key()).get_json()
    task_id = body["current_tasks"][0]["id"]
    task = api.get(f"/tasks/{task_id}", "reception.00070").get_json()
    assert task["form"]["id"] == "KS-TIEPNHAN"
    assert task["form"]["schema"]["properties"]["child_full_name"]["title"]
    assert task["form"]["schema"]["properties"]["child_full_name"]["x-title-en"]
    assert task["prefill"]["child_full_name"] == BIRTH["child_full_name"]
    before = api.get(f"/dossiers/{body['code']}", "reception.00070").get_json()
    r = api.post(f"/tasks/{task_id}/complete", "reception.00070",
                 json={"data": {"reception_result": "maybe", "requester_id_number": "123", "extra": 1}})
    assert r.status_code == 400
    fields = r.get_json()["error"]["fields"]
    assert {"reception_result", "requester_id_number", "extra"} <= set(fields)
    assert api.post(f"/tasks/{task_id}/complete", "reception.00070", json={"data": "x"}).status_code == 400
    after = api.get(f"/dossiers/{body['code']}", "reception.00070").get_json()
    assert after == before


def test_claim_rules_and_holder_named(app, api, api_key):
    from orchestrator.services.auth import create_user

    with app.app_context():
        create_user(db.session, "reception2.00070", "demo1234", [("reception", "00070")])
        db.session.commit()
    body = start(api, api_key()).get_json()
    task_id = body["current_tasks"][0]["id"]
    assert api.post(f"/tasks/{task_id}/claim", "reception.00070").status_code == 200
    assert task_id in [t["id"] for t in api.get("/tasks?view=mine", "reception.00070").get_json()["items"]]
    assert task_id not in [t["id"] for t in api.get("/tasks?view=available", "reception2.00070").get_json()["items"]]
    r = api.post(f"/tasks/{task_id}/claim", "reception2.00070")
    assert r.status_code == 409 and r.get_json()["error"]["holder"] == "reception.00070"
    r = api.post(f"/tasks/{task_id}/complete", "reception2.00070", json={"data": {"reception_result": "accept", **BIRTH}})
    assert r.status_code == 409 and "reception.00070" in r.get_json()["error"]["message"]
    assert api.post(f"/tasks/{task_id}/unclaim", "reception.00070").status_code == 200
    r = api.post(f"/tasks/{task_id}/complete", "reception2.00070", json={"data": {"reception_result": "accept", **BIRTH}})
    assert r.status_code == 200
    r = api.post(f"/tasks/{task_id}/complete", "reception2.00070", json={"data": {"reception_result": "accept", **BIRTH}})
    assert r.status_code == 409
    assert api.get("/tasks/not-a-task", "reception.00070").status_code == 404
    assert api.get("/tasks?view=everything", "reception.00070").status_code == 400


def test_leader_assigns_within_the_unit(app, api, api_key):
    body = start(api, api_key()).get_json()
    task_id = body["current_tasks"][0]["id"]
    assert api.post(f"/tasks/{task_id}/assign", "reception.00070", json={"username": "reception.00070"}).status_code == 403
    r = api.post(f"/tasks/{task_id}/assign", "leader.00070", json={"username": "specialist.00070"})
    assert r.status_code == 400 and "username" in r.get_json()["error"]["fields"]
    r = api.post(f"/tasks/{task_id}/assign", "leader.00070", json={"username": "reception.00070"})
    assert r.status_code == 200 and r.get_json()["assignee"] == "reception.00070"


def test_supervisors_see_their_area_only(app, api):
    code = start(api, "reception.00070").get_json()["code"]
    assert api.get(f"/dossiers/{code}", "supervisor.01").status_code == 200
    assert api.get(f"/dossiers/{code}", "supervisor.VN").status_code == 200
    assert api.get(f"/dossiers/{code}", "supervisor.19").status_code == 404
    assert api.get(f"/dossiers/{code}", "designer.01").status_code == 404


def test_public_view_has_no_personal_data_and_unknown_is_404(app, api):
    code = start(api, "reception.00070").get_json()["code"]
    r = api.get(f"/public/dossiers/{code}")
    assert r.status_code == 200
    text = r.get_data(as_text=True)
    assert APPLICANT["full_name"] not in text and "1.001193" not in text and APPLICANT["phone"] not in text
    assert api.get("/public/dossiers/00070-000000-9999").status_code == 404


def test_public_view_is_rate_limited(app, api):
    app.config["RATELIMIT_PUBLIC"] = "3 per minute"
    statuses = [api.get("/public/dossiers/nope").status_code for _ in range(5)]
    assert statuses[:3] == [404, 404, 404] and statuses[3] == 429
    assert api.get("/public/dossiers/nope").headers.get("Retry-After")


def test_runtime_script_failure_sets_incident_and_server_keeps_serving(app, api, api_key):
    # Passes the upload checks and the dry run (sample data), fails for this dossier's data.
    script = "fee = 100 / (len(decision_note) - 4)"
    form = {"code": "9.000002", "name": "Sự cố", "scope": "01", "deadline_days": "3", "deadline_kind": "working",
            "file": (io.BytesIO(diagram(script=script)), "t.bpmn")}
    assert api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data").status_code == 201
    assert api.post("/procedures/9.000002/versions/1/publish", "designer.01").status_code == 200
    r = start(api, api_key(), procedure="9.000002", data={})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    [task] = body["current_tasks"]
    assert task["step_id"] == "Task_Reception" and not body["incident"]
    r = api.post(f"/tasks/{task['id']}/complete", "reception.00070",
                 json={"data": {"decision": "approve", "decision_note": "abcd"}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert after["incident"] is True and "division by zero" in after["incident_message"]
    assert any(h["action"] == "incident" and h["step_id"] == "Task_Script" for h in after["history"])
    # The server keeps serving, the dossier stays readable, other dossiers run.
    assert api.get(f"/dossiers/{after['code']}", "reception.00070").status_code == 200
    r = start(api, "reception.00070", procedure="9.000002", data={},
              reception={"decision": "approve", "decision_note": "fine, long enough"})
    assert r.status_code == 201 and r.get_json()["incident"] is False
    # In person, the same failure surfaces at creation: the dossier exists with its incident recorded.
    r = start(api, "reception.00070", procedure="9.000002", data={},
              reception={"decision": "approve", "decision_note": "wxyz"})
    assert r.status_code == 201 and r.get_json()["incident"] is True


def test_runaway_script_at_run_time_is_stopped(app, api, api_key):
    script = "x = 1\nfor i in range(max(0, len(decision_note) - 5) * 100000):\n    x = x + i"
    form = {"code": "9.000003", "name": "Vòng lặp", "scope": "01", "deadline_days": "3", "deadline_kind": "working",
            "file": (io.BytesIO(diagram(script=script)), "t.bpmn")}
    assert api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data").status_code == 201
    assert api.post("/procedures/9.000003/versions/1/publish", "designer.01").status_code == 200
    r = start(api, "reception.00070", procedure="9.000003", data={},
              reception={"decision": "approve", "decision_note": "long text that makes the loop huge"})
    assert r.status_code == 201 and r.get_json()["incident"] is True


def test_listing_is_scoped_filtered_and_paged(app, api, api_key):
    hanoi = api_key(provinces=["01"])
    codes = [start(api, "reception.00070").get_json()["code"] for _ in range(3)]
    codes.append(start(api, hanoi).get_json()["code"])
    tn = start(api, "reception.05443", commune="05443", province="19")
    assert tn.status_code == 201
    page = api.get("/dossiers?limit=2", hanoi).get_json()
    assert [d["code"] for d in page["items"]] == codes[:2] and page["next_cursor"]
    rest = api.get(f"/dossiers?limit=10&cursor={page['next_cursor']}", hanoi).get_json()
    assert [d["code"] for d in rest["items"]] == codes[2:] and rest["next_cursor"] is None
    assert "applicant" not in rest["items"][0]
    assert [d["code"] for d in api.get("/dossiers?status=1", hanoi).get_json()["items"]] == codes[3:]
    # An officer lists only dossiers of units they take part in.
    assert {d["code"] for d in api.get("/dossiers", "specialist.00070").get_json()["items"]} == set(codes)
    assert api.get("/dossiers", "specialist.00454").get_json()["items"] == []
    r = api.get("/dossiers?status=11&cursor=abc&updated_since=never", hanoi)
    assert r.status_code == 400 and {"status", "cursor", "updated_since"} <= set(r.get_json()["error"]["fields"])
