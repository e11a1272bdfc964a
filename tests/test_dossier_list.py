"""The back office's dossier list (issue 19, point 2): an officer finds a dossier by code, the
applicant's name however typed, ID number or phone, among only the dossiers they may see; filters,
sorting and pages; a bad query string never answers 500; a search box in every page's header.
The API's GET /dossiers takes the same filters (one service function)."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import update

from tests.admin_client import BackOffice
from tests.test_search import BIRTH_DATA

DAO = {"full_name": "Nguyễn Thị Đào", "id_number": "001190099999", "phone": "0912 345 678"}
BICH = {"full_name": "Trần Thị Bích", "id_number": "001190011111", "phone": "0988111222"}
HUNG = {"full_name": "Lê Văn Hùng", "id_number": "001190022222", "phone": "0977333444"}
# received 10, 9 and 8 days ago at 10:00 in Vietnam, due in 10, 11 and 12 days
RECEIVED = datetime.combine(date.today() - timedelta(days=10), time(3), timezone.utc)
DUE = datetime.combine(date.today() + timedelta(days=10), time(3), timezone.utc)
ROW = re.compile(r'<tr data-dossier="([^"]+)"')


def start(api, applicant: dict, commune: str = "00070") -> str:
    r = api.post("/dossiers", f"reception.{commune}", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": commune, "data": BIRTH_DATA,
        "applicant": applicant})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def set_dates(app, code: str, **values) -> None:
    from orchestrator.extensions import db
    from orchestrator.models import Dossier

    with app.app_context():
        db.session.execute(update(Dossier).where(Dossier.code == code).values(**values))
        db.session.commit()


def listed(office, **query) -> list[str]:
    """The codes the list shows, in its order (the redirect of an exact code is not followed)."""
    r = office.get("/dossiers", query_string=query)
    assert r.status_code == 200, (r.status_code, office.text(r)[:500])
    return ROW.findall(office.text(r))


@pytest.fixture
def three(app, api):
    """Three dossiers of commune 00070 received on three days, and one of commune 00454."""
    codes = {"dao": start(api, DAO), "bich": start(api, BICH), "hung": start(api, HUNG),
             "other": start(api, {"full_name": "Trần Thị Bích", "phone": "0911000000"}, "00454")}
    for i, key in enumerate(("dao", "bich", "hung")):
        set_dates(app, codes[key], received_at=RECEIVED + timedelta(days=i), due_at=DUE + timedelta(days=i))
    return codes


def officer(client, who: str = "reception.00070") -> BackOffice:
    office = BackOffice(client)
    office.login(who)
    return office


def test_an_officer_finds_a_name_typed_without_diacritics_only_among_what_they_may_see(app, client, three):
    office = officer(client)
    assert listed(office, q="tran thi bich") == [three["bich"]]  # not commune 00454's Trần Thị Bích
    page = office.text(office.get("/dossiers", query_string={"q": "tran thi bich"}))
    assert "Trần Thị Bích" in page and "1 hồ sơ" in page
    nfd = unicodedata.normalize("NFD", "Trần Thị Bích")
    assert listed(office, q=nfd) == listed(office, q="TRẦN THỊ BÍCH") == [three["bich"]]
    assert listed(office, q="001190099999") == [three["dao"]]  # ID number
    assert listed(office, q="0912345678") == listed(office, q="0912 345 678") == [three["dao"]]  # phone
    assert set(listed(office)) == {three["dao"], three["bich"], three["hung"]}
    # the other commune's officer sees theirs only; the province's supervisor sees both
    assert listed(officer(client, "reception.00454"), q="tran thi bich") == [three["other"]]
    assert set(listed(officer(client, "supervisor.01"), q="tran thi bich")) == {three["bich"], three["other"]}


def test_the_table_shows_names_dates_and_links(app, client, three):
    page = officer(client).text(officer(client).get("/dossiers", query_string={"q": "nguyen thi dao"}))
    row = page[page.index(f'data-dossier="{three["dao"]}"'):]
    row = row[:row.index("</tr>")]
    assert f'href="/admin/dossiers/{three["dao"]}"' in row and "Nguyễn Thị Đào" in row
    assert "khai sinh" in row.lower()            # the procedure by its name
    assert "Phường Hoàn Kiếm" in row             # the receiving unit by its name
    assert f"{RECEIVED:%d/%m/%Y} 10:00" in row and f"{DUE:%d/%m/%Y} 10:00" in row  # Vietnam time
    assert "Đang xử lý" in row and "quá hạn" not in row


def test_an_exact_code_opens_the_dossier_and_another_communes_code_does_not(app, client, three):
    office = officer(client)
    r = office.get("/dossiers", query_string={"q": three["hung"]})
    assert r.status_code in (302, 303) and r.headers["Location"].endswith(f"/admin/dossiers/{three['hung']}")
    r = office.get("/dossiers", query_string={"q": f"  {three['hung']} "})
    assert r.status_code in (302, 303)
    assert listed(office, q=three["other"]) == []  # not visible: no redirect, nothing listed
    assert "Không tìm thấy hồ sơ nào khớp" in office.text(office.get("/dossiers", query_string={"q": three["other"]}))


def test_filters(app, client, three):
    from orchestrator.models.types import utcnow

    office = officer(client)
    everything = {three["dao"], three["bich"], three["hung"]}
    # status, by its number in the select (the names are the portal's Vietnamese ones)
    assert set(listed(office, status="4")) == everything and listed(office, status="2") == []
    # procedure by its name typed without diacritics, or by its code
    assert set(listed(office, procedure="dang ky khai sinh")) == everything
    assert set(listed(office, procedure="1.001193")) == everything
    assert listed(office, procedure="ket hon") == []
    # period of reception, Vietnam days, both ends included
    day = [(RECEIVED + timedelta(days=i)).date().isoformat() for i in range(3)]
    assert set(listed(office, **{"from": day[1], "to": day[2]})) == {three["bich"], three["hung"]}
    assert listed(office, **{"from": day[0], "to": day[0]}) == [three["dao"]]
    assert set(listed(office, **{"from": day[1]})) == {three["bich"], three["hung"]}
    # overdue: open and its due day has ended
    set_dates(app, three["bich"], due_at=utcnow() - timedelta(days=3))
    assert listed(office, overdue="1") == [three["bich"]]
    page = office.text(office.get("/dossiers", query_string={"overdue": "1"}))
    assert 'class="overdue"' in page and "quá hạn" in page
    # receiving unit by name without diacritics or by code (a supervisor sees both communes)
    supervisor = officer(client, "supervisor.01")
    assert set(listed(supervisor, unit="hoan kiem")) == everything
    assert listed(supervisor, unit="00454") == [three["other"]]
    assert listed(supervisor, unit="00454", q="le van hung") == []


def test_sorting_and_pages(app, client, three, monkeypatch):
    from admin import views_dossiers

    office = officer(client)
    dao, bich, hung = three["dao"], three["bich"], three["hung"]
    assert listed(office) == [hung, bich, dao]                 # newest received first by default
    assert listed(office, sort="received") == [dao, bich, hung]
    assert listed(office, sort="due") == [dao, bich, hung] and listed(office, sort="-due") == [hung, bich, dao]
    assert listed(office, sort="code") == sorted([dao, bich, hung])
    assert listed(office, sort="-code") == sorted([dao, bich, hung], reverse=True)
    monkeypatch.setattr(views_dossiers, "PER_PAGE", 2)
    first = office.text(office.get("/dossiers", query_string={"sort": "received"}))
    assert ROW.findall(first) == [dao, bich] and "3 hồ sơ" in first and "Trang 1 / 2" in first
    assert "page=2" in first and "sort=received" in first
    second = office.text(office.get("/dossiers", query_string={"sort": "received", "page": "2"}))
    assert ROW.findall(second) == [hung] and "Trang 2 / 2" in second and 'rel="prev"' in second


@pytest.mark.parametrize("query", [
    {"page": "abc"}, {"page": "-3"}, {"page": "99999999999999999999"}, {"sort": "drop"}, {"sort": "id; DROP"},
    {"from": "2026-13-40"}, {"to": "hôm qua"}, {"from": "2026-11-05", "to": "2026-11-01"}, {"status": "99"},
    {"status": "x"}, {"overdue": "maybe"}, {"q": "a" * 500}, {"q": " ".join("abcdefghijkl")}, {"q": "%_\\"},
    {"procedure": "x" * 500}, {"unit": "%"},
])
def test_bad_query_values_never_answer_500(app, client, three, query):
    """Issue 22, 3d: a bad filter, sort, page or date is a 400 page naming it (no longer silently
    ignored); a search too long or of too many words is said on the page; `%` is just text."""
    r = officer(client).get("/dossiers", query_string=query)
    page = r.get_data(as_text=True)
    if "q" in query or "unit" in query:
        assert r.status_code == 200, r.status_code
        if len(query["q"] if "q" in query else "") > 20:
            assert 'role="alert"' in page  # said on the page, the rest of the list still works
    else:
        assert r.status_code == 400, r.status_code
        assert f"<code>{sorted(query)[-1]}</code>" in page


def test_header_search_box_is_on_every_officers_page(app, client, three):
    office = officer(client, "specialist.00070")
    for path in ("/inbox", "/dossiers", f"/dossiers/{three['dao']}", "/tracking-book"):
        page = office.text(office.get(path))
        assert 'id="header-search"' in page and 'action="/admin/dossiers"' in page, path
        assert '<label for="header-q"' in page and 'id="nav-dossiers"' in page, path
    assert listed(office, q="le van hung") == [three["hung"]]
    designer = officer(client, "designer.01")
    assert 'id="header-search"' not in designer.text(designer.get("/catalogue"))
    assert designer.get("/dossiers").status_code == 403


def test_api_lists_with_the_same_filters_and_sorts(app, api, three):
    def codes(**query):
        r = api.get("/dossiers", "reception.00070", query_string=query)
        assert r.status_code == 200, r.get_json()
        return [d["code"] for d in r.get_json()["items"]]

    dao, bich, hung = three["dao"], three["bich"], three["hung"]
    assert codes(sort="-received") == [hung, bich, dao] and codes(procedure="khai sinh", q="tran thi bich") == [bich]
    assert codes(unit="hoan kiem", sort="due") == [dao, bich, hung]
    first = api.get("/dossiers", "reception.00070", query_string={"sort": "received", "limit": 2, "count": "true"})
    body = first.get_json()
    assert [d["code"] for d in body["items"]] == [dao, bich] and body["total"] == 3 and body["next_cursor"]
    assert codes(sort="received", limit=2, cursor=body["next_cursor"]) == [hung]
    assert codes(overdue="true") == []
    for query in ({"sort": "drop"}, {"overdue": "maybe"}, {"received_from": "2026-13-40"}, {"procedure": "x" * 201}):
        r = api.get("/dossiers", "reception.00070", query_string=query)
        assert r.status_code in (400, 422) and set(query) <= set(r.get_json()["error"]["fields"]), r.get_json()


def test_a_large_total_is_shown_as_more_than(app, client, three, monkeypatch):
    from orchestrator.services import dossiers

    monkeypatch.setattr(dossiers, "COUNT_CAP", 2)
    office = officer(client)
    for query in ({}, {"q": "001190"}):  # counted apart, and a search counted in the same statement
        page = office.text(office.get("/dossiers", query_string=query))
        assert "Hơn 2 hồ sơ" in page and len(ROW.findall(page)) == 3, query
    assert "1 hồ sơ" in office.text(office.get("/dossiers", query_string={"q": "001190011111"}))
