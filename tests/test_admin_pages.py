"""Administration as a new user finds it (issue 22, point 3): unit pickers that search names
without diacritics, a searchable paged units page, the calendar as a month grid, 400 pages for
bad query parameters, the site's own 404/405/500 pages and a home page at `/`."""
from __future__ import annotations

import re

import pytest

from .admin_client import BackOffice, user_id


@pytest.fixture
def office(client):
    return BackOffice(client)


# -- a. unit pickers -----------------------------------------------------------------------------

def test_unit_lookup_finds_a_name_typed_without_diacritics_within_the_administrators_scope(office):
    office.login("admin.01")
    r = office.get("/units/lookup", query_string={"q": "phuong ba dinh"})
    assert r.status_code == 200 and r.is_json
    items = r.get_json()["items"]
    assert items[0] == {"code": "00004", "name": "Phường Ba Đình", "level": "commune"}
    assert office.get("/units/lookup", query_string={"q": "00070"}).get_json()["items"][0]["code"] == "00070"
    # Thái Nguyên's commune is not offered to Hà Nội's administrator; the national one sees it
    assert office.get("/units/lookup", query_string={"q": "phan dinh phung"}).get_json()["items"] == []
    provinces = office.get("/units/lookup", query_string={"q": "ha noi", "level": "province"}).get_json()["items"]
    assert [i["code"] for i in provinces] == ["01"]


def test_unit_lookup_of_the_national_administrator_reaches_every_province(client):
    office = BackOffice(client)
    office.login("admin.VN")
    items = office.get("/units/lookup", query_string={"q": "phan dinh phung"}).get_json()["items"]
    assert "05443" in [i["code"] for i in items]


def test_role_forms_use_the_unit_picker_and_the_server_still_checks_the_code(office, app):
    office.login("admin.01")
    uid = user_id(app, "reception.00070")
    for page in (office.get("/users"), office.get(f"/users/{uid}")):
        html = office.text(page)
        assert re.search(r'<input name="unit_code"[^>]*data-unit-picker[^>]*data-lookup="/admin/units/lookup"', html)
        assert "unitpicker.js" in html
    # what the picker shows is a name, what the form sends is a code: a name typed and sent as is is refused
    r = office.post(f"/users/{uid}/roles", {"role": "specialist", "unit_code": "Phường Ba Đình"},
                    referrer=f"/users/{uid}", follow=True)
    assert "Không có đơn vị mã này" in office.text(r)
    r = office.post(f"/users/{uid}/roles", {"role": "specialist", "unit_code": "00004"}, referrer=f"/users/{uid}",
                    follow=True)
    assert "Đã thêm vai trò" in office.text(r) and "Phường Ba Đình" in office.text(r)


def test_integrator_and_connector_scopes_pick_provinces(office):
    office.login("admin.01")
    for path in ("/operations", "/connectors"):
        html = office.text(office.get(path))
        assert re.search(r'<input name="scope"[^>]*data-unit-picker[^>]*data-level="province"', html), path


# -- b. units page -------------------------------------------------------------------------------

def test_units_page_is_paged_searchable_and_edits_a_unit_on_its_own_page(client, app):
    office = BackOffice(client)
    office.login("admin.VN")
    first = office.text(office.get("/units"))
    assert 'type="date"' not in first, "no date pickers per row"
    assert first.count('<tr><td><code>') == 50
    assert 'aria-current="page">1<' in first and "page=2" in first
    second = office.text(office.get("/units?page=2"))
    assert 'aria-current="page">2<' in second and second.count('<tr><td><code>') == 50
    found = office.text(office.get("/units", query_string={"q": "phuong ba dinh"}))
    assert 'href="/admin/units/00004"' in found and "Phường Ba Đình" in found
    page = office.text(office.get("/units/00004"))
    assert 'name="valid_from"' in page and 'name="valid_to"' in page and 'name="disadvantaged"' in page
    r = office.post("/units/00004", {"valid_from": "2025-07-01", "valid_to": ""}, referrer="/units/00004")
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/units/00004")
    assert 'value="2025-07-01"' in office.text(office.get("/units/00004"))


def test_unit_page_of_another_province_is_not_found(office):
    office.login("admin.01")
    assert office.get("/units/05443").status_code == 404
    assert office.get("/units/00004").status_code == 200


# -- c. calendar month grid ----------------------------------------------------------------------

def test_calendar_is_a_month_grid_with_holidays_weekends_and_make_up_days(office):
    office.login("admin.01")
    office.post("/calendar", {"scope": "01", "day": "2027-09-04", "kind": "work", "note": "làm bù"},
                referrer="/calendar")
    html = office.text(office.get("/calendar", query_string={"scope": "01", "year": 2027, "month": 9}))
    grid = html[html.index('id="month-grid"'):html.index("</table>", html.index('id="month-grid"'))]
    assert re.findall(r'<th scope="col">([^<]+)</th>', grid)[0] == "T2", "Monday first"
    # 1/9/2027 is a Wednesday: the first week starts on Monday 30/8
    assert grid.index('data-date="2027-08-30"') < grid.index('data-date="2027-09-01"')
    assert re.search(r'class="holiday[^"]*" data-date="2027-09-02" data-working="no"', grid)
    assert re.search(r'class="weekend[^"]*" data-date="2027-09-05"', grid)
    assert re.search(r'class="makeup[^"]*" data-date="2027-09-04" data-working="yes"', grid)
    assert "Quốc khánh" in grid
    assert "month=8" in html and "month=10" in html and 'class="legend"' in html
    assert 'id="declare-day"' in html and "calendar-days" in html, "the list and the forms are still there"
    january = office.text(office.get("/calendar", query_string={"scope": "01", "year": 2027, "month": 1}))
    assert "year=2026&amp;month=12" in january or "month=12&amp;year=2026" in january.replace("scope=01&amp;", "")


# -- d. bad query parameters ---------------------------------------------------------------------

BAD_PARAMETERS = [
    ("/units", "page", ["0", "-1", "abc", "99999999999", "100000"]),
    ("/units", "level", ["planet", "<b>"]),
    ("/units/lookup", "level", ["planet"]),
    ("/units/lookup", "q", ["x " * 150]),
    ("/units", "q", ["a " * 20]),
    ("/calendar", "year", ["abc", "1999", "2101", "2027.5"]),
    ("/calendar", "month", ["0", "13", "abc", "-1"]),
    ("/calendar", "scope", ["XX", "00070"]),
]


@pytest.mark.parametrize("path,name,value", [(p, n, v) for p, n, values in BAD_PARAMETERS for v in values])
def test_a_bad_query_parameter_is_a_400_page_naming_it(client, path, name, value):
    office = BackOffice(client)
    office.login("admin.VN")
    r = office.get(path, query_string={name: value})
    assert r.status_code == 400, (path, name, value, r.status_code)
    html = office.text(r)
    assert f"<code>{name}</code>" in html, html[:2000]
    assert "Không thực hiện được" in html


LONG, NUL, CR = "x" * 1001, "ab\x00c", "ab\rc"
BAD_PARAMETERS_BY_USER = {  # issue 22, 3d: every page's parameters, one login each (a loop: fast)
    "specialist.00070": [
        ("/inbox", {"view": ["all", NUL], "due": ["later"], "sort": ["nonsense"], "status": ["99", "x"],
                    "page": ["abc", "0", "-1"], "procedure": [LONG, CR], "unit": [NUL], "q": [CR]}),
        ("/dossiers", {"page": ["abc", "-3", "99999999999999999999"], "sort": ["drop", "id; DROP"],
                       "status": ["99", "x"], "from": ["2026-13-40", NUL], "to": ["hôm qua"],
                       "overdue": ["maybe"], "open": ["yes"], "late": ["2"], "outcome": ["lost"],
                       "period": ["ever"], "procedure": [LONG], "unit": [CR], "province": ["x" * 11],
                       "commune": [NUL], "q": [NUL], "work": ["late", NUL], "work_unit": [NUL, "x" * 41],
                       "work_step": [CR]}),
        ("/notifications", {"page": ["abc", "-1", "0"], "unread": ["yes"]}),
        ("/tracking-book", {"unit": ["x" * 41, NUL]}),
        ("/tracking-book.csv", {"unit": [CR]}),
    ],
    "reception.00070": [("/desk", {"unit": [NUL, LONG], "procedure": [CR, "x" * 41], "q": [NUL]})],
    "supervisor.01": [
        ("/statistics", {"province": ["XX", "x" * 11, NUL], "commune": ["19001", CR], "from": ["2026-13-01"],
                         "to": ["mai"]}),
        ("/statistics/weeks.csv", {"from": ["abc"], "commune": [NUL]}),
    ],
    "designer.01": [("/procedures", {"scope": ["XX", "1", NUL]}),
                    ("/procedures/1.001193/v/1/compare", {"with": ["abc", "-1", "0", "1.5"]})],
    "admin.VN": [("/users", {"role": ["king"], "active": ["maybe"], "q": [NUL, "x" * 201]}),
                 ("/message-templates", {"scope": ["XX", "99", NUL, CR, "x" * 11]})],
}


def test_every_back_office_page_answers_a_bad_parameter_with_a_400_page_naming_it(app, client):
    for username, pages in BAD_PARAMETERS_BY_USER.items():
        office = BackOffice(app.test_client())
        office.login(username)
        for path, parameters in pages:
            for name, values in parameters.items():
                for value in values:
                    r = office.get(path, query_string={name: value})
                    html = office.text(r)
                    assert r.status_code == 400, (username, path, name, value, r.status_code, html[:300])
                    assert f"<code>{name}</code>" in html and "Không thực hiện được" in html, (path, name, value)
    # a range the wrong way round names its end; absent or empty values still mean "default"
    office = BackOffice(app.test_client())
    office.login("specialist.00070")
    r = office.get("/dossiers", query_string={"from": "2026-11-05", "to": "2026-11-01"})
    assert r.status_code == 400 and "<code>to</code>" in office.text(r)
    for path in ("/inbox", "/dossiers", "/notifications", "/tracking-book"):
        assert office.get(path, query_string={"page": "", "sort": "", "status": "", "unit": ""}).status_code == 200


# -- e. error pages ------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,status,title", [
    ("GET", "/khong-co-trang-nay", 404, "Không tìm thấy"),
    ("GET", "/admin/khong-co-trang-nay", 404, "Không tìm thấy"),
    ("PUT", "/admin/login", 405, "Không thực hiện được"),
    ("DELETE", "/tra-cuu", 405, "Không thực hiện được"),
])
def test_site_error_pages_are_the_products_in_vietnamese(client, method, path, status, title):
    r = client.open(path, method=method)
    assert r.status_code == status
    html = r.get_data(as_text=True)
    assert r.mimetype == "text/html" and '<html lang="vi">' in html and title in html
    assert "admin.css" in html
    assert "Werkzeug" not in html and "The requested URL" not in html and "Not Found" not in html


def test_site_error_pages_follow_the_chosen_language_and_the_api_keeps_json(client):
    client.get("/admin/lang/en")
    r = client.get("/khong-co-trang-nay")
    assert r.status_code == 404 and '<html lang="en">' in r.get_data(as_text=True)
    assert "Page not found." in r.get_data(as_text=True)
    api = client.get("/api/v1/khong-co")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
    assert client.put("/api/v1/health").is_json


def test_an_unexpected_failure_outside_the_back_office_is_the_products_500_page(app, client):
    def boom():
        raise RuntimeError("boom")

    app.add_url_rule("/__boom", "boom_for_test", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["PROPAGATE_UNEXPECTED"] = False
    r = client.get("/__boom")
    assert r.status_code == 500
    html = r.get_data(as_text=True)
    assert "Lỗi hệ thống" in html and "Internal Server Error" not in html and "boom" not in html


# -- f. home page --------------------------------------------------------------------------------

def test_home_page_links_the_back_office_the_tracking_page_and_the_api_docs(client):
    r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert '<html lang="vi">' in html and "admin.css" in html
    for href in ('href="/admin/"', 'href="/tra-cuu"', 'href="/api/v1/docs"'):
        assert href in html, href
    for target in ("/admin/", "/tra-cuu", "/api/v1/docs"):
        assert client.get(target).status_code in (200, 302), target
    machine = client.get("/", headers={"Accept": "application/json"})
    assert machine.get_json() == {"name": "orchestrator", "api": "/api/v1", "admin": "/admin"}
