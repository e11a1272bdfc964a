"""The shared mechanics of one step on a locked dossier: restore, act, route, save.

Every change to a running dossier goes through `locked_dossier` and `save_step`, so the
state, lock_version, work items, participants and audit events change together.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..engine import EngineIncident, WorkflowRun, bundle_for, lane_paths
from ..models import Dossier, DossierParticipant, DossierState, WorkItem
from ..models.dossiers import CANCELLED, OPEN
from ..models.types import utcnow
from . import audit, jobs, outbox
from .deadlines import calendar_for, legal_due_at
from .errors import NotFound
from .routing import Route, resolve

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def locked_dossier(session: Session, dossier_id: int) -> Dossier:
    """The dossier row, locked until commit (FOR UPDATE on PostgreSQL; SQLite holds the write lock)."""
    dossier = session.scalar(
        select(Dossier).where(Dossier.id == dossier_id).with_for_update(of=Dossier).execution_options(
            populate_existing=True)
    )
    if dossier is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    return dossier


def bundle_of(dossier: Dossier):
    v = dossier.version
    return bundle_for(v.id, v.bpmn_xml, v.dialect, v.process_id)


def restore(session: Session, dossier: Dossier) -> WorkflowRun:
    state = session.get(DossierState, dossier.id, populate_existing=True)
    return WorkflowRun.restore(bundle_of(dossier), state.state)


def step_model(dossier: Dossier) -> dict[str, dict]:
    return {t["id"]: t for t in dossier.version.model["user_tasks"]}


def routes_for(session: Session, dossier: Dossier) -> dict[str, Route]:
    """Lane id -> unit and role for this dossier (raises Unresolvable)."""
    v = dossier.version
    paths = lane_paths(v.model, v.lane_map)
    used = {t["lane_id"] for t in v.model["user_tasks"]}
    return {lane_id: resolve(session, path, dossier.province_code, dossier.commune_code, dossier.received_by_unit)
            for lane_id, path in paths.items() if lane_id in used and path}


def add_participants(session: Session, dossier: Dossier, unit_codes: set[str]) -> None:
    if not unit_codes:
        return
    rows = [{"dossier_id": dossier.id, "unit_code": u} for u in sorted(unit_codes)]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(DossierParticipant).values(rows).on_conflict_do_nothing())


def sync_work_items(session: Session, dossier: Dossier, run: WorkflowRun) -> list[WorkItem]:
    """Make the open work items match the engine's ready human tasks, in place (stable ids)."""
    steps = step_model(dossier)
    lane_by_step = {sid: s["lane_id"] for sid, s in steps.items()}
    ready = {t.id: t for t in run.ready_human_tasks()}
    open_items = {w.id: w for w in session.scalars(select(WorkItem).where(
        WorkItem.dossier_id == dossier.id, WorkItem.state == OPEN)).all()}
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
        route = routes[lane_by_step[task.step_id]]
        step = steps.get(task.step_id, {})
        item = WorkItem(
            id=task_id, dossier_id=dossier.id, step_id=task.step_id, step_name=task.name,
            lane=task.lane, unit_code=route.unit_code, role=route.role, form_key=step.get("form_key"),
            state=OPEN, due_at=_step_due(session, dossier, step, now), created_at=now,
        )
        session.add(item)
        created.append(item)
    if created:
        add_participants(session, dossier, {w.unit_code for w in created})
    return created


def _step_due(session: Session, dossier: Dossier, step: dict, now: datetime) -> datetime | None:
    if step.get("step_days"):
        cal = calendar_for(session, dossier.province_code)
        return cal.due_at(now, "working", step["step_days"])
    if step.get("step_hours"):  # a step deadline in office hours (set in the back office)
        return calendar_for(session, dossier.province_code).add_office_hours(now, step["step_hours"])
    return dossier.due_at


def accept(session: Session, dossier: Dossier, now: datetime) -> None:
    """Reception accepted: the legal period starts now (DOMAIN.md)."""
    v = dossier.version
    dossier.received_at = now
    dossier.legal_due_at = legal_due_at(session, dossier.province_code, now, v.deadline_kind, v.deadline_days)
    dossier.due_at = dossier.legal_due_at
    schedule_reminder(session, dossier)
    session.execute(update(WorkItem).where(WorkItem.dossier_id == dossier.id, WorkItem.state == OPEN,
                                           WorkItem.due_at.is_(None)).values(due_at=dossier.due_at))


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
                 payload={"due_at": dossier.due_at.isoformat()})


def set_status(session: Session, dossier: Dossier, new: int, actor: str, action: str, **kw) -> None:
    old = dossier.status
    if old == new:
        return
    dossier.status = new
    audit.record(session, action, actor, dossier=dossier, from_status=old, to_status=new, **kw)
    outbox.status_changed(session, dossier, old, new)


def save_step(session: Session, dossier: Dossier, run: WorkflowRun, actor: str,
              incident: EngineIncident | None = None) -> None:
    """Persist the workflow, reconcile work items, move 2 -> 4 when processing begins."""
    session.get(DossierState, dossier.id).state = run.dumps()
    if incident is not None:
        dossier.incident, dossier.incident_message = True, incident.message
        audit.record(session, "incident", actor, dossier=dossier, step_id=incident.element_id,
                     note=incident.message)
        outbox.emit(session, dossier, "dossier.incident", {"step_id": incident.element_id})
    created = sync_work_items(session, dossier, run)
    reception_steps = {sid for sid, s in step_model(dossier).items() if s.get("milestone") == "reception"}
    if dossier.status == 2 and any(w.step_id not in reception_steps for w in created):
        set_status(session, dossier, 4, actor, "processing")
    if run.completed and dossier.finished_at is None and dossier.status in (3, 5, 9, 10):
        dossier.finished_at = utcnow()
    dossier.lock_version += 1
    dossier.updated_at = utcnow()
    session.flush()
    jobs.replace_timer(session, dossier.id, dossier.lock_version,
                       None if run.completed else run.next_timer_at())
