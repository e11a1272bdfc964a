"""Browser test of the one-stop desk's intake (issue 19, point 1; Playwright on Debian's chromium,
live server, SQLite): a reception officer records a walk-in birth registration from the back
office, picking the procedure by typing its name without diacritics, attaches a scan, accepts and
prints the receipt; then guides a second citizen to complete her file and prints form 02; when she
comes back the officer finds her dossier by her name typed without diacritics from the header,
records the supplement and receives the dossier; the specialist then reads the declared data with
the form's labels."""
from __future__ import annotations

import pytest

from .test_admin_browser import browser, login, page, server, shot  # noqa: F401  (fixtures)
from .test_dossiers_api import BIRTH

pytestmark = pytest.mark.sqlite_only
DESK = "reception.00070"
PDF = b"%PDF-1.4 giay chung sinh"
ITEMS = ["Giấy chứng sinh (bản chính)", "Giấy tờ chứng minh nơi cư trú"]


def pick(page, typed: str, code: str) -> None:
    """Step 1: type part of the name; the list narrows as one types (desk.js)."""
    page.click("#nav-desk")
    page.wait_for_load_state("load")  # desk.js listens to the box only once the page has loaded
    page.fill("#procedure-q", typed)
    page.wait_for_selector("#procedure-list li[data-code='1.001612']", state="hidden")
    visible = page.locator("#procedure-list li:not([hidden])")
    assert visible.count() == 1 and visible.first.get_attribute("data-code") == code
    visible.first.locator("a").click()
    page.wait_for_selector("#desk-form")


def fill_applicant(page, name: str, id_number: str, address: str, phone: str = "0987654321") -> None:
    page.fill("#applicant-full_name", name)
    page.fill("#applicant-id_number", id_number)
    page.fill("#applicant-phone", phone)
    page.fill("#applicant-address", address)


def fill_form(page, data: dict, scope: str = "#desk-data") -> None:
    for name, value in data.items():
        field = page.locator(f"{scope} [name={name}]")
        if field.first.evaluate("e => e.tagName") == "SELECT":
            field.select_option(str(value))
        elif field.first.get_attribute("type") == "radio":
            page.check(f"{scope} input[name={name}][value='{value}']")
        else:
            field.fill(str(value))


def print_document(page):
    with page.expect_popup() as popup:
        page.click("#print-document")
    document = popup.value
    document.wait_for_load_state()
    return document


def test_a_desk_officer_records_accepts_and_guides_walk_in_citizens(page, server):  # noqa: F811
    login(page, server, DESK)
    page.wait_for_selector("#nav-desk")

    # 1. accepted at once: the receipt (form 01) with the code and the applicant's name and address
    pick(page, "dang ky khai sinh", "1.001193")
    fill_applicant(page, "Lê Thị Hoa", "001190012345", "12 Hàng Bạc, phường Hoàn Kiếm, Hà Nội")
    fill_form(page, BIRTH)
    page.set_input_files("#desk-files-input", files=[
        {"name": "giay-chung-sinh.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    assert page.locator("#missing_items").is_hidden() and page.locator("#refusal_reason").is_hidden()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "desk-intake")
    page.click("#desk-submit")
    page.wait_for_selector("#result-code")
    code = page.locator("#result-code").inner_text()
    assert page.locator("#dossier-status").get_attribute("data-status") in ("2", "4")
    assert "giay-chung-sinh.pdf" in page.locator("#result-attachments").inner_text()
    shot(page, "desk-result")
    receipt = print_document(page)
    assert receipt.locator("#doc-code").inner_text() == code
    text = receipt.locator("body").inner_text()
    assert "Lê Thị Hoa" in text and "12 Hàng Bạc" in text and "giay-chung-sinh.pdf" in text
    receipt.close()

    # 2. the next citizen's file is incomplete: guided to supplement, form 02 lists what is missing
    page.click("#desk-next")
    pick(page, "khai sinh", "1.001193")
    fill_applicant(page, "Trần Thị Bích", "001192054321", "5 Lý Thái Tổ, phường Hoàn Kiếm, Hà Nội")
    page.check("input[name=reception_result][value=supplement]")
    assert page.locator("#missing_items").is_visible() and page.locator("#refusal_reason").is_hidden()
    page.fill("#missing_items", "\n".join(ITEMS))
    page.click("#desk-submit")
    page.wait_for_selector("#result-code")
    second = page.locator("#result-code").inner_text()
    assert second != code and page.locator("#dossier-status").get_attribute("data-status") == "5"
    assert page.locator("#print-document").get_attribute("data-kind") == "supplement"
    form02 = print_document(page)
    text = form02.locator("body").inner_text()
    assert second in text and "Trần Thị Bích" in text and all(item in text for item in ITEMS)
    form02.close()

    # 3. days later she comes back: found by her name typed without diacritics, from the header
    page.fill("#header-q", "tran thi bich")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"tr[data-dossier='{second}']")
    page.click(f"tr[data-dossier='{second}'] a")
    page.wait_for_selector("#supplement-submitted")
    page.fill("#supplement-submitted input[name=note]", "; ".join(ITEMS))
    page.click("#supplement-submitted button[type=submit]")
    page.wait_for_selector("#current-tasks li a")
    page.click("#current-tasks li a")  # reception reopens: the officer completes the declaration
    page.wait_for_selector("#step-form")
    if page.locator("#claim").count():
        page.click("#claim")
        page.wait_for_selector("#step-form")
    page.check("#step-form input[name=reception_result][value=accept]")
    fill_form(page, BIRTH, "#step-form")
    page.click("#complete")
    page.wait_for_selector("#dossier-status[data-status='4']")
    history = page.locator("#history").inner_text()
    assert "Công dân" in history or "bổ sung" in history
    page.click("header button.link")
    page.wait_for_selector("input[name=username]")

    # 4. the specialist reads what was declared with the form's labels, not raw keys
    login(page, server, "specialist.00070")
    page.wait_for_selector("table.inbox")
    page.click(f"tr[data-dossier='{second}'] a")
    page.wait_for_selector("#earlier-data")
    data = page.locator("#earlier-data").inner_text()
    assert "Giới tính" in data and "Nam" in data and "Trần Minh Khôi" in data
    assert "child_sex" not in data and "male" not in data
    shot(page, "task-labelled-data")
