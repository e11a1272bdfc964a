"""Issue 22, supervision: every figure of the statistics page links to the dossiers behind it (the
officers' dossier list with the same filters, the same count), a commune filter, and numbers
written the Vietnamese way in Vietnamese ("1.234", "66,7 %") and the English way in English."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from flask_babel import force_locale

from orchestrator.models.types import utcnow
from orchestrator.services.calendar import TZ

from .admin_client import BackOffice
from orchestrator.extensions import db
from orchestrator.models import Dossier, WorkItem

from .lifecycle_helpers import BRANCH, COMMUNE, accepted, event
from .test_statistics import fold, returned, set_times

FIGURE = re.compile(r'<b data-total="(\w+)"><a class="figure-link" data-figure="\w+" href="([^"]+)">([^<]+)</a>')
COUNT = re.compile(r'id="dossier-count">([^<]+)<')


def _seed(app, api, key):
    today = utcnow().astimezone(TZ).date()
    due = datetime.combine(today - timedelta(days=today.weekday() + 12), datetime.min.time(), TZ).replace(hour=17)
    early, on_time, late = returned(api, key), returned(api, key), returned(api, key)
    set_times(app, early, finished=due - timedelta(days=2), legal_due=due)
    set_times(app, on_time, finished=due - timedelta(hours=1), legal_due=due)
    set_times(app, late, finished=due + timedelta(days=6), legal_due=due)
    overdue, waiting = accepted(api, key)["code"], accepted(api, key)["code"]
    set_times(app, overdue, due=utcnow() - timedelta(days=1))
    set_times(app, waiting, due=utcnow() + timedelta(days=5))
    return {"early": early, "on_time": on_time, "late": late, "overdue": overdue, "waiting": waiting}


def _figures(page: str) -> dict[str, tuple[str, int]]:
    return {kind: (html.unescape(href), int(n.replace(".", "").replace(",", "")))
            for kind, href, n in FIGURE.findall(page)}


def _listed(office, href: str) -> tuple[int, set[str]]:
    page = office.text(office.client.get(href))
    count = int(re.sub(r"\D", "", COUNT.search(page).group(1)))
    return count, set(re.findall(r'data-dossier="([^"]+)"', page))


def test_each_figure_links_to_exactly_the_dossiers_it_counts(app, api, api_key, client):
    codes = _seed(app, api, api_key())
    office = BackOffice(client)
    office.login("supervisor.01")
    page = office.text(office.get("/statistics"))
    figures = _figures(page)
    assert set(figures) >= {"resolved", "early", "on_time", "late", "received", "open", "open_overdue"}
    assert (figures["resolved"][1], figures["late"][1], figures["open"][1], figures["open_overdue"][1]) == (3, 1, 2, 1)
    for kind, (href, shown) in figures.items():
        assert href.startswith("/admin/dossiers?"), href
        count, listed = _listed(office, href)
        assert count == shown == len(listed), (kind, href, count, shown)
    # the late figure's list is the late dossier, with the filters the brief names
    late_href = figures["late"][0]
    assert "outcome=late" in late_href and "from=" in late_href and "to=" in late_href and "province=01" in late_href
    assert _listed(office, late_href)[1] == {codes["late"]}
    assert _listed(office, figures["open_overdue"][0])[1] == {codes["overdue"]}
    assert _listed(office, figures["early"][0])[1] == {codes["early"]}
    # `late=1` reads as outcome=late; the per-procedure row's links carry the procedure
    assert _listed(office, late_href.replace("outcome=late", "late=1"))[1] == {codes["late"]}
    row = re.search(r'<tr data-procedure="1.013978">(.*?)</tr>', page, re.S).group(1)
    row_late = html.unescape(re.search(r'data-figure="late" href="([^"]+)"', row).group(1))
    assert "procedure=1.013978" in row_late and _listed(office, row_late)[1] == {codes["late"]}


LINK = re.compile(r'<a class="figure-link" data-figure="(\w+)" href="([^"]+)">([^<]+)</a>')


def _row_links(office, row: str) -> dict[str, set[str]]:
    return {kind: _listed(office, html.unescape(href))[1] for kind, href, _n in LINK.findall(row)}


def test_unit_bottleneck_and_withdrawn_figures_link_to_the_dossiers_of_their_steps(app, api, api_key, client):
    key = api_key()
    late_step, overdue, withdrawn = (accepted(api, key)["code"] for _ in range(3))
    with app.app_context():  # the commune's reception of `late_step` was due yesterday: done late today
        reception = db.session.query(WorkItem).join(Dossier).filter(
            Dossier.code == late_step, WorkItem.state == "completed").one()
        reception.due_at = utcnow() - timedelta(days=2)
        db.session.commit()
    set_times(app, overdue, due=utcnow() - timedelta(days=1))
    assert event(api, key, withdrawn, "withdrawn", {"reason": "Công dân rút hồ sơ"}).status_code == 200
    fold(app)  # issue 23: the open figures are the worker's snapshot, taken by its next fold
    office = BackOffice(client)
    office.login("supervisor.01")
    page = office.text(office.get("/statistics"))
    total = _figures(page)["withdrawn_or_stopped"]
    assert total[1] == 1 and "outcome=withdrawn_or_stopped" in total[0]
    assert _listed(office, total[0]) == (1, {withdrawn})
    units = {code: _row_links(office, row) for code, row in
             re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', page, re.S)}
    # three receptions done at the commune today (one late); the open steps of the two still open
    assert units[COMMUNE] == {"steps_done": {late_step, overdue, withdrawn}, "steps_late": {late_step},
                              "work_open": {late_step, overdue}, "work_overdue": {overdue}}
    assert units[BRANCH] == {"steps_done": set(), "steps_late": set(), "work_open": {late_step, overdue},
                             "work_overdue": {overdue}}
    rows = re.findall(r'<tr data-bottleneck="1.013978 ([^"]+)">(.*?)</tr>', page, re.S)
    assert {unit for unit, _row in rows} == {COMMUNE, BRANCH}
    for _unit, row in rows:
        assert _row_links(office, row) == {"work_open": {late_step, overdue}, "work_overdue": {overdue}}
        assert "procedure=1.013978" in row and "work_step=" in row
    # the filters are said on the list, and kept when paging
    listed = office.text(office.client.get(html.unescape(LINK.findall(rows[0][1])[1][1])))
    assert 'id="work-filter"' in listed and "đang quá hạn" in listed and 'name="work" value="overdue"' in listed


def test_commune_filter_narrows_the_figures_and_their_lists(app, api, api_key, client):
    _seed(app, api, api_key())
    office = BackOffice(client)
    office.login("supervisor.01")
    page = office.text(office.get("/statistics"))
    assert 'id="statistics-commune"' in page and 'value="00454"' in page  # the communes of province 01
    here = _figures(office.text(office.get("/statistics?province=01&commune=00454")))
    assert here["resolved"][1] == 3 and here["open"][1] == 2
    assert "commune=00454" in here["late"][0] and _listed(office, here["late"][0])[0] == 1
    elsewhere = _figures(office.text(office.get("/statistics?province=01&commune=00008")))
    assert elsewhere["resolved"][1] == 0 and elsewhere["open"][1] == 0
    assert _listed(office, elsewhere["open"][0])[0] == 0
    # a commune of another province is refused: a 400 page naming it (issue 22, 3d), no other figures
    r = office.get("/statistics?province=01&commune=19001")
    assert r.status_code == 400 and "<code>commune</code>" in office.text(r) and "phạm vi" in office.text(r)


def test_numbers_and_percentages_are_written_as_each_language_does(app, api, api_key, client):
    key = api_key()
    codes = [returned(api, key) for _ in range(3)]
    now = utcnow()
    set_times(app, codes[0], finished=now - timedelta(hours=1), legal_due=now - timedelta(days=3))  # late
    office = BackOffice(client)
    office.login("supervisor.01")
    page = office.text(office.get("/statistics"))
    assert 'data-total="rate">66,7\u00a0%<' in page and "100.0 %" not in page and "66.7" not in page
    office.get("/lang/en")
    page = office.text(office.get("/statistics"))
    assert 'data-total="rate">66.7%<' in page
    with app.test_request_context():
        env = app.jinja_env
        with force_locale("vi"):
            assert env.filters["num"](1234) == "1.234" and env.filters["pct"](0.955) == "95,5\u00a0%"
            assert env.filters["pct"](1.0) == "100\u00a0%"
        with force_locale("en"):
            assert env.filters["num"](1234) == "1,234" and env.filters["pct"](0.955) == "95.5%"
