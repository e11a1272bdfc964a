"""Supervisors' statistics: early / on time / late, per week, per procedure and unit, what is
open and overdue, who may see which province, and bad periods."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from orchestrator.extensions import db
from orchestrator.models import Dossier, Procedure, WorkItem
from orchestrator.models.types import utcnow
from orchestrator.services.calendar import TZ

from .lifecycle_helpers import accepted, complete, paid_at_once, start_online
from .test_sql_budget import ORDER, WHO


def returned(api, key) -> str:
    body = start_online(api, key)
    for step in ORDER:
        body = complete(api, WHO[step], body, step)
        if step == "Task_FileCheck":
            body = paid_at_once(api, WHO[step], body)
    assert body["status"] == 10, body["status"]
    return body["code"]


def set_times(app, code: str, finished: datetime | None = None, legal_due: datetime | None = None,
              due: datetime | None = None) -> None:
    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=code).one()
        if finished is not None:
            d.finished_at = finished
        if legal_due is not None:
            d.legal_due_at = legal_due
        if due is not None:
            d.due_at = due
            for w in db.session.query(WorkItem).filter_by(dossier_id=d.id, state="open"):
                w.due_at = due
        d.updated_at = utcnow()
        db.session.commit()
    fold(app)


def fold(app) -> None:
    """What the worker's periodic `stat_fold` job does (issue 23): past days are read from its aggregates."""
    from orchestrator.services import jobs, stat_days
    from orchestrator.worker import Worker

    with app.app_context():
        jobs.enqueue(db.session, stat_days.KIND)  # due now, not in a minute
        db.session.commit()
    Worker(app).run_until_idle()


def test_on_time_rate_weeks_procedures_units_and_bottlenecks(app, api, api_key):
    key = api_key()
    today = utcnow().astimezone(TZ).date()
    monday = today - timedelta(days=today.weekday())
    two_weeks_ago = datetime.combine(monday - timedelta(weeks=2) + timedelta(days=2), datetime.min.time(), TZ)
    due = two_weeks_ago.replace(hour=17)
    early, on_time, late = returned(api, key), returned(api, key), returned(api, key)
    set_times(app, early, finished=due - timedelta(days=2), legal_due=due)
    set_times(app, on_time, finished=due - timedelta(hours=1), legal_due=due)
    set_times(app, late, finished=due + timedelta(days=6), legal_due=due)  # the next week's Tuesday
    overdue, waiting = accepted(api, key)["code"], accepted(api, key)["code"]
    set_times(app, overdue, due=utcnow() - timedelta(days=1))
    set_times(app, waiting, due=utcnow() + timedelta(days=5))

    r = api.get("/statistics", "supervisor.01")
    assert r.status_code == 200, r.get_json()
    s = r.get_json()
    assert s["scope"] == "01" and s["to"] == today.isoformat()
    assert date.fromisoformat(s["from"]) == monday - timedelta(weeks=12)
    assert s["outcomes"] == {"resolved": 3, "early": 1, "on_time": 1, "late": 1, "on_time_rate": 2 / 3}
    assert (s["received"], s["open"], s["open_overdue"]) == (5, 2, 1)
    weeks = {w["start"]: w["outcomes"] for w in s["weeks"]}
    assert len(weeks) == 13 and list(weeks) == sorted(weeks)
    assert weeks[(monday - timedelta(weeks=2)).isoformat()] == {
        "resolved": 2, "early": 1, "on_time": 1, "late": 0, "on_time_rate": 1.0}
    assert weeks[(monday - timedelta(weeks=1)).isoformat()]["late"] == 1
    assert sum(w["resolved"] for w in weeks.values()) == 3
    [land] = s["procedures"]
    assert (land["code"], land["received"], land["open"], land["open_overdue"]) == ("1.013978", 5, 2, 1)
    assert land["outcomes"]["resolved"] == 3 and land["name"]
    units = {u["code"]: u for u in s["units"]}
    assert units["00454"]["open"] == 2 and units["00454"]["open_overdue"] == 1
    assert units["01.VPDKDD.CN11"]["steps_done"] == 9  # 3 returned dossiers x 3 branch steps, this period
    assert units["01.VPDKDD.CN11"]["open_overdue"] == 1
    assert {u["code"] for u in s["units"][:2]} == {"00454", "01.VPDKDD.CN11"}, "units with overdue work first"
    # Two steps run in parallel after reception (commune, land office branch): one dossier late in both.
    assert {(b["procedure_code"], b["unit_code"], b["open"], b["open_overdue"]) for b in s["bottlenecks"]} == {
        ("1.013978", "00454", 2, 1), ("1.013978", "01.VPDKDD.CN11", 2, 1)}

    # A period that ends before anything was returned has no resolved dossiers and no rate.
    r = api.get("/statistics?from=2026-01-05&to=2026-01-31", "supervisor.01")
    assert r.get_json()["outcomes"] == {"resolved": 0, "early": 0, "on_time": 0, "late": 0, "on_time_rate": None}
    # The national supervisor sees every province, or one.
    assert api.get("/statistics", "supervisor.VN").get_json()["outcomes"]["resolved"] == 3
    assert api.get("/statistics?province=19", "supervisor.VN").get_json()["outcomes"]["resolved"] == 0


def test_who_may_see_statistics_and_bad_periods(app, api, api_key):
    assert api.get("/statistics").status_code == 401
    assert api.get("/statistics", "reception.00454").status_code == 403
    assert api.get("/statistics", api_key()).status_code == 403
    r = api.get("/statistics?province=01", "supervisor.19")
    assert r.status_code == 403 and "01" in r.get_json()["error"]["message"]
    assert api.get("/statistics", "supervisor.19").get_json()["scope"] == "19"
    assert api.get("/statistics", "admin.01").get_json()["scope"] == "01"
    for query, field in (("from=2026-03-01&to=2026-02-01", "from"), ("from=2024-01-01&to=2026-01-01", "from"),
                         ("from=yesterday", "from"), ("province=1", "province")):
        r = api.get(f"/statistics?{query}", "supervisor.VN")
        assert r.status_code == 400, (query, r.get_json())
        assert field in r.get_json()["error"]["fields"], (query, r.get_json())


def test_statistics_page_draws_the_weeks_and_refuses_what_it_should(app, api, api_key, client):
    from .admin_client import BackOffice

    key = api_key()
    code = returned(api, key)
    now = utcnow()
    # late: due two days before (one day before is the same Vietnam day in the first hour after its midnight)
    set_times(app, code, finished=now - timedelta(hours=1), legal_due=now - timedelta(days=2))
    office = BackOffice(client)
    r = office.login("supervisor.01")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/")
    assert office.get("/").headers["Location"].endswith("/admin/statistics"), "a supervisor lands on the figures"
    page = office.text(office.get("/statistics"))
    assert 'id="weekly-chart"' in page and page.count('<g class="week">') == 13
    assert 'class="late"' in page and re.search(r'data-total="late"><a [^>]*>1</a>', page)
    assert 'data-total="rate">0\u00a0%<' in page  # issue 22: "0 %", not "0.0 %"
    assert "1.013978" in page and 'id="nav-statistics"' in page
    # A bad period is a 400 page naming it (issue 22, 3d: no other period's figures); another province is refused.
    r = office.get("/statistics?from=2026-13-01")
    assert r.status_code == 400 and "<code>from</code>" in office.text(r) and "YYYY-MM-DD" in office.text(r)
    assert 'id="weekly-chart"' not in office.text(r)
    r = office.get("/statistics?from=2026-06-01&to=2026-05-01")
    assert r.status_code == 400 and "<code>from</code>" in office.text(r)
    assert office.get("/statistics?province=19").status_code == 403
    # In English.
    office.get("/lang/en")
    assert "On-time rate" in office.text(office.get("/statistics"))
    # Officers without the role are refused.
    other = BackOffice(app.test_client())
    other.login("reception.00454")
    assert other.get("/statistics").status_code == 403


def test_statistics_tables_download_as_csv(app, api, api_key, client):
    import csv
    import io

    from .admin_client import BackOffice

    key = api_key()
    code = returned(api, key)
    now = utcnow()
    set_times(app, code, finished=now - timedelta(hours=1), legal_due=now + timedelta(days=3))  # early
    office = BackOffice(client)
    office.login("supervisor.01")
    page = office.text(office.get("/statistics"))
    assert 'id="downloads"' in page
    r = office.get("/statistics/procedures.csv?province=01")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="thong-ke-procedures-01-')
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["Mã thủ tục", "Thủ tục", "Tiếp nhận"]
    assert rows[1][0] == "1.013978" and rows[1][3:8] == ["1", "1", "0", "0", "100.0"]
    weeks = list(csv.reader(io.StringIO(office.get("/statistics/weeks.csv").get_data(as_text=True)[1:])))
    assert len(weeks) == 14 and weeks[-1][1:3] == ["1", "1"]
    assert office.get("/statistics/units.csv").status_code == 200
    # A name that a spreadsheet would run as a formula is written as text.
    with app.app_context():
        db.session.get(Procedure, "1.013978").name = '=HYPERLINK("http://example.invalid","x")'
        db.session.commit()
    rows = list(csv.reader(io.StringIO(office.get("/statistics/procedures.csv").get_data(as_text=True)[1:])))
    assert rows[1][1].startswith("'=HYPERLINK")
    assert office.get("/statistics/secrets.csv").status_code == 404
    assert office.get("/statistics/weeks.csv?from=2026-02-30").status_code == 400
    assert office.get("/statistics/weeks.csv?province=19").status_code == 403
