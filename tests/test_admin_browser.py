"""Browser tests of the back office: Playwright driving Debian's chromium against a live server.

They run on SQLite only (a real server thread shares the test's database file). Without
/usr/bin/chromium they are skipped, except in CI (CI=true) where they must run. With
SCREENSHOT_DIR set (`make screenshots`) they also save the pictures used by the README.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from .conftest import IN_CI, PASSWORD

pytestmark = pytest.mark.sqlite_only
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("SCREENSHOT_DIR")


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} not found: install Debian's chromium (make venv does it as root)"
        if IN_CI:
            pytest.fail(message + " (CI=true: browser tests are mandatory)", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def server(app):
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(5)


def new_page(browser, width: int = 1400, height: int = 1000, **options):
    """A page of a fresh context (no cookies) at that size, in Vietnamese, for a fixture to yield
    from; a JavaScript error on it fails the test."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN", **options)
    context.set_default_timeout(15000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    assert errors == [], f"JavaScript errors on the page: {errors}"
    context.close()


@pytest.fixture
def page(browser):
    yield from new_page(browser)


@pytest.fixture
def laptop(browser):
    """A 1366x768 screen, the most common in the offices (issue 22's screenshots)."""
    yield from new_page(browser, 1366, 768)


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=False)


def login(page, server: str, username: str) -> None:
    page.goto(f"{server}/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")  # the login form's, not the header's search


def test_designer_changes_routing_and_condition_without_xml_then_a_dossier_follows(page, server, api, tmp_path):
    page.goto(f"{server}/admin/login")
    shot(page, "login")
    login(page, server, "designer.01")
    page.wait_for_selector("table.catalogue")
    assert "Danh mục thủ tục" in page.content()
    shot(page, "catalogue")

    # a broken diagram: the report names the element and the line, on the diagram too
    broken = (ROOT / "bpmn" / "national" / "1.001193.bpmn").read_text(encoding="utf-8").replace(
        "reception_result == 'accept'", "__import__('os').system('id')")
    (tmp_path / "broken.bpmn").write_text(broken, encoding="utf-8")
    page.goto(f"{server}/admin/procedures/upload")
    page.set_input_files("input[name=file]", str(tmp_path / "broken.bpmn"))
    page.fill("input[name=code]", "1.001193")
    page.select_option("select[name=deadline_kind]", "same-day")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#upload-error")
    assert page.locator("table.problems tr[data-element-id=Flow_Accept]").count() >= 1
    page.wait_for_selector("#diagram .has-problem, #diagram .problem", state="attached")
    shot(page, "upload-report")

    # a non-XML file: a clear message
    (tmp_path / "notes.bpmn").write_text("not xml", encoding="utf-8")
    page.set_input_files("input[name=file]", str(tmp_path / "notes.bpmn"))
    page.fill("input[name=code]", "1.001193")
    page.click("form.card button[type=submit]")
    assert "XML không hợp lệ" in page.locator("#upload-error").inner_text()

    # the shipped diagram as Hà Nội's draft
    page.set_input_files("input[name=file]", str(ROOT / "bpmn" / "national" / "1.001193.bpmn"))
    page.fill("input[name=code]", "1.001193")
    page.select_option("select[name=deadline_kind]", "same-day")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#state")
    assert "Bản nháp" in page.locator("#state").inner_text()
    if (ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-viewer.production.min.js").exists():
        page.wait_for_selector("#diagram[data-renderer=bpmn-js] .djs-container")
    version_url = page.url.split("#")[0]
    shot(page, "version-diagram")

    # a lane's role, chosen from lists
    lane = page.locator("#lane-Lane_Specialist")
    lane.locator("select[name=role]").select_option("leader")
    lane.locator("button[type=submit]", has_text="Lưu").click()
    page.wait_for_selector("text=Đã gán làn Lane_Specialist")
    assert "commune/leader" in page.locator("#lane-Lane_Specialist code.path").inner_text()

    # a gateway condition: an unsafe one is refused next to the field, then a good one
    flow = page.locator("#flow-Flow_Accept")
    flow.locator("input[name=condition]").fill("__import__('os')")
    flow.locator("button[type=submit]").click()
    page.wait_for_selector("#flow-Flow_Accept .field-error")
    flow = page.locator("#flow-Flow_Accept")
    flow.locator("input[name=condition]").fill("reception_result == 'accept' and child_nationality == 'Việt Nam'")
    flow.locator("button[type=submit]").click()
    page.wait_for_selector("text=Đã lưu điều kiện của luồng Flow_Accept")
    shot(page, "version-conditions")

    page.goto(f"{version_url}/compare")
    assert "commune/leader" in page.content() and "child_nationality" in page.content()
    shot(page, "compare")

    page.goto(f"{version_url}/dry-run")
    page.fill("input[name=commune_code]", "00070")
    page.click("#run")
    page.wait_for_selector("table.dry-run")
    assert page.locator("table.dry-run tr[data-step=Task_Record] td.role").inner_text() == "leader"
    shot(page, "dry-run")

    page.goto(version_url)
    page.click("#publish")  # issue 22: a confirmation step first
    page.check("#confirm")
    page.click("#confirm-publish")
    page.wait_for_selector("text=Đã công bố phiên bản")

    # a dossier started through the JSON API follows the changed routing
    body = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 1,
            "applicant": {"full_name": "Lê Thị Hoa", "id_number": "001190012345"},
            "data": {"child_full_name": "Trần Minh Khôi", "child_sex": "male", "child_date_of_birth": "2026-11-20",
                     "child_place_of_birth": "Bệnh viện Phụ sản Hà Nội", "child_ethnicity": "Kinh",
                     "child_nationality": "Việt Nam", "birth_proof_type": "birth_certificate",
                     "mother_full_name": "Lê Thị Hoa", "requester_full_name": "Lê Thị Hoa",
                     "requester_id_number": "001190012345", "requester_relationship": "mother"}}
    r = api.post("/dossiers", "reception.00070", json=body)
    assert r.status_code == 201, r.get_json()
    tasks = r.get_json()["current_tasks"]
    assert [(t["name"], t["unit_code"], t["role"]) for t in tasks] == [
        ("Kiểm tra, ghi Sổ đăng ký khai sinh", "00070", "leader")]
    other = {**body, "data": {**body["data"], "child_nationality": "Lào"}}
    r = api.post("/dossiers", "reception.00070", json=other)
    assert r.status_code == 201 and r.get_json()["current_tasks"] == []  # the new condition sends it elsewhere


def test_diagram_without_javascript_is_drawn_by_the_server(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    login(page, server, "designer.19")
    page.goto(f"{server}/admin/procedures/1.001193/v/1")
    svg = page.locator("#diagram .svg-fallback svg.bpmn-svg")
    assert svg.count() == 1 and svg.locator("[data-element-id]").count() > 10
    shot(page, "diagram-fallback")
    context.close()


def test_administrator_declares_a_make_up_saturday(page, server, api):
    query = "/calendar/due?from=2027-03-05T08:00:00%2B07:00&kind=working&days=1&province=01"
    assert api.get(query, "admin.01").get_json()["due_at"].startswith("2027-03-08T17:00")
    login(page, server, "admin.01")
    page.wait_for_selector("table.users")
    shot(page, "users")
    page.goto(f"{server}/admin/calendar?scope=01&year=2027")
    page.fill("#declare-day input[name=day]", "2027-03-06")
    page.select_option("#declare-day select[name=kind]", "work")
    page.fill("#declare-day input[name=note]", "Làm bù")
    page.click("#declare-day button[type=submit]")
    page.wait_for_selector("text=Đã khai báo ngày 06/03/2027")
    shot(page, "calendar")
    assert api.get(query, "admin.01").get_json()["due_at"].startswith("2027-03-06T17:00")


def test_supervisor_sees_the_weekly_on_time_chart(page, server, api, api_key):
    from datetime import timedelta

    from orchestrator.models.types import utcnow

    from .test_statistics import returned, set_times

    key = api_key()
    now = utcnow()
    for weeks_ago, late in ((0, False), (1, True), (1, False), (3, False), (3, False)):
        code = returned(api, key)
        finished = now - timedelta(weeks=weeks_ago, hours=1)
        set_times(api.client.application, code, finished=finished,
                  legal_due=finished + (timedelta(days=-1) if late else timedelta(days=2)))
    login(page, server, "supervisor.01")
    page.wait_for_selector("#weekly-chart")
    assert page.locator("#weekly-chart g.week").count() == 13
    assert page.locator("#weekly-chart rect.late").count() == 1
    assert page.locator("#weekly-chart rect.early").count() == 3
    box = page.locator("#weekly-chart").bounding_box()
    assert box["width"] > 600 and box["height"] > 150
    assert page.locator("[data-total=rate]").inner_text() == "80\xa0%"  # Vietnamese: "80 %", "95,5 %"
    shot(page, "statistics")


def test_pages_work_under_the_content_security_policy(page, server):
    """Issue 14: nothing the Content-Security-Policy blocks is left. The scope list still submits
    itself and the rollback still asks first (admin/static/forms.js instead of inline handlers),
    bpmn-js still draws the diagram, Swagger UI still starts; no violation is reported."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, server, "designer.VN")
    page.wait_for_selector("table.catalogue")
    page.wait_for_load_state()  # forms.js listens from the page's load: a change before it submits nothing
    page.select_option("select[name=scope]", "01")
    page.wait_for_url("**/admin/procedures?scope=01")
    assert page.locator("select[name=scope]").input_value() == "01"

    version = f"{server}/admin/procedures/1.001193/v/1"
    page.goto(version)
    if (ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-navigated-viewer.production.min.js").exists():
        page.wait_for_selector("#diagram[data-renderer=bpmn-js] .djs-container")
        page.wait_for_selector("#diagram .djs-element[data-element-id=Task_Record]", state="attached")
    # a newer version in force makes v1 one to roll back to, behind a confirmation
    page.click("form[action$='/copy'] button")
    page.wait_for_selector("#publish")
    page.click("#publish")
    page.check("#confirm")
    page.click("#confirm-publish")
    page.wait_for_selector("text=Đã công bố phiên bản")
    page.goto(version)
    page.click("#rollback")  # issue 22: the confirmation page says which dossiers keep which version
    page.wait_for_selector("#publish-effect")
    assert "hồ sơ đang xử lý giữ phiên bản" in page.locator("#publish-effect").inner_text()
    page.check("#confirm")
    page.click("#confirm-publish")
    page.wait_for_selector("text=Đã công bố phiên bản")

    if (ROOT / "node_modules" / "swagger-ui-dist" / "swagger-ui-bundle.js").exists():
        page.goto(f"{server}/api/v1/docs")
        page.wait_for_selector(".swagger-ui .info .title")
    assert violations == []


BPMN_JS = ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-navigated-viewer.production.min.js"


def _version_url(server: str, api, code: str, scope: str, username: str) -> str:
    items = api.get(f"/procedures/{code}/versions", username).get_json()["items"]
    number = next(v["version"] for v in items if v["scope"] == scope)
    return f"{server}/admin/procedures/{code}/v/{number}"


@pytest.mark.skipif(not BPMN_JS.exists(), reason="bpmn-js not installed (npm ci)")
def test_diagram_of_a_file_with_two_processes_switches_between_them(page, server, api):
    """Hà Nội's 1.001612 holds the main collaboration and the shared sub-procedure it calls, each
    with its own BPMNDiagram: bpmn-js offers both and redraws the marks after a switch."""
    login(page, server, "designer.01")
    page.wait_for_selector("table.catalogue")
    page.goto(_version_url(server, api, "1.001612", "01", "designer.01"))
    page.wait_for_selector("#diagram[data-renderer=bpmn-js] .djs-container")
    page.wait_for_selector("#diagram .djs-element[data-element-id=Task_Reception]", state="attached")
    nav = page.locator("nav.diagram-switch")
    assert nav.count() == 1, "no switcher above a diagram of two processes"
    assert nav.get_attribute("aria-label") == "Các quy trình trong tệp"
    buttons = nav.locator("button")
    assert buttons.all_inner_texts() == ["Đăng ký thành lập hộ kinh doanh (1.001612) – Hà Nội",
                                         "Tổng hợp kết quả thẩm định hộ kinh doanh"]
    assert [b.get_attribute("aria-pressed") for b in buttons.all()] == ["true", "false"]
    assert page.locator("#diagram .djs-element[data-element-id=Task_Assess]").count() == 0

    buttons.nth(1).click()
    page.wait_for_selector("#diagram .djs-element[data-element-id=Task_Assess]", state="attached")
    assert page.locator("#diagram .djs-element[data-element-id=Task_Reception]").count() == 0
    assert page.locator("#diagram .djs-element[data-element-id=Call_Assess]").count() == 0
    assert [b.get_attribute("aria-pressed") for b in buttons.all()] == ["false", "true"]
    shot(page, "diagram-second-process")

    buttons.nth(0).click()
    page.wait_for_selector("#diagram .djs-element[data-element-id=Task_Reception]", state="attached")
    assert page.locator("#diagram .djs-element[data-element-id=Task_Assess]").count() == 0


@pytest.mark.skipif(not BPMN_JS.exists(), reason="bpmn-js not installed (npm ci)")
def test_marks_follow_the_switch_and_a_problem_row_opens_its_diagram(page, server, tmp_path):
    """A problem on the sub-procedure's task: its row switches to that diagram and selects it; the
    badge is drawn there, and the main diagram's marks come back when switching back."""
    xml = (ROOT / "bpmn" / "01" / "1.001612.bpmn").read_text(encoding="utf-8")
    task = '<bpmn:scriptTask id="Task_Assess" name="Tổng hợp kết quả thẩm định" scriptFormat='
    broken = xml.replace(task + '"python">', task + '"javascript">')
    assert broken != xml
    (tmp_path / "broken.bpmn").write_text(broken, encoding="utf-8")
    login(page, server, "designer.01")
    page.wait_for_selector("table.catalogue")
    page.goto(f"{server}/admin/procedures/upload")
    page.set_input_files("input[name=file]", str(tmp_path / "broken.bpmn"))
    page.fill("input[name=code]", "1.001612")
    page.fill("input[name=deadline_days]", "3")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("#upload-error")
    row = page.locator("table.problems tr[data-element-id=Task_Assess]").first
    assert row.count() == 1
    page.wait_for_selector("#diagram[data-renderer=bpmn-js] .djs-container")
    assert page.locator("#diagram .djs-element[data-element-id=Task_Assess]").count() == 0

    row.click()
    page.wait_for_selector("#diagram .djs-element.selected-problem[data-element-id=Task_Assess]", state="attached")
    assert page.locator("#diagram .djs-element.has-problem[data-element-id=Task_Assess]").count() == 1
    assert page.locator("#diagram .problem-badge").count() >= 1
    assert page.locator("nav.diagram-switch button[aria-pressed=true]").inner_text() == \
        "Tổng hợp kết quả thẩm định hộ kinh doanh"

    page.locator("nav.diagram-switch button").first.click()
    page.wait_for_selector("#diagram .djs-element[data-element-id=Task_Reception]", state="attached")
    assert page.locator("#diagram .djs-element[data-element-id=Task_Assess]").count() == 0
    page.locator("nav.diagram-switch button").nth(1).click()
    page.wait_for_selector("#diagram .djs-element.has-problem.selected-problem[data-element-id=Task_Assess]",
                           state="attached")


@pytest.mark.skipif(not BPMN_JS.exists(), reason="bpmn-js not installed (npm ci)")
def test_diagram_of_a_single_process_has_no_switcher(page, server):
    login(page, server, "designer.19")
    page.goto(f"{server}/admin/procedures/1.001193/v/1")
    page.wait_for_selector("#diagram[data-renderer=bpmn-js] .djs-container")
    page.wait_for_selector("#diagram .djs-element[data-element-id=Task_Record]", state="attached")
    assert page.locator("nav.diagram-switch").count() == 0


def test_administrator_picks_a_unit_by_typing_its_name_without_diacritics(laptop, server, app):
    from sqlalchemy import select

    from orchestrator.extensions import db
    from orchestrator.models import RoleAssignment, User

    page = laptop
    login(page, server, "admin.01")
    page.wait_for_selector("table.users")
    page.click("table.users a:text('reception.00070')")
    picker = page.locator("input[name=unit_code][role=combobox]")
    picker.press_sequentially("phuong ba dinh", delay=20)
    option = page.locator("[role=listbox] [role=option]", has_text="Phường Ba Đình").first
    option.wait_for()
    assert picker.get_attribute("aria-expanded") == "true"
    shot(page, "unit-picker")
    picker.press("ArrowDown")
    assert page.locator("[role=option][aria-selected=true]").first.get_attribute("data-code") == "00004"
    picker.press("Enter")
    assert picker.input_value() == "00004"
    assert page.locator(".unit-picked").inner_text() == "Phường Ba Đình"
    page.select_option("select[name=role]", "specialist")
    page.click("form[action$='/roles'] button[type=submit]")
    page.wait_for_selector("text=Đã thêm vai trò.")
    assert "Phường Ba Đình" in page.locator("table.list").first.inner_text()
    with app.app_context():
        pairs = db.session.execute(select(RoleAssignment.role, RoleAssignment.unit_code).join(User).where(
            User.username == "reception.00070")).all()
        db.session.remove()
    assert ("specialist", "00004") in pairs


def test_calendar_month_grid_marks_national_day_and_a_make_up_saturday(laptop, server):
    page = laptop
    login(page, server, "admin.01")
    page.wait_for_selector("table.users")
    page.goto(f"{server}/admin/calendar?scope=01&year=2027&month=9")
    page.fill("#declare-day input[name=day]", "2027-09-04")
    page.select_option("#declare-day select[name=kind]", "work")
    page.fill("#declare-day input[name=note]", "Làm bù ngày 3/9")
    page.click("#declare-day button[type=submit]")
    page.wait_for_selector("text=Đã khai báo ngày 04/09/2027")
    assert page.locator("#month-title").inner_text() == "Tháng 9/2027"
    national_day = page.locator("#month-grid td[data-date='2027-09-02']")
    assert "holiday" in national_day.get_attribute("class")
    assert "Quốc khánh" in national_day.inner_text()
    assert "makeup" in page.locator("#month-grid td[data-date='2027-09-04']").get_attribute("class")
    assert page.locator("#month-grid thead th").first.inner_text() == "T2"
    page.locator("#month-grid").scroll_into_view_if_needed()
    shot(page, "calendar-month")
    page.click("#month-next")
    assert page.locator("#month-title").inner_text() == "Tháng 10/2027"
    assert page.locator("#declare-day").count() == 1 and page.locator("table.calendar-days").count() == 1
