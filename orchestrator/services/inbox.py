"""The officers' inbox: filters, counts and due-date marks computed at query time.

It reads only `work_item` joined to `dossier` (never a workflow). Overdue, due today and due
soon are conditions on `work_item.due_at` against thresholds computed now from the working
calendar, so nothing stored goes stale. Views: `available` (my units and roles, unclaimed),
`mine` (claimed by me), `unit` (a leader's whole unit, claimed or not, for reassignment).
A search (`q`) reads the dossier's folded `search_text` (code, applicant, ID number, phone:
`search.matches`); the back office adds the names of the page's procedures and units in one
query each (`labels`) and polls `stamp`, three counts and the latest arrival, to refresh itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import and_, case, false, func, select
from sqlalchemy.orm import Session, contains_eager

from ..models import Dossier, Procedure, ProcedureInForce, WorkItem
from ..models.dossiers import OPEN
from ..models.types import utcnow
from ..timezone import TZ
from . import access, on_time, search as text_search
from . import units
from .auth import Actor
from .deadlines import calendar_for
from ..i18n import vi
from .errors import Invalid

VIEWS = ("available", "mine", "unit")
DUE_FILTERS = ("overdue", "today", "soon")
SORTS = ("due", "-due", "received", "-received")  # due date first to last (the default), or back; received date


@dataclass(frozen=True)
class Thresholds:
    now: datetime
    end_of_today: datetime
    soon: datetime  # end of the next working day

    @property
    def overdue_before(self) -> datetime:
        """Overdue once the due day has ended (24:00, `on_time`): due before 00:00 today."""
        return on_time.overdue_before(self.now)

    def mark(self, due: datetime | None) -> str | None:
        if due is None:
            return None
        if due < self.overdue_before:
            return "overdue"
        if due <= self.end_of_today:
            return "today"
        if due <= self.soon:
            return "soon"
        return None


def thresholds(session: Session, province_code: str | None, now: datetime | None = None) -> Thresholds:
    now = now or utcnow()
    cal = calendar_for(session, province_code)
    today = now.astimezone(TZ).date()
    end_today = datetime.combine(today, time(23, 59, 59), tzinfo=TZ)
    soon = datetime.combine(cal.next_working_day(today), time(23, 59, 59), tzinfo=TZ)
    return Thresholds(now, end_today, soon)


_RECEIVED = func.coalesce(Dossier.received_at, Dossier.submitted_at)
_ORDER = {
    "due": (WorkItem.due_at.asc().nulls_last(), WorkItem.created_at, WorkItem.id),
    "-due": (WorkItem.due_at.desc().nulls_last(), WorkItem.created_at.desc(), WorkItem.id),
    "received": (_RECEIVED.asc(), WorkItem.created_at, WorkItem.id),
    "-received": (_RECEIVED.desc(), WorkItem.created_at.desc(), WorkItem.id),
}


@dataclass
class InboxPage:
    items: list[WorkItem]
    total: int
    counts: dict[str, int]
    marks: Thresholds
    page: int
    per_page: int


def _view_condition(actor: Actor, view: str):
    if view == "mine":
        return WorkItem.assignee_id == actor.user_id if actor.user_id else false()
    if view == "unit":
        return access.led_steps(actor)
    return and_(access.workable_steps(actor), WorkItem.assignee_id.is_(None))


def search(session: Session, actor: Actor, view: str = "available", *, procedure_code: str | None = None,
           status: int | None = None, due: str | None = None, received_by_unit: str | None = None,
           page: int = 1, per_page: int = 50, now: datetime | None = None, q: str | None = None,
           sort: str = "due", offset: int | None = None) -> InboxPage:
    """One page of the inbox sorted by due date (no due date last; `sort`: `SORTS`), with counts
    per mark; `q`: words of the code, applicant's name, ID number or phone, diacritics optional.
    `offset` (the API's cursor) starts the page there instead of at `page`."""
    if view not in VIEWS:
        raise Invalid(vi("view không hợp lệ."), fields={"view": " | ".join(VIEWS)})
    if due is not None and due not in DUE_FILTERS:
        raise Invalid(vi("Bộ lọc hạn không hợp lệ."), fields={"due": " | ".join(DUE_FILTERS)})
    if sort not in SORTS:
        raise Invalid(vi("Cách sắp xếp không hợp lệ."), fields={"sort": " | ".join(SORTS)})
    province = next((a.province_code for a in actor.assignments if a.province_code), None)
    marks = thresholds(session, province, now)
    base = [WorkItem.state == OPEN, _view_condition(actor, view)]
    on_dossier = []
    if procedure_code:
        on_dossier.append(Dossier.procedure_code == procedure_code)
    if status is not None:
        on_dossier.append(Dossier.status == status)
    if received_by_unit:
        on_dossier.append(Dossier.received_by_unit == received_by_unit)
    if q and text_search.words(q):
        on_dossier.append(text_search.matches(Dossier.search_text, q))
    overdue = WorkItem.due_at < marks.overdue_before
    today = and_(WorkItem.due_at >= marks.overdue_before, WorkItem.due_at <= marks.end_of_today)
    soon = and_(WorkItem.due_at > marks.end_of_today, WorkItem.due_at <= marks.soon)
    counting = select(func.count(), func.sum(case((overdue, 1), else_=0)), func.sum(case((today, 1), else_=0)),
                      func.sum(case((soon, 1), else_=0))).select_from(WorkItem)
    if on_dossier:  # every work item has its dossier (FK): join only to filter on it
        counting = counting.join(Dossier, Dossier.id == WorkItem.dossier_id)
    row = session.execute(counting.where(*base, *on_dossier)).one()
    counts = {"all": row[0] or 0, "overdue": row[1] or 0, "today": row[2] or 0, "soon": row[3] or 0}
    cond = base + on_dossier
    if due:
        cond.append({"overdue": overdue, "today": today, "soon": soon}[due])
    total = counts[due] if due else counts["all"]
    # The dossier comes with each item (the list shows its code, status, ...): no query per row.
    # due_at ASC NULLS LAST (= no due date last) is the order of ix_work_item_open_inbox.
    items = session.scalars(select(WorkItem).join(Dossier, Dossier.id == WorkItem.dossier_id)
                            .options(contains_eager(WorkItem.dossier)).where(*cond)
                            .order_by(*_ORDER[sort]).limit(per_page)
                            .offset((page - 1) * per_page if offset is None else offset)).all()
    return InboxPage(list(items), total, counts, marks, page, per_page)


def _per_view(actor: Actor, what):
    return [select(what).select_from(WorkItem).where(WorkItem.state == OPEN, _view_condition(actor, view))
            .scalar_subquery() for view in VIEWS]


def tab_counts(session: Session, actor: Actor) -> dict[str, int]:
    """Open steps in each view (the tabs' counts): one statement, one COUNT per view, each served
    by the inbox's indexes."""
    row = session.execute(select(*_per_view(actor, func.count()))).one()
    return {view: n or 0 for view, n in zip(VIEWS, row)}


def stamp(session: Session, actor: Actor) -> dict:
    """What the inbox page polls: the tabs' counts and the latest step to arrive in any of them
    (one statement); when it changes, the list has changed."""
    row = session.execute(select(*_per_view(actor, func.count()), *_per_view(actor, func.max(WorkItem.created_at)))).one()
    latest = max((t for t in row[len(VIEWS):] if t is not None), default=None)
    return {"counts": {view: n or 0 for view, n in zip(VIEWS, row)}, "latest": latest.isoformat() if latest else None}


@dataclass(frozen=True)
class Labels:
    procedures: dict[str, str]  # procedure code -> name
    units: dict[str, str]       # unit code -> name


def labels(session: Session, items: list[WorkItem]) -> Labels:
    """The names of the procedures and units on a page: one query each, never one per row."""
    codes = {w.dossier.procedure_code for w in items}
    names = dict(session.execute(select(Procedure.code, Procedure.name).where(Procedure.code.in_(codes))).all()) \
        if codes else {}
    return Labels(names, units.names(session, {w.unit_code for w in items}))


def procedure_options(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the procedures in force, by name: the inbox's procedure filter."""
    return list(session.execute(select(Procedure.code, Procedure.name).where(
        Procedure.code.in_(select(ProcedureInForce.procedure_code))).order_by(Procedure.name, Procedure.code)).all())
