"""Supervisors' figures: on-time rate, early / on time / late per procedure, per unit and per
week, and the steps where dossiers wait (docs/domain.md: on-time rate = dossiers resolved on or
before due / dossiers resolved).

A dossier is resolved when its result is returned (status 10); it is early when returned on a
day before its legal due day, on time when on the due day (until 24:00, Civil Code Arts. 147–148;
`on_time`), late after it. The legal due
date is used (an apology's new date does not make a late dossier on time). Days are Vietnam's
(UTC+7, no daylight saving). Everything is aggregated in SQL: a province's quarter is a few
dozen rows here, whatever the number of dossiers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..models import Dossier, Procedure, StatDay, StatFold, StatOpen, StatProvinceDay, StatUnitDay, Unit, WorkItem
from ..models.dossiers import COMPLETED, OPEN, DossierStatus
from ..models.types import utcnow
from ..timezone import TZ
from . import access
from . import on_time as timing
from .auth import Actor
from ..i18n import vi
from .errors import Invalid
from .units import names as unit_names

RETURNED = DossierStatus.RETURNED
ENDED_UNRESOLVED = (DossierStatus.REFUSED, DossierStatus.WITHDRAWN, DossierStatus.STOPPED)
MAX_DAYS = 366


@dataclass
class Outcomes:
    early: int = 0
    on_time: int = 0
    late: int = 0

    @property
    def resolved(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def on_time_rate(self) -> float | None:
        """Share resolved by the due date (early included); None when nothing was resolved."""
        return (self.early + self.on_time) / self.resolved if self.resolved else None

    def add(self, outcome: str, count: int) -> None:
        setattr(self, outcome, getattr(self, outcome) + count)


@dataclass
class Week:
    start: date
    outcomes: Outcomes = field(default_factory=Outcomes)


@dataclass
class ProcedureRow:
    code: str
    name: str
    outcomes: Outcomes = field(default_factory=Outcomes)
    received: int = 0
    open: int = 0
    open_overdue: int = 0


@dataclass
class UnitRow:
    code: str
    name: str
    steps_done: int = 0
    steps_late: int = 0
    open: int = 0
    open_overdue: int = 0
    hours_per_step: float | None = None


@dataclass
class StepRow:
    procedure_code: str
    step_name: str
    unit_code: str
    open: int
    open_overdue: int
    oldest_due_at: datetime | None


@dataclass
class Report:
    scope: str
    start: date
    end: date  # inclusive
    outcomes: Outcomes
    received: int
    refused: int
    withdrawn_or_stopped: int
    open: int
    open_overdue: int
    weeks: list[Week]
    procedures: list[ProcedureRow]
    units: list[UnitRow]
    bottlenecks: list[StepRow]
    commune: str | None = None  # issue 22: the figures of one commune's dossiers
    open_as_of: datetime | None = None  # issue 23: when the open / overdue figures were counted


FIRST_YEAR, LAST_YEAR = 2000, 2100  # the days a report or a book may ask for (year 9999 would overflow)


def check_days(**days: date | None) -> None:
    """400 naming the first parameter (`from`, `to`) whose day lies outside FIRST_YEAR..LAST_YEAR."""
    for name, day in days.items():
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise Invalid(vi("Ngày ngoài khoảng cho phép (năm %(first)s–%(last)s).", first=FIRST_YEAR, last=LAST_YEAR),
                          fields={name.rstrip("_"): vi("năm %(first)s–%(last)s", first=FIRST_YEAR, last=LAST_YEAR)})


def period(start: date | None, end: date | None, today: date | None = None) -> tuple[date, date]:
    """Defaults: the last 12 full weeks and this one, to today. At most a year."""
    check_days(from_=start, to=end)
    today = today or utcnow().astimezone(TZ).date()
    end = end or today
    start = start or (end - timedelta(days=end.weekday()) - timedelta(weeks=12))
    if start > end:
        raise Invalid(vi("Ngày bắt đầu phải trước ngày kết thúc."), fields={"from": vi("sau ngày kết thúc (to)")})
    if (end - start).days >= MAX_DAYS:
        raise Invalid(vi("Khoảng thời gian tối đa %(days)s ngày.", days=MAX_DAYS),
                      fields={"from": vi("quá %(days)s ngày trước to", days=MAX_DAYS)})
    return start, end


_vn_day = timing.vn_day


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(0), TZ), datetime.combine(end + timedelta(days=1), time(0), TZ))


def communes(session: Session, scope: str) -> list[tuple[str, str]]:
    """(code, name) of the communes of a province, by name: the statistics page's commune filter."""
    if scope == "VN":
        return []
    return [tuple(r) for r in session.execute(select(Unit.code, Unit.name).where(
        Unit.level == "commune", Unit.province_code == scope).order_by(Unit.name)).all()]


def _commune(session: Session, scope: str, commune: str | None) -> str | None:
    """A commune of the scope's province (issue 22), else 400 naming `commune`."""
    commune = (commune or "").strip() or None
    if commune is None:
        return None
    unit = session.get(Unit, commune[:40])
    if unit is None or unit.level != "commune" or scope == "VN" or unit.province_code != scope:
        raise Invalid(vi("Xã/phường không thuộc phạm vi thống kê."), fields={"commune": vi("không thuộc phạm vi")})
    return unit.code


def report(session: Session, actor: Actor, scope: str | None = None, start: date | None = None,
           end: date | None = None, commune: str | None = None, live: bool = False) -> Report:
    """The figures of a province (or VN) and period, of one commune's dossiers when `commune`;
    each dossier figure is what `dossiers.list_visible` lists with the same filters. Days before
    today come from the worker's daily aggregates (`stat_days`, issue 23), today is counted now;
    the open / overdue figures come from the worker's snapshot of the open work (`open_as_of`),
    counted now when there is none yet; `live` counts everything now (what both are checked
    against)."""
    scope = access.statistics_scope(actor, scope, session)
    commune = _commune(session, scope, commune)
    start, end = period(start, end)
    hi = _bounds(start, end)[1]
    now = utcnow()
    overdue_before = timing.overdue_before(now)  # open work is overdue once its due day has ended
    # The country: every province named, so PostgreSQL reads the (province, date) indexes per
    # province instead of the whole index (today's counts at 1,000,000 dossiers: 144 ms -> 9 ms).
    in_scope = (Dossier.province_code.in_(select(Unit.province_code).where(Unit.province_code.is_not(None)).distinct())
                if scope == "VN" else Dossier.province_code == scope)
    if commune is not None:
        in_scope = and_(in_scope, Dossier.commune_code == commune) if scope != "VN" else Dossier.commune_code == commune

    today = now.astimezone(TZ).date()
    kept_to = start - timedelta(days=1) if live else min(end, today - timedelta(days=1))
    resolved_rows, received, ended, done = _stored(session, scope, commune, start, kept_to)
    if kept_to < end:  # today (or the whole period when `live`): counted now
        live_lo = _bounds(max(start, kept_to + timedelta(days=1)), end)[0]
        for rows, more in zip((resolved_rows, received, ended, done),
                              _live(session, in_scope, scope, commune, live_lo, hi)):
            for key, value in more.items():
                rows[key] = _plus(rows.get(key), value)

    totals = Outcomes()
    first_monday = start - timedelta(days=start.weekday())
    mondays = [first_monday + timedelta(weeks=i) for i in range((end - first_monday).days // 7 + 1)]
    weeks = {monday: Week(monday) for monday in mondays}
    procedures: dict[str, ProcedureRow] = {}
    for (code, d, result), count in resolved_rows.items():
        totals.add(result, count)
        weeks[d - timedelta(days=d.weekday())].outcomes.add(result, count)
        procedures.setdefault(code, ProcedureRow(code, "")).outcomes.add(result, count)

    taken = None if live else session.scalar(select(StatFold.open_taken_at).where(StatFold.id == 1))
    if taken is None:
        open_rows = session.execute(  # open = not finished (statuses 3, 7, 8 and 10 set finished_at)
            select(Dossier.procedure_code, func.count(), func.count().filter(Dossier.due_at < overdue_before))
            .where(in_scope, Dossier.finished_at.is_(None)).group_by(Dossier.procedure_code)
        ).all()
        waiting = session.execute(
            select(Dossier.procedure_code, WorkItem.step_name, WorkItem.unit_code, func.count(),
                   func.count().filter(WorkItem.due_at < overdue_before), func.min(WorkItem.due_at))
            .join(Dossier, Dossier.id == WorkItem.dossier_id)
            .where(in_scope, WorkItem.state == OPEN)
            .group_by(Dossier.procedure_code, WorkItem.step_name, WorkItem.unit_code)
        ).all()
        unit_open: dict[str, list[int]] = {}
        for _procedure, _step, code, count, overdue, _oldest in waiting:
            unit_open.setdefault(code, [0, 0])
            unit_open[code][0] += count
            unit_open[code][1] += overdue
        steps = sorted((StepRow(*r) for r in waiting), key=_worst_first)[:BOTTLENECKS]
    else:  # the worker's snapshot (`stat_days.snapshot`), taken at most about a minute ago
        of_snapshot = [] if scope == "VN" else [StatOpen.province_code == scope]
        if commune is not None:
            of_snapshot.append(StatOpen.commune_code == commune)
        open_rows = session.execute(
            select(StatOpen.procedure_code, func.sum(StatOpen.open), func.sum(StatOpen.overdue))
            .where(StatOpen.kind == "dossier", *of_snapshot).group_by(StatOpen.procedure_code)).all()
        # per unit and the worst steps summed by PostgreSQL: the country's open steps are thousands of rows
        unit_open = {code: [count, overdue] for code, count, overdue in session.execute(
            select(StatOpen.unit_code, func.sum(StatOpen.open), func.sum(StatOpen.overdue))
            .where(StatOpen.kind == "step", *of_snapshot).group_by(StatOpen.unit_code))}
        opened, overdue = func.sum(StatOpen.open), func.sum(StatOpen.overdue)
        names = (StatOpen.procedure_code, StatOpen.step_name, StatOpen.unit_code)
        by_code_point = ([n.collate("C") for n in names] if session.get_bind().dialect.name == "postgresql"
                         else list(names))  # ties ordered as Python orders strings (`_worst_first`)
        steps = [StepRow(*r) for r in session.execute(
            select(*names, opened, overdue, func.min(StatOpen.oldest_due_at))
            .where(StatOpen.kind == "step", *of_snapshot).group_by(*names)
            .order_by(overdue.desc(), opened.desc(), *by_code_point).limit(BOTTLENECKS))]
    for code, count in received.items():
        procedures.setdefault(code, ProcedureRow(code, "")).received = count
    for code, count, overdue in open_rows:
        row = procedures.setdefault(code, ProcedureRow(code, ""))
        row.open, row.open_overdue = count, overdue
    names = dict(session.execute(select(Procedure.code, Procedure.name)
                                 .where(Procedure.code.in_(list(procedures)))).all()) if procedures else {}
    for row in procedures.values():
        row.name = names.get(row.code, row.code)

    return Report(
        scope=scope, start=start, end=end, outcomes=totals, received=sum(received.values()),
        refused=ended.get(DossierStatus.REFUSED, 0),
        withdrawn_or_stopped=ended.get(DossierStatus.WITHDRAWN, 0) + ended.get(DossierStatus.STOPPED, 0),
        open=sum(r[1] for r in open_rows), open_overdue=sum(r[2] for r in open_rows),
        weeks=[weeks[k] for k in sorted(weeks)],
        procedures=sorted(procedures.values(), key=lambda r: (-r.outcomes.resolved, -r.open, r.code)),
        **_work(session, done, unit_open, steps), commune=commune, open_as_of=taken or now,
    )


BOTTLENECKS = 10  # steps listed where most open work is overdue


def _worst_first(step: StepRow):
    return (-step.open_overdue, -step.open, step.procedure_code, step.step_name, step.unit_code)


def _work(session: Session, done: dict, unit_open: dict, steps: list[StepRow]) -> dict:
    """Per unit: steps finished in the period (`done`: unit -> [count, late, seconds, timed]; late
    ones: after the step's due day), average hours a step stayed with the unit, open steps and
    how many are overdue (`unit_open`: unit -> [open, overdue]); and the steps where most open
    work is overdue (`steps`, worst first)."""
    units: dict[str, UnitRow] = {}
    for code, (count, late, total, timed) in done.items():
        units[code] = UnitRow(code, "", steps_done=count, steps_late=late,
                              hours_per_step=round(float(total) / timed / 3600, 1) if timed else None)
    for code, (count, overdue) in unit_open.items():
        row = units.setdefault(code, UnitRow(code, ""))
        row.open, row.open_overdue = row.open + count, row.open_overdue + overdue
    names = unit_names(session, units)
    for row in units.values():
        row.name = names.get(row.code, row.code)
    return {"units": sorted(units.values(), key=lambda u: (-u.open_overdue, -u.open, -u.steps_done, u.code)),
            "bottlenecks": steps}


def _plus(a, b):
    """Sum of two counts, or of two [count, late, seconds, timed] lists (a may be None)."""
    if a is None:
        return b
    return [x + y for x, y in zip(a, b)] if isinstance(b, list) else a + b


def _live(session: Session, in_scope, scope: str, commune: str | None, lo: datetime, hi: datetime):
    """The period's figures counted from the dossiers and steps: resolved {(procedure, day,
    outcome): n}, received {procedure: n}, ended unresolved {status: n}, steps done {unit: [n,
    late, seconds, timed]}. Steps of a province's dossiers are those of its units (lanes route to
    the dossier's commune or province), so the finished ones need no join."""
    due = func.coalesce(Dossier.legal_due_at, Dossier.due_at)
    outcome = timing.sql_outcome(session, Dossier.finished_at, due)
    day = _vn_day(session, Dossier.finished_at)
    resolved = {(code, date.fromisoformat(str(d)[:10]), result): n for code, d, result, n in session.execute(
        select(Dossier.procedure_code, day, outcome, func.count())
        .where(in_scope, Dossier.status == RETURNED, Dossier.finished_at >= lo, Dossier.finished_at < hi)
        .group_by(Dossier.procedure_code, day, outcome))}
    received = dict(session.execute(
        select(Dossier.procedure_code, func.count())
        .where(in_scope, Dossier.received_at >= lo, Dossier.received_at < hi).group_by(Dossier.procedure_code)
    ).all())
    ended = dict(session.execute(
        select(Dossier.status, func.count())
        .where(in_scope, Dossier.status.in_(ENDED_UNRESOLVED), Dossier.finished_at >= lo, Dossier.finished_at < hi)
        .group_by(Dossier.status)
    ).all())
    seconds = (func.extract("epoch", WorkItem.completed_at - WorkItem.created_at)
               if session.get_bind().dialect.name == "postgresql"
               else (func.julianday(WorkItem.completed_at) - func.julianday(WorkItem.created_at)) * 86400)
    of_scope = True if scope == "VN" else WorkItem.unit_code.in_(select(Unit.code).where(Unit.province_code == scope))
    done = {code: [n, late, float(total or 0), timed] for code, n, late, total, timed in session.execute(
        select(WorkItem.unit_code, func.count(),
               func.count().filter(and_(WorkItem.due_at.is_not(None),
                                        timing.sql_late(session, WorkItem.completed_at, WorkItem.due_at))),
               func.sum(seconds), func.count(seconds))
        .where(of_scope, WorkItem.state == COMPLETED, WorkItem.completed_at >= lo, WorkItem.completed_at < hi,
               True if commune is None else WorkItem.dossier_id.in_(
                   select(Dossier.id).where(Dossier.commune_code == commune)))
        .group_by(WorkItem.unit_code))}
    return resolved, received, ended, done


def _stored(session: Session, scope: str, commune: str | None, start: date, end: date):
    """The same figures for days start..end read from the daily aggregates (empty when end < start):
    without a commune filter from `stat_province_day` (a few hundred rows for a province's quarter),
    with one from `stat_day`; the units' from `stat_unit_day` filtered by the province they carry."""
    resolved: dict = {}
    received: dict = {}
    ended: dict = {}
    done: dict = {}
    if end < start:
        return resolved, received, ended, done
    table = StatProvinceDay if commune is None else StatDay
    where = [table.day >= start, table.day <= end]
    if scope != "VN":
        where.append(table.province_code == scope)
    if commune is not None:
        where.append(StatDay.commune_code == commune)
    for row in session.execute(
            select(table.procedure_code, table.day, func.sum(table.received), func.sum(table.early),
                   func.sum(table.on_time), func.sum(table.late), func.sum(table.refused),
                   func.sum(table.withdrawn), func.sum(table.stopped))
            .where(*where).group_by(table.procedure_code, table.day)):
        code, d, got, early, on_time, late, refused, withdrawn, stopped = row
        for result, n in (("early", early), ("on_time", on_time), ("late", late)):
            if n:
                resolved[(code, d, result)] = n
        if got:
            received[code] = received.get(code, 0) + got
        for status, n in ((DossierStatus.REFUSED, refused), (DossierStatus.WITHDRAWN, withdrawn),
                          (DossierStatus.STOPPED, stopped)):
            if n:
                ended[status] = ended.get(status, 0) + n
    query = select(StatUnitDay.unit_code, func.sum(StatUnitDay.steps_done), func.sum(StatUnitDay.steps_late),
                   func.sum(StatUnitDay.seconds), func.sum(StatUnitDay.timed)).where(
        StatUnitDay.day >= start, StatUnitDay.day <= end)
    if scope != "VN":  # the unit's province, written when folded (ix_stat_unit_day_province_day)
        query = query.where(StatUnitDay.province_code == scope)
    if commune is not None:
        query = query.where(StatUnitDay.commune_code == commune)
    for code, n, late, total, timed in session.execute(query.group_by(StatUnitDay.unit_code)):
        if n:
            done[code] = [n, late, float(total or 0), timed]
    return resolved, received, ended, done
