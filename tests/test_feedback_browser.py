"""Browser test of issue 24, point 6 (Playwright on Debian's chromium, live server, SQLite): a
citizen on a 390 x 844 phone rates a returned dossier 5 stars with a comment from the tracking
page; a supervisor at 1366 x 768 sees the rating on the page beside the statistics."""
from __future__ import annotations

import pytest

from .test_admin_browser import browser, login, new_page, server, shot  # noqa: F401  (fixtures)
from .test_statistics import returned

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def phone(browser):
    yield from new_page(browser, 390, 844, is_mobile=True, device_scale_factor=2, has_touch=True)


@pytest.fixture
def laptop(browser):
    yield from new_page(browser, 1366, 768)


def test_a_citizen_rates_on_a_phone_and_a_supervisor_sees_it(phone, laptop, server, api, api_key):
    code = returned(api, api_key())
    phone.goto(f"{server}/tra-cuu?code={code}")
    phone.wait_for_selector("#rating")
    phone.get_by_label("5 – Rất hài lòng").check()
    phone.fill("#rating-comment", "Cán bộ hướng dẫn tận tình")
    phone.fill("#rating-phone", "5678")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.locator("#rating").scroll_into_view_if_needed()
    shot(phone, "feedback-rating-390")
    phone.click("#rating button[type=submit]")
    phone.wait_for_selector("#sent-rating")
    assert "5/5" in phone.locator("#rated").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    login(laptop, server, "supervisor.01")
    laptop.goto(f"{server}/admin/statistics?province=01")
    laptop.click("#feedback-link")
    laptop.wait_for_selector("#ratings-by-unit")
    assert laptop.locator("[data-total=ratings]").inner_text() == "1"
    assert laptop.locator("[data-total=average]").inner_text() == "5,00"  # Vietnamese decimals
    assert laptop.locator("#ratings-by-procedure tbody tr").first.locator("[data-col=count]").inner_text() == "1"
    shot(laptop, "feedback-supervisor")
