"""One step of one dossier (`Step`): lock, restore, act, route, save; and its status (`set_status`).

Every change to a running dossier goes through a `Step` (the lock, then `save`), so the state,
lock_version, work items, participants and audit events change together; every status change
goes through `set_status`, which allows only the moves of `models.dossiers.TRANSITIONS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Callable, TypeVar

from sqlalchemy import bindparam, func, inspect, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..engine import OUTCOMES, EngineIncident, StateTooLarge, WorkflowRun, bundle_for
from ..models import Dossier, DossierParticipant, DossierState, WorkItem
from ..models.dossiers import CANCELLED, COMPLETED, FINAL_STATUSES, OPEN, TRANSITIONS, DossierStatus
from ..models.types import utcnow
from ..timezone import TZ
from . import audit, citizen_notices, connectors, jobs, outbox, pauses, periods, versions
from .deadlines import calendar_for, legal_due_at
from ..i18n import vi
from .errors import NotFound, Rejected
from .routing import ITEM, Route, Unresolvable, resolve

T = TypeVar("T")


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
_BY_CODE = select(Dossier).where(Dossier.code == bindparam("code"))  # unlocked: permissions are checked first
_OPEN_ITEMS = (select(WorkItem).where(WorkItem.dossier_id == bindparam("dossier_id"), WorkItem.state == OPEN)
               .execution_options(populate_existing=True))
_OPEN_ITEMS_AND = (select(WorkItem).where(WorkItem.dossier_id == bindparam("dossier_id"),
                                          or_(WorkItem.state == OPEN, WorkItem.id == bindparam("also")))
                   .execution_options(populate_existing=True))


_SAVE_STATE = (update(DossierState.__table__).where(DossierState.__table__.c.dossier_id == bindparam("b_dossier"))
               .values(state=bindparam("b_state")))
_ADD_PARTICIPANTS = {True: pg_insert(DossierParticipant).on_conflict_do_nothing(),
                     False: sqlite_insert(DossierParticipant).on_conflict_do_nothing()}


class StatusError(RuntimeError):
    """A status change that `TRANSITIONS` does not list: a bug, never the caller's fault (500)."""


@dataclass(eq=False)
class Step:
    """One step of one dossier: from the lock to `save`, in the caller's transaction (the view or
    the job commits; the step never does).

    It holds what the step knows, so nothing is read twice and nothing rides on the rows: the
    dossier and its workflow state locked together (`lock`, `lock_for_task`, `lock_code`), the
    units already taking part, the open work items read under the lock (`read_open_items`), the
    workflow (`run`, restored on first use, with the timer it waited for then), what the engine
    raised (`engine` turns an `EngineIncident` into the step's incident), and the work items
    created during the step. `set_status` moves the status; `save` stores the workflow,
    reconciles the work items, records the incident, ends the dossier when its workflow ended,
    adds the new participants and re-derives the timer job, and returns the open items."""

    session: Session
    dossier: Dossier
    actor: str                               # who acts, as the history names it (a user, `system:timer`, ...)
    state_row: DossierState                  # kept: the session's identity map holds rows only weakly
    participants: set[str] = field(default_factory=set)  # units taking part, as known to this step
    finished: bool = False                   # the dossier was finished when locked: its end is not recorded again
    open_items: list[WorkItem] | None = None  # read under the lock, then as `save` leaves them
    created: list[WorkItem] = field(default_factory=list)  # work items opened by this step
    incidents: list[EngineIncident] = field(default_factory=list)  # engine failures, recorded by `save`
    saved: bool = False                      # `save` ran: `open_items` are the items open after the step
    _run: WorkflowRun | None = field(default=None, repr=False)
    _timer_before: datetime | None = None    # the timer the workflow waited for before the step

    # -- the lock ----------------------------------------------------------------------------

    @classmethod
    def lock(cls, session: Session, dossier_id: int, actor: str) -> Step:
        """The dossier locked until commit (FOR UPDATE on PostgreSQL; SQLite holds the write lock)."""
        step = cls._locked(session, actor, _LOCK_BY_ID, dossier_id=dossier_id)
        if step is None:
            raise NotFound(vi("Không tìm thấy hồ sơ."))
        return step

    @classmethod
    def lock_for_task(cls, session: Session, task_id: str, actor: str) -> Step | None:
        """Lock the dossier a work item belongs to, in one statement (before reading the item, so
        what is read next is what the previous step committed); None when there is no such item."""
        return cls._locked(session, actor, _LOCK_BY_TASK, task_id=task_id)

    @classmethod
    def lock_code(cls, session: Session, code: str, actor: str,
                  check: Callable[[Dossier], None] | None = None) -> Step:
        """The dossier of this code (404), `check`ed before it is locked (the permission rules:
        whoever may not act never waits for, nor holds, the lock)."""
        dossier = session.scalar(_BY_CODE, {"code": code}) if isinstance(code, str) else None
        if dossier is None:
            raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=code))
        if check is not None:
            check(dossier)
        return cls.lock(session, dossier.id, actor)

    @classmethod
    def _locked(cls, session: Session, actor: str, statement, **params) -> Step | None:
        """Lock the dossier and its workflow state together and read both, in one round trip. Both
        rows are locked: PostgreSQL then reads the latest committed version of each once the lock
        is granted (a row only joined, not locked, would come from the snapshot taken before
        waiting). The units already taking part come along: `save` adds only new ones."""
        row = session.execute(statement, params).first()
        if row is None:
            return None
        dossier, state_row, units = row
        return cls(session, dossier, actor, state_row, set(units.split(",")) if units else set(),
                   finished=dossier.finished_at is not None)

    @classmethod
    def start(cls, session: Session, dossier: Dossier, data: dict, actor: str, participants: set[str],
              timer_start: str | None = None) -> Step:
        """The first step of a dossier just added (flushed): the units taking part from the start,
        its state row, its workflow started with `data`. No timer job to replace, no item yet."""
        step = cls(session, dossier, actor, DossierState(dossier_id=dossier.id, state=""), open_items=[])
        step.add_participants(participants)
        session.add(step.state_row)  # after the participants' INSERT: the row is written once, with its state
        try:
            step._run = WorkflowRun.start(bundle_of(dossier), data, timer_start=timer_start)
        except EngineIncident as exc:
            step._run = exc.run
            step.incidents.append(exc)
        return step

    # -- what the step reads -------------------------------------------------------------------

    @property
    def run(self) -> WorkflowRun:
        """The workflow as read with the lock, restored on first use (with the cached spec)."""
        if self._run is None:
            self._run = workflow_of(self.dossier, self.state_row)
            self._timer_before = self._run.next_timer_at()
        return self._run

    @property
    def incident(self) -> EngineIncident | None:
        """The engine's last failure in this step, if any."""
        return self.incidents[-1] if self.incidents else None

    def read_open_items(self, also: str | None = None) -> list[WorkItem]:
        """The dossier's open work items (and one more by id, open or not), in one query; `save`
        reconciles these without reading them again."""
        if also is None:
            items = self.session.scalars(_OPEN_ITEMS, {"dossier_id": self.dossier.id}).all()
        else:
            items = self.session.scalars(_OPEN_ITEMS_AND, {"dossier_id": self.dossier.id, "also": also}).all()
        self.open_items = list(items)
        return self.open_items

    # -- what the step does --------------------------------------------------------------------

    def engine(self, action: Callable[[WorkflowRun], T]) -> T | None:
        """Run `action` on the workflow. An engine failure becomes the step's incident (the state
        is saved with the failed task in error), never a 500; `TaskNotReady` goes to the caller."""
        try:
            return action(self.run)
        except EngineIncident as exc:
            self.incidents.append(exc)
            return None

    def set_status(self, new: DossierStatus, **kw) -> None:
        set_status(self.session, self.dossier, new, self.actor, **kw)

    def touch(self) -> None:
        """A change to the dossier: `lock_version` moves (timer jobs and forms opened before are stale)."""
        self.dossier.lock_version += 1
        self.dossier.updated_at = utcnow()

    def add_participants(self, unit_codes: set[str]) -> None:
        """Units that now take part (who may see the dossier); only those not known yet are written."""
        unit_codes = unit_codes - self.participants
        if not unit_codes:
            return
        self.participants |= unit_codes
        rows = [{"dossier_id": self.dossier.id, "unit_code": u} for u in sorted(unit_codes)]
        self.session.execute(_ADD_PARTICIPANTS[self.session.get_bind().dialect.name == "postgresql"], rows)

    def open_steps(self) -> list[WorkItem]:
        """Open the work items of the tasks ready now, before `save` (an in-person start completes
        its reception step in the same step); returns the open items."""
        with self.session.no_autoflush:
            items = self.read_open_items() if self.open_items is None else self.open_items
            created, self.open_items = sync_work_items(self.session, self.dossier, self.run, items)
        self.created += created
        return self.open_items

    def save(self) -> list[WorkItem]:
        """Persist the workflow, reconcile work items, move 2 -> 4 when processing begins, finish
        the dossier when its workflow ended (a finished dossier has no open step: what still runs
        is cancelled). The dossier's own columns change first, so they reach the database in one
        UPDATE. Returns the dossier's open work items after the step (what an answer shows without
        a query)."""
        session, dossier, run = self.session, self.dossier, self.run
        self.touch()
        final = self._final_status()  # before dumps: compaction drops the end events reached
        if final is not None and not run.completed:
            run.cancel()
        connectors.enqueue_started(session, dossier, run)  # service tasks reached: their calls, as jobs
        try:
            self._store_state(run.dumps())
        except StateTooLarge as exc:  # nothing stored: the caller's transaction rolls back
            raise Rejected(vi("Bước này sẽ làm dữ liệu hồ sơ vượt quá giới hạn lưu trữ (%(detail)s); không có gì "
                              "được lưu: hãy bớt dữ liệu hoặc tệp nhúng trong biểu mẫu.", detail=exc.message),
                           code="state_too_large") from None
        for incident in self.incidents:
            self._record_incident(incident)
        for thrown in run.thrown_events():  # messages, signals, escalations thrown in the dossier
            audit.record(session, "event_thrown" if thrown["caught"] else "event_not_caught", self.actor,
                         dossier=dossier, step_id=thrown["element_id"], note=thrown["name"] or None,
                         data={"kind": thrown["kind"]})
        with session.no_autoflush:  # one flush at the end: one UPDATE per row, INSERTs batched per table
            items = self.read_open_items() if self.open_items is None else self.open_items
            unroutable: list[EngineIncident] = []
            was_open = [w for w in items if w.state == OPEN]
            created, self.open_items = sync_work_items(session, dossier, run, items, unroutable)
            self.created += created
            if final is None:  # withdrawn by the engine while the dossier goes on (an interrupting event)
                for item in was_open:
                    if item.state == CANCELLED:
                        audit.record(session, "step_cancelled", self.actor, dossier=dossier, task_id=item.id,
                                     step_id=item.step_id, unit_code=item.unit_code)
            for incident in unroutable:  # an instance routed to no unit: the technician's work, not a 500
                self.incidents.append(incident)
                self._record_incident(incident)
            reception_steps = {sid for sid, s in step_model(dossier).items() if s.get("milestone") == "reception"}
            if dossier.status == DossierStatus.RECEIVED and any(w.step_id not in reception_steps for w in self.created):
                self.set_status(DossierStatus.PROCESSING)
            if final is not None:
                self.set_status(final, ended=True,
                                note=dossier.data.get("delivery_method") if final == DossierStatus.RETURNED else None)
        session.flush()
        rules = versions.of(dossier).deadline_rules  # waits the period does not count (issue 18)
        if rules and rules.get("not_counted") and periods.track_waits(session, dossier, rules, run.waiting_at(),
                                                                       self.actor):
            schedule_reminder(session, dossier)
        self.add_participants({w.unit_code for w in self.created})
        # No timer job for a dossier in incident: a timer that failed (a cycle that would spin) would
        # be taken again at once, for ever; the technician's retry schedules it again.
        timer_at = None if run.completed or self.incidents else run.next_timer_at()
        if timer_at is not None or self._timer_before is not None:
            jobs.replace_timer(session, dossier.id, dossier.lock_version, timer_at)
        self.saved = True
        return self.open_items

    def _store_state(self, state: str) -> None:
        """The workflow's state, written at once with one UPDATE (the row is locked) and kept as the
        loaded value: the flush has nothing to compare or write for it. A new dossier's row is added."""
        if inspect(self.state_row).persistent:
            self.session.connection().execute(_SAVE_STATE, {"b_dossier": self.dossier.id, "b_state": state})
            set_committed_value(self.state_row, "state", state)
        else:
            self.state_row.state = state

    def _record_incident(self, incident: EngineIncident) -> None:
        dossier = self.dossier
        dossier.incident, dossier.incident_message = True, incident.message
        audit.record(self.session, "incident", self.actor, dossier=dossier, step_id=incident.element_id,
                     note=incident.message)
        outbox.emit(self.session, dossier, "dossier.incident", {"step_id": incident.element_id})

    def _final_status(self) -> DossierStatus | None:
        """The status the dossier ends with after this step, or None while it goes on. Refused at
        reception ends it whatever the diagram does next. A workflow that reached its end ends it:
        with the status its end event's `outcome` names; decided (9) when a decision was made and
        no return step ran (the result waits for `return-result`); else returned (10). A return
        step counts only when the workflow really ends, so one drawn inside a sub-process or beside
        other open steps cannot end the dossier early."""
        dossier, run = self.dossier, self.run
        if self.finished:
            return None
        if dossier.status == DossierStatus.REFUSED:
            return DossierStatus.REFUSED
        if not run.completed or waits_for_reception_supplement(dossier):
            return None
        if dossier.status in FINAL_STATUSES:
            return DossierStatus(dossier.status)
        outcomes = versions.of(dossier).model.get("end_outcomes") or {}
        reached = [outcomes[end] for end in run.ended_at() if end in outcomes]
        if reached:
            return DossierStatus(OUTCOMES[reached[0]])
        if dossier.status == DossierStatus.DECIDED:
            returns = [sid for sid, s in step_model(dossier).items() if s.get("milestone") == "return"]
            returned = returns and self.session.scalar(select(func.count()).select_from(WorkItem).where(
                WorkItem.dossier_id == dossier.id, WorkItem.state == COMPLETED, WorkItem.step_id.in_(returns)))
            return DossierStatus.RETURNED if returned else DossierStatus.DECIDED
        return DossierStatus.RETURNED


def bundle_of(dossier: Dossier):
    v = versions.of(dossier)
    return bundle_for(v.id, v.xml, v.dialect, v.process_id, v.called, v.decisions)


def workflow_of(dossier: Dossier, state: DossierState) -> WorkflowRun:
    """A dossier's workflow from its stored state, with the cached spec (to read it; a step
    restores it through `Step.run`)."""
    return WorkflowRun.restore(bundle_of(dossier), state.state)


def step_model(dossier: Dossier) -> dict[str, dict]:
    return versions.of(dossier).steps


def routes_for(session: Session, dossier: Dossier) -> dict[str, Route]:
    """Human step id -> unit and role for this dossier (raises Unresolvable)."""
    v = versions.runtime(session, dossier.procedure_version_id)
    by_path: dict[str, Route] = {}
    for path in {p for p in v.step_paths.values() if p and ITEM not in p}:  # `{item}`: per instance
        by_path[path] = resolve(session, path, dossier.province_code, dossier.commune_code, dossier.received_by_unit)
    return {step_id: by_path[path] for step_id, path in v.step_paths.items() if path in by_path}


def _instance_route(session: Session, dossier: Dossier, task, routes: dict[str, Route]) -> Route:
    """The route of a ready task: its step's, or for a path with `{item}` (an instance of a
    multi-instance) the path with the instance's input item in it (raises Unresolvable)."""
    if task.step_id in routes:
        return routes[task.step_id]
    path = versions.runtime(session, dossier.procedure_version_id).step_paths.get(task.step_id) or ""
    if ITEM not in path:
        raise Unresolvable(task.step_id, "bước chưa có tuyến")
    if not isinstance(task.item, (str, int)) or isinstance(task.item, bool):
        raise Unresolvable(path, f"thể hiện không có mã đơn vị cho {ITEM} (giá trị {task.item!r})")
    concrete = path.replace(ITEM, str(task.item))
    try:
        return resolve(session, concrete, dossier.province_code, dossier.commune_code, dossier.received_by_unit)
    except Unresolvable as exc:
        raise Unresolvable(concrete, f"không có đơn vị '{task.item}': {exc.reason}") from None


def sync_work_items(session: Session, dossier: Dossier, run: WorkflowRun, open_items: list[WorkItem],
                    unroutable: list[EngineIncident] | None = None) -> tuple[list[WorkItem], list[WorkItem]]:
    """Make the open work items match the engine's ready human tasks, in place (stable ids).
    `open_items`: the items as the step read them under the lock (`Step.read_open_items`).
    A ready instance whose `{item}` names no unit gets no item: an incident naming it goes to
    `unroutable`. Returns (created, all open after the step) in the order `dossiers.current_tasks`
    reads them."""
    steps = step_model(dossier)
    ready = {t.id: t for t in run.ready_human_tasks()}
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
        try:
            route = _instance_route(session, dossier, task, routes)
        except Unresolvable as exc:
            if unroutable is not None:
                unroutable.append(EngineIncident(f"{task.step_id}: không định tuyến được '{exc.path}': {exc.reason}",
                                                 task.step_id))
            continue
        step = steps.get(task.step_id, {})
        item = WorkItem(
            id=task_id, dossier_id=dossier.id, dossier=dossier, step_id=task.step_id, step_name=task.name,
            lane=task.lane, unit_code=route.unit_code, role=route.role, form_key=step.get("form_key"),
            state=OPEN, due_at=_step_due(session, dossier, step, now), created_at=now,
        )
        session.add(item)
        created.append(item)
        if item.due_at is not None and item.due_at != dossier.due_at:  # a step deadline of its own
            schedule_overdue(session, dossier, item.due_at, item.id)
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
    """Reception accepted: the legal period starts now (docs/domain.md)."""
    v = versions.runtime(session, dossier.procedure_version_id)
    dossier.received_at = now
    dossier.legal_due_at = legal_due_at(session, dossier.province_code, now, *periods.legal_period(session, dossier, v))
    dossier.due_at = dossier.legal_due_at
    schedule_reminder(session, dossier)
    citizen_notices.received(session, dossier)  # the citizen's consent decides (issue 24)


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


def schedule_overdue(session: Session, dossier: Dossier, due_at: datetime, task_id: str | None = None) -> None:
    """At the due time, the holders of the steps still open with that due date (or of this step)
    and their leaders are told it has passed (`scheduled.send_overdue`). The dossier's own due date
    is queued by its due-soon reminder when it runs (no extra job on the step's path); a step with a
    deadline of its own, when it opens."""
    payload = {"due_at": due_at.isoformat(), **({"task_id": task_id} if task_id else {})}
    jobs.enqueue(session, "overdue", run_at=max(due_at, utcnow()), dossier_id=dossier.id, payload=payload, flush=False)


def set_status(session: Session, dossier: Dossier, new: DossierStatus, actor: str, *, ended: bool = False,
               **kw) -> None:
    """The one way a dossier's status changes: only as `TRANSITIONS` allows (anything else raises
    `StatusError`), recorded in the history under the action the table names, with the webhooks
    and the portal record it queues. `finished_at` follows: a final status sets it, and so does
    `ended` (the workflow is over: a decided dossier stays 9, finished, until its result is
    returned); any other status clears it. `kw`: the audit event's details (step_id, note, data)."""
    old, new = DossierStatus(dossier.status), DossierStatus(new)
    finished = ended or new in FINAL_STATUSES
    if old == new:
        if finished and dossier.finished_at is None:
            dossier.finished_at = utcnow()
        return
    action = TRANSITIONS[old].get(new)
    if action is None:
        raise StatusError(f"Dossier {dossier.code}: no transition from {old.name} ({old:d}) to {new.name} ({new:d}).")
    dossier.status = new
    audit.record(session, action, actor, dossier=dossier, from_status=int(old), to_status=int(new), **kw)
    if finished:
        dossier.finished_at = utcnow()
    elif dossier.finished_at is not None:
        dossier.finished_at = None
    outbox.status_changed(session, dossier, int(old), int(new))  # the snapshot as of the change: finished_at set
    citizen_notices.status_changed(session, dossier, new, kw.get("note"))  # to the citizen, if they chose


def waits_for_reception_supplement(dossier: Dossier) -> bool:
    """Status 5 at the reception stage: the workflow may have ended (the shipped diagrams end
    there), the dossier still waits for the citizen's papers."""
    entry = pauses.current(dossier)
    return (dossier.status == DossierStatus.SUPPLEMENT_REQUESTED and entry is not None
            and entry.get("stage") == pauses.RECEPTION)
