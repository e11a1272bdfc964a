"""Documents right (issue 19, point 7): the control slip (form 05 of Circular 03/2025/TT-VPCP)
lists every step a dossier went through with its unit, the officer's full name and title, the
received and finished times and the on-time mark; the receipt (form 01) carries the applicant's
address, the version's list of documents (thành phần hồ sơ, which designers edit on a draft) and
the receiving officer's full name and title, as forms 02 and 03 name theirs; the diagram marks
done steps as its legend draws them."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import event, select

from orchestrator.extensions import db
from orchestrator.models import Dossier, ProcedureInForce, ProcedureVersion, User, WorkItem
from orchestrator.models.types import utcnow
from orchestrator.services import designer, documents, examples, procedure_documents
from orchestrator.services.auth import actor_for_user

from .admin_client import BackOffice
from .lifecycle_helpers import BRANCH, BRANCH_OFFICER, complete
from .test_admin_browser import browser, login, page, server, shot  # noqa: F401  (fixtures)
from .test_land_e2e import APPLICANT, STEP_DATA

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {code: entry["documents"] for code, entry in
           json.loads((ROOT / "bpmn" / "documents.json").read_text(encoding="utf-8")).items() if code[0] != "_"}
LAND_DESK, LAND_SPECIALIST = "reception.00454", "specialist.00454"
BIRTH_DESK = "reception.00070"
BIRTH = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 1,
         "applicant": {"full_name": "Lê Thị Hoa", "id_number": "001190012345", "phone": "0987654321",
                       "address": "Số 5 phố Hàng Bạc, phường Hoàn Kiếm, Hà Nội"},
         "data": {"child_full_name": "Trần Minh Khôi", "child_sex": "male", "child_date_of_birth": "2026-11-20",
                  "child_place_of_birth": "Bệnh viện Phụ sản Hà Nội", "child_ethnicity": "Kinh",
                  "child_nationality": "Việt Nam", "birth_proof_type": "birth_certificate",
                  "mother_full_name": "Lê Thị Hoa", "requester_full_name": "Lê Thị Hoa",
                  "requester_id_number": "001190012345", "requester_relationship": "mother"}}


def _person(app, username: str) -> tuple[str, str]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return user.full_name, user.title


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _rows(slip: str) -> dict[str, str]:
    """{step id: the row's text} of the control slip's table."""
    return {m.group(1): _text(m.group(2)) for m in re.finditer(r'<tr data-step="([^"]+)"[^>]*>(.*?)</tr>', slip, re.S)}


def _document(api, who: str, code: str, kind: str) -> str:
    r = api.get(f"/dossiers/{code}/documents/{kind}?format=html", who)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.get_data(as_text=True)


def _land_in_person(api) -> dict:
    r = api.post("/dossiers", LAND_DESK, json={"procedure_code": "1.013978", "province_code": "01",
                                               "commune_code": "00454", "channel": 1, "applicant": APPLICANT,
                                               "data": {}, "reception": STEP_DATA["Task_Reception"]})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _control_statements(app, code: str) -> tuple[int, int]:
    """(rows, statements) of the control slip of a dossier."""
    with app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == code))
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = documents.control_rows(db.session, d)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(rows), len(seen)


# -- 1. the control slip ------------------------------------------------------------------------

def test_control_slip_lists_every_step_with_unit_officer_times_and_on_time_mark(app, api):
    body = _land_in_person(api)
    code = body["code"]
    # the commune's verification was due two days ago: done now, it is late
    with app.app_context():
        item = db.session.scalar(select(WorkItem).join(Dossier).where(
            Dossier.code == code, WorkItem.step_id == "Task_CommuneVerification"))
        item.due_at = utcnow() - timedelta(days=2)
        db.session.commit()
    body = complete(api, LAND_SPECIALIST, body, "Task_CommuneVerification")
    rows_before, statements_before = _control_statements(app, code)

    slip = _document(api, LAND_DESK, code, "control")
    rows = _rows(slip)
    assert list(rows)[0] == "Task_Reception" and set(list(rows)[1:]) == {"Task_CommuneVerification", "Task_FileCheck"}
    desk_name, desk_title = _person(app, LAND_DESK)
    reception = rows["Task_Reception"]
    # the reception done at the desk: the receptionist, by full name and title, received and finished
    assert "Xã Đông Anh" in reception and desk_name in reception and desk_title in reception
    assert "Không thực hiện" not in reception and re.search(r"\d\d:\d\d ngày .* \d\d:\d\d ngày", reception)
    assert reception.endswith("Trước hạn"), reception
    verification = rows["Task_CommuneVerification"]
    name, title = _person(app, LAND_SPECIALIST)
    assert name in verification and title in verification and verification.endswith("Quá hạn")
    assert "Chi nhánh Văn phòng Đăng ký đất đai" in rows["Task_FileCheck"] and rows["Task_FileCheck"].endswith("Đang xử lý")
    for username in (LAND_DESK, LAND_SPECIALIST, BRANCH_OFFICER):  # people, not accounts; roles in Vietnamese
        assert username not in slip
    assert ">specialist<" not in slip and ">reception<" not in slip and "Chuyên viên" in slip

    # the province's land branch finishes its step: its officer and unit on the slip
    complete(api, BRANCH_OFFICER, api.get(f"/dossiers/{code}", LAND_DESK).get_json(), "Task_FileCheck")
    rows = _rows(_document(api, LAND_DESK, code, "control"))
    branch_name, branch_title = _person(app, BRANCH_OFFICER)
    assert branch_name in rows["Task_FileCheck"] and branch_title in rows["Task_FileCheck"]
    assert rows["Task_FileCheck"].endswith("Trước hạn")
    assert BRANCH.startswith("01.VPDKDD")
    # a fixed number of statements, whatever the number of steps
    rows_after, statements_after = _control_statements(app, code)
    assert rows_after >= rows_before and statements_after == statements_before <= 3


# -- 2. the receipt and the officers' names ------------------------------------------------------

def test_receipt_shows_address_documents_and_the_receiving_officer_like_forms_02_and_03(app, api):
    code = _land_in_person(api)["code"]
    receipt = _document(api, LAND_DESK, code, "receipt")
    assert _text(re.search(r'<span id="doc-address">(.*?)</span>', receipt).group(1)) == APPLICANT["address"]
    listed = re.findall(r"<tr data-required=\"(yes|no)\"><td>\d+</td><td>(.*?)</td><td>(.*?)</td>",
                        re.search(r'id="doc-documents">(.*?)</table>', receipt, re.S).group(1))
    assert [(unescape(n), unescape(c)) for _r, n, c in listed] == \
        [(d["name"], d["copies"]) for d in SHIPPED["1.013978"]]
    assert "Hồ sơ giấy theo thành phần quy định" not in receipt
    name, title = _person(app, LAND_DESK)
    assert unescape(re.search(r'id="doc-signer">(.*?)<', receipt).group(1)) == name
    assert unescape(re.search(r'id="doc-signer-title">(.*?)<', receipt).group(1)) == title
    assert "reception" not in _text(receipt).lower()

    # form 02 (guided at the desk) and form 03 (refused at the desk) name their officer the same way
    guided = api.post("/dossiers", BIRTH_DESK, json={**BIRTH, "reception": {
        "reception_result": "supplement", "missing_items": ["Giấy chứng sinh"]}}).get_json()["code"]
    refused = api.post("/dossiers", BIRTH_DESK, json={**BIRTH, "reception": {
        "reception_result": "refuse", "refusal_reason": "Không thuộc thẩm quyền"}}).get_json()["code"]
    name, title = _person(app, BIRTH_DESK)
    for code, kind in ((guided, "supplement"), (refused, "refusal")):
        page = _document(api, BIRTH_DESK, code, kind)
        assert unescape(re.search(r'id="doc-signer">(.*?)<', page).group(1)) == name, kind
        assert unescape(re.search(r'id="doc-signer-title">(.*?)<', page).group(1)) == title, kind


# -- 2. designers edit the list of a draft --------------------------------------------------------

def _office(app, username: str) -> BackOffice:
    office = BackOffice(app.test_client())
    assert office.login(username).status_code in (302, 303)
    return office


def _birth_variant(app) -> int:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "designer.01"))
        draft = designer.derive_variant(db.session, actor_for_user(db.session, user), "1.001193", "01")
        db.session.commit()
        return draft.version


def test_designer_edits_the_list_and_the_published_version_prints_it(app, api):
    before = api.post("/dossiers", BIRTH_DESK, json=BIRTH).get_json()["code"]  # the national version's list
    number = _birth_variant(app)
    office = _office(app, "designer.01")
    url = f"/procedures/1.001193/v/{number}"
    page = office.text(office.get(url))
    assert SHIPPED["1.001193"][0]["name"] in unescape(page), "the draft starts from the version it was made from"

    lines = "Tờ khai đăng ký khai sinh (mẫu của Hà Nội) | 01 bản chính\nGiấy chứng sinh | 01 bản chính\n\n" \
            "Văn bản ủy quyền | 01 bản sao | không bắt buộc"
    r = office.post(f"{url}/documents", {"documents": lines}, referrer=url)
    assert r.status_code == 303
    page = office.text(office.get(url))
    assert "Đã lưu thành phần hồ sơ (3 giấy tờ)" in page
    r = office.post(f"{url}/publish", {"confirm": "1"}, referrer=url)
    assert r.status_code == 303, office.text(r)[:800]
    with app.app_context():
        v = db.session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_code == "1.001193",
                                                             ProcedureVersion.version == number))
        assert v.state == "published" and v.documents[2] == {"name": "Văn bản ủy quyền", "copies": "01 bản sao",
                                                             "required": False}
    # published: frozen (409 for the API's rule; the back office says so and keeps the list)
    r = office.post(f"{url}/documents", {"documents": "Khác"}, referrer=url, follow=True)
    assert "không thể sửa" in office.text(r)
    with app.app_context():
        assert len(db.session.scalar(select(ProcedureVersion.documents).where(
            ProcedureVersion.procedure_code == "1.001193", ProcedureVersion.version == number))) == 3

    after = api.post("/dossiers", BIRTH_DESK, json=BIRTH).get_json()
    assert after["procedure_version"] == number
    receipt = unescape(_document(api, BIRTH_DESK, after["code"], "receipt"))
    assert "Tờ khai đăng ký khai sinh (mẫu của Hà Nội)" in receipt and "Văn bản ủy quyền" in receipt
    old = unescape(_document(api, BIRTH_DESK, before, "receipt"))
    assert SHIPPED["1.001193"][1]["name"] in old and "(mẫu của Hà Nội)" not in old, "old dossiers keep their list"


def test_bad_document_lists_are_refused_with_a_message_and_nothing_saved(app):
    number = _birth_variant(app)
    office = _office(app, "designer.01")
    url = f"/procedures/1.001193/v/{number}"
    too_many = "\n".join(f"Giấy tờ số {i} | 01 bản" for i in range(51))
    too_long = "Giấy tờ " + "x" * 500
    for text, message in ((too_many, "Tối đa 50 giấy tờ"), (too_long, "tối đa 500 ký tự")):
        r = office.post(f"{url}/documents", {"documents": text}, referrer=url, follow=True)
        page = office.text(r)
        assert message in page and 'class="field-error"' in page, message
    with app.app_context():
        saved = db.session.scalar(select(ProcedureVersion.documents).where(
            ProcedureVersion.procedure_code == "1.001193", ProcedureVersion.version == number))
        assert saved == SHIPPED["1.001193"]
        from orchestrator.services.errors import Invalid

        for bad in ("a list?", [{"name": ""}], [{"name": "x", "copies": 3}], [{"name": "x", "extra": 1}]):
            with pytest.raises(Invalid) as exc:
                procedure_documents.check(bad)
            assert exc.value.status == 400 and "documents" in exc.value.fields


# -- 2. seeded for the shipped procedures ---------------------------------------------------------

def test_every_shipped_procedure_has_its_documents_after_load(app):
    with app.app_context():
        links = db.session.scalars(select(ProcedureInForce)).all()
        catalog = json.loads((ROOT / "bpmn" / "catalog.json").read_text(encoding="utf-8"))
        shipped = {(e["code"], e["scope"]) for e in catalog}
        seen = {(link.procedure_code, link.scope): link.version.documents for link in links}
        assert shipped <= set(seen)
        for key in shipped:
            assert seen[key] and seen[key] == SHIPPED[key[0]], key
            assert all(d["name"] and d["copies"] for d in seen[key])
        # a database loaded before the lists shipped gets them at the next load-examples
        link = db.session.get(ProcedureInForce, ("1.001193", "national"))
        link.version.documents = []
        db.session.commit()
        examples.load_procedures(db.session, ROOT / "bpmn", app.config["MAX_BPMN_BYTES"])
        db.session.commit()
        assert db.session.get(ProcedureInForce, ("1.001193", "national")).version.documents == SHIPPED["1.001193"]


# -- 3. the diagram and its legend ---------------------------------------------------------------

def test_done_steps_carry_the_class_and_mark_the_legend_draws(app, api):
    code = api.post("/dossiers", BIRTH_DESK, json=BIRTH).get_json()["code"]
    office = _office(app, BIRTH_DESK)
    page = office.text(office.get(f"/dossiers/{code}"))
    legend = re.search(r'id="diagram-legend">(.*?)</p>', page, re.S).group(1)
    assert '<g class="task done">' in legend and 'class="done-mark"' in legend
    assert '<g class="task on-path">' in legend
    svg = re.search(r'<svg class="bpmn-svg" .*?</svg>', page, re.S).group(0)
    done = re.search(r'<g class="([^"]*)" data-element-id="Task_Reception">(.*?)</g>\s*(?=<g|</svg>)', svg, re.S)
    assert "done" in done.group(1).split() and 'class="done-mark"' in done.group(2)
    current = re.search(r'<g class="([^"]*)" data-element-id="Task_Record">(.*?)</g>\s*(?=<g|</svg>)', svg, re.S)
    assert "on-path" in current.group(1).split() and "done-mark" not in current.group(2)
    css = (ROOT / "admin" / "static" / "admin.css").read_text(encoding="utf-8")
    assert ".bpmn-svg .done rect" in css and ".djs-container .done" in css



@pytest.mark.sqlite_only
def test_dossier_page_draws_done_steps_as_the_legend_says(page, server, api, app):  # noqa: F811
    code = api.post("/dossiers", BIRTH_DESK, json=BIRTH).get_json()["code"]
    login(page, server, BIRTH_DESK)
    page.goto(f"{server}/admin/dossiers/{code}")
    page.wait_for_selector("#diagram[data-renderer=bpmn-js] .djs-element.done")
    style = "e => { const s = getComputedStyle(e); return [s.stroke, s.fill, s.strokeDasharray]; }"
    drawn = page.locator("#diagram .djs-element.done[data-element-id=Task_Reception] .djs-visual > :first-child")
    swatch = page.locator("#diagram-legend [data-mark=done] g.done rect")
    assert drawn.evaluate(style) == swatch.evaluate(style)
    assert drawn.evaluate(style)[0] == "rgb(30, 123, 52)" and drawn.evaluate(style)[2] in ("none", "")
    assert page.locator("#diagram .done-badge").count() >= 1
    current = page.locator("#diagram .djs-element.on-path[data-element-id=Task_Record] .djs-visual > :first-child")
    assert current.evaluate(style)[:2] == page.locator("#diagram-legend [data-mark=on-path] g.on-path rect").evaluate(style)[:2]
    page.locator("#diagram-legend").evaluate("e => e.scrollIntoView()")
    shot(page, "dossier-diagram-legend")

    with page.expect_popup() as popup:
        page.click("a[data-kind=receipt]")
    receipt = popup.value
    receipt.wait_for_selector("#doc-documents")
    assert receipt.locator("#doc-address").inner_text() == BIRTH["applicant"]["address"]
    assert receipt.locator("#doc-signer").inner_text() == _person(app, BIRTH_DESK)[0]
    shot(receipt, "receipt")
    receipt.close()
    with page.expect_popup() as popup:
        page.click("a[data-kind=control]")
    slip = popup.value
    slip.wait_for_selector("#control-rows")
    assert _person(app, BIRTH_DESK)[0] in slip.locator("#control-rows tr[data-step=Task_Reception]").inner_text()
    shot(slip, "control-slip")
    slip.close()


def test_api_sets_a_drafts_list_with_the_same_checks(app, api):
    number = _birth_variant(app)
    url = f"/procedures/1.001193/versions/{number}/documents"
    r = api.put(url, "designer.01", json={"documents": [{"name": "Tờ khai", "copies": "01 bản chính"},
                                                        {"name": "Giấy chứng sinh", "required": False}]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["documents"] == [{"name": "Tờ khai", "copies": "01 bản chính", "required": True},
                                         {"name": "Giấy chứng sinh", "copies": "", "required": False}]
    for bad in ([{"name": "x"}] * 51, [{"name": "x" * 501}], "Tờ khai", [{"name": "x", "pages": 2}]):
        r = api.put(url, "designer.01", json={"documents": bad})
        assert r.status_code == 400 and "documents" in r.get_json()["error"]["fields"], r.get_json()
    assert len(api.get(f"/procedures/1.001193/versions/{number}", "designer.01").get_json()["documents"]) == 2
    r = api.put("/procedures/1.001193/versions/1/documents", "designer.VN", json={"documents": []})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "immutable"
