"""Per-day aggregates of the supervisors' statistics (issue 23), kept by the worker.

The `stat_fold` job (every minute) finds the Vietnam days touched by dossiers updated since the
last fold (`stat_fold.folded_to`, less OVERLAP for transactions that committed late) and recounts
those whole days from the dossiers and steps, replacing their rows: re-running it changes nothing,
a crash rolls the recount and the watermark back together, and the watermark row's lock makes
folds run one at a time. Steps' transactions are untouched (they already set `updated_at`).
`flask stats-rebuild` recounts any period; `flask check` compares recent days with a recount.
A counted dossier's days never move (received_at and a step's completed_at are set once; the
statuses counted by their finished_at are final), so a day changes only by what sets `updated_at`;
a direct edit of those columns in the database needs a `flask stats-rebuild` of the days it left.
`stat_province_day` is `stat_day` summed over the communes (INSERT ... SELECT from the rows just
written, same transaction), and each `stat_unit_day` row carries its unit's province when folded:
a report without a commune filter reads a few hundred rows, a province's unit figures are filtered
in SQL (issue 23, point 3). A unit moved to another province keeps its past rows' province until a
`flask stats-rebuild` (`flask check` reports them).

The same job then replaces `stat_open`, the snapshot of the open work (unfinished dossiers and open
steps per province, commune, procedure, step and unit, with how many are overdue), in the fold's
transaction with its time `stat_fold.open_taken_at`: the statistics read the open / overdue-now
figures from it (as of that time, at most about a minute old), not from a count of every open
dossier. `flask check` compares it with a recount when it is fresh (`open_differences`).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, delete, func, insert, literal, select, text, union
from sqlalchemy.orm import Session

from ..models import Dossier, Job, StatDay, StatFold, StatOpen, StatProvinceDay, StatUnitDay, Unit, WorkItem
from ..models.dossiers import COMPLETED, OPEN, DossierStatus
from ..models.jobs import QUEUED, RUNNING
from ..models.types import utcnow
from ..timezone import TZ
from . import jobs
from . import on_time as timing

KIND = "stat_fold"
EVERY = timedelta(seconds=60)
OVERLAP = timedelta(minutes=5)  # a step's transaction longer than this could be missed until a rebuild
FIRST_FOLD = timedelta(days=2)  # with no watermark yet: the days of dossiers changed this recently
CHECK_DAYS = 7
CHECK_OPEN_AGE = timedelta(minutes=2)  # `flask check` compares an older snapshot of the open work with nothing
DOSSIER_FIGURES = ("received", "early", "on_time", "late", "refused", "withdrawn", "stopped")
UNIT_FIGURES = ("steps_done", "steps_late", "seconds", "timed", "province_code")
_ENDED = {DossierStatus.REFUSED: "refused", DossierStatus.WITHDRAWN: "withdrawn", DossierStatus.STOPPED: "stopped"}


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants of 00:00 on `start` and on the day after `end` (Vietnam)."""
    return datetime.combine(start, time(0), TZ), datetime.combine(end + timedelta(days=1), time(0), TZ)


def _day(text) -> date:
    return date.fromisoformat(str(text)[:10])


def by_province(dossiers: dict) -> dict:
    """`stat_day`'s rows {(day, province, commune, procedure): figures} summed over the communes."""
    provinces: dict = defaultdict(lambda: dict.fromkeys(DOSSIER_FIGURES, 0))
    for (day, province, _commune, procedure), figures in dossiers.items():
        row = provinces[(day, province, procedure)]
        for name in DOSSIER_FIGURES:
            row[name] += figures[name]
    return dict(provinces)


def recount(session: Session, start: date, end: date) -> tuple[dict, dict, dict]:
    """The aggregates' rows of days start..end counted from the dossiers and steps (the live
    computation): ({(day, province, commune, procedure): {figure: n}}, {(day, unit, commune): {...,
    province_code}}, {(day, province, procedure): {figure: n}})."""
    lo, hi = bounds(start, end)
    dossiers: dict = defaultdict(lambda: dict.fromkeys(DOSSIER_FIGURES, 0))
    commune = func.coalesce(Dossier.commune_code, "")
    finished = timing.vn_day(session, Dossier.finished_at)
    outcome = timing.sql_outcome(session, Dossier.finished_at, func.coalesce(Dossier.legal_due_at, Dossier.due_at))
    in_period = and_(Dossier.finished_at >= lo, Dossier.finished_at < hi)
    for day, province, town, procedure, result, n in session.execute(
            select(finished, Dossier.province_code, commune, Dossier.procedure_code, outcome, func.count())
            .where(Dossier.status == DossierStatus.RETURNED, in_period)
            .group_by(finished, Dossier.province_code, commune, Dossier.procedure_code, outcome)):
        dossiers[(_day(day), province, town, procedure)][result] += n
    for day, province, town, procedure, status, n in session.execute(
            select(finished, Dossier.province_code, commune, Dossier.procedure_code, Dossier.status, func.count())
            .where(Dossier.status.in_(list(_ENDED)), in_period)
            .group_by(finished, Dossier.province_code, commune, Dossier.procedure_code, Dossier.status)):
        dossiers[(_day(day), province, town, procedure)][_ENDED[DossierStatus(status)]] += n
    received = timing.vn_day(session, Dossier.received_at)
    for day, province, town, procedure, n in session.execute(
            select(received, Dossier.province_code, commune, Dossier.procedure_code, func.count())
            .where(Dossier.received_at >= lo, Dossier.received_at < hi)
            .group_by(received, Dossier.province_code, commune, Dossier.procedure_code)):
        dossiers[(_day(day), province, town, procedure)]["received"] += n

    seconds = (func.extract("epoch", WorkItem.completed_at - WorkItem.created_at)
               if session.get_bind().dialect.name == "postgresql"
               else (func.julianday(WorkItem.completed_at) - func.julianday(WorkItem.created_at)) * 86400)
    done = timing.vn_day(session, WorkItem.completed_at)
    units = {}
    for day, unit, town, province, n, late, total, timed in session.execute(
            select(done, WorkItem.unit_code, commune, Unit.province_code, func.count(),
                   func.count().filter(and_(WorkItem.due_at.is_not(None),
                                            timing.sql_late(session, WorkItem.completed_at, WorkItem.due_at))),
                   func.coalesce(func.sum(seconds), 0), func.count(seconds))
            .join(Dossier, Dossier.id == WorkItem.dossier_id)
            .outerjoin(Unit, Unit.code == WorkItem.unit_code)
            .where(WorkItem.state == COMPLETED, WorkItem.completed_at >= lo, WorkItem.completed_at < hi)
            .group_by(done, WorkItem.unit_code, commune, Unit.province_code)):
        units[(_day(day), unit, town)] = {"steps_done": n, "steps_late": late, "seconds": float(total), "timed": timed,
                                          "province_code": province}
    return dict(dossiers), units, by_province(dossiers)


def stored(session: Session, start: date, end: date) -> tuple[dict, dict, dict]:
    """The aggregates' rows of days start..end, shaped like `recount`."""
    dossiers = {(r.day, r.province_code, r.commune_code, r.procedure_code): {f: getattr(r, f) for f in DOSSIER_FIGURES}
                for r in session.scalars(select(StatDay).where(StatDay.day >= start, StatDay.day <= end))}
    units = {(r.day, r.unit_code, r.commune_code): {f: getattr(r, f) for f in UNIT_FIGURES}
             for r in session.scalars(select(StatUnitDay).where(StatUnitDay.day >= start, StatUnitDay.day <= end))}
    provinces = {(r.day, r.province_code, r.procedure_code): {f: getattr(r, f) for f in DOSSIER_FIGURES}
                 for r in session.scalars(select(StatProvinceDay).where(StatProvinceDay.day >= start,
                                                                        StatProvinceDay.day <= end))}
    return dossiers, units, provinces


def _runs(days) -> list[tuple[date, date]]:
    """Sorted days as contiguous (first, last) runs."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(a, b) for a, b in runs]


def refresh(session: Session, days) -> int:
    """Replace the aggregates of these days by a recount; how many days."""
    count = 0
    for start, end in _runs(days):
        dossiers, units, _provinces = recount(session, start, end)
        session.execute(delete(StatDay).where(StatDay.day >= start, StatDay.day <= end))
        session.execute(delete(StatProvinceDay).where(StatProvinceDay.day >= start, StatProvinceDay.day <= end))
        session.execute(delete(StatUnitDay).where(StatUnitDay.day >= start, StatUnitDay.day <= end))
        if dossiers:
            session.execute(StatDay.__table__.insert(), [
                dict(zip(("day", "province_code", "commune_code", "procedure_code"), key), **figures)
                for key, figures in dossiers.items()])
            keys = (StatDay.day, StatDay.province_code, StatDay.procedure_code)
            session.execute(insert(StatProvinceDay).from_select(
                ("day", "province_code", "procedure_code") + DOSSIER_FIGURES,
                select(*keys, *(func.sum(getattr(StatDay, name)) for name in DOSSIER_FIGURES))
                .where(StatDay.day >= start, StatDay.day <= end).group_by(*keys)))
        if units:
            session.execute(StatUnitDay.__table__.insert(), [
                dict(zip(("day", "unit_code", "commune_code"), key), **figures) for key, figures in units.items()])
        count += (end - start).days + 1
    return count


def touched_days(session: Session, since: datetime) -> set[date]:
    """Vietnam days whose figures dossiers updated since `since` may have changed: the days they
    were received and ended, and the days their steps were completed."""
    changed = select(Dossier.id).where(Dossier.updated_at >= since)
    days = union(
        select(timing.vn_day(session, Dossier.received_at).label("day"))
        .where(Dossier.updated_at >= since, Dossier.received_at.is_not(None)),
        select(timing.vn_day(session, Dossier.finished_at))
        .where(Dossier.updated_at >= since, Dossier.finished_at.is_not(None)),
        select(timing.vn_day(session, WorkItem.completed_at))
        .where(WorkItem.dossier_id.in_(changed), WorkItem.state == COMPLETED, WorkItem.completed_at.is_not(None)),
    )
    return {_day(d) for d in session.scalars(select(days.subquery().c.day)) if d is not None}


def _watermark(session: Session) -> StatFold:
    row = session.get(StatFold, 1, with_for_update=True, populate_existing=True)
    if row is None:
        session.add(StatFold(id=1, folded_to=None))
        session.flush()
        row = session.get(StatFold, 1, with_for_update=True, populate_existing=True)
    return row


def fold(session: Session) -> int:
    """Recount the days touched since the watermark, move it to when this fold began; how many days."""
    mark = _watermark(session)
    began = utcnow()
    since = (mark.folded_to - OVERLAP) if mark.folded_to is not None else began - FIRST_FOLD
    count = refresh(session, touched_days(session, since))
    mark.folded_to = began
    snapshot(session, mark)
    return count


_OPEN_KEYS = ("kind", "province_code", "commune_code", "procedure_code", "step_name", "unit_code",
              "open", "overdue", "oldest_due_at")


def _open_counts(session: Session, now: datetime):
    """The SELECTs of the open work now: unfinished dossiers (statuses 3, 7, 8 and 10 set
    finished_at) and open steps, shaped as `stat_open`'s rows."""
    cutoff = timing.overdue_before(now)
    commune = func.coalesce(Dossier.commune_code, "")
    dossiers = (select(literal("dossier"), Dossier.province_code, commune, Dossier.procedure_code, literal(""),
                       literal(""), func.count(), func.count().filter(Dossier.due_at < cutoff),
                       func.min(Dossier.due_at))
                .where(Dossier.finished_at.is_(None))
                .group_by(Dossier.province_code, commune, Dossier.procedure_code))
    steps = (select(literal("step"), Dossier.province_code, commune, Dossier.procedure_code, WorkItem.step_name,
                    WorkItem.unit_code, func.count(), func.count().filter(WorkItem.due_at < cutoff),
                    func.min(WorkItem.due_at))
             .join(Dossier, Dossier.id == WorkItem.dossier_id)
             .where(WorkItem.state == OPEN)
             .group_by(Dossier.province_code, commune, Dossier.procedure_code, WorkItem.step_name, WorkItem.unit_code))
    return dossiers, steps


def snapshot(session: Session, mark: StatFold | None = None) -> datetime:
    """Replace `stat_open` by the open work now (DELETE + INSERT ... SELECT, in the caller's
    transaction, under the watermark row's lock); its time."""
    mark = mark or _watermark(session)
    now = utcnow()
    session.execute(delete(StatOpen))
    for query in _open_counts(session, now):
        session.execute(insert(StatOpen).from_select(_OPEN_KEYS, query))
    mark.open_taken_at = now
    return now


def open_differences(session: Session, max_age: timedelta = CHECK_OPEN_AGE) -> list[str]:
    """The snapshot's rows that differ from a recount with the same overdue day. Work moves all
    the time, so this compares only a fresh snapshot (taken less than `max_age` ago) of work no
    dossier has changed since; otherwise there is nothing to compare (no problem reported)."""
    mark = session.get(StatFold, 1)
    taken = mark.open_taken_at if mark is not None else None
    if taken is None or utcnow() - taken > max_age or session.scalar(
            select(Dossier.id).where(Dossier.updated_at >= taken).limit(1)) is not None:
        return []
    counted = {tuple(r[:6]): (r[6], r[7]) for query in _open_counts(session, taken) for r in session.execute(query)}
    kept = {(r.kind, r.province_code, r.commune_code, r.procedure_code, r.step_name, r.unit_code): (r.open, r.overdue)
            for r in session.scalars(select(StatOpen))}
    return [f"statistics stat_open {'/'.join(key)}: stored (open, overdue) {kept.get(key)}, recounted {counted.get(key)}"
            for key in sorted(set(counted) | set(kept)) if counted.get(key) != kept.get(key)]


def rebuild(session: Session, start: date, end: date) -> int:
    """Recount every day of start..end (`flask stats-rebuild`). The watermark stays (locked, so no
    fold runs meanwhile): changes since it to days outside start..end are still the next fold's."""
    _watermark(session)
    return refresh(session, [start + timedelta(days=i) for i in range((end - start).days + 1)])


def analyze(session: Session) -> None:
    """After a rebuild (a bulk load): PostgreSQL's planner told how many rows the aggregates hold
    now, not when autovacuum next looks (stale counts made a province's read 4x slower)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE stat_day, stat_province_day, stat_unit_day, stat_open"))


def first_day(session: Session) -> date | None:
    """The earliest Vietnam day with a figure (a received dossier or a completed step)."""
    earliest = [t for t in (session.scalar(select(func.min(Dossier.received_at))),
                            session.scalar(select(func.min(WorkItem.completed_at)))) if t is not None]
    return min(earliest).astimezone(TZ).date() if earliest else None


def ensure_job(session: Session) -> None:
    """Queue a fold now unless one is queued or running (at worker start)."""
    if session.scalar(select(Job.id).where(Job.kind == KIND, Job.state.in_([QUEUED, RUNNING])).limit(1)) is None:
        jobs.enqueue(session, KIND, max_attempts=1_000_000)


def run_fold(session: Session, job: Job) -> str:
    """The `stat_fold` job: fold, then queue the next one (unless another is already queued)."""
    count = fold(session)
    if session.scalar(select(Job.id).where(Job.kind == KIND, Job.state == QUEUED, Job.id != job.id).limit(1)) is None:
        jobs.enqueue(session, KIND, run_at=utcnow() + EVERY, max_attempts=1_000_000)
    return f"{count} day(s)"


def differences(session: Session, days: int = CHECK_DAYS, today: date | None = None) -> list[str]:
    """The aggregates of the `days` days before today that differ from a recount (today's are
    still being folded, and the statistics count today live)."""
    end = (today or utcnow().astimezone(TZ).date()) - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    problems = []
    for name, counted, kept in zip(("stat_day", "stat_unit_day", "stat_province_day"), recount(session, start, end),
                                   stored(session, start, end)):
        for key in sorted(set(counted) | set(kept), key=str):
            a, b = counted.get(key), kept.get(key)
            if a is not None and b is not None and all(
                    abs(a[f] - b[f]) < 0.5 if isinstance(a[f], float) else a[f] == b[f] for f in a):
                continue
            if a is not None and not any(a.values()) and b is None:
                continue
            problems.append(f"statistics {name} {'/'.join(str(k) for k in key)}: stored {b}, recounted {a}")
    return problems
