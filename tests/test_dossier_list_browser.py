"""Browser test of the dossier list (issue 19, point 2; Playwright on Debian's chromium, live
server, SQLite): an officer types an applicant's name without diacritics into the search box of
the page header, finds the dossier among the results, filters and opens it."""
from __future__ import annotations

import pytest

from .test_admin_browser import browser, login, page, server, shot  # noqa: F401  (fixtures)
from .test_dossier_list import BICH, DAO, start

pytestmark = pytest.mark.sqlite_only


def test_an_officer_searches_from_the_header_and_opens_the_dossier(page, server, api):
    bich, dao = start(api, BICH), start(api, DAO)
    other = start(api, {"full_name": "Trần Thị Bích", "phone": "0911000000"}, "00454")
    login(page, server, "specialist.00070")
    page.wait_for_selector("#header-search")
    page.get_by_label("Tra cứu hồ sơ").fill("tran thi bich")
    page.keyboard.press("Enter")
    page.wait_for_selector("#dossier-list")
    rows = page.locator("#dossier-list tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-dossier") == bich  # not 00454's Trần Thị Bích
    assert "Trần Thị Bích" in rows.first.inner_text() and other not in page.content()
    assert page.locator("#dossier-q").input_value() == "tran thi bich"
    shot(page, "dossier-list")

    # the filters keep the query; an empty result says what to try
    page.select_option("select[name=status]", "9")
    page.click("#dossier-filters button[type=submit]")
    page.wait_for_selector("#dossier-empty")
    assert "Không tìm thấy hồ sơ nào khớp" in page.locator("#dossier-empty").inner_text()
    page.select_option("select[name=status]", "")
    page.fill("#dossier-q", "0912 345 678")
    page.click("#dossier-filters button[type=submit]")
    page.wait_for_selector("#dossier-list")
    assert page.locator("#dossier-list tbody tr").first.get_attribute("data-dossier") == dao

    # open a dossier from the list, then an exact code from the header goes straight to it
    page.click(f"tr[data-dossier='{dao}'] a")
    page.wait_for_selector("#dossier-status")
    assert dao in page.content() and "Nguyễn Thị Đào" in page.content()
    page.get_by_label("Tra cứu hồ sơ").fill(bich)
    page.keyboard.press("Enter")
    page.wait_for_selector("#dossier-status")
    assert page.url.endswith(f"/admin/dossiers/{bich}")
