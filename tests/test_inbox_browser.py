"""Browser test of the inbox's bulk reassignment and the absence page (issue 19, point 6):
leader.00070 ticks two steps in the unit view and gives them to a colleague, then names a
substitute for an officer and moves the officer's held work to them."""
from __future__ import annotations

import pytest

from orchestrator.services import substitutes

from .test_admin_browser import browser, login, page, server, shot  # noqa: F401  (fixtures)
from .test_inbox_page import COLLEAGUE, _birth, _colleague

pytestmark = pytest.mark.sqlite_only
OFFICER = "specialist.00070"


def test_leader_reassigns_two_steps_then_sets_a_substitute_and_moves_held_work(app, api, page, server):  # noqa: F811
    _colleague(app)
    with app.app_context():
        first, second, held = (_birth(api, name, days) for name, days in
                               (("Lê Thị Hoa", 2), ("Nguyễn Văn Bình", 4), ("Phạm Đức Anh", 6)))
    assert api.post(f"/tasks/{held['task']}/claim", OFFICER).status_code == 200

    login(page, server, "leader.00070")
    page.wait_for_selector("table.inbox")
    page.click("#unit-view")
    page.wait_for_selector("#unit-view[aria-current=page]")
    assert "(3)" in page.locator("#unit-view").inner_text()
    for t in (first, second):
        page.check(f"tr[data-task='{t['task']}'] input.pick")
    page.select_option("#bulk-username", COLLEAGUE)
    page.click("#bulk-assign")
    page.wait_for_selector(f"text=Đã giao 2 việc cho {COLLEAGUE}.")
    for t in (first, second):
        assert "Đỗ Thị Mai" in page.locator(f"tr[data-task='{t['task']}']").inner_text()
    shot(page, "inbox")

    page.click("#absence-link")
    page.wait_for_selector("#set-substitute")
    assert page.locator(f"tr[data-officer='{OFFICER}'] td.held").inner_text() == "1"
    today = substitutes.today().isoformat()
    page.select_option("#set-substitute select[name=officer]", OFFICER)
    page.select_option("#set-substitute select[name=substitute]", COLLEAGUE)
    page.fill("#set-substitute input[name=starts_on]", today)
    page.fill("#set-substitute input[name=ends_on]", today)
    page.click("#set-substitute-submit")
    page.wait_for_selector("text=Đã cử Đỗ Thị Mai làm thay")
    page.click(f"tr[data-officer='{OFFICER}'] button.move")
    page.wait_for_selector("text=Đã chuyển 1 việc đang giữ cho người làm thay.")
    assert page.locator(f"tr[data-officer='{OFFICER}'] td.held").inner_text() == "0"
    assert page.locator(f"tr[data-officer='{COLLEAGUE}'] td.held").inner_text() == "3"
    shot(page, "absence")
    for t in (first, second, held):
        assert api.get(f"/tasks/{t['task']}", "leader.00070").get_json()["assignee"] == COLLEAGUE


def test_the_inbox_refreshes_itself_unless_steps_are_ticked(app, api, page, server):  # noqa: F811
    from playwright.sync_api import expect

    app.config["INBOX_REFRESH_SECONDS"] = 0.5
    with app.app_context():
        first = _birth(api, "Lê Thị Hoa", 2)
    login(page, server, OFFICER)
    page.wait_for_selector(f"tr[data-task='{first['task']}']")
    with app.app_context():
        second = _birth(api, "Nguyễn Văn Bình", 3)
    page.wait_for_selector(f"tr[data-task='{second['task']}']")  # reloaded by itself
    assert "(2)" in page.locator("#tab-available").inner_text()
    page.check(f"tr[data-task='{first['task']}'] input.pick")
    with app.app_context():
        third = _birth(api, "Phạm Đức Anh", 4)
    expect(page.locator("[data-tab-count='available']")).to_have_text("(3)")
    page.wait_for_timeout(1500)  # the count moved, the list (and the ticked box) stayed
    assert page.locator(f"tr[data-task='{third['task']}']").count() == 0
    assert page.locator(f"tr[data-task='{first['task']}'] input.pick").is_checked()
