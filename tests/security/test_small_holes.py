"""Issue 21, the small holes: what a caller sees when it sends hostile parameters to downloads,
the login's return address, calendars and uploads. Each test failed before the fix (said per test)."""
from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest

from orchestrator.downloads import content_disposition, strip_controls

from ..admin_client import BackOffice
from ..lifecycle_helpers import RECEPTION, accepted

BIDI = "\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def _disposition_ok(value: str) -> bool:
    """RFC 6266: one ASCII `filename` of safe characters and a percent-encoded `filename*`."""
    return re.fullmatch(r"(attachment|inline); filename=\"[A-Za-z0-9._-]+\"; filename\*=UTF-8''[A-Za-z0-9%._~-]+",
                        value) is not None


def test_content_disposition_never_reflects_raw_input():
    # Before: every route built `filename="{name}"` itself, so a quote or CR/LF went into the header.
    value = content_disposition("attachment", 'a"; x="y\r\nSet-Cookie: z=1\u202egpj.exe')
    assert _disposition_ok(value), value
    assert '"; x=' not in value and "\r" not in value and "\n" not in value and "\u202e" not in value
    assert content_disposition("inline", "Sổ đỏ.pdf").endswith("filename*=UTF-8''" + quote("Sổ đỏ.pdf", safe=""))


@pytest.mark.parametrize("province", ['01"; x="', "01\r\nX-Evil: 1", "99", "zz", "01\x00"])
def test_statistics_csv_refuses_an_unknown_scope(app, client, province):
    # Before: a national supervisor's `province=01"; x="` answered 200 with the text in the
    # Content-Disposition, an unknown scope 200, and CR/LF a 500.
    office = BackOffice(client)
    office.login("admin.VN")
    r = office.get("/statistics/procedures.csv", query_string={"province": province})
    assert r.status_code == 400, (province, r.status_code)
    assert "Content-Disposition" not in r.headers
    assert '"; x="' not in office.text(r) and 'x=&quot;' not in office.text(r)


def test_statistics_csv_download_has_an_rfc6266_name(app, client, api):
    # Before: `attachment; filename="thong-ke-..."` without filename*.
    office = BackOffice(client)
    office.login("supervisor.01")
    r = office.get("/statistics/units.csv", query_string={"province": "01"})
    assert r.status_code == 200 and _disposition_ok(r.headers["Content-Disposition"]), r.headers
    assert office.get("/statistics/units.csv", query_string={"province": "79"}).status_code == 403  # not its own
    # the API refuses an unknown scope too, naming the field
    bad = api.get("/statistics?province=99", "admin.VN")
    assert bad.status_code == 400 and "province" in bad.get_json()["error"]["fields"]


def test_document_pdf_and_book_downloads_have_rfc6266_names(app, api, api_key):
    # Before: `inline; filename="<code>-receipt.pdf"` and the book's name without filename*.
    code = accepted(api, api_key())["code"]
    pdf = api.get(f"/dossiers/{code}/documents/receipt?format=pdf", RECEPTION)
    assert pdf.status_code == 200 and _disposition_ok(pdf.headers["Content-Disposition"]), pdf.headers
    book = api.get("/units/00454/tracking-book?format=csv", RECEPTION)
    assert book.status_code == 200 and _disposition_ok(book.headers["Content-Disposition"]), book.headers


@pytest.mark.parametrize("target", ["/admin%0d%0aSet-Cookie:%20x=1", "/admin/%0d%0aX:1", "https://evil.example/admin",
                                    "//evil.example/admin", "/admin\\..\\", "/admin%00"])
def test_login_ignores_a_hostile_next(app, client, target):
    # Before: `next=/admin%0d%0a...` made a 500 (a header with CR/LF); now it goes home.
    office = BackOffice(client)
    r = client.post(f"/admin/login?next={target}", data={"username": "admin.01", "password": "demo1234",
                                                        "csrf_token": office._token()})
    assert r.status_code == 302, r.status_code
    assert r.headers["Location"].rstrip("/").endswith("/admin"), r.headers["Location"]


def test_login_follows_a_back_office_next(app, client):
    office = BackOffice(client)
    r = client.post("/admin/login?next=/admin/statistics?province=01", data={
        "username": "admin.01", "password": "demo1234", "csrf_token": office._token()})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/statistics?province=01")


@pytest.mark.parametrize("start", ["9999-12-01T08:00:00+07:00", "0001-01-01T08:00:00+07:00",
                                   "2101-01-01T08:00:00+07:00"])
def test_calendar_due_out_of_range_is_a_400_naming_the_field(app, api, start):
    # Before: from=9999-12-01 overflowed into a 500.
    r = api.get("/calendar/due", "reception.00070", query_string={"from": start, "kind": "working", "days": 3650})
    assert r.status_code == 400, r.status_code
    assert set(r.get_json()["error"]["fields"]) & {"from", "days"}


@pytest.mark.parametrize("year", ["99999", "-1", "9999", "0"])
def test_admin_calendar_year_out_of_range_is_a_400_page(app, client, year):
    # Before: /admin/calendar?year=99999 was a 500.
    office = BackOffice(client)
    office.login("admin.VN")
    r = office.get("/calendar", query_string={"year": year})
    assert r.status_code == 400, r.status_code
    assert "2000" in office.text(r)


def test_admin_calendar_refuses_a_non_number_year(app, client):
    # A year that is not a number is a 400 page naming it (issue 22), not silently this year.
    office = BackOffice(client)
    office.login("admin.VN")
    r = office.get("/calendar", query_string={"year": "abc\x00"})
    assert r.status_code == 400 and "year" in office.text(r)


def test_uploaded_file_names_lose_bidi_and_control_characters(app, api, api_key):
    # Before: "hoa-don\u202egpj.exe.pdf" was stored and shown as sent (reads as "hoa-donfdp.exe.jpg").
    code = accepted(api, api_key())["code"]
    name = "hoa-don" + BIDI + "\x01gpj.pdf"
    r = api.post(f"/dossiers/{code}/attachments", RECEPTION, content_type="multipart/form-data",
                 data={"kind": "applicant", "file": (io.BytesIO(b"%PDF-1.4 x"), name)})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["filename"] == "hoa-dongpj.pdf"
    listed = api.get(f"/dossiers/{code}/attachments", RECEPTION).get_json()["items"]
    assert [a["filename"] for a in listed] == ["hoa-dongpj.pdf"]
    got = api.get(f"/attachments/{r.get_json()['id']}", RECEPTION)
    assert got.status_code == 200 and _disposition_ok(got.headers["Content-Disposition"]), got.headers
    assert strip_controls("a" + BIDI + "\r\n\x7f\x85b") == "ab"


@pytest.mark.parametrize("param,value", [("to", "9999-12-31"), ("to", "0001-01-01"), ("from", "9999-12-31")])
def test_report_and_book_dates_out_of_range_are_400s(app, api, client, param, value):
    # Before (found by probing): statistics `to=9999-12-31` and the tracking book's dates overflowed into 500s.
    r = api.get(f"/units/00454/tracking-book?{param}={value}", RECEPTION)
    assert r.status_code == 400 and param in r.get_json()["error"]["fields"], r.get_json()
    r = api.get(f"/statistics?{param}={value}", "admin.VN")
    assert r.status_code == 400 and param in r.get_json()["error"]["fields"], r.get_json()
    office = BackOffice(client)
    office.login("admin.VN")
    assert office.get(f"/statistics/weeks.csv?{param}={value}").status_code == 400
    page = office.get(f"/statistics?{param}={value}")
    assert page.status_code in (200, 400) and "2000" in office.text(page)  # the page says why


def test_a_username_taken_elsewhere_gets_the_same_generic_409(app, client):
    # Before: "Tên đăng nhập đã tồn tại." with no way forward (fails on the suggestion); now one answer, never naming
    # the province that holds it, with a free name suggested in the new user's own province.
    office = BackOffice(client)
    office.login("admin.01")
    answers = []
    for taken in ("reception.00070", "designer.19", "admin.VN"):  # own province, another one, national
        r = office.post("/users", {"username": taken, "password": "matkhau-dai-123", "full_name": "X",
                                   "role": "reception", "unit_code": "00070"}, referrer="/users")
        assert r.status_code == 303, r.status_code  # back to the form with the message (refused: 409)
        text = office.text(office.get("/users"))
        assert f"{taken}.01" in text and "19" not in text.replace(f"{taken}.01", "").replace("designer.19", "")
        answers.append(text.replace(taken, "NAME").replace("NAME.01", "NAME"))
    assert "Tên đăng nhập đã được dùng" in answers[0]
