"""Browser tests of issue 22 (Playwright on Debian's chromium, live server, SQLite): a citizen on a
390 x 844 phone tracks a dossier waiting for a supplement and reads what to bring without any
horizontal scroll or a wrapped field label; a supervisor clicks a late count on the statistics
page and lands on those dossiers."""
from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.models.types import utcnow

from .test_admin_browser import browser, login, page, server, shot  # noqa: F401  (fixtures)
from .test_citizen_tracking import ADDRESS, set_contact
from .lifecycle_helpers import accepted, action
from .test_statistics import returned, set_times
from .test_supplements import COMMUNE_SPECIALIST

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True,
                                  device_scale_factor=2, has_touch=True)
    context.set_default_timeout(15000)
    pg = context.new_page()
    yield pg
    context.close()


def test_a_citizen_on_a_phone_reads_what_to_bring_without_horizontal_scroll(phone, server, app, api, api_key):
    set_contact(app)
    code = accepted(api, api_key())["code"]
    assert action(api, COMMUNE_SPECIALIST, code, "request-supplement",
                  items=["Giấy xác nhận của tổ dân phố", "Bản sao sổ hộ khẩu"], reason="thiếu xác nhận").status_code == 200
    phone.goto(f"{server}/tra-cuu")
    # the phone-digits label fits: its first line is one line of text, not wrapped word by word
    label = phone.locator("#phone-label")
    line_height = phone.evaluate("parseFloat(getComputedStyle(document.querySelector('#phone-label')).lineHeight)"
                                 " || 20")
    first_line = phone.evaluate("(() => { const r = document.createRange();"
                                " const t = document.querySelector('#phone-label').firstChild;"
                                " r.selectNodeContents(t); return r.getClientRects().length; })()")
    assert first_line == 1 and label.bounding_box()["width"] <= 390 and line_height > 0
    phone.fill("input[name=code]", code)
    phone.fill("input[name=phone]", "5678")
    phone.click("button[type=submit]")
    phone.wait_for_selector("#supplement")
    items = phone.locator("#supplement-items li").all_inner_texts()
    assert items == ["Giấy xác nhận của tổ dân phố", "Bản sao sổ hộ khẩu"]
    assert phone.locator("#supplement-items").is_visible()
    assert ADDRESS in phone.locator("#bring-where").inner_text()
    assert "Chờ công dân bổ sung hồ sơ" in phone.locator("#current-step").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.locator("#supplement").scroll_into_view_if_needed()
    shot(phone, "tracking-supplement-390")


def test_a_supervisor_clicks_a_late_count_and_lands_on_the_dossiers(page, server, app, api, api_key):
    key = api_key()
    late, on_time = returned(api, key), returned(api, key)
    now = utcnow()
    set_times(app, late, finished=now - timedelta(hours=1), legal_due=now - timedelta(days=3))
    login(page, server, "supervisor.01")
    page.goto(f"{server}/admin/statistics")
    page.wait_for_selector("#totals")
    assert page.locator("[data-total=late] a").inner_text() == "1"
    assert page.locator("[data-total=rate]").inner_text() == "50\u00a0%"
    shot(page, "statistics-links")
    page.click("[data-total=late] a")
    page.wait_for_selector("#dossier-list")
    rows = page.locator("#dossier-list tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-dossier") == late
    assert "outcome=late" in page.url and on_time not in page.content()
    assert page.locator("#statistics-filter").is_visible()
    shot(page, "statistics-late-dossiers")
