"""Issue 23: the statistics' past days come from daily aggregates the worker recounts; they equal
the live count, re-running or a crashed fold changes nothing, and `flask check` sees tampering."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from orchestrator.extensions import db
from orchestrator.models import Dossier, StatDay, User
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
        start = today - timedelta(days=30)
        before = stat_days.stored(session, start, today)
        assert before[0] and before[1]
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
        session.execute(update(StatDay).where(StatDay.day == (due + timedelta(days=1)).astimezone(TZ).date())
                        .values(late=StatDay.late + 5))
        session.commit()
    r = app.test_cli_runner().invoke(args=["check"])
    assert r.exit_code == 1 and "PROBLEM statistics stat_day" in r.output and "'late': 5" in r.output, r.output
    r = app.test_cli_runner().invoke(args=["stats-rebuild", "--from", (today - timedelta(days=30)).isoformat()])
    assert r.exit_code == 0 and "31 day(s)" in r.output, r.output
    assert "PROBLEM statistics" not in app.test_cli_runner().invoke(args=["check"]).output
