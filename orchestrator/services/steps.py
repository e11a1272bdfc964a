"""The shared mechanics of one step on a locked dossier: restore, act, route, save.

Every change to a running dossier goes through `locked_dossier` and `save_step`, so the
state, lock_version, work items, participants and audit events change together.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..engine import OUTCOMES, EngineIncident, StateTooLarge, WorkflowRun, bundle_for
from ..models import Dossier, DossierParticipant, DossierState, WorkItem
from ..models.dossiers import CANCELLED, COMPLETED, OPEN
from ..models.types import utcnow
from . import audit, jobs, outbox, pauses, versions
from .deadlines import calendar_for, legal_due_at
from .errors import NotFound, Rejected
from .routing import Route, resolve

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _lock_statement(where):
    """The dossier and its workflow state, both locked, with the units already taking part (read
    from the snapshot, they may miss one added meanwhile, never list one too many: units never
    leave). Built once per shape: steps run it on every change."""
    units = (select(func.aggregate_strings(DossierParticipant.unit_code, ","))
             .where(DossierParticipant.dossier_id == Dossier.id).scalar_subquery())
    return (select(Dossier, DossierState, units).join(DossierState, DossierState.dossier_id == Dossier.id)
            .where(where).with_for_update(of=(Dossier, DossierState)).execution_options(populate_existing=True))


_LOCK_BY_ID = _lock_statement(Dossier.id == bindparam("dossier_id"))
_LOCK_BY_TASK = _lock_statement(
    Dossier.id == select(WorkItem.dossier_id).where(WorkItem.id == bindparam("task_id")).scalar_subquery())
_OPEN_ITEMS = (select(WorkItem).where(WorkItem.dossier_id == bindparam("dossier_id"), WorkItem.state == OPEN)
               .execution_options(populate_existing=True))
_OPEN_ITEMS_AND = (select(WorkItem).where(WorkItem.dossier_id == bindparam("dossier_id"),
                                          or_(WorkItem.state == OPEN, WorkItem.id == bindparam("also")))
                   .execution_options(populate_existing=True))


_ADD_PARTICIPANTS = {True: pg_insert(DossierParticipant).on_conflict_do_nothing(),
                     False: sqlite_insert(DossierParticipant).on_conflict_do_nothing()}


def locked_dossier(session: Session, dossier_id: int) -> Dossier:
    """The dossier row, locked until commit (FOR UPDATE on PostgreSQL; SQLite holds the write lock)."""
    dossier = _lock(session, _LOCK_BY_ID, dossier_id=dossier_id)
    if dossier is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    return dossier


def locked_for_task(session: Session, task_id: str) -> Dossier | None:
    """Lock the dossier a work item belongs to, in one statement (before reading the item, so
    what is read next is what the previous step committed)."""
    return _lock(session, _LOCK_BY_TASK, task_id=task_id)


def _lock(session: Session, statement, **params) -> Dossier | None:
    """Lock the dossier and its workflow state together and read both, in one round trip. Both
    rows are locked: PostgreSQL then reads the latest committed version of each once the lock is
    granted (a row only joined, not locked, would come from the snapshot taken before waiting).
    The units already taking part come along: `save_step` adds only new ones."""
    row = session.execute(statement, params).first()
    if row is None:
        return None
    dossier, dossier.locked_state, units = row  # a strong reference: the session's identity map is weak
    dossier.known_participants = set(units.split(",")) if units else set()
    return dossier


def bundle_of(dossier: Dossier):
    v = versions.of(dossier)
    return bundle_for(v.id, v.xml, v.dialect, v.process_id)


def restore(session: Session, dossier: Dossier) -> WorkflowRun:
    """The workflow of a dossier, as read with its lock (`locked_dossier`, `locked_for_task`)."""
    state = getattr(dossier, "locked_state", None) or session.get(DossierState, dossier.id, populate_existing=True)
    run = WorkflowRun.restore(bundle_of(dossier), state.state)
    run.state_row = state  # keep it: the session only holds weak references
    run.timer_before = run.next_timer_at()
    return run


def step_model(dossier: Dossier) -> dict[str, dict]:
    return versions.of(dossier).steps


def routes_for(session: Session, dossier: Dossier) -> dict[str, Route]:
    """Human step id -> unit and role for this dossier (raises Unresolvable)."""
    v = versions.runtime(session, dossier.procedure_version_id)
    by_path: dict[str, Route] = {}
    for path in set(v.step_paths.values()) - {None}:
        by_path[path] = resolve(session, path, dossier.province_code, dossier.commune_code, dossier.received_by_unit)
    return {step_id: by_path[path] for step_id, path in v.step_paths.items() if path}


def add_participants(session: Session, dossier: Dossier, unit_codes: set[str]) -> None:
    known = getattr(dossier, "known_participants", None)
    if known is not None:
        unit_codes = unit_codes - known
        known |= unit_codes
    if not unit_codes:
        return
    rows = [{"dossier_id": dossier.id, "unit_code": u} for u in sorted(unit_codes)]
    session.execute(_ADD_PARTICIPANTS[session.get_bind().dialect.name == "postgresql"], rows)


def open_items_of(session: Session, dossier: Dossier, also: str | None = None) -> list[WorkItem]:
    """The dossier's open work items (and one more by id, open or not), in one query."""
    if also is None:
        return list(session.scalars(_OPEN_ITEMS, {"dossier_id": dossier.id}).all())
    return list(session.scalars(_OPEN_ITEMS_AND, {"dossier_id": dossier.id, "also": also}).all())


def sync_work_items(session: Session, dossier: Dossier, run: WorkflowRun,
                    open_items: list[WorkItem] | None = None) -> tuple[list[WorkItem], list[WorkItem]]:
    """Make the open work items match the engine's ready human tasks, in place (stable ids).
    `open_items`: the items as read under the lock, if the caller has them (saves a query).
    Returns (created, all open after the step) in the order `dossiers.current_tasks` reads them."""
    steps = step_model(dossier)
    ready = {t.id: t for t in run.ready_human_tasks()}
    if open_items is None:
        open_items = open_items_of(session, dossier)
    open_items = {w.id: w for w in open_items if w.state == OPEN}
    now = utcnow()
    for item_id in set(open_items) - set(ready):
        item = open_items[item_id]
        item.state, item.completed_at = CANCELLED, now
    created = []
    routes: dict[str, Route] | None = None
    for task_id in set(ready) - set(open_items):
        task = ready[task_id]
        if routes is None:
            routes = routes_for(session, dossier)
        route = routes[task.step_id]
        step = steps.get(task.step_id, {})
        item = WorkItem(
            id=task_id, dossier_id=dossier.id, step_id=task.step_id, step_name=task.name,
            lane=task.lane, unit_code=route.unit_code, role=route.role, form_key=step.get("form_key"),
            state=OPEN, due_at=_step_due(session, dossier, step, now), created_at=now,
        )
        session.add(item)
        created.append(item)
    for item in open_items.values():  # steps opened before the legal period started get its end
        if item.due_at is None and item.id in ready and dossier.due_at is not None:
            item.due_at = dossier.due_at
    still_open = [w for w in open_items.values() if w.state == OPEN] + created
    return created, sorted(still_open, key=lambda w: (w.created_at, w.id))


def _step_due(session: Session, dossier: Dossier, step: dict, now: datetime) -> datetime | None:
    if step.get("step_days"):
        cal = calendar_for(session, dossier.province_code)
        return cal.due_at(now, "working", step["step_days"])
    if step.get("step_hours"):  # a step deadline in office hours (set in the back office)
        return calendar_for(session, dossier.province_code).add_office_hours(now, step["step_hours"])
    return dossier.due_at


def accept(session: Session, dossier: Dossier, now: datetime) -> None:
    """Reception accepted: the legal period starts now (DOMAIN.md)."""
    v = versions.runtime(session, dossier.procedure_version_id)
    dossier.received_at = now
    dossier.legal_due_at = legal_due_at(session, dossier.province_code, now, v.deadline_kind, v.deadline_days)
    dossier.due_at = dossier.legal_due_at
    schedule_reminder(session, dossier)


def schedule_reminder(session: Session, dossier: Dossier) -> None:
    """The working day before the due date, at 08:00, the holders and their leaders are reminded."""
    if dossier.due_at is None:
        return
    cal = calendar_for(session, dossier.province_code)
    due_day = dossier.due_at.astimezone(TZ).date()
    day = due_day - timedelta(days=1)
    while not cal.is_working_day(day):
        day -= timedelta(days=1)
    run_at = max(datetime.combine(day, time(8, 0), TZ), utcnow())
    jobs.enqueue(session, "reminder", run_at=run_at, dossier_id=dossier.id,
                 payload={"due_at": dossier.due_at.isoformat()}, flush=False)


def set_status(session: Session, dossier: Dossier, new: int, actor: str, action: str, **kw) -> None:
    old = dossier.status
    if old == new:
        return
    dossier.status = new
    audit.record(session, action, actor, dossier=dossier, from_status=old, to_status=new, **kw)
    outbox.status_changed(session, dossier, old, new)


FINAL_ACTIONS = {3: "refused", 7: "withdrawn", 8: "stopped", 9: "decided", 10: "returned"}


def waits_for_reception_supplement(dossier: Dossier) -> bool:
    """Status 5 at the reception stage: the workflow may have ended (the shipped diagrams end
    there), the dossier still waits for the citizen's papers."""
    entry = pauses.current(dossier)
    return dossier.status == 5 and entry is not None and entry.get("stage") == pauses.RECEPTION


def final_status(session: Session, dossier: Dossier, run: WorkflowRun) -> int | None:
    """The status a dossier ends with after this step, or None while it goes on. Refused at
    reception ends it whatever the diagram does next. A workflow that reached its end ends it:
    with the status its end event's `outcome` names; decided (9) when a decision was made and no
    return step ran (the result waits for `return-result`); else returned (10). A return step
    counts only when the workflow really ends, so one drawn inside a sub-process or beside other
    open steps cannot end the dossier early."""
    if dossier.finished_at is not None:
        return None
    if dossier.status == 3:
        return 3
    if not run.completed or waits_for_reception_supplement(dossier):
        return None
    if dossier.status in FINAL_ACTIONS and dossier.status != 9:
        return dossier.status
    outcomes = versions.of(dossier).model.get("end_outcomes") or {}
    reached = [outcomes[end] for end in run.ended_at() if end in outcomes]
    if reached:
        return OUTCOMES[reached[0]]
    if dossier.status == 9:
        returns = [sid for sid, s in step_model(dossier).items() if s.get("milestone") == "return"]
        returned = returns and session.scalar(select(func.count()).select_from(WorkItem).where(
            WorkItem.dossier_id == dossier.id, WorkItem.state == COMPLETED, WorkItem.step_id.in_(returns)))
        return 10 if returned else 9
    return 10


def save_step(session: Session, dossier: Dossier, run: WorkflowRun, actor: str,
              incident: EngineIncident | None = None, open_items: list[WorkItem] | None = None) -> list[WorkItem]:
    """Persist the workflow, reconcile work items, move 2 -> 4 when processing begins, finish the
    dossier when its workflow ended (a finished dossier has no open step: what still runs is cancelled).
    The dossier's own columns change first, so they reach the database in one UPDATE.
    Returns the dossier's open work items after the step (what an answer shows without a query)."""
    dossier.lock_version += 1
    dossier.updated_at = utcnow()
    final = final_status(session, dossier, run)  # before dumps: compaction drops the end events reached
    if final is not None and not run.completed:
        run.cancel()
    state_row = getattr(run, "state_row", None) or session.get(DossierState, dossier.id)
    try:
        state_row.state = run.dumps()
    except StateTooLarge as exc:  # raised before anything is serialised; the caller's transaction rolls back
        raise Rejected(f"Bước này sẽ làm dữ liệu hồ sơ vượt quá giới hạn lưu trữ ({exc.message}); không có gì "
                       "được lưu: hãy bớt dữ liệu hoặc tệp nhúng trong biểu mẫu.", code="state_too_large") from None
    if incident is not None:
        dossier.incident, dossier.incident_message = True, incident.message
        audit.record(session, "incident", actor, dossier=dossier, step_id=incident.element_id,
                     note=incident.message)
        outbox.emit(session, dossier, "dossier.incident", {"step_id": incident.element_id})
    with session.no_autoflush:  # one flush at the end: one UPDATE per row, INSERTs batched per table
        created, now_open = sync_work_items(session, dossier, run, open_items)
        reception_steps = {sid for sid, s in step_model(dossier).items() if s.get("milestone") == "reception"}
        if dossier.status == 2 and any(w.step_id not in reception_steps for w in created):
            set_status(session, dossier, 4, actor, "processing")
        if final is not None:
            set_status(session, dossier, final, actor, FINAL_ACTIONS[final],
                       note=dossier.data.get("delivery_method") if final == 10 else None)
            dossier.finished_at = utcnow()
    session.flush()
    if created:
        add_participants(session, dossier, {w.unit_code for w in created})
    # No timer job for a dossier in incident: a timer that failed (a cycle that would spin) would
    # be taken again at once, for ever; the technician's retry schedules it again.
    timer_at = None if run.completed or incident is not None else run.next_timer_at()
    if timer_at is not None or getattr(run, "timer_before", True) is not None:
        jobs.replace_timer(session, dossier.id, dossier.lock_version, timer_at)
    return now_open
