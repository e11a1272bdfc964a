"""Security review, issue 21, finding 12: an integrator's start data pre-filled the officers' own
findings (`check_result: valid` sent at start appeared already chosen in the civil-status officer's
form). A step's form now opens with what the citizen declared (the reception form's fields) and
with the findings only as earlier steps recorded them, never from the start data."""
from __future__ import annotations

import re

from ..admin_client import BackOffice
from ..test_dossiers_api import APPLICANT, BIRTH
from ..test_plain_language import RECORD

START = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "applicant": APPLICANT}
FORGED = {"check_result": "valid", "check_note": "Đã đối chiếu, hợp lệ", "days_since_birth": 1,
          "fee_exempt_group": True, "register_book_number": "99/2026", "decision": "approve"}


def _record_task(api, api_key):
    """An online dossier whose start data carries forged findings, received at the desk; the
    civil-status step it opens."""
    key = api_key()
    r = api.post("/dossiers", key, json={**START, "data": {**BIRTH, **FORGED}})
    assert r.status_code == 201, r.get_json()
    code, [reception] = r.get_json()["code"], r.get_json()["current_tasks"]
    # the reception form opens with what the citizen declared: the start data
    prefill = api.get(f"/tasks/{reception['id']}", "reception.00070").get_json()["prefill"]
    assert prefill["child_full_name"] == BIRTH["child_full_name"] and not set(FORGED) & set(prefill)
    assert api.post(f"/tasks/{reception['id']}/claim", "reception.00070").status_code == 200
    r = api.post(f"/tasks/{reception['id']}/complete", "reception.00070",
                 json={"data": {**prefill, "reception_result": "accept"}})
    assert r.status_code == 200, r.get_json()
    [record] = api.get(f"/dossiers/{code}", "specialist.00070").get_json()["current_tasks"]
    assert record["step_id"] == "Task_Record"
    return code, record


def test_integrator_start_data_does_not_prefill_the_officers_findings_in_the_api(app, api, api_key):
    # Before the fix: the prefill held check_result 'valid' and the other forged findings.
    _code, record = _record_task(api, api_key)
    body = api.get(f"/tasks/{record['id']}", "specialist.00070").get_json()
    assert not set(FORGED) & set(body["prefill"]), body["prefill"]


def test_integrator_start_data_does_not_prefill_the_officers_findings_in_the_back_office(app, api, api_key, client):
    # Before the fix: the radio 'valid' was checked and the note and book number filled in.
    _code, record = _record_task(api, api_key)
    office = BackOffice(client)
    assert office.login("specialist.00070").status_code == 302
    page = office.text(office.get(f"/tasks/{record['id']}"))
    assert 'id="f-check_result"' in page or 'name="check_result"' in page
    assert not re.search(r'value="valid"[^>]*checked', page)
    note = re.search(r'<textarea[^>]*id="f-check_note"[^>]*>([^<]*)</textarea>', page)
    assert note and note.group(1).strip() == ""
    book = re.search(r'<input[^>]*id="f-register_book_number"[^>]*>', page)
    assert book and "99/2026" not in book.group(0)


def test_findings_recorded_by_an_earlier_step_still_prefill(app, api, api_key):
    # What the officer recorded opens again when the dossier is sent back to the step.
    code, record = _record_task(api, api_key)
    assert api.post(f"/tasks/{record['id']}/claim", "specialist.00070").status_code == 200
    mine = {**RECORD, "check_result": "invalid", "check_note": "Thiếu giấy chứng sinh"}
    r = api.post(f"/tasks/{record['id']}/complete", "specialist.00070", json={"data": mine})
    assert r.status_code == 200, r.get_json()
    r = api.post(f"/dossiers/{code}/actions/return-to-step", "leader.00070",
                 json={"step_id": "Task_Record", "reason": "Kiểm tra lại"})
    assert r.status_code == 200, r.get_json()
    [again] = [t for t in api.get(f"/dossiers/{code}", "specialist.00070").get_json()["current_tasks"]
               if t["step_id"] == "Task_Record"]
    prefill = api.get(f"/tasks/{again['id']}", "specialist.00070").get_json()["prefill"]
    assert prefill["check_result"] == "invalid" and prefill["check_note"] == "Thiếu giấy chứng sinh"
    assert prefill["register_book_number"] == RECORD["register_book_number"]  # recorded, not the forged 99/2026
