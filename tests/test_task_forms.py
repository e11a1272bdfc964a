"""Step forms as officers meet them (issue 19, point 4): plain field errors in both languages (and
in the API), the schema's constraints rendered for the browser, a refused submit that keeps what
was typed, and a task held by a colleague: read-only, its holder named, ask to take over, a
leader's reassignment from the task page."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Dossier, Notification, User, WorkItem
from orchestrator.services import forms
from orchestrator.services.auth import create_user

from admin.formdata import fields_of, html_pattern

from .admin_client import BackOffice
from .lifecycle_helpers import RECEPTION, start_online, task
from .test_dossiers_api import APPLICANT, BIRTH, start

SCHEMA = {"schema": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
    "name": {"type": "string", "minLength": 2, "maxLength": 5},
    "count": {"type": "integer", "minimum": 0, "maximum": 10},
    "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "id_number": {"type": "string", "pattern": "^[0-9]{12}$"},
    "phone": {"type": "string", "pattern": "^[0-9+ ]{8,15}$", "examples": ["0912 345 678"]},
    "code": {"type": "string", "pattern": "^A", "x-pattern-message": "Mã bắt đầu bằng chữ A.",
             "x-pattern-message-en": "The code starts with an A."},
    "plot": {"type": "string", "pattern": "^[0-9]+/[0-9]+$", "x-error": {"vi": "Ghi số thửa/số tờ.",
                                                                          "en": "Write parcel/sheet."}},
    "sex": {"type": "string", "enum": ["male", "female"], "x-enum-labels": {"vi": ["Nam", "Nữ"],
                                                                           "en": ["Male", "Female"]}},
    "born": {"type": "string", "format": "date"},
    "email": {"type": "string", "format": "email"},
    "items": {"type": "array", "items": {"type": "string", "maxLength": 3}, "minItems": 2, "maxItems": 3},
    "flag": {"type": "boolean"},
}}}
BAD = {"count": -3, "ratio": 1, "id_number": "12345", "phone": "x", "code": "b", "plot": "12", "sex": "other",
       "born": "2026-02-30", "email": "no", "items": ["abcd"], "flag": "yes", "extra": 1}
EXPECTED = {
    "vi": {"name": "Cần nhập thông tin này.", "count": "Phải lớn hơn hoặc bằng 0.", "ratio": "Phải nhỏ hơn 1.",
           "id_number": "Cần đúng 12 chữ số.", "phone": "Không đúng định dạng. Ví dụ: 0912 345 678.",
           "code": "Mã bắt đầu bằng chữ A.", "plot": "Ghi số thửa/số tờ.", "sex": "Chọn một trong: Nam, Nữ.",
           "born": "Phải là ngày hợp lệ (năm-tháng-ngày, ví dụ 2026-01-31).",
           "email": "Phải là địa chỉ thư điện tử hợp lệ (ví dụ ten@example.vn).",
           "items": "Cần ít nhất 2 mục.", "items.0": "Tối đa 3 ký tự.", "flag": "Phải là Có hoặc Không.",
           "extra": "Trường này không có trong biểu mẫu."},
    "en": {"name": "This field is required.", "count": "Must be at least 0.", "ratio": "Must be less than 1.",
           "id_number": "Must be exactly 12 digits.", "phone": "Not in the expected format. Example: 0912 345 678.",
           "code": "The code starts with an A.", "plot": "Write parcel/sheet.", "sex": "Choose one of: Male, Female.",
           "born": "Must be a valid date (year-month-day, e.g. 2026-01-31).",
           "email": "Must be a valid email address (e.g. name@example.vn).",
           "items": "Must list at least 2 items.", "items.0": "At most 3 characters.", "flag": "Must be yes or no.",
           "extra": "This field is not part of the form."},
}


def test_plain_messages_for_each_error_kind_in_both_languages():
    for lang, expected in EXPECTED.items():
        assert forms.field_errors(SCHEMA, BAD, lang) == expected, lang
    # the other bounds, lengths and counts
    other = {"name": "a", "count": 11, "ratio": 0, "items": ["a", "b", "c", "d"]}
    assert {k: v for k, v in forms.field_errors(SCHEMA, other).items()} == {
        "name": "Cần ít nhất 2 ký tự.", "count": "Phải nhỏ hơn hoặc bằng 10.", "ratio": "Phải lớn hơn 0.",
        "items": "Tối đa 3 mục."}
    assert forms.field_errors(SCHEMA, {"name": "abcdef", "count": "x"}, "en") == {
        "name": "At most 5 characters.", "count": "Must be a whole number."}
    assert forms.field_errors(SCHEMA, "x", "en") == {"data": "The data must be a JSON object."}
    assert forms.field_errors(SCHEMA, {"name": "ab", "count": 3, "items": ["a", "b"]}) == {}
    # nothing of jsonschema's own wording leaks through
    for lang in EXPECTED:
        text = " ".join(forms.field_errors(SCHEMA, BAD, lang).values())
        assert not re.search(r"is less than|does not match|is not one of|required property|is not of type", text)


def test_api_answers_400_with_plain_vietnamese_messages(app, api, api_key):
    body = start(api, api_key()).get_json()
    task_id = body["current_tasks"][0]["id"]
    r = api.post(f"/tasks/{task_id}/complete", "reception.00070",
                 json={"data": {"reception_result": "maybe", "requester_id_number": "123", "mother_birth_year": 1800,
                                "extra": 1}})
    assert r.status_code == 400
    fields = r.get_json()["error"]["fields"]
    assert fields["requester_id_number"] == "Cần đúng 12 chữ số."
    assert fields["mother_birth_year"] == "Phải lớn hơn hoặc bằng 1900."
    assert fields["extra"] == "Trường này không có trong biểu mẫu."
    assert fields["reception_result"].startswith("Chọn một trong: Tiếp nhận hồ sơ, ")


def _office(client, who):
    office = BackOffice(client)
    assert office.login(who).status_code == 302
    return office


def _attrs(page: str, name: str) -> str:
    """The opening tag of the field `name` on a page."""
    match = re.search(rf'<(?:input|select|textarea)[^>]*\bid="f-{name}"[^>]*>', page)
    assert match, name
    return html.unescape(match.group(0))


def test_html_constraints_come_from_the_schema(app, api, api_key, client):
    fields = {f.name: f.attrs for f in fields_of(SCHEMA, {}, "vi")}
    assert fields["name"]["required"] == "" and fields["name"]["minlength"] == "2" and fields["name"]["maxlength"] == "5"
    assert fields["count"].items() >= {"min": "0", "max": "10", "step": "1",
                                       "data-error-range-underflow": "Phải lớn hơn hoặc bằng 0."}.items()
    assert "min" not in fields["ratio"] and fields["ratio"]["step"] == "any"  # no HTML exclusive bound for decimals
    assert fields["id_number"]["pattern"] == "[0-9]{12}"
    assert fields["id_number"]["data-error-pattern-mismatch"] == "Cần đúng 12 chữ số."
    assert fields["code"]["pattern"] == "A.*"
    assert "required" not in fields["flag"]  # a checkbox left unticked is an answer (no)
    english = {f.name: f for f in fields_of(SCHEMA, {}, "en")}
    assert english["count"].attrs["data-error-range-underflow"] == "Must be at least 0."
    assert english["email"].kind == "email" and english["born"].kind == "date"
    # JSON Schema patterns the browser's regex (v flag, anchored) might read differently are left to the server
    assert html_pattern("^a|b$") is None and html_pattern("^[a-z-]+$") is None and html_pattern("(?<=x)y") is None
    assert html_pattern("^[0-9+ ]{8,15}$") == "[0-9+ ]{8,15}" and html_pattern("abc") == ".*abc.*"

    # on the task page: the birth registration's civil-status step (KS-HOTICH)
    body = start(api, "reception.00070", channel=1).get_json()
    tid = next(t["id"] for t in body["current_tasks"] if t["step_id"] == "Task_Record")
    page = _office(client, "specialist.00070").text(client.get(f"/admin/tasks/{tid}"))
    days = _attrs(page, "days_since_birth")
    assert 'type="number"' in days and 'min="0"' in days and 'step="1"' in days and "required" in days
    assert 'data-error-range-underflow="Phải lớn hơn hoặc bằng 0."' in days
    assert 'aria-describedby="err-days_since_birth"' in days and 'id="err-days_since_birth"' in page
    child_id = _attrs(page, "child_personal_id")
    assert 'pattern="[0-9]{12}"' in child_id and 'data-error-pattern-mismatch="Cần đúng 12 chữ số."' in child_id
    assert 'maxlength="1000"' in _attrs(page, "check_note") and "required" in _attrs(page, "check_result")
    assert 'data-validate' in page


def _land_reception(api, api_key, client, lang="vi"):
    body = start_online(api, api_key())
    tid = task(body, "Task_Reception")["id"]
    office = _office(client, RECEPTION)
    if lang == "en":
        client.get("/admin/lang/en")
    return office, tid


TYPED = {"reception_result": "accept", "applicant_full_name": "Nguyễn Văn An", "applicant_id_number": "12345",
         "parcel_number": "-3", "map_sheet_number": "abc", "land_use_purpose": "ODT", "land_origin": "before_1993",
         "with_certificate": "on", "has_attached_assets": "on",
         "missing_items": "Bản vẽ\nSơ đồ nhà", "attached_assets_description": "Nhà cấp 4"}


def test_refused_submit_keeps_every_typed_value_and_shows_the_summary(app, api, api_key, client):
    office, tid = _land_reception(api, api_key, client)
    r = office.post(f"/tasks/{tid}/complete", TYPED, referrer=f"/tasks/{tid}")
    assert r.status_code == 400
    page = office.text(r)
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert summary and 'tabindex="-1"' in page and "data-error-summary" in page
    links = dict(re.findall(r'<a href="#f-(\w+)">([^<]*)</a>', summary.group(1)))
    assert links["parcel_number"] == "Thửa đất số: Phải lớn hơn hoặc bằng 1."
    assert links["applicant_id_number"].endswith(": Cần đúng 12 chữ số.")
    assert links["map_sheet_number"].endswith(": Phải là số nguyên.")
    assert {"parcel_address", "declared_area_m2", "applicant_residence"} <= set(links)  # required when accepting
    # every value as typed: text, numbers (even wrong ones), radio, selects, checkboxes, a list
    assert 'value="Nguyễn Văn An"' in _attrs(page, "applicant_full_name")
    assert 'value="12345"' in _attrs(page, "applicant_id_number")
    assert 'value="-3"' in _attrs(page, "parcel_number") and 'value="abc"' in _attrs(page, "map_sheet_number")
    assert 'aria-invalid="true"' in _attrs(page, "parcel_number")
    assert re.search(r'value="accept" checked', page)
    assert re.search(r'<option value="ODT" selected>', page) and re.search(r'<option value="before_1993" selected>', page)
    assert "checked" in _attrs(page, "with_certificate") and "checked" in _attrs(page, "has_attached_assets")
    assert "Bản vẽ\nSơ đồ nhà</textarea>" in page and "Nhà cấp 4</textarea>" in page
    assert '<span class="field-error" id="err-parcel_number" role="alert">Phải lớn hơn hoặc bằng 1.</span>' in page
    with app.app_context():
        assert db.session.get(WorkItem, tid).state == "open"  # nothing stored

    # the same in English
    office, tid = _land_reception(api, api_key, app.test_client(), "en")
    page = office.text(office.post(f"/tasks/{tid}/complete", TYPED, referrer=f"/tasks/{tid}"))
    assert "Must be at least 1." in page and "Must be exactly 12 digits." in page
    assert "Phải lớn hơn hoặc bằng" not in page


def _held_by_specialist(app, api):
    """A birth dossier received in person at 00070, its civil-status step claimed by
    specialist.00070; a colleague with the same role (and a full name and title) in the unit."""
    body = api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 1,
        "applicant": APPLICANT, "data": BIRTH}).get_json()
    tid = next(t["id"] for t in body["current_tasks"] if t["step_id"] == "Task_Record")
    assert api.post(f"/tasks/{tid}/claim", "specialist.00070").status_code == 200
    with app.app_context():
        create_user(db.session, "specialist2.00070", "demo1234", [("specialist", "00070")],
                    full_name="Phạm Thu Trang")
        holder = db.session.scalar(select(User).where(User.username == "specialist.00070"))
        holder.full_name, holder.title = "Đỗ Minh Quân", "Công chức Tư pháp - Hộ tịch"
        db.session.commit()
        return body["code"], tid, holder.id


def test_task_held_by_a_colleague_is_read_only_and_the_colleague_may_ask_for_it(app, api, client):
    code, tid, holder_id = _held_by_specialist(app, api)
    office = _office(client, "specialist2.00070")
    page = office.text(office.get(f"/tasks/{tid}"))
    assert re.search(r'<span id="holder">Đỗ Minh Quân \(Công chức Tư pháp - Hộ tịch\)</span>', page)
    assert 'id="held-by"' in page and "Đỗ Minh Quân" in page
    assert 'id="complete"' not in page and 'id="claim"' not in page
    for name in ("check_result", "days_since_birth", "check_note", "fee_exempt_group"):
        assert " disabled" in _attrs(page, name), name
    assert 'id="reassign"' not in page  # not a leader

    # completing anyway is refused by the service; what was typed stays, with the holder named
    r = office.post(f"/tasks/{tid}/complete", {"check_result": "valid", "days_since_birth": "2",
                                               "check_note": "Đã đối chiếu"}, referrer=f"/tasks/{tid}")
    assert r.status_code == 409
    page = office.text(r)
    assert "Đỗ Minh Quân" in page and "error-summary" in page
    assert 'value="2"' in _attrs(page, "days_since_birth") and "Đã đối chiếu</textarea>" in page

    # ask to take over: one notification for the holder, a line in the history
    r = office.post(f"/tasks/{tid}/takeover-request", {}, referrer=f"/tasks/{tid}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/tasks/{tid}")
    with app.app_context():
        notes = db.session.scalars(select(Notification).where(Notification.kind == "takeover_request")).all()
        dossier_id = db.session.scalar(select(Dossier.id).where(Dossier.code == code))
        assert [(n.user_id, n.dossier_id, n.read_at) for n in notes] == [(holder_id, dossier_id, None)]
        assert "Phạm Thu Trang" in notes[0].message
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "takeover_request")).all()
        assert [(e.actor, e.task_id, e.data) for e in events] == [("specialist2.00070", tid,
                                                                   {"holder": "specialist.00070"})]
        assert db.session.get(WorkItem, tid).assignee_id == holder_id  # nothing moves by asking
    # the holder cannot ask themselves; the holder's page stays editable
    holder = _office(app.test_client(), "specialist.00070")
    assert holder.post(f"/tasks/{tid}/takeover-request", {}, referrer=f"/tasks/{tid}").status_code in (303, 409)
    page = holder.text(holder.get(f"/tasks/{tid}"))
    assert 'id="complete"' in page and 'id="ask-takeover"' not in page and " disabled" not in _attrs(page, "check_note")
    with app.app_context():
        assert db.session.query(Notification).filter_by(kind="takeover_request").count() == 1


def test_a_leader_reassigns_from_the_task_page(app, api, client):
    code, tid, holder_id = _held_by_specialist(app, api)
    office = _office(client, "leader.00070")
    page = office.text(office.get(f"/tasks/{tid}"))
    assert 'id="reassign"' in page and 'id="complete"' not in page and 'id="ask-takeover"' not in page
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', page.split('id="reassign-to"')[1].split("</select>")[0])
    assert ("specialist2.00070", "Phạm Thu Trang") in options and any(u == "specialist.00070" for u, _ in options)
    r = office.post(f"/tasks/{tid}/assign", {"username": "specialist2.00070", "next": f"/admin/tasks/{tid}"},
                    referrer=f"/tasks/{tid}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/admin/tasks/{tid}")
    with app.app_context():
        assert db.session.get(WorkItem, tid).assignee.username == "specialist2.00070"
    # the new holder now has the form; the former holder reads it
    new_holder = _office(app.test_client(), "specialist2.00070")
    assert 'id="complete"' in new_holder.text(new_holder.get(f"/tasks/{tid}"))
    former = _office(app.test_client(), "specialist.00070")
    assert 'id="ask-takeover"' in former.text(former.get(f"/tasks/{tid}"))
