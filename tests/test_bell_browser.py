"""Browser test of the bell (issue 19, point 5; Playwright on Debian's chromium, live server,
SQLite): a specialist at work sees the bell go from nothing to 1 when the commune's leader, in
another browser, gives them a step; the page is not reloaded (bell.js asks every 30 s: the page's
clock is moved on instead of waiting). Opening the notification opens the dossier and the count
goes back to nothing."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .test_admin_browser import browser, login, page, server, shot  # noqa: F401  (fixtures)
from .test_dossiers_api import APPLICANT, BIRTH

pytestmark = pytest.mark.sqlite_only
OFFICER, LEADER = "specialist.00070", "leader.00070"


def _birth(api) -> dict:
    r = api.post("/dossiers", "reception.00070", json={"procedure_code": "1.001193", "province_code": "01",
                                                       "commune_code": "00070", "channel": 1, "applicant": APPLICANT,
                                                       "data": BIRTH})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    return {"code": body["code"], "task": next(t["id"] for t in body["current_tasks"] if t["step_id"] == "Task_Record")}


def test_the_bell_rings_without_reloading_and_opening_it_clears_it(app, api, browser, page, server):  # noqa: F811
    dossier = _birth(api)
    page.clock.install()  # bell.js's 30 s timer runs on this clock
    login(page, server, OFFICER)
    page.goto(f"{server}/admin/dossiers/{dossier['code']}")  # at work on a page that never reloads itself
    bell = page.locator("#bell")
    expect(bell).to_have_attribute("aria-label", "Thông báo")
    expect(page.locator("#bell-count")).to_be_hidden()
    page.evaluate("window.stillTheSamePage = true")

    leader_context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="vi-VN")
    try:
        leader = leader_context.new_page()
        login(leader, server, LEADER)
        leader.goto(f"{server}/admin/inbox?view=unit")
        row = leader.locator(f"tr[data-task='{dossier['task']}']")
        row.locator("form.assign select[name=username]").select_option(OFFICER)
        row.locator("form.assign button[type=submit]").click()
        leader.wait_for_load_state()
    finally:
        leader_context.close()
    assert api.get(f"/tasks/{dossier['task']}", LEADER).get_json()["assignee"] == OFFICER

    page.clock.run_for(31_000)
    expect(page.locator("#bell-count")).to_have_text("1")
    expect(page.locator("#bell-count")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True  # the count came without a reload
    shot(page, "bell")

    bell.click()
    page.wait_for_selector("table.notifications")
    row = page.locator("tr[data-kind='assigned']")
    expect(row).to_have_class("unread")
    assert dossier["code"] in row.inner_text() and "Được giao việc" in row.inner_text()
    shot(page, "notifications")
    row.locator("button.open").click()
    page.wait_for_url(f"**/admin/dossiers/{dossier['code']}")
    expect(page.locator("#bell-count")).to_be_hidden()
    page.goto(f"{server}/admin/notifications")
    expect(page.locator("tr[data-kind='assigned']")).to_have_class("read")
