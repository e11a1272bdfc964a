"""Dossiers: start (online or in person), code, visibility, reading and listing."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, load_only

from ..i18n import vi
from ..models import AuditEvent, Dossier, DossierCounter, Procedure, Unit, WorkItem
from ..models.dossiers import COMPLETED, OPEN, DossierStatus
from ..models.types import utcnow
from ..timezone import TZ
from . import access, audit, citizen_notices, limits, on_time, outbox, procedures, search, steps, tasks
from .auth import Actor
from .errors import Conflict, Invalid, NotFound
from .routing import Unresolvable

CHANNELS = {1: "in person", 2: "online", 3: "post", 4: "schedule"}
# The channels as integrators read them (Decree 118/2025: a dossier is handed in in person, online or
# by public postal service); 4 is never sent, the system opens those dossiers on a procedure's schedule.
CHANNEL_LABELS = {1: ("Trực tiếp tại bộ phận một cửa", "In person at the one-stop desk"),
                  2: ("Trực tuyến (cổng dịch vụ công)", "Online (public service portal)"),
                  3: ("Qua dịch vụ bưu chính công ích", "By public postal service"),
                  4: ("Theo lịch (hệ thống tự mở)", "On the procedure's schedule (opened by the system)")}
SCHEDULED = 4  # opened by a procedure's schedule: no citizen channel, the unit is the applicant


def next_code(session: Session, unit_code: str, now: datetime) -> str:
    """`{unit}-{YYMMDD}-{NNNN}`: an atomic per-unit daily counter, in the creating transaction,
    so concurrent creations get distinct numbers and a rolled-back one leaves no gap."""
    day = now.astimezone(TZ).strftime("%y%m%d")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(DossierCounter).values(unit_code=unit_code, day=day, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=["unit_code", "day"],
                                      set_={"value": DossierCounter.value + 1}).returning(DossierCounter.value)
    value = session.execute(stmt).scalar_one()
    return f"{unit_code}-{day}-{value:04d}"


def _check_place(session: Session, province_code: str, commune_code: str, received_by: str) -> None:
    fields = {}
    province = session.get(Unit, province_code) if province_code else None
    if province is None or province.level != "province":
        fields["province_code"] = vi("không có tỉnh/thành phố mã này")
    commune = session.get(Unit, commune_code) if commune_code else None
    if commune is None or commune.level != "commune" or commune.parent_code != province_code:
        fields["commune_code"] = vi("không có xã/phường mã này trong tỉnh đã chọn")
    unit = session.get(Unit, received_by) if received_by else None
    if unit is None or unit.province_code != province_code or unit.level not in ("commune", "service-center", "department"):
        fields["received_by_unit"] = vi("đơn vị tiếp nhận phải là xã/phường, trung tâm hoặc sở của tỉnh")
    if fields:
        raise Invalid(vi("Địa bàn hồ sơ không hợp lệ."), fields=fields)


def start(session: Session, actor: Actor, *, procedure_code: str, province_code: str, commune_code: str,
          channel: int, applicant: dict, data: dict, received_by_unit: str | None = None,
          reception: dict | None = None, timer_start: str | None = None, note: str | None = None,
          notify: dict | None = None) -> steps.Step:
    """Start a dossier on the version in force; nothing is created when a lane cannot resolve.
    Returns its first step (the dossier, its open items). An in-person dossier has its reception
    step completed by the receiving officer in the same step: one save. Its desk outcome
    (`reception.reception_result`, `tasks.desk_outcome`): accepted (status 2, the period starts),
    guided to supplement (created 1, then 5 at the reception stage: not received, no period) or
    refused (created 1, then 3); the history never shows a reception that did not happen.
    `timer_start`: opened by the version's schedule, received at once, its workflow past that timer
    start event. `notify`: the channels the citizen chose and the contacts they gave
    (`citizen_notices.consent`); left out, the citizen is told nothing."""
    received_by = received_by_unit or commune_code
    in_person = not actor.is_integrator and timer_start is None
    access.may_start_dossier(actor, province_code, received_by, scheduled=timer_start is not None)
    limits.check_data(session, data, "data")
    limits.check_data(session, applicant, "applicant")
    limits.check_data(session, reception, "reception")
    reception = tasks.desk_outcome(reception, in_person=in_person)
    notify = citizen_notices.consent(notify)
    accepted = reception["reception_result"] == "accept"
    _check_place(session, province_code, commune_code, received_by)
    version = procedures.in_force(session, procedure_code, province_code)
    if version is None:
        raise NotFound(vi("Thủ tục %(procedure)s chưa được công bố cho tỉnh %(province)s.", procedure=procedure_code,
                          province=province_code), code="procedure_not_offered")
    if timer_start is None and (version.model or {}).get("timer_starts") and not version.model.get("plain_start"):
        raise Conflict(vi("Thủ tục %(procedure)s chỉ tạo hồ sơ theo lịch (sự kiện bắt đầu hẹn giờ), không nhận "
                          "hồ sơ nộp.", procedure=procedure_code), code="scheduled_only")
    now = utcnow()
    dossier = Dossier(
        procedure_version_id=version.id, version=version, procedure_code=version.procedure_code,  # an alias: the new code
        province_code=province_code, commune_code=commune_code, received_by_unit=received_by,
        channel=channel, applicant=applicant, data=dict(data), notify=notify,
        status=(DossierStatus.RECEIVED if (in_person and accepted) or timer_start
                else DossierStatus.AWAITING_RECEPTION),
        submitted_at=now, updated_at=now, created_by=actor.name, lock_version=0,
        created_by_integrator_id=actor.integrator_id if actor.is_integrator else None,
    )
    try:
        routes = steps.routes_for(session, dossier)
    except Unresolvable as exc:
        raise Conflict(vi("Không định tuyến được làn '%(lane)s': %(reason)s.", lane=exc.path, reason=exc.reason),
                       code="unroutable",
                       extra={"lane": exc.path}) from None
    dossier.code = next_code(session, received_by, now)
    session.add(dossier)
    session.flush()
    if (in_person and accepted) or timer_start:
        steps.accept(session, dossier, now)
    step = steps.Step.start(session, dossier, {**data, "applicant": applicant}, actor.name,
                            participants={received_by} | {r.unit_code for r in routes.values()},
                            timer_start=timer_start)
    audit.record(session, "created", actor.name, dossier=dossier, to_status=int(dossier.status),
                 unit_code=received_by, note=note or f"kênh {channel} ({CHANNELS.get(channel, '?')})")
    item = tasks.reception_to_complete(step) if in_person else None
    if item is None and not accepted:
        raise Conflict(vi("Quy trình của thủ tục %(procedure)s không mở bước tiếp nhận khi tạo hồ sơ; không ghi được "
                          "kết quả hướng dẫn bổ sung hoặc từ chối tại quầy.", procedure=procedure_code),
                       code="no_reception_step")
    if item is None:
        step.save()
        outbox.emit(session, dossier, "dossier.created")
        outbox.portal_sync(session, dossier)
    else:
        outbox.emit(session, dossier, "dossier.created")
        outbox.portal_sync(session, dossier)
        tasks.complete_reception_in_person(step, actor, item, reception)  # saves the step
    return step


def get_visible(session: Session, actor: Actor, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or not access.sees_dossier(session, actor, dossier):
        raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=code))
    return dossier


def get_public(session: Session, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None:
        raise NotFound(vi("Không tìm thấy hồ sơ với mã này."))
    return dossier


# Built once: read on every dossier answer (SQLAlchemy then reuses their cache keys).
_CURRENT_TASKS = (select(WorkItem).where(WorkItem.dossier_id == bindparam("dossier_id"), WorkItem.state == OPEN)
                  .order_by(WorkItem.created_at, WorkItem.id))
_HISTORY = select(AuditEvent).where(AuditEvent.dossier_id == bindparam("dossier_id")).order_by(AuditEvent.id)
_HISTORY_LATEST = (select(AuditEvent).where(AuditEvent.dossier_id == bindparam("dossier_id"))
                   .order_by(AuditEvent.id.desc()).limit(bindparam("count")))


def current_tasks(session: Session, dossier: Dossier) -> list[WorkItem]:
    return list(session.scalars(_CURRENT_TASKS, {"dossier_id": dossier.id}).all())


def work_items(session: Session, dossier: Dossier) -> list[WorkItem]:
    """Every step the dossier has had, open, completed or cancelled, in the order they opened."""
    return list(session.scalars(select(WorkItem).where(WorkItem.dossier_id == dossier.id)
                                .order_by(WorkItem.created_at, WorkItem.id)).all())


def history(session: Session, dossier: Dossier) -> list[AuditEvent]:
    return list(session.scalars(_HISTORY, {"dossier_id": dossier.id}).all())


def latest_history(session: Session, dossier: Dossier, count: int) -> list[AuditEvent]:
    """The last `count` events, oldest first: limited in the database, so an answer after a step
    costs the same at step 140 as at step 15 (issue 23)."""
    newest = session.scalars(_HISTORY_LATEST, {"dossier_id": dossier.id, "count": count}).all()
    return list(reversed(newest))


def history_page(session: Session, dossier: Dossier, after_id: int, limit: int) -> tuple[list[AuditEvent], bool]:
    """A page of the history, oldest first, after the event `after_id` (0: from the start), and
    whether there is more (one row more is read to know)."""
    rows = list(session.scalars(select(AuditEvent).where(AuditEvent.dossier_id == dossier.id, AuditEvent.id > after_id)
                                .order_by(AuditEvent.id).limit(limit + 1)).all())
    return rows[:limit], len(rows) > limit


# The orders a list can take: `-` first for newest / latest first; `id` is the API's default
# (oldest first, a stable cursor). Ascending puts the empty dates last, descending first, on both
# databases (PostgreSQL's own order, so its indexes on these columns still serve).
SORTS = {"id": Dossier.id, "received": Dossier.received_at, "due": Dossier.due_at, "code": Dossier.code}
SORT_NAMES = tuple(f"{sign}{name}" for name in SORTS for sign in ("", "-"))
MAX_OFFSET = 100_000  # a position deeper than this in a sorted list is refused (use filters)
COUNT_CAP = 10_000    # totals are counted up to this, then shown as "more than"


@dataclass
class DossierPage:
    """A page of a listing: the dossiers (only the columns a list shows are loaded), the total
    (counted up to COUNT_CAP: `total_capped`), where the next page starts, and the names lists show."""

    items: list[Dossier]
    total: int | None = None
    total_capped: bool = False
    next_id: int | None = None          # sort "id": the next page's cursor (an id)
    next_offset: int | None = None      # other sorts: the next page's position
    offset: int = 0
    limit: int = 50
    procedure_names: dict[str, str] = field(default_factory=dict)
    unit_names: dict[str, str] = field(default_factory=dict)
    now: datetime = field(default_factory=utcnow)

    def overdue(self, dossier: Dossier) -> bool:
        """Still open and its due day has ended (`on_time`), as the "overdue" filter counts it."""
        return dossier.finished_at is None and on_time.is_overdue(dossier.due_at, self.now)


def _procedure_codes(session: Session, words: str) -> list[str]:
    """The procedures whose code is `words` or whose name holds every folded word (a few hundred
    procedures at most: folded here rather than stored)."""
    wanted = search.words(words, "procedure")
    rows = session.execute(select(Procedure.code, Procedure.name)).all()
    if any(code == words.strip() for code, _name in rows):  # an exact code: that procedure only
        return [words.strip()]
    return [code for code, name in rows
            if code == words.strip() or all(w in search.fold(f"{code} {name}") for w in wanted)]


def _unit_codes(session: Session, words: str) -> list[str]:
    """A unit's code, or the units whose folded name holds every word (at most 200)."""
    query = select(Unit.code).where(or_(Unit.code == words.strip(), search.matches(Unit.name_folded, words, "unit")))
    return list(session.scalars(query.order_by(Unit.code).limit(200)).all())


OUTCOMES = ("resolved", "early", "on_time", "late")  # issue 22: the statistics' figures, listed
WITHDRAWN_OR_STOPPED = "withdrawn_or_stopped"  # an outcome too: ended withdrawn (7) or stopped (8)
WORK = ("open", "overdue", "done", "done_late")  # issue 22: the statistics' per-unit and bottleneck figures


def _work_condition(session: Session, now: datetime, work, work_unit, work_step, work_from, work_to):
    """`Dossier.id IN (its work items matching every given condition)`, as `statistics._work` and
    `_live` count them; None when no work filter is given."""
    if work is None and not work_unit and not work_step:
        return None
    conds = []
    if work_unit:
        conds.append(WorkItem.unit_code == work_unit)
    if work_step:
        conds.append(WorkItem.step_name == work_step)
    if work in ("open", "overdue"):
        conds.append(WorkItem.state == OPEN)
        if work == "overdue":
            conds.append(WorkItem.due_at < on_time.overdue_before(now))
    elif work in ("done", "done_late"):
        conds.append(WorkItem.state == COMPLETED)
        if work_from is not None:
            conds.append(WorkItem.completed_at >= work_from)
        if work_to is not None:
            conds.append(WorkItem.completed_at < work_to)
        if work == "done_late":
            conds += [WorkItem.due_at.is_not(None), on_time.sql_late(session, WorkItem.completed_at, WorkItem.due_at)]
    return Dossier.id.in_(select(WorkItem.dossier_id).where(*conds))


def _conditions(session: Session, actor: Actor, *, q, status, procedure_code, procedure, commune_code, unit,
                received_from, received_to, updated_since, overdue, now, province_code=None, outcome=None,
                finished_from=None, finished_to=None, open_only=False, work=None, work_unit=None, work_step=None,
                work_from=None, work_to=None) -> list:
    conds = [access.visible_dossiers(actor)]
    if work is not None and work not in WORK:
        raise Invalid(vi("Bộ lọc bước không hợp lệ (một trong: %(kinds)s).", kinds=", ".join(WORK)),
                      fields={"work": vi("không hợp lệ")})
    by_work = _work_condition(session, now, work, work_unit, work_step, work_from, work_to)
    if by_work is not None:
        conds.append(by_work)
    if province_code is not None:
        conds.append(Dossier.province_code == province_code)
    if finished_from is not None:
        conds.append(Dossier.finished_at >= finished_from)
    if finished_to is not None:
        conds.append(Dossier.finished_at < finished_to)
    if outcome in OUTCOMES:  # returned (status 10), early / on time / late as `statistics` counts them
        conds.append(Dossier.status == DossierStatus.RETURNED)
        if outcome != "resolved":
            conds.append(on_time.sql_outcome(session, Dossier.finished_at,
                                             func.coalesce(Dossier.legal_due_at, Dossier.due_at)) == outcome)
    elif outcome == WITHDRAWN_OR_STOPPED:  # as `statistics` counts "Rút, dừng xử lý"
        conds.append(Dossier.status.in_((DossierStatus.WITHDRAWN, DossierStatus.STOPPED)))
    if open_only:
        conds.append(Dossier.finished_at.is_(None))
    if q:
        conds.append(search.matches(Dossier.search_text, q))
    for column, value in ((Dossier.status, status), (Dossier.procedure_code, procedure_code),
                          (Dossier.commune_code, commune_code)):
        if value is not None:
            conds.append(column == value)
    if procedure and procedure.strip():
        conds.append(Dossier.procedure_code.in_(_procedure_codes(session, procedure)))
    if unit and unit.strip():
        conds.append(Dossier.received_by_unit.in_(_unit_codes(session, unit)))
    if received_from is not None:
        conds.append(Dossier.received_at >= received_from)
    if received_to is not None:
        conds.append(Dossier.received_at < received_to)
    if updated_since is not None:
        conds.append(Dossier.updated_at >= updated_since)
    if overdue:
        conds += [Dossier.finished_at.is_(None), Dossier.due_at < on_time.overdue_before(now)]
    return conds


# What a list shows of a dossier (the API's brief item, the back office's table): the form data
# and the folded search text stay in the database.
_LISTED = load_only(*(getattr(Dossier, c) for c in (
    "code", "procedure_version_id", "procedure_code", "province_code", "commune_code", "received_by_unit",
    "channel", "applicant", "status", "incident", "incident_message", "submitted_at", "received_at",
    "legal_due_at", "due_at", "finished_at", "paused", "apologized_at", "lock_version", "updated_at")))


def list_visible(session: Session, actor: Actor, *, q: str | None = None, status: int | None = None,
                 procedure_code: str | None = None, procedure: str | None = None, commune_code: str | None = None,
                 unit: str | None = None, received_from: datetime | None = None,
                 received_to: datetime | None = None, updated_since: datetime | None = None,
                 overdue: bool = False, sort: str = "id", after_id: int = 0, offset: int = 0, limit: int = 50,
                 count: bool = False, province_code: str | None = None, outcome: str | None = None,
                 finished_from: datetime | None = None, finished_to: datetime | None = None,
                 open_only: bool = False, work: str | None = None, work_unit: str | None = None,
                 work_step: str | None = None, work_from: datetime | None = None,
                 work_to: datetime | None = None) -> DossierPage:
    """A page of the dossiers the actor may see (`access.Visibility`, never more): the API's
    `GET /dossiers` and the back office's dossier list. `q`: words each found, folded, in the code
    or the applicant's name, ID number or phone; `procedure`: a code or words of its name; `unit`:
    the receiving unit's code or words of its name; `overdue`: open and past its due day.
    `sort` (SORT_NAMES): "id" pages by cursor (`after_id`), the others by position (`offset`).
    `count`: also the total, counted up to COUNT_CAP. The statistics' figures (issue 22):
    `outcome` (OUTCOMES: returned, and early / on time / late by the legal due day) with the
    return day in `finished_from`..`finished_to`, or WITHDRAWN_OR_STOPPED (status 7 or 8, ended in
    `finished_from`..`finished_to`), `open_only` (not finished), `province_code`; and the dossiers
    with a work item (step) matching all of: `work` (WORK: "open" open now, "overdue" open and
    past its step's due day, "done" completed with `completed_at` in `work_from`..`work_to`,
    "done_late" of those, completed after its step's due day), `work_unit` (the step's unit
    code), `work_step` (the step's name). A figure counting steps lists their dossiers, once each."""
    if sort not in SORT_NAMES:
        raise Invalid(vi("Cách sắp xếp không hợp lệ (một trong: %(sorts)s).", sorts=", ".join(SORT_NAMES)),
                      fields={"sort": vi("không hợp lệ")})
    if not 0 <= offset <= MAX_OFFSET:
        raise Invalid(vi("Vị trí trang quá xa (tối đa %(max)s); hãy lọc thêm.", max=MAX_OFFSET),
                      fields={"offset": vi("quá xa")})
    now = utcnow()
    conds = _conditions(session, actor, q=q, status=status, procedure_code=procedure_code, procedure=procedure,
                        commune_code=commune_code, unit=unit, received_from=received_from, received_to=received_to,
                        updated_since=updated_since, overdue=overdue, now=now, province_code=province_code,
                        outcome=outcome, finished_from=finished_from, finished_to=finished_to, open_only=open_only,
                        work=work, work_unit=work_unit, work_step=work_step, work_from=work_from, work_to=work_to)
    column, descending = SORTS[sort.lstrip("-")], sort.startswith("-")
    order = [Dossier.id.desc() if descending else Dossier.id.asc()]
    if column is not Dossier.id:
        order.insert(0, column.desc().nulls_first() if descending else column.asc().nulls_last())
    # A search counts its matches in the same statement (one pass over the trigram index's
    # matches); a plain listing counts apart, up to COUNT_CAP, rather than read every row it may see.
    in_one = count and bool(q and q.strip()) and not after_id
    # The page's ids are chosen on narrow rows first; only they are then read with the names.
    page_ids = select(Dossier.id, *([func.count().over().label("total")] if in_one else [])).where(*conds)
    page_ids = page_ids.where(Dossier.id > after_id) if sort == "id" else page_ids.offset(offset)
    page_ids = page_ids.order_by(*order).limit(limit + 1).subquery()
    query = (select(Dossier, Procedure.name, Unit.name, *([page_ids.c.total] if in_one else []))
             .join(page_ids, page_ids.c.id == Dossier.id)
             .outerjoin(Procedure, Procedure.code == Dossier.procedure_code)
             .outerjoin(Unit, Unit.code == Dossier.received_by_unit).options(_LISTED))
    found = session.execute(query.order_by(*order)).all()
    rows = [r[0] for r in found[:limit]]
    page = DossierPage(rows, offset=offset, limit=limit, now=now,
                       procedure_names={r[0].procedure_code: r[1] for r in found if r[1]},
                       unit_names={r[0].received_by_unit: r[2] for r in found if r[2]})
    if len(found) > limit:
        if sort == "id":
            page.next_id = rows[-1].id
        else:
            page.next_offset = offset + limit
    if count:
        if in_one and (found or not offset):
            total = found[0][3] if found else 0
        else:
            capped = select(Dossier.id).where(*conds).limit(COUNT_CAP + 1).subquery()
            total = session.scalar(select(func.count()).select_from(capped))
        page.total, page.total_capped = min(total, COUNT_CAP), total > COUNT_CAP
    return page


def procedure_choices(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every procedure, by name: what a list's procedure filter offers."""
    return [tuple(r) for r in session.execute(select(Procedure.code, Procedure.name).order_by(Procedure.name)).all()]
