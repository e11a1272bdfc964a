"""Issue 23: the statistics' past days come from daily aggregates the worker recounts; they equal
the live count, re-running or a crashed fold changes nothing, and `flask check` sees tampering."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from orchestrator.extensions import db
from orchestrator.models import Dossier, StatDay, StatFold, StatOpen, StatProvinceDay, StatUnitDay, User
from orchestrator.models.types import utcnow
from orchestrator.services import stat_days, statistics
from orchestrator.services.auth import actor_for_user
from orchestrator.services.calendar import TZ

from .test_statistics import fold, returned, set_times


def _figures(r: statistics.Report):
    return (r.outcomes, r.received, r.refused, r.withdrawn_or_stopped, r.open, r.open_overdue,
            [(w.start, w.outcomes) for w in r.weeks], [(p.code, p.outcomes, p.received, p.open) for p in r.procedures],
            [(u.code, u.steps_done, u.steps_late, u.open, u.hours_per_step) for u in r.units])


def test_aggregates_equal_the_live_count_survive_crashes_and_are_checked(app, api, api_key):
    key = api_key()
    today = utcnow().astimezone(TZ).date()
    due = datetime.combine(today - timedelta(days=4), datetime.min.time(), TZ).replace(hour=17)  # `flask check`: 7 days
    late, early = returned(api, key), returned(api, key)
    set_times(app, late, finished=due + timedelta(days=1), legal_due=due)  # folds (the worker's job)
    set_times(app, early, finished=due - timedelta(days=1), legal_due=due)

    with app.app_context():
        session = db.session
        actor = actor_for_user(session, session.scalar(select(User).filter_by(username="supervisor.01")))
        kept = statistics.report(session, actor)
        assert kept.outcomes.late == 1 and kept.outcomes.early == 1
        assert _figures(kept) == _figures(statistics.report(session, actor, live=True))
        assert _figures(statistics.report(session, actor, commune="00454")) == _figures(
            statistics.report(session, actor, commune="00454", live=True))
        # Without a commune filter the figures come from stat_province_day (issue 23, point 3), the
        # units' from stat_unit_day filtered by the province it carries: the same, province and country.
        country = actor_for_user(session, session.scalar(select(User).filter_by(username="supervisor.VN")))
        assert _figures(statistics.report(session, country)) == _figures(statistics.report(session, country, live=True))
        assert statistics.report(session, country).outcomes.resolved == 2
        assert _figures(statistics.report(session, country, scope="01")) == _figures(kept)
        start = today - timedelta(days=30)
        before = stat_days.stored(session, start, today)
        assert before[0] and before[1] and before[2] == stat_days.by_province(before[0])
        assert {f["province_code"] for f in before[1].values()} == {"01"}
        stat_days.fold(session)  # once more: nothing changes
        stat_days.rebuild(session, start, today)
        session.commit()
        assert stat_days.stored(session, start, today) == before

        # A fold that crashes (rolled back) after a dossier changed loses nothing: the late one's
        # legal due day moves (a correction), so it becomes on time.
        session.execute(update(Dossier).where(Dossier.code == late).values(
            legal_due_at=due + timedelta(days=1), updated_at=utcnow()))
        session.commit()
        stat_days.fold(session)
        session.rollback()
        assert stat_days.stored(session, start, today) == before
    fold(app)
    with app.app_context():
        session = db.session
        assert stat_days.stored(session, start, today) != before
        assert stat_days.differences(session, days=30) == []
        assert _figures(statistics.report(session, actor)) == _figures(statistics.report(session, actor, live=True))

        # `flask check` reports an aggregate that differs from a recount.
        late_day = (due + timedelta(days=1)).astimezone(TZ).date()
        session.execute(update(StatDay).where(StatDay.day == late_day).values(late=StatDay.late + 5))
        session.execute(update(StatProvinceDay).where(StatProvinceDay.day == late_day)
                        .values(early=StatProvinceDay.early + 2))
        session.execute(update(StatUnitDay).values(province_code="79"))  # the steps were completed today
        session.commit()
        moved = stat_days.differences(session, today=today + timedelta(days=1))
        assert any(p.startswith("statistics stat_unit_day") and "'province_code': '79'" in p for p in moved), moved
    r = app.test_cli_runner().invoke(args=["check"])
    assert r.exit_code == 1 and "PROBLEM statistics stat_day" in r.output and "'late': 5" in r.output, r.output
    assert "PROBLEM statistics stat_province_day" in r.output and "'early': 2" in r.output, r.output
    r = app.test_cli_runner().invoke(args=["stats-rebuild", "--from", (today - timedelta(days=30)).isoformat()])
    assert r.exit_code == 0 and "31 day(s)" in r.output, r.output
    assert "PROBLEM statistics" not in app.test_cli_runner().invoke(args=["check"]).output


def _open_figures(r: statistics.Report):
    return (r.open, r.open_overdue, [(p.code, p.open, p.open_overdue) for p in r.procedures],
            [(u.code, u.open, u.open_overdue) for u in r.units],
            [(b.procedure_code, b.step_name, b.unit_code, b.open, b.open_overdue, b.oldest_due_at) for b in r.bottlenecks])


def test_open_figures_come_from_the_workers_snapshot_counted_live_before_it(app, api, api_key, client):
    from .admin_client import BackOffice
    from .lifecycle_helpers import accepted

    key = api_key()
    first = accepted(api, key)["code"]
    with app.app_context():  # a fresh database, before the worker's first fold: counted now
        session = db.session
        actor = actor_for_user(session, session.scalar(select(User).filter_by(username="supervisor.01")))
        before = statistics.report(session, actor)
        assert before.open == 1 and before.open_overdue == 0 and before.bottlenecks
        assert _open_figures(before) == _open_figures(statistics.report(session, actor, live=True))
        assert abs(before.open_as_of - utcnow()) < timedelta(minutes=1)
    set_times(app, first, due=utcnow() - timedelta(days=1))  # folds: the snapshot is taken
    second = accepted(api, key)["code"]  # after the snapshot: not in it until the next fold
    with app.app_context():
        session = db.session
        kept, live = statistics.report(session, actor), statistics.report(session, actor, live=True)
        assert (kept.open, kept.open_overdue, live.open, live.open_overdue) == (1, 1, 2, 1)
        taken = session.get(StatFold, 1).open_taken_at
        assert kept.open_as_of == taken and live.open_as_of > taken
    fold(app)
    with app.app_context():
        session = db.session
        kept = statistics.report(session, actor)
        assert kept.open == 2 and kept.open_as_of > taken
        assert _open_figures(kept) == _open_figures(statistics.report(session, actor, live=True))
        assert _open_figures(statistics.report(session, actor, commune="00454")) == _open_figures(
            statistics.report(session, actor, commune="00454", live=True))
        assert _open_figures(statistics.report(session, actor, commune="00008"))[:2] == (0, 0)
        assert stat_days.open_differences(session) == []
        as_of = kept.open_as_of
    assert second
    office = BackOffice(client)
    office.login("supervisor.01")
    page = office.text(office.get("/statistics"))
    shown = as_of.astimezone(TZ).strftime("%H:%M %d/%m/%Y")
    assert f"Số hồ sơ, bước đang xử lý tính đến {shown}" in page
    assert api.get("/statistics", "supervisor.01").get_json()["open_as_of"].startswith(
        as_of.astimezone(TZ).strftime("%Y-%m-%dT%H:%M"))
    office.get("/lang/en")
    assert f"in progress as of {shown}" in office.text(office.get("/statistics"))

    # `flask check` compares a fresh snapshot with a recount: a tampered row is a problem.
    with app.app_context():
        db.session.execute(update(StatOpen).where(StatOpen.kind == "dossier").values(open=StatOpen.open + 3))
        db.session.commit()
    r = app.test_cli_runner().invoke(args=["check"])
    assert r.exit_code == 1 and "PROBLEM statistics stat_open dossier/01/00454" in r.output, r.output
    fold(app)
    assert "PROBLEM statistics" not in app.test_cli_runner().invoke(args=["check"]).output
