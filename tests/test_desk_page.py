"""The one-stop desk's intake page, "Tiếp nhận hồ sơ mới" (issue 19, point 1), through the test
client on both backends: the procedure picker (folded search), the applicant with the ID-number
check, the procedure's reception form, scans, and the three outcomes, each with its document."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.id_numbers import FORMAT, PROVINCE, PROVINCE_CODES, REQUIRED, id_number_problem
from orchestrator.models import Attachment, Dossier, DossierCounter

from .admin_client import BackOffice
from .test_dossiers_api import BIRTH

DESK = "reception.00070"
APPLICANT = {"applicant-full_name": "Lê Thị Hoa", "applicant-id_number": "001190012345",
             "applicant-phone": "0987654321", "applicant-address": "12 Hàng Bạc, phường Hoàn Kiếm, Hà Nội"}
ITEMS = ["Giấy chứng sinh (bản chính)", "Giấy tờ chứng minh nơi cư trú"]
REASON = "Thủ tục không thuộc thẩm quyền giải quyết của UBND phường Hoàn Kiếm"
PDF = b"%PDF-1.4 giay chung sinh"


def _office(client, who=DESK) -> BackOffice:
    office = BackOffice(client)
    assert office.login(who).status_code == 302
    return office


def _codes(page: str) -> list[str]:
    return re.findall(r'<li data-search="[^"]*" data-code="([^"]+)"', page)


def _receive(office, outcome: dict, applicant=APPLICANT, data=BIRTH, files=()):
    form = {"desk-unit": "00070", "desk-procedure": "1.001193", **applicant, **data, **outcome}
    if files:
        form["desk-files"] = [(io.BytesIO(content), name) for name, content in files]
    return office.post("/desk", form, referrer="/desk?procedure=1.001193", content_type="multipart/form-data")


def _saved(app) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Dossier)),
                db.session.scalar(select(func.coalesce(func.sum(DossierCounter.value), 0))),
                db.session.scalar(select(func.count()).select_from(Attachment)))


def _dossier(app, code: str) -> Dossier:
    with app.app_context():
        d = db.session.scalar(select(Dossier).where(Dossier.code == code))
        db.session.expunge(d)
        return d


def _error_at(page: str, name: str) -> str | None:
    """The error shown next to a field of the page, if any."""
    found = re.search(rf'data-field="{name}"[^>]*>(.*?)</div>', page, re.S)
    error = found and re.search(r'class="field-error"[^>]*>([^<]+)<', found.group(1))
    return error.group(1) if error else None


def _result(office, response) -> tuple[str, str]:
    """The dossier code the desk redirected to, and its result page."""
    assert response.status_code == 303, office.text(response)[:2000]
    code = re.search(r"/admin/desk/([^/?]+)$", response.headers["Location"]).group(1)
    return code, office.text(office.get(f"/desk/{code}"))


# -- the ID number (pure rule, docs/domain.md) -------------------------------------------------

def test_id_number_is_twelve_digits_starting_with_a_province_code():
    assert len(PROVINCE_CODES) == 63 and min(PROVINCE_CODES) == "001" and max(PROVINCE_CODES) == "096"
    assert id_number_problem("001190012345") is None                 # Hà Nội
    assert id_number_problem("079 301 012 345") is None              # Hồ Chí Minh, typed in groups
    assert id_number_problem("096.190.012.345") is None              # Cà Mau, the last code
    assert id_number_problem("") == REQUIRED and id_number_problem(None) == REQUIRED
    assert id_number_problem("00119001234") == FORMAT                # 11 digits (the old 9-digit card too)
    assert id_number_problem("0011900123456") == FORMAT
    assert id_number_problem("00119001234a") == FORMAT
    assert id_number_problem("003190012345") == PROVINCE             # 003 is no province's code
    assert id_number_problem("097190012345") == PROVINCE and id_number_problem("000190012345") == PROVINCE


# -- the page ----------------------------------------------------------------------------------

def test_picker_finds_procedures_by_name_folded_or_by_code(client):
    office = _office(client)
    page = office.text(office.get("/inbox"))
    assert 'id="nav-desk"' in page and "Tiếp nhận hồ sơ mới" in page
    everything = _codes(office.text(office.get("/desk")))
    # what the tests load for province 01: the national templates and Hà Nội's variant, once each
    assert everything == ["1.001193", "1.001612", "1.013978"]
    for q in ("khai sinh", "Khai sinh", "KHAI  SINH", "kha\u0301i sinh", "Đăng ký khai", "1.001193", "001193"):
        assert _codes(office.text(office.get("/desk", query_string={"q": q}))) == ["1.001193"], q
    assert _codes(office.text(office.get("/desk?q=ho+kinh+doanh"))) == ["1.001612"]
    assert _codes(office.text(office.get("/desk?q=dang+ky"))) == everything
    nothing = office.text(office.get("/desk?q=h%E1%BB%99+t%E1%BB%8Bch+xyz"))
    assert _codes(nothing) == [] and 'id="procedure-none"' in nothing and 'id="procedure-none" hidden' not in nothing
    assert office.get("/desk", query_string={"q": "x" * 201}).status_code == 400  # bounded, a message
    # the chosen procedure's reception form, without the outcome fields it carries (step 5 has them)
    form = office.text(office.get("/desk?procedure=1.001193"))
    assert 'name="child_full_name"' in form and 'name="desk-files"' in form and "multiple" in form
    assert form.count('name="reception_result"') == 3 and form.count('name="missing_items"') == 1
    assert office.get("/desk?procedure=9.999999").status_code == 404
    office.get("/lang/en")  # one language per page
    english = office.text(office.get("/desk?procedure=1.001193"))
    assert "Receive a new dossier" in english and "Personal identification number" in english
    assert "Tiếp nhận hồ sơ mới" not in english and "Người nộp hồ sơ" not in english


def test_accept_records_a_received_dossier_with_its_scans_and_prints_the_receipt(app, client):
    office = _office(client)
    r = _receive(office, {"reception_result": "accept"}, files=[("giay-chung-sinh.pdf", PDF), ("cccd.pdf", PDF)])
    code, page = _result(office, r)
    assert re.fullmatch(r"00070-\d{6}-0001", code)
    assert 'id="result-code">' + code in page and 'data-kind="receipt"' in page
    assert f'href="/admin/dossiers/{code}/documents/receipt"' in page and 'target="_blank"' in page
    d = _dossier(app, code)
    assert d.status in (2, 4) and d.received_at is not None and d.channel == 1 and d.received_by_unit == "00070"
    assert d.applicant == {"full_name": "Lê Thị Hoa", "id_number": "001190012345", "phone": "0987654321",
                           "address": "12 Hàng Bạc, phường Hoàn Kiếm, Hà Nội"}
    assert d.data["child_full_name"] == "Trần Minh Khôi" and d.data["reception_result"] == "accept"
    assert _saved(app)[2] == 2
    receipt = office.text(office.get(f"/dossiers/{code}/documents/receipt"))
    assert code in receipt and "Lê Thị Hoa" in receipt and "12 Hàng Bạc" in receipt
    assert "giay-chung-sinh.pdf" in receipt and "cccd.pdf" in receipt


def test_guide_records_the_dossier_unreceived_and_prints_form_02(app, client):
    office = _office(client)
    r = _receive(office, {"reception_result": "supplement", "missing_items": "\n".join(ITEMS) + "\n\n"},
                 applicant={**APPLICANT, "applicant-full_name": "Trần Thị Bích"}, data={})
    code, page = _result(office, r)
    assert 'data-kind="supplement"' in page and 'data-status="5"' in page
    d = _dossier(app, code)
    assert d.status == 5 and d.received_at is None
    form02 = office.text(office.get(f"/dossiers/{code}/documents/supplement"))
    assert code in form02 and "Trần Thị Bích" in form02 and all(item in form02 for item in ITEMS)
    # no items: the service's rule, next to the field, nothing stored
    before = _saved(app)
    r = _receive(office, {"reception_result": "supplement", "missing_items": "  "})
    assert r.status_code == 400 and _saved(app) == before
    assert _error_at(office.text(r), "missing_items")


def test_refuse_records_the_reason_and_prints_form_03(app, client):
    office = _office(client)
    r = _receive(office, {"reception_result": "refuse", "refusal_reason": REASON}, data={},
                 files=[("don.pdf", PDF)])
    code, page = _result(office, r)
    assert 'data-kind="refusal"' in page and 'data-status="3"' in page
    assert _dossier(app, code).status == 3
    assert _saved(app)[2] == 0, "a refused file goes back to the citizen"
    form03 = office.text(office.get(f"/dossiers/{code}/documents/refusal"))
    assert code in form03 and REASON in form03


@pytest.mark.parametrize("id_number, message", [
    ("12345", "12 chữ số"), ("099190012345", "mã tỉnh"), ("", "Nhập số định danh")])
def test_a_bad_id_number_is_named_on_the_page_and_nothing_is_saved(app, client, id_number, message):
    office = _office(client)
    before = _saved(app)
    r = _receive(office, {"reception_result": "accept"}, applicant={**APPLICANT, "applicant-id_number": id_number},
                 files=[("don.pdf", PDF)])
    assert r.status_code == 400
    page = office.text(r)
    assert message in _error_at(page, "applicant-id_number")
    assert 'value="Lê Thị Hoa"' in page and 'value="Trần Minh Khôi"' in page, "what was typed is kept"
    assert _saved(app) == before


def test_missing_name_and_form_errors_come_back_next_to_their_fields(app, client):
    office = _office(client)
    before = _saved(app)
    r = _receive(office, {"reception_result": "accept"}, applicant={**APPLICANT, "applicant-full_name": " "})
    assert r.status_code == 400 and "Nhập họ" in _error_at(office.text(r), "applicant-full_name")
    # accepted without the form's required fields: the service's `Invalid`, per field, nothing created
    r = _receive(office, {"reception_result": "accept"}, data={**BIRTH, "child_full_name": "", "child_sex": ""})
    assert r.status_code == 400
    page = office.text(r)
    for name in ("child_full_name", "child_sex"):
        assert _error_at(page, name), name
    assert 'value="Lê Thị Hoa"' in page and 'value="Bệnh viện Phụ sản Hà Nội"' in page
    # a file that is not what it says: named, nothing created
    r = _receive(office, {"reception_result": "accept"}, files=[("scan.pdf", b"not a pdf")])
    assert r.status_code == 400 and "scan.pdf" in _error_at(office.text(r), "desk-files")
    assert _saved(app) == before


def test_only_reception_officers_open_the_desk(app, client):
    office = _office(client, "specialist.00070")
    assert 'id="nav-desk"' not in office.text(office.get("/inbox"))
    assert office.get("/desk").status_code == 403
    before = _saved(app)
    assert _receive(office, {"reception_result": "accept"}).status_code == 403
    assert _saved(app) == before
    # a reception officer of another commune cannot record for 00070 nor read its result page
    desk = _office(app.test_client())
    code, _page = _result(desk, _receive(desk, {"reception_result": "accept"}))
    other = _office(app.test_client(), "reception.00454")
    assert other.get(f"/desk/{code}").status_code == 404
    assert _receive(other, {"reception_result": "accept"}).status_code == 403


def test_a_service_center_desk_names_the_commune_of_the_dossier(app, client):
    office = _office(client, "reception.01.TTPVHCC")
    page = office.text(office.get("/desk?procedure=1.001193"))
    assert 'name="desk-commune"' in page
    form = {"desk-unit": "01.TTPVHCC", "desk-procedure": "1.001193", **APPLICANT, **BIRTH, "reception_result": "accept"}
    before = _saved(app)
    r = office.post("/desk", {**form, "desk-commune": "99999"}, referrer="/desk?procedure=1.001193")
    assert r.status_code == 400 and _error_at(office.text(r), "desk-commune") and _saved(app) == before
    code, page = _result(office, office.post("/desk", {**form, "desk-commune": "00070"}))
    d = _dossier(app, code)
    assert code.startswith("01.TTPVHCC-") and d.commune_code == "00070" and d.received_by_unit == "01.TTPVHCC"
