"""Issue 22, point 1: designers' safety nets. Broken references refused at upload with the element
named, step deadlines checked against the legal due date in the dry run, comparisons and lanes in
words, a new version keeping the procedure's deadline and fee, one status per version, a
confirmation before publishing, drafts deleted, identical uploads refused, and a province going
back to the national template."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Dossier, ProcedureInForce, ProcedureVersion

from .admin_client import BackOffice
from .flows import definitions, process, start, upload, user

ROOT = Path(__file__).resolve().parents[1]
BIRTH = (ROOT / "bpmn" / "national" / "1.001193.bpmn").read_bytes()
# a diagram any officer can start without a reception form: each new version is marked apart
RUNNABLE = definitions(process([user("Receive"), user("Review")], lanes=(
    '<bpmn:laneSet id="LS"><bpmn:lane id="Lane_Desk" name="commune/reception"><bpmn:flowNodeRef>Receive</bpmn:flowNodeRef>'
    '</bpmn:lane><bpmn:lane id="Lane_Staff" name="commune/specialist">'
    '<bpmn:flowNodeRef>Review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>')))
DRY_RUN = {"commune_code": "00070", "f.reception_result": "accept", "f.check_result": "valid", "f.decision": "approve"}


def _mark(xml: bytes, n: int) -> bytes:
    """The same drawing with a mark of its own (an identical one is refused as a duplicate)."""
    return xml.replace(b"<bpmn:definitions ", f'<bpmn:definitions exporterVersion="t{n}" '.encode(), 1)


@pytest.fixture
def office(client):
    return BackOffice(client)


def _version(app, code: str, number: int) -> ProcedureVersion:
    with app.app_context():
        v = db.session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_code == code,
                                                             ProcedureVersion.version == number))
        db.session.expunge_all()
        return v


def _office_upload(office, data: bytes, **fields):
    form = {"file": (io.BytesIO(data), "birth.bpmn"), "code": "1.001193", "scope": "01",
            "deadline_kind": "same-day", **fields}
    return office.post("/procedures/upload", form, content_type="multipart/form-data")


# -- a. dangling references --------------------------------------------------------------------

DANGLING = [
    ("sequenceFlow targetRef", b'id="Flow_Accept" name="Ti\xe1\xba\xbfp nh\xe1\xba\xadn" sourceRef="Gateway_Reception" '
                               b'targetRef="Task_Record"',
     b'id="Flow_Accept" name="Ti\xe1\xba\xbfp nh\xe1\xba\xadn" sourceRef="Gateway_Reception" targetRef="Task_Gone"',
     "Flow_Accept", "Task_Gone"),
    ("sequenceFlow sourceRef", b'id="Flow_ToEnd" sourceRef="Task_Return"', b'id="Flow_ToEnd" sourceRef="Task_Nowhere"',
     "Flow_ToEnd", "Task_Nowhere"),
    ("boundary attachedToRef", b'<bpmn:sequenceFlow id="Flow_ToEnd"',
     b'<bpmn:boundaryEvent id="Boundary_1" attachedToRef="Task_Missing"><bpmn:timerEventDefinition>'
     b'<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
     b'<bpmn:sequenceFlow id="Flow_ToEnd"', "Boundary_1", "Task_Missing"),
    ("gateway default", b'default="Flow_Refuse"', b'default="Flow_Nope"', "Gateway_Reception", "Flow_Nope"),
]


@pytest.mark.parametrize("what,old,new,element,ref", DANGLING, ids=[d[0] for d in DANGLING])
def test_a_dangling_reference_is_refused_at_upload_naming_the_element(api, app, what, old, new, element, ref):
    assert old in BIRTH, what
    r = upload(api, BIRTH.replace(old, new, 1), "1.001193")
    body = r.get_json()
    assert r.status_code == 422, body
    assert ref in body["error"]["message"]  # the message itself names the missing reference
    problem = next(p for p in body["error"]["problems"] if ref in p["message"])
    if element:
        assert problem["element_id"] == element and element in problem["message"]
    with app.app_context():
        assert db.session.scalar(select(ProcedureVersion).where(ProcedureVersion.scope == "01",
                                                                ProcedureVersion.procedure_code == "1.001193")) is None


STALE = [
    ("BPMNEdge bpmnElement", b'bpmnElement="Flow_ToSign"', b'bpmnElement="Flow_Deleted"', "Flow_Deleted"),
    ("lane flowNodeRef", b"<bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef>",
     b"<bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Ghost</bpmn:flowNodeRef>", "Task_Ghost"),
]


@pytest.mark.parametrize("what,old,new,ref", STALE, ids=[d[0] for d in STALE])
def test_a_drawing_or_lane_left_naming_a_removed_element_is_cleaned_with_a_warning(api, app, what, old, new, ref):
    # Modelers leave these in the files they save (SpiffWorkflow's Approvals, spiff_properties and
    # user_task_variable test diagrams hold some): the process is whole, so the file is accepted.
    assert old in BIRTH, what
    r = upload(api, BIRTH.replace(old, new, 1), "1.001193")
    body = r.get_json()
    assert r.status_code == 201, body
    warning = next(w for w in body["warnings"] if w.get("code") == "stale_shapes")
    assert ref in warning["message"]
    with app.app_context():
        version = db.session.scalar(select(ProcedureVersion).where(ProcedureVersion.scope == "01",
                                                                   ProcedureVersion.procedure_code == "1.001193"))
        assert ref not in version.bpmn_xml


def test_the_upload_page_shows_the_dangling_element_and_keeps_the_other_fields(office):
    office.login("designer.01")
    broken = BIRTH.replace(b'targetRef="Task_Record"', b'targetRef="Task_Gone"', 1)
    r = _office_upload(office, broken, name="Tên giữ lại", deadline_days="4", deadline_kind="working")
    page = office.text(r)
    assert r.status_code == 422
    assert "Flow_Accept" in page and "Task_Gone" in page
    # e. the other fields stay; the file cannot, and the page says so next to it
    assert 'value="Tên giữ lại"' in page and 'value="4"' in page and 'id="file-lost"' in page


# -- b. dry run against the legal deadline ------------------------------------------------------

def test_the_dry_run_warns_when_step_deadlines_end_after_the_legal_due_date(office, app):
    office.login("designer.01")
    assert _office_upload(office, BIRTH, deadline_kind="working", deadline_days="1").status_code == 302
    number = max(v.version for v in _all(app, "1.001193"))
    base = f"/procedures/1.001193/v/{number}"
    for task in ("Task_Record", "Task_Sign"):
        assert office.post(f"{base}/tasks/{task}/deadline", {"amount": "2", "unit": "days"}).status_code == 303
    page = office.text(office.post(f"{base}/dry-run", DRY_RUN))
    assert 'id="deadline-warnings"' in page
    warnings = page.split('id="deadline-warnings"')[1].split("</div>")[0]
    assert "sau hạn giải quyết" in warnings and "Ký Giấy khai sinh" in warnings
    assert re.search(r"\d\d/\d\d \d\d:\d\d", warnings)  # both dates, as people read them
    # within the legal deadline: no warning
    assert office.post(f"{base}/meta", {"deadline_days": "10", "deadline_kind": "working",
                                        "fee_kind": "free"}).status_code == 303
    assert 'id="deadline-warnings"' not in office.text(office.post(f"{base}/dry-run", DRY_RUN))


def _all(app, code: str) -> list[ProcedureVersion]:
    with app.app_context():
        rows = db.session.scalars(select(ProcedureVersion).where(ProcedureVersion.procedure_code == code)).all()
        db.session.expunge_all()
        return rows


# -- c. compare in words, d. lane labels --------------------------------------------------------

def test_compare_speaks_in_sentences_and_lanes_follow_their_routing(office, app):
    office.login("designer.01")
    assert _office_upload(office, BIRTH).status_code == 302
    number = max(v.version for v in _all(app, "1.001193"))
    base = f"/procedures/1.001193/v/{number}"
    assert office.post(f"{base}/meta", {"deadline_days": "3", "deadline_kind": "working", "fee_kind": "fixed",
                                        "fee_amount": "8000"}).status_code == 303
    assert office.post(f"{base}/tasks/Task_Record/deadline", {"amount": "3", "unit": "days"}).status_code == 303
    assert office.post(f"{base}/lanes/Lane_Specialist", {"level": "commune", "role": "leader"}).status_code == 303
    page = office.text(office.get(f"{base}/compare"))
    assert "Lệ phí:" in page and "cố định 8.000 đ" in page
    assert "Thời hạn bước Kiểm tra, ghi Sổ đăng ký khai sinh: theo hạn hồ sơ → 3 ngày làm việc" in page
    assert "Thời hạn giải quyết: trong ngày → 3 ngày làm việc" in page
    assert "chuyên viên, xã/phường → lãnh đạo, xã/phường" in page
    assert "{'kind'" not in page and "{&#39;kind&#39;" not in page and "None" not in page
    # d. the lane drawn as "commune/specialist" now reads as where it is routed
    version_page = office.text(office.get(base))
    row = version_page.split('id="lane-Lane_Specialist"')[1].split("</tr>")[0]
    assert 'class="lane-label">lãnh đạo, xã/phường<' in row
    # in English on English pages
    office.get("/lang/en")
    english = office.text(office.get(f"{base}/compare"))
    assert "fixed 8.000 đ" in english and "3 working days" in english


# -- e. a new version keeps the deadline and fee ------------------------------------------------

def test_a_new_version_keeps_the_legal_deadline_and_fee(api, app, office):
    r = upload(api, BIRTH, "7.000001", deadline_days="7", fee='{"kind": "fixed", "amount": 50000}')
    assert r.status_code == 201, r.get_json()
    r = upload(api, _mark(BIRTH, 1), "7.000001", deadline_days="", deadline_kind="working")
    assert r.status_code == 201, r.get_json()
    second = _version(app, "7.000001", r.get_json()["version"])
    assert (second.deadline_days, second.deadline_kind, second.fee_rule) == (7, "working",
                                                                             {"kind": "fixed", "amount": 50000})
    office.login("designer.01")
    page = office.text(office.get("/procedures/upload?code=7.000001&scope=01"))
    assert 'id="new-version-of"' in page and 'name="deadline_days" type="number" min="1" value="7"' in page
    assert 'value="Thủ tục 7.000001"' in page
    assert "/procedures/upload?code=7.000001" in office.text(office.get("/procedures/7.000001"))


# -- f. statuses ------------------------------------------------------------------------------

def test_one_status_per_version_in_vietnamese_and_english(api, office):
    assert upload(api, BIRTH, "7.000002").status_code == 201
    assert api.post("/procedures/7.000002/versions/1/publish", "designer.01").status_code == 200
    assert upload(api, _mark(BIRTH, 2), "7.000002").status_code == 201
    assert api.post("/procedures/7.000002/versions/2/publish", "designer.01").status_code == 200
    assert upload(api, _mark(BIRTH, 3), "7.000002").status_code == 201
    office.login("designer.01")
    page = office.text(office.get("/procedures/7.000002"))
    statuses = re.findall(r'<td class="status"><span[^>]*>([^<]*)</span>', page)
    assert statuses == ["Đã thay thế", "Đang áp dụng", "Bản nháp"]
    assert "published" not in page and "draft<" not in page
    assert 'id="state">Đang áp dụng<' in office.text(office.get("/procedures/7.000002/v/2"))
    assert 'id="state">Đã thay thế<' in office.text(office.get("/procedures/7.000002/v/1"))
    office.get("/lang/en")
    english = re.findall(r'<td class="status"><span[^>]*>([^<]*)</span>', office.text(office.get("/procedures/7.000002")))
    assert english[0] == "Replaced" and english[2] == "Draft" and "Đang" not in english[1]


# -- g. confirm before publish; delete a draft ------------------------------------------------

def test_publish_asks_for_confirmation_naming_the_dossiers_that_keep_the_old_version(api, app, office):
    assert upload(api, RUNNABLE, "7.000003").status_code == 201
    assert api.post("/procedures/7.000003/versions/1/publish", "designer.01").status_code == 200
    start(api, "7.000003")  # a running dossier on v1
    assert upload(api, _mark(RUNNABLE, 4), "7.000003").status_code == 201
    office.login("designer.01")
    base = "/procedures/7.000003/v/2"
    assert f'href="/admin{base}/publish"' in office.text(office.get(base))
    r = office.post(f"{base}/publish")  # no confirmation: nothing published, back to the question
    assert r.status_code == 303 and r.headers["Location"].endswith(f"{base}/publish")
    assert _version(app, "7.000003", 2).state == "draft"
    page = office.text(office.get(f"{base}/publish"))
    assert "1 hồ sơ đang xử lý giữ phiên bản 1 đến khi kết thúc." in page and 'id="confirm"' in page
    r = office.post(f"{base}/publish", {"confirm": "1"}, follow=True)
    assert r.status_code == 200 and _version(app, "7.000003", 2).state == "published"


def test_a_draft_can_be_deleted_a_published_version_cannot(api, app, office):
    assert upload(api, BIRTH, "7.000004").status_code == 201
    assert api.post("/procedures/7.000004/versions/1/publish", "designer.01").status_code == 200
    assert upload(api, _mark(BIRTH, 5), "7.000004").status_code == 201
    assert upload(api, _mark(BIRTH, 6), "7.000004").status_code == 201
    r = api.delete("/procedures/7.000004/versions/1", "designer.01")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_a_draft"
    assert api.delete("/procedures/7.000004/versions/2", "designer.19").status_code == 403
    assert api.delete("/procedures/7.000004/versions/2", "designer.01").status_code == 204
    assert api.get("/procedures/7.000004/versions/2", "designer.01").status_code == 404
    office.login("designer.01")
    assert 'id="delete-draft"' in office.text(office.get("/procedures/7.000004/v/3"))
    r = office.post("/procedures/7.000004/v/3/delete")
    assert r.status_code == 303 and [v.version for v in _all(app, "7.000004")] == [1]
    assert office.post("/procedures/7.000004/v/1/delete").status_code in (303, 409)
    assert [v.version for v in _all(app, "7.000004")] == [1]
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "procedure.delete_draft"))


# -- h. identical uploads ---------------------------------------------------------------------

def test_an_identical_upload_is_refused_as_a_duplicate(api, app):
    assert upload(api, BIRTH, "7.000005").status_code == 201
    # the same drawing, laid out differently (indentation, blank lines): still the same
    same = BIRTH.replace(b"\n    <bpmn:", b"\n\n        <bpmn:")
    r = upload(api, same, "7.000005")
    assert r.status_code == 409, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "duplicate" and "phiên bản 1" in error["message"]
    assert [v.version for v in _all(app, "7.000005")] == [1]
    assert upload(api, BIRTH, "7.000005", scope="19", who="designer.19").status_code == 201  # another scope
    assert _version(app, "7.000005", 1).content_hash


# -- i. a province withdraws its variant ------------------------------------------------------

def test_a_province_withdraws_its_variant_back_to_the_national_template(api, app, office):
    assert upload(api, RUNNABLE, "7.000006", who="designer.VN", scope="national").status_code == 201
    assert api.post("/procedures/7.000006/versions/1/publish", "designer.VN").status_code == 200
    assert upload(api, _mark(RUNNABLE, 7), "7.000006").status_code == 201
    assert api.post("/procedures/7.000006/versions/2/publish", "designer.01").status_code == 200
    running = start(api, "7.000006")  # on Hà Nội's variant, v2
    office.login("designer.01")
    assert 'id="withdraw-01"' in office.text(office.get("/procedures/7.000006"))
    page = office.text(office.get("/procedures/7.000006/withdraw/01"))
    assert "Hồ sơ mới của tỉnh 01 sẽ dùng mẫu quốc gia phiên bản 1." in page
    assert "1 hồ sơ đang xử lý giữ biến thể phiên bản 2 đến khi kết thúc." in page
    assert running["code"] in page  # named, with a link to it
    r = office.post("/procedures/7.000006/withdraw/01")  # not confirmed: nothing changes
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(ProcedureInForce, ("7.000006", "01")) is not None
    r = office.post("/procedures/7.000006/withdraw/01", {"confirm": "1"}, follow=True)
    assert r.status_code == 200 and "Đã rút biến thể của tỉnh 01" in office.text(r)
    newcomer = start(api, "7.000006")
    with app.app_context():
        assert db.session.get(ProcedureInForce, ("7.000006", "01")) is None
        versions = {d.code: d.procedure_version_id for d in db.session.scalars(select(Dossier)).all()}
        by_id = {v.id: v.version for v in db.session.scalars(select(ProcedureVersion)).all()}
        assert by_id[versions[running["code"]]] == 2 and by_id[versions[newcomer["code"]]] == 1
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "procedure.withdraw_variant"))
        assert event is not None and event.actor == "designer.01"
    # another province's designer may not withdraw Hà Nội's variant
    office.post("/logout")
    office.token = None
    office.login("designer.19")
    assert office.get("/procedures/7.000006/withdraw/01").status_code == 403


def test_a_province_withdraws_its_variant_over_the_api(api):
    assert upload(api, RUNNABLE, "7.000007", who="designer.VN", scope="national").status_code == 201
    assert api.post("/procedures/7.000007/versions/1/publish", "designer.VN").status_code == 200
    assert upload(api, _mark(RUNNABLE, 7), "7.000007").status_code == 201
    assert api.post("/procedures/7.000007/versions/2/publish", "designer.01").status_code == 200
    running = start(api, "7.000007")  # on Hà Nội's variant, v2
    path = "/procedures/7.000007/variants/01/withdrawal"
    # another province's designer neither previews nor withdraws Hà Nội's variant
    assert api.get(path, "designer.19").status_code in (403, 404)
    assert api.post(path, "designer.19").status_code in (403, 404)
    preview = api.get(path, "designer.01")
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json() == {"code": "7.000007", "province": "01", "withdrawn": False, "variant_version": 2,
                                  "national_version": 1, "running": 1, "running_dossiers": [running["code"]]}
    assert api.get("/procedures/7.000007?province=01", "designer.01").get_json()["version"] == 2  # nothing changed
    done = api.post(path, "designer.01")
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {**preview.get_json(), "withdrawn": True}
    in_force = api.get("/procedures/7.000007?province=01", "designer.01").get_json()
    assert (in_force["version"], in_force["scope"]) == (1, "national")
    assert start(api, "7.000007")["procedure_version"] == 1
    again = api.post(path, "designer.01")
    assert again.status_code in (404, 409) and again.get_json()["error"]["code"] == "no_variant"
    assert api.get(path, "designer.01").status_code == 404
