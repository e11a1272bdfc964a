"""Browser test of the officers' workspace (Playwright on Debian's chromium, live server,
SQLite): one land dossier (1.004227) received at the commune, processed at the province's land
registration branch with a supplement round, approved by the commune leader and returned, by
three different officers; the printed receipt shows the right code and due date."""
from __future__ import annotations

from datetime import datetime

import pytest

from orchestrator.services.calendar import TZ

from .lifecycle_helpers import BRANCH_OFFICER, RECEPTION, complete, posting_passes, start_online
from .test_admin_browser import browser, login, page, server, shot  # noqa: F401  (fixtures)
from .test_land_e2e import STEP_DATA

pytestmark = pytest.mark.sqlite_only
LEADER = "leader.00454"


def fill_step(page, data: dict) -> None:
    for name, value in data.items():
        field = page.locator(f"#step-form [name={name}]")
        kind = field.first.evaluate("e => e.tagName + ':' + (e.type || '')")
        if kind.startswith("SELECT"):
            field.select_option(str(value))
        elif kind.endswith(":radio"):
            page.check(f"#step-form input[name={name}][value='{value}']")
        elif kind.endswith(":checkbox"):
            field.set_checked(bool(value))
        else:
            field.fill(str(value))


def open_task(page, server, code: str, step_name: str) -> None:
    page.goto(f"{server}/admin/inbox?view=available")
    page.click(f"tr[data-dossier='{code}'] a")
    page.wait_for_selector("#step-form")
    assert step_name in page.locator("h1").inner_text()


def logout(page, api=None) -> None:
    """Log out in the browser: that ends the person's sessions and API tokens too (issue 21), so
    the test's API client asks for a new token."""
    page.click("header button.link")
    page.wait_for_selector("input[name=username]")
    if api is not None:
        api._tokens.clear()


def test_land_dossier_through_the_officers_workspace(page, server, api, api_key):  # noqa: F811
    key = api_key()
    code = start_online(api, key)["code"]

    # 1. reception at the commune: the inbox, the task page, the form, the receipt
    login(page, server, RECEPTION)
    page.wait_for_selector("table.inbox")
    assert page.locator(f"tr[data-dossier='{code}']").count() == 1
    shot(page, "officer-inbox")
    open_task(page, server, code, "Tiếp nhận")
    page.click("#claim")
    page.wait_for_selector("text=Đã nhận việc")
    fill_step(page, {"reception_result": "accept"})
    page.click("#complete")  # missing fields: errors next to them, nothing stored
    page.wait_for_selector("[data-field=parcel_number] .field-error")
    fill_step(page, STEP_DATA["Task_Reception"])
    shot(page, "officer-task")
    page.click("#complete")
    page.wait_for_selector("#dossier-status[data-status='4']")
    due = datetime.fromisoformat(api.get(f"/dossiers/{code}", RECEPTION).get_json()["due_at"]).astimezone(TZ)
    with page.expect_popup() as popup:
        page.click("a[data-kind=receipt]")
    receipt = popup.value
    receipt.wait_for_selector("#doc-code")
    assert receipt.locator("#doc-code").inner_text() == code
    assert receipt.locator("#doc-due").inner_text() == due.strftime("%H:%M ngày %d/%m/%Y")
    shot(receipt, "receipt")
    receipt.close()
    logout(page, api)

    # the commune's verification runs in parallel (another commune officer, through the API)
    complete(api, "specialist.00454", api.get(f"/dossiers/{code}", RECEPTION).get_json(), "Task_CommuneVerification")

    # 2. the province's land registration branch asks for a supplement, once
    login(page, server, BRANCH_OFFICER)
    open_task(page, server, code, "Kiểm tra hồ sơ")
    assert page.locator("#diagram .done, #diagram [data-element-id=Task_Reception]").count() >= 1
    page.goto(f"{server}/admin/dossiers/{code}")
    page.fill("#request-supplement textarea[name=items]", "Bản vẽ sơ đồ tài sản gắn liền với đất\nGiấy xác nhận ranh giới")
    page.click("#request-supplement button[type=submit]")
    page.wait_for_selector("#dossier-status[data-status='5']")
    assert page.locator("a[data-kind=supplement]").count() == 1
    logout(page, api)

    # the citizen brings the documents to the commune desk
    login(page, server, RECEPTION)
    page.goto(f"{server}/admin/dossiers/{code}")
    page.fill("#supplement-submitted input[name=note]", "Đã nhận đủ 2 giấy tờ")
    page.click("#supplement-submitted button[type=submit]")
    page.wait_for_selector("#dossier-status[data-status='4']")
    logout(page, api)

    login(page, server, BRANCH_OFFICER)
    open_task(page, server, code, "Kiểm tra hồ sơ")
    page.click("#claim")
    page.wait_for_selector("text=Đã nhận việc")
    fill_step(page, STEP_DATA["Task_FileCheck"])
    page.click("#complete")
    page.wait_for_selector("#dossier-status[data-status='4']")
    posting_passes(api.client.application, code)  # the commune's 15-day public posting (issue 18)
    page.goto(f"{server}/admin/dossiers/{code}")
    # the branch waits for the tax authority (issue 17): the officer asks for the fee, the applicant pays
    page.fill("#request-payment input[name=amount]", "600000")
    page.click("#request-payment button[type=submit]")
    page.wait_for_selector("#dossier-status[data-status='6']")
    page.fill("#payment-received input[name=receipt_number]", "BL-2026-001")
    page.click("#payment-received button[type=submit]")
    page.wait_for_selector("#dossier-status[data-status='4']")
    open_task(page, server, code, "Chuẩn bị hồ sơ")
    fill_step(page, STEP_DATA["Task_Draft"])
    page.click("#complete")
    page.wait_for_selector("#current-tasks li[data-step=Task_Sign]")
    logout(page, api)

    # 3. the commune leader approves
    login(page, server, LEADER)
    open_task(page, server, code, "Ký Giấy chứng nhận")
    fill_step(page, STEP_DATA["Task_Sign"])
    page.click("#complete")
    page.wait_for_selector("#dossier-status[data-status='9']")
    logout(page, api)

    complete(api, BRANCH_OFFICER, api.get(f"/dossiers/{code}", RECEPTION).get_json(), "Task_UpdateCadastre")

    # and the commune desk returns the result
    login(page, server, RECEPTION)
    open_task(page, server, code, "Trả Giấy chứng nhận")
    fill_step(page, STEP_DATA["Task_Return"])
    page.click("#complete")
    page.wait_for_selector("#dossier-status[data-status='10']")
    history = page.locator("#history").inner_text()  # sentences people read; the codes stay in data-action
    for action in ("supplement_requested", "supplement_submitted", "decided", "returned"):
        assert page.locator(f"#history li[data-action={action}]").count() >= 1 and action not in history
    assert "Công dân nộp bổ sung hồ sơ" in history and "đã hoàn thành bước “Ký Giấy chứng nhận”" in history
    with page.expect_popup() as popup:
        page.click("a[data-kind=control]")
    slip = popup.value
    slip.wait_for_selector("#control-rows")
    holders = slip.locator("#control-rows").inner_text()
    from orchestrator.extensions import db
    from orchestrator.models import User

    with api.client.application.app_context():  # the slip names people, not accounts (issue 19)
        for who in (RECEPTION, BRANCH_OFFICER, LEADER):
            assert db.session.scalar(db.select(User.full_name).where(User.username == who)) in holders
    shot(slip, "control-slip")
    slip.close()
