"""The officers' inbox page (issue 19, point 6): applicant, procedure and unit names; sort by due
or received date; search without diacritics; tabs with counts; bulk claim and a leader's bulk
reassignment (each refused step reported with why); the stamp the page polls to refresh."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, WorkItem
from orchestrator.services.auth import create_user
from orchestrator.services.calendar import TZ

from .admin_client import BackOffice
from .test_dossiers_api import APPLICANT, BIRTH

NAMES = ("Lê Thị Hoa", "Nguyễn Văn Bình", "Phạm Đức Anh")
COLLEAGUE = "specialist.b.00070"


def _office(client, who):
    office = BackOffice(client)
    assert office.login(who).status_code == 302
    return office


def _birth(api, full_name: str, due_in_days: int) -> dict:
    """A birth registration received in person at 00070: its Task_Record is open for the
    commune's specialists, due in `due_in_days` days."""
    r = api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 1,
        "applicant": {**APPLICANT, "full_name": full_name}, "data": BIRTH})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    task = next(t["id"] for t in body["current_tasks"] if t["step_id"] == "Task_Record")
    db.session.get(WorkItem, task).due_at = datetime.now(TZ) + timedelta(days=due_in_days)
    db.session.commit()
    return {"code": body["code"], "task": task}


def _three(app, api) -> list[dict]:
    with app.app_context():
        return [_birth(api, name, due) for name, due in zip(NAMES, (5, 1, 9))]


def _colleague(app) -> None:
    with app.app_context():
        create_user(db.session, COLLEAGUE, "demo1234", [("specialist", "00070")], full_name="Đỗ Thị Mai")
        db.session.commit()


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-task="[^"]+" data-dossier="([^"]+)"', page)


def test_columns_sort_search_and_tabs_with_counts(app, api, client):
    hoa, binh, anh = _three(app, api)
    office = _office(client, "specialist.00070")
    page = office.text(office.get("/inbox"))
    # names, not codes: applicant, procedure (from the procedure table), unit
    for name in NAMES:
        assert f'<td class="applicant">{name}</td>' in page
    assert "Đăng ký khai sinh" in page and "Phường Hoàn Kiếm /" in page
    # due date first to last by default, then reversed; the received date both ways
    assert _rows(page) == [binh["code"], hoa["code"], anh["code"]]
    assert _rows(office.text(office.get("/inbox?sort=-due"))) == [anh["code"], hoa["code"], binh["code"]]
    assert _rows(office.text(office.get("/inbox?sort=received"))) == [hoa["code"], binh["code"], anh["code"]]
    assert _rows(office.text(office.get("/inbox?sort=-received"))) == [anh["code"], binh["code"], hoa["code"]]
    assert office.get("/inbox?sort=nonsense").status_code == 400  # an unknown sort: a 400 page naming it
    # search without diacritics or case, by name or code; the procedure filter picks by name
    assert _rows(office.text(office.get("/inbox?q=nguyen+van+BINH"))) == [binh["code"]]
    assert _rows(office.text(office.get(f"/inbox?q={anh['code']}"))) == [anh["code"]]
    assert _rows(office.text(office.get("/inbox?q=" + "x" * 300))) and "quá dài" in office.text(
        office.get("/inbox?q=" + "x" * 300))  # too long: said, the list without it
    assert '<option value="1.001193" selected>Đăng ký khai sinh</option>' in office.text(
        office.get("/inbox?procedure=1.001193"))
    assert _rows(office.text(office.get("/inbox?procedure=1.004227"))) == []
    # tabs: distinct, the current one marked, each with its count
    assert re.search(r'id="tab-available" class="tab active" aria-current="page">[^<]*<span[^>]*>\(3\)', page)
    assert re.search(r'id="tab-mine" class="tab">[^<]*<span[^>]*>\(0\)', page)
    assert 'id="unit-view"' not in page  # not a leader
    assert office.post(f"/tasks/{hoa['task']}/claim", referrer="/inbox").status_code == 302
    mine = office.text(office.get("/inbox?view=mine"))
    assert re.search(r'id="tab-mine" class="tab active" aria-current="page">[^<]*<span[^>]*>\(1\)', mine)
    assert _rows(mine) == [hoa["code"]] and "(2)" in mine
    leader = _office(app.test_client(), "leader.00070")
    unit = leader.text(leader.get("/inbox?view=unit"))
    assert re.search(r'id="unit-view" class="tab active" aria-current="page">[^<]*<span[^>]*>\(3\)', unit)
    assert 'id="absence-link"' in unit


def test_bulk_claim_reports_the_step_a_colleague_holds_and_claims_the_others(app, api, client):
    hoa, binh, anh = _three(app, api)
    _colleague(app)
    assert api.post(f"/tasks/{binh['task']}/claim", COLLEAGUE).status_code == 200
    office = _office(client, "specialist.00070")
    page = office.text(office.get("/inbox"))
    assert page.count('name="task_ids"') == 2 and 'id="bulk-claim"' in page
    r = office.post("/inbox/claim", {"task_ids": [hoa["task"], binh["task"], anh["task"]]}, referrer="/inbox",
                    follow=True)
    text = office.text(r)
    assert "Đã nhận 2 việc." in text
    assert f"Không thực hiện được với {binh['code']}: Công việc đang do {COLLEAGUE} xử lý." in text
    with app.app_context():
        holders = {w.id: w.assignee.username for w in db.session.query(WorkItem).filter(
            WorkItem.id.in_([hoa["task"], binh["task"], anh["task"]]))}
        assert holders == {hoa["task"]: "specialist.00070", binh["task"]: COLLEAGUE, anh["task"]: "specialist.00070"}
        assert db.session.query(AuditEvent).filter_by(action="claim", actor="specialist.00070").count() == 2
    # nothing chosen: a message, nothing done
    r = office.post("/inbox/claim", {}, referrer="/inbox", follow=True)
    assert "Chưa chọn công việc nào" in office.text(r)
    # only steps not one's own: refused as the one-step claim is
    assert _office(app.test_client(), "reception.00070").post(
        "/inbox/claim", {"task_ids": [anh["task"]]}, referrer="/inbox").status_code == 403


def test_bulk_reassignment_by_a_leader_only_and_to_an_officer_with_the_role(app, api, client):
    hoa, binh, anh = _three(app, api)
    _colleague(app)
    leader = _office(client, "leader.00070")
    page = leader.text(leader.get("/inbox?view=unit"))
    assert 'id="bulk-assign"' in page and f'<option value="{COLLEAGUE}">' in page
    # to someone without the step's role: each step refused with why, none changed
    r = leader.post("/inbox/assign", {"task_ids": [hoa["task"], binh["task"]], "username": "reception.00070"},
                    referrer="/inbox?view=unit", follow=True)
    assert office_text_has(leader, r, "Người được giao phải có vai trò phù hợp tại đơn vị.") == 2
    r = leader.post("/inbox/assign", {"task_ids": [hoa["task"], binh["task"]], "username": COLLEAGUE},
                    referrer="/inbox?view=unit", follow=True)
    assert f"Đã giao 2 việc cho {COLLEAGUE}." in leader.text(r)
    assert api.get(f"/tasks/{hoa['task']}", "leader.00070").get_json()["assignee"] == COLLEAGUE
    assert api.get(f"/tasks/{binh['task']}", "leader.00070").get_json()["assignee"] == COLLEAGUE
    assert api.get(f"/tasks/{anh['task']}", "leader.00070").get_json()["assignee"] is None
    # an officer who leads no unit may not
    officer = _office(app.test_client(), "specialist.00070")
    r = officer.post("/inbox/assign", {"task_ids": [anh["task"]], "username": COLLEAGUE}, referrer="/inbox")
    assert r.status_code == 403
    assert api.get(f"/tasks/{anh['task']}", "leader.00070").get_json()["assignee"] is None


def office_text_has(office, response, message: str) -> int:
    return office.text(response).count(message)


def test_stamp_changes_when_work_arrives_or_is_taken(app, api, client):
    hoa, *_ = _three(app, api)
    office = _office(client, "specialist.00070")
    first = office.get("/inbox/stamp").get_json()
    assert first["counts"] == {"available": 3, "mine": 0, "unit": 0} and first["latest"]
    assert 'data-stamp-url="/admin/inbox/stamp"' in office.text(office.get("/inbox"))
    assert office.get("/inbox/stamp").get_json() == first  # nothing changed: same stamp
    office.post(f"/tasks/{hoa['task']}/claim", referrer="/inbox")
    taken = office.get("/inbox/stamp").get_json()
    assert taken["counts"] == {"available": 2, "mine": 1, "unit": 0}
    with app.app_context():
        _birth(api, "Trần Văn Dũng", 3)
    arrived = office.get("/inbox/stamp").get_json()
    assert arrived["counts"]["available"] == 3 and arrived["latest"] > first["latest"]
    assert BackOffice(app.test_client()).get("/inbox/stamp").status_code == 302  # logged out: login page
