"""Issue 18: the three outcomes at the one-stop desk for a walk-in dossier (Decree 118/2025 Art. 17;
Circular 03/2025 forms 01, 02, 03): accept (received, the legal period starts, receipt), guide the
citizen to complete the file (not received: status 5 at reception, no period, form 02) or refuse
(status 3, form 03). Both backends."""
from __future__ import annotations

import re
from datetime import datetime

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Dossier, DossierCounter, DossierState, WorkItem
from orchestrator.services.deadlines import calendar_for
from orchestrator.timezone import TZ

from .test_dossiers_api import APPLICANT, BIRTH

DESK = "reception.00070"
ITEMS = ["Giấy chứng sinh (bản chính)", "Giấy tờ chứng minh nơi cư trú"]
REASON = "Thủ tục không thuộc thẩm quyền giải quyết của UBND phường Hoàn Kiếm"


def walk_in(api, who=DESK, reception=None, procedure="1.001193"):
    body = {"procedure_code": procedure, "province_code": "01", "commune_code": "00070", "channel": 1,
            "applicant": APPLICANT, "data": BIRTH}
    if reception is not None:
        body["reception"] = reception
    return api.post("/dossiers", who, json=body)


def history(body: dict) -> list[tuple]:
    return [(h["action"], h["from_status"], h["to_status"]) for h in body["history"] if h["to_status"] is not None]


def counts(app):
    with app.app_context():
        return (tuple(db.session.query(m).count() for m in (Dossier, DossierState, WorkItem, AuditEvent)),
                sorted((c.unit_code, c.value) for c in db.session.query(DossierCounter)))


def document(api, code, kind, fmt="html"):
    return api.get(f"/dossiers/{code}/documents/{kind}?format={fmt}", DESK)


def _vn(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(TZ).strftime("%H:%M ngày %d/%m/%Y")


def test_accept_receives_at_once_with_the_receipt(app, api):
    r = walk_in(api, reception={"reception_result": "accept"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    code = body["code"]
    assert body["status"] in (2, 4) and body["received_at"] and body["due_at"]
    with app.app_context():
        received = datetime.fromisoformat(body["received_at"])
        same_day = calendar_for(db.session, "01").due_at(received, "same-day")
        assert datetime.fromisoformat(body["legal_due_at"]) == same_day
    assert history(body)[0] == ("created", None, 2)
    kinds = [d["kind"] for d in api.get(f"/dossiers/{code}/documents", DESK).get_json()["items"]]
    assert "receipt" in kinds and "supplement" not in kinds and "refusal" not in kinds
    page = document(api, code, "receipt").get_data(as_text=True)
    assert code in page and _vn(body["due_at"]) in page
    pdf = document(api, code, "receipt", "pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    # no reception outcome given: accepted, as before
    assert walk_in(api).get_json()["received_at"]


def test_guide_records_the_dossier_unreceived_until_the_citizen_comes_back(app, api):
    r = walk_in(api, reception={"reception_result": "supplement", "missing_items": ITEMS})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    code = body["code"]
    assert re.fullmatch(r"00070-\d{6}-0001", code)
    assert body["status"] == 5 and body["current_tasks"] == []
    assert body["received_at"] is None and body["legal_due_at"] is None and body["due_at"] is None
    assert body["finished_at"] is None
    [pause] = body["paused"]
    assert pause["stage"] == "reception" and pause["items"] == ITEMS and pause["to"] is None
    steps = history(body)
    assert steps[0] == ("created", None, 1) and steps[-1] == ("supplement_requested", 1, 5)
    assert all(a != "accepted" and to != 2 for a, _, to in steps), "never a reception that did not happen"

    # form 02 with the items and the desk's unit; no receipt (form 01): the dossier was not received
    kinds = [d["kind"] for d in api.get(f"/dossiers/{code}/documents", DESK).get_json()["items"]]
    assert "supplement" in kinds and "receipt" not in kinds
    page = document(api, code, "supplement").get_data(as_text=True)
    assert all(item in page for item in ITEMS) and code in page and "Phường Hoàn Kiếm" in page
    assert "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ".upper() in page.upper()
    receipt = document(api, code, "receipt")
    assert receipt.status_code == 404 and receipt.get_json()["error"]["code"] == "no_such_document"
    assert "chưa được tiếp nhận" in receipt.get_json()["error"]["message"]

    # found by its code when the citizen comes back; the officer records the supplement at the desk
    found = api.get(f"/dossiers/{code}", DESK).get_json()
    assert found["status"] == 5 and found["status_name"] == "Yêu cầu bổ sung"
    r = api.post(f"/dossiers/{code}/events/supplement_submitted", DESK,
                 json={"data": {"note": "bổ sung tại quầy"}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 1 and body["received_at"] is None
    [reception_task] = body["current_tasks"]
    back_at = datetime.fromisoformat(body["paused"][0]["to"])
    r = api.post(f"/tasks/{reception_task['id']}/complete", DESK,
                 json={"data": {**BIRTH, "reception_result": "accept"}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    received = datetime.fromisoformat(body["received_at"])
    assert body["status"] in (2, 4) and received >= back_at, "the period starts when the file is complete"
    with app.app_context():
        same_day = calendar_for(db.session, "01").due_at(received, "same-day")
        assert datetime.fromisoformat(body["legal_due_at"]) == same_day
    assert ("accepted", 1, 2) in history(body)
    assert "receipt" in [d["kind"] for d in api.get(f"/dossiers/{code}/documents", DESK).get_json()["items"]]
    page = document(api, code, "receipt").get_data(as_text=True)
    assert code in page and _vn(body["due_at"]) in page


def test_refuse_ends_the_dossier_with_form_03(app, api):
    r = walk_in(api, reception={"reception_result": "refuse", "refusal_reason": f"  {REASON} "})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    code = body["code"]
    assert body["status"] == 3 and body["status_name"] == "Không được tiếp nhận"
    assert body["received_at"] is None and body["due_at"] is None and body["finished_at"]
    assert body["current_tasks"] == []
    steps = history(body)
    assert steps[0] == ("created", None, 1) and steps[-1] == ("refused", 1, 3)
    assert [h["note"] for h in body["history"] if h["action"] == "refused"] == [REASON]
    kinds = [d["kind"] for d in api.get(f"/dossiers/{code}/documents", DESK).get_json()["items"]]
    assert "refusal" in kinds and "receipt" not in kinds and "supplement" not in kinds
    page = document(api, code, "refusal").get_data(as_text=True)
    assert REASON in page and code in page
    pdf = document(api, code, "refusal", "pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert document(api, code, "receipt").status_code == 404
    # a refused dossier cannot be reopened by a supplement
    r = api.post(f"/dossiers/{code}/events/supplement_submitted", DESK, json={"data": {}})
    assert r.status_code == 409


def test_bad_desk_outcomes_name_the_field_and_save_nothing(app, api, api_key):
    before = counts(app)
    cases = [
        ({"reception_result": "supplement"}, "reception.missing_items"),
        ({"reception_result": "supplement", "missing_items": []}, "reception.missing_items"),
        ({"reception_result": "supplement", "missing_items": ["  "]}, "reception.missing_items"),
        ({"reception_result": "supplement", "missing_items": "Giấy chứng sinh"}, "reception.missing_items"),
        ({"reception_result": "refuse"}, "reception.refusal_reason"),
        ({"reception_result": "refuse", "refusal_reason": "   "}, "reception.refusal_reason"),
        ({"reception_result": "guide"}, "reception.reception_result"),
        # the reception form's own fields are checked too (after the code is drawn: rolled back)
        ({"reception_result": "supplement", "missing_items": ITEMS, "requester_id_number": "12"},
         "reception.requester_id_number"),
    ]
    for reception, field in cases:
        r = walk_in(api, reception=reception)
        assert r.status_code == 400, (reception, r.get_json())
        assert field in r.get_json()["error"]["fields"], r.get_json()
    # an integrator's dossiers are online: received later at the desk, never guided or refused on start
    key = api_key()
    for reception in ({"reception_result": "supplement", "missing_items": ITEMS},
                      {"reception_result": "refuse", "refusal_reason": REASON}):
        r = walk_in(api, who=key, reception=reception)
        assert r.status_code == 400, r.get_json()
        assert "reception.reception_result" in r.get_json()["error"]["fields"]
    assert counts(app) == before, "no dossier, no history, no code drawn"
    online = walk_in(api, who=key, reception={"reception_result": "accept"}).get_json()
    assert online["status"] == 1 and online["received_at"] is None
    assert online["code"].endswith("-0001"), "the failed starts consumed no code"


def test_the_tracking_page_shows_the_desk_outcome(app, api, client):
    guided = walk_in(api, reception={"reception_result": "supplement", "missing_items": ITEMS}).get_json()["code"]
    refused = walk_in(api, reception={"reception_result": "refuse", "refusal_reason": REASON}).get_json()["code"]
    page = client.get(f"/tra-cuu?code={guided}&phone={APPLICANT['phone'][-4:]}").get_data(as_text=True)
    assert 'data-status="5">Yêu cầu bổ sung<' in page
    assert all(item in page for item in ITEMS) and "Phường Hoàn Kiếm" in page
    assert "Được tiếp nhận" not in page, "the citizen is not told the dossier was received"
    page = client.get(f"/tra-cuu?code={refused}").get_data(as_text=True)
    assert 'data-status="3">Không được tiếp nhận<' in page
    public = api.get(f"/public/dossiers/{refused}").get_json()
    assert public["status"] == 3 and public["received_at"] is None
