"""The back office for designers (issue 4), through Flask's test client on both backends."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from .admin_client import BackOffice

ROOT = Path(__file__).resolve().parents[1]
BIRTH = (ROOT / "bpmn" / "national" / "1.001193.bpmn").read_bytes()


@pytest.fixture
def office(client):
    return BackOffice(client)


def _versions(app, code="1.001193") -> list:
    from orchestrator.extensions import db
    from orchestrator.models import ProcedureVersion

    with app.app_context():
        rows = db.session.scalars(select(ProcedureVersion).where(ProcedureVersion.procedure_code == code)
                                  .order_by(ProcedureVersion.version)).all()
        out = [(v.version, v.scope, v.state, v.bpmn_xml, dict(v.lane_map)) for v in rows]
        db.session.remove()
        return out


def _audit(app, action: str) -> int:
    from orchestrator.extensions import db
    from orchestrator.models import AuditEvent

    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))
        db.session.remove()
        return n


def _upload(office, data: bytes = BIRTH, scope: str = "01", code: str = "1.001193", filename="birth.bpmn", **extra):
    import io

    return office.post("/procedures/upload", {"file": (io.BytesIO(data), filename), "code": code, "scope": scope,
                                              "deadline_kind": "same-day", **extra},
                       content_type="multipart/form-data")


def test_login_messages_and_logout(office, client, app):
    r = office.login("designer.01", "wrong-password")
    assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in office.text(r)
    with app.app_context():  # an account without any role (officers now work here: issue 5)
        from orchestrator.extensions import db
        from orchestrator.services.auth import create_user

        create_user(db.session, "nobody.00070", "demo1234", [])
        db.session.commit()
    r = office.login("nobody.00070")
    assert r.status_code == 401 and "không có vai trò nào dùng được trang quản trị" in office.text(r)
    assert office.get("/procedures").status_code == 302  # not logged in: to the login page
    r = office.login("designer.01")
    assert r.status_code == 302
    assert "Đăng ký khai sinh" in office.text(office.get("/procedures"))
    r = client.post("/admin/logout")  # no CSRF token: refused with a page, not a traceback
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert office.post("/logout").status_code == 302
    assert office.get("/procedures").status_code == 302


def test_language_switch(office):
    office.login("designer.01")
    assert "Danh mục thủ tục" in office.text(office.get("/procedures"))
    office.get("/lang/en")
    page = office.text(office.get("/procedures"))
    assert "Procedure catalogue" in page and 'lang="en"' in page


def test_catalogue_shows_in_force_drafts_and_publishers(office, app):
    office.login("designer.01")
    page = office.text(office.get("/procedures"))
    assert "1.001612" in page and "biến thể tỉnh" in page  # Hà Nội's own variant of 1.001612
    assert "mẫu quốc gia" in page and "system" in page  # who published what


def test_upload_reports_problems_on_the_diagram_and_stores_nothing_when_bad(office, app):
    office.login("designer.01")
    before = _versions(app)
    r = _upload(office, b"this is not XML at all")
    assert r.status_code == 400 and "XML không hợp lệ" in office.text(r)
    broken = BIRTH.replace(b"<bpmn:userTask id=\"Task_Sign\"", b"<bpmn:serviceTask id=\"Task_Sign\"")
    broken = broken.replace(b"</bpmn:userTask>\n    <bpmn:userTask id=\"Task_Return\"",
                            b"</bpmn:serviceTask>\n    <bpmn:userTask id=\"Task_Return\"")
    r = _upload(office, broken)
    page = office.text(r)
    assert r.status_code == 422 and "serviceTask" in page and "Task_Sign" in page
    assert 'class="problems"' in page and 'data-element-id="Task_Sign"' in page  # on the diagram too
    assert "problem" in page.split('data-element-id="Task_Sign"')[0][-200:]
    r = _upload(office, b"<a>" + b"x" * (20 * 1024 * 1024) + b"</a>")
    assert r.status_code in (303, 413)
    page = office.text(office.get("/procedures/upload")) if r.status_code == 303 else office.text(r)
    assert "Tệp quá lớn" in page
    assert _versions(app) == before


def test_upload_edit_compare_publish_and_rollback(office, app, api):
    office.login("designer.01")
    r = _upload(office)
    assert r.status_code == 302
    number = _versions(app)[-1][0]
    base = f"/procedures/1.001193/v/{number}"
    assert r.headers["Location"].endswith(base)
    page = office.text(office.get(base))
    assert "bản nháp" in page and "Lane_Specialist" in page and "Flow_Accept" in page

    # a lane's role, without XML
    r = office.post(f"{base}/lanes/Lane_Specialist", {"level": "commune", "unit_type": "", "dept_code": "",
                                                      "role": "leader"}, referrer=base)
    assert r.status_code == 303
    assert _versions(app)[-1][4] == {"Lane_Specialist": "commune/leader"}

    # an invalid condition: message next to the field, nothing stored
    xml_before = _versions(app)[-1][3]
    r = office.post(f"{base}/flows/Flow_Accept/condition", {"condition": "__import__('os').system('id')"},
                    referrer=base, follow=True)
    page = office.text(r)
    assert 'class="field-error"' in page and "Điều kiện không hợp lệ" in page
    assert "__import__" in page  # what was typed stays in the field
    assert _versions(app)[-1][3] == xml_before
    r = office.post(f"{base}/flows/Flow_Accept/condition", {"condition": "reception_result == 'accept' and"},
                    referrer=base, follow=True)
    assert "Điều kiện không hợp lệ" in office.text(r) and _versions(app)[-1][3] == xml_before

    # a valid one
    cond = "reception_result == 'accept' and child_nationality == 'Việt Nam'"
    r = office.post(f"{base}/flows/Flow_Accept/condition", {"condition": cond}, referrer=base)
    assert r.status_code == 303
    assert "child_nationality == &#39;Việt Nam&#39;" in _versions(app)[-1][3] or "child_nationality == 'Việt Nam'" in _versions(app)[-1][3]

    # deleting a lane still in use: clear message, nothing stored
    xml_before = _versions(app)[-1][3]
    r = office.post(f"{base}/lanes/Lane_Leader/delete", referrer=base, follow=True)
    assert "đang chứa" in office.text(r) and "Ký Giấy khai sinh" in office.text(r)
    assert _versions(app)[-1][3] == xml_before
    # an empty lane can be added and deleted
    office.post(f"{base}/lanes", {"name": "province/department:STP/specialist"}, referrer=base)
    assert "Lane_New1" in _versions(app)[-1][3]
    office.post(f"{base}/lanes/Lane_New1/delete", referrer=base)
    assert "Lane_New1" not in _versions(app)[-1][3]

    # deadline of a step, legal deadline and fee
    assert office.post(f"{base}/tasks/Task_Record/deadline", {"amount": "4", "unit": "hours"},
                       referrer=base).status_code == 303
    assert 'name="stepHours" value="4"' in _versions(app)[-1][3]
    r = office.post(f"{base}/meta", {"deadline_days": "", "deadline_kind": "working", "fee_kind": "fixed",
                                     "fee_amount": "-5"}, referrer=base, follow=True)
    assert "deadline_days" in office.text(r) or "bắt buộc" in office.text(r)
    assert office.post(f"{base}/meta", {"deadline_days": "1", "deadline_kind": "working", "fee_kind": "fixed",
                                        "fee_amount": "8000"}, referrer=base).status_code == 303

    # compare with the national template in force
    page = office.text(office.get(f"{base}/compare"))
    assert "commune/specialist" in page and "commune/leader" in page and "Flow_Accept" in page
    assert "Việt Nam" in page

    # publish: a new immutable version in force for Hà Nội
    r = office.post(f"{base}/publish", {"confirm": "1"}, referrer=base, follow=True)
    assert r.status_code == 200 and "Đã công bố" in office.text(r)
    assert _versions(app)[-1][2] == "published"
    r = office.post(f"{base}/lanes/Lane_Specialist", {"level": "commune", "role": "reception"}, referrer=base)
    assert r.status_code == 303  # refused with a message: a published version is immutable
    assert _versions(app)[-1][4] == {"Lane_Specialist": "commune/leader"}
    r = api.get("/procedures?province=01", "designer.01")
    birth = next(i for i in r.get_json()["items"] if i["code"] == "1.001193")
    assert birth["version"] == number and birth["scope"] == "01"

    # roll back: a second draft published, then the first one again
    office.post(f"{base}/copy", referrer=base)
    second = _versions(app)[-1][0]
    office.post(f"/procedures/1.001193/v/{second}/publish", {"confirm": "1"}, referrer=f"/procedures/1.001193/v/{second}")
    r = office.post(f"{base}/publish", {"confirm": "1"}, referrer=base, follow=True)
    assert "Đã công bố" in office.text(r)
    birth = next(i for i in api.get("/procedures?province=01", "designer.01").get_json()["items"]
                 if i["code"] == "1.001193")
    assert birth["version"] == number
    for action in ("procedure.upload", "procedure.lanes", "procedure.condition", "procedure.publish",
                   "procedure.rollback", "procedure.meta", "procedure.step_deadline", "procedure.copy"):
        assert _audit(app, action) >= 1, action
    assert "procedure.rollback" in office.text(office.get("/audit"))


def test_scope_of_designers(office, app):
    office.login("designer.19")
    r = _upload(office, scope="19")
    number19 = _versions(app)[-1][0]
    assert r.status_code == 302
    office.post("/logout")
    office.token = None
    office.login("designer.01")
    assert office.get(f"/procedures/1.001193/v/{number19}").status_code == 404
    assert office.post(f"/procedures/1.001193/v/{number19}/publish", {"confirm": "1"}).status_code == 404
    r = office.post(f"/procedures/1.001193/v/{number19}/lanes/Lane_Specialist", {"level": "commune", "role": "leader"})
    assert r.status_code == 404
    assert _versions(app)[-1][4] == {}
    # the versions list links each version it shows (a bare "v2" could be part of the CSRF token)
    history = office.text(office.get("/procedures/1.001193"))
    assert "/procedures/1.001193/v/1" in history and f"/procedures/1.001193/v/{number19}" not in history
    # national templates: visible, read-only, not publishable by a province
    page = office.text(office.get("/procedures/1.001193/v/1"))
    assert "Chỉ xem" in page and 'id="publish"' not in page
    assert office.post("/procedures/1.001193/v/1/copy").status_code == 403
    r = _upload(office, scope="national")
    assert r.status_code == 403 and _versions(app)[-1][0] == number19
    office.post("/logout")
    office.token = None
    office.login("designer.VN")
    # another drawing (an identical one is refused as a duplicate of v1: issue 22)
    r = _upload(office, BIRTH.replace(b"<bpmn:definitions ", b'<bpmn:definitions exporterVersion="2" ', 1),
                scope="national")
    national_draft = _versions(app)[-1][0]
    office.post("/logout")
    office.token = None
    office.login("designer.01")
    assert office.get(f"/procedures/1.001193/v/{national_draft}").status_code == 200
    r = office.post(f"/procedures/1.001193/v/{national_draft}/publish", {"confirm": "1"})
    assert r.status_code == 403 and _versions(app)[-1][2] == "draft"
    # a province designer is not an administrator
    assert office.get("/users").status_code == 403


def test_derive_variant_forms_and_dry_run(office, app):
    office.login("designer.19")
    r = office.post("/procedures/1.001193/derive", {"province": "19"}, referrer="/procedures/1.001193")
    assert r.status_code == 302
    number = _versions(app)[-1][0]
    assert _versions(app)[-1][1:3] == ("19", "draft")
    base = f"/procedures/1.001193/v/{number}"
    # pick another library form, then edit fields of the step's own form
    assert office.post(f"{base}/tasks/Task_Sign/form", {"form_key": "no-such-form"}, referrer=base,
                       follow=True).status_code == 200
    page = office.text(office.get(f"{base}/tasks/Task_Sign/fields"))
    assert "decision" in page and "signer_title" in page
    r = office.post(f"{base}/tasks/Task_Sign/fields", {
        "count": "3", "name_0": "decision", "label_0": "Quyết định", "type_0": "string", "required_0": "1",
        "choices_0": "approve, refuse", "name_1": "decision_note", "label_1": "Ý kiến", "type_1": "text",
        "name_2": "signer_title", "label_2": "Chức danh", "type_2": "string", "remove_2": "1",
        "name_3": "seal_number", "label_3": "Số đóng dấu", "type_3": "integer"}, referrer=f"{base}/tasks/Task_Sign/fields")
    assert r.status_code == 303
    xml = _versions(app)[-1][3]
    assert 'value="KS-KY.19.v%d"' % number in xml
    from orchestrator.extensions import db
    from orchestrator.models import FormDefinition

    with app.app_context():
        definition = db.session.get(FormDefinition, f"KS-KY.19.v{number}").definition
        original = db.session.get(FormDefinition, "KS-KY").definition
        db.session.remove()
    assert set(definition["schema"]["properties"]) == {"decision", "decision_note", "seal_number"}
    assert "signer_title" in original["schema"]["properties"]  # the library form others use is unchanged
    r = office.post(f"{base}/tasks/Task_Sign/fields", {"count": "0", "name_0": "Bad Name", "label_0": "x"},
                    referrer=f"{base}/tasks/Task_Sign/fields", follow=True)
    assert "tên trường" in office.text(r)
    # dry run at a Thái Nguyên commune: path, unit and role of each step, due dates
    page = office.text(office.get(f"{base}/dry-run"))
    assert "reception_result" in page
    r = office.post(f"{base}/dry-run", {"commune_code": "05443", "f.reception_result": "accept",
                                        "f.decision": "approve", "f.child_full_name": "A"})
    page = office.text(r)
    assert r.status_code == 200
    assert "Tiếp nhận, kiểm tra hồ sơ" in page and "Trả Giấy khai sinh" in page and "05443" in page
    assert "leader" in page and "Quy trình kết thúc" in page
    r = office.post(f"{base}/dry-run", {"commune_code": "00070", "f.reception_result": "refuse"})
    assert r.status_code == 400 and "thuộc tỉnh 19" in office.text(r)
    r = office.post(f"{base}/dry-run", {"commune_code": "05443", "f.reception_result": "refuse"})
    assert "Trả Giấy khai sinh" not in office.text(r).split("Kết quả")[1].split("</table>")[0]
    assert _audit(app, "procedure.derive") == 1 and _audit(app, "procedure.dry_run") >= 2


def test_modeler_saves_into_its_draft_validated_like_an_upload(office, app):
    """Issue 22: the modeler's save updates the draft it opened (no new version per save)."""
    import re
    office.login("designer.01")
    _upload(office)
    number = _versions(app)[-1][0]
    base = f"/procedures/1.001193/v/{number}"
    page = office.text(office.get(f"{base}/modeler"))
    assert 'id="save-model"' in page
    revision = re.search(r'name="base" id="modeler-base" value="([0-9a-f]+)"', page).group(1)
    bad = BIRTH.decode().replace('<bpmn:userTask id="Task_Record"', '<bpmn:userTask id="Start"')
    r = office.post(f"{base}/modeler", {"xml": bad, "base": revision}, referrer=f"{base}/modeler")
    assert r.status_code == 422 and "Start" in office.text(r)
    assert _versions(app)[-1][0] == number
    r = office.post(f"{base}/modeler", {"xml": BIRTH.decode().replace("Kiểm tra, ghi Sổ", "Ghi Sổ"), "base": revision},
                    referrer=f"{base}/modeler")
    assert r.status_code == 303 and _versions(app)[-1][0] == number
    assert "Ghi Sổ đăng ký khai sinh" in _versions(app)[-1][3]


def test_server_side_rendering_draws_shapes_lanes_and_edges(office):
    office.login("designer.01")
    page = office.text(office.get("/procedures/1.001193/v/1"))
    svg = page.split('<svg class="bpmn-svg"')[1].split("</svg>")[0]
    assert svg.count('class="lane') >= 3 and 'data-element-id="Task_Reception"' in svg
    assert 'class="edge sequenceFlow"' in svg and "Tiếp nhận, kiểm tra" in svg


def test_bpmn_js_is_served_from_node_modules(office, app):
    dist = Path(app.config["BPMN_JS_DIST"])
    office.login("designer.01")
    if not (dist / "bpmn-viewer.production.min.js").is_file():
        pytest.skip("bpmn-js is not installed (npm ci); the SVG fallback is shown instead")
    r = office.get("/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert r.status_code == 200 and len(r.get_data()) > 10000
    assert "bpmn-navigated-viewer.production.min.js" in office.text(office.get("/procedures/1.001193/v/1"))
