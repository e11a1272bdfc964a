"""What the worker does for each kind of job: fire timers, send deadline reminders, open scheduled dossiers."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from ..engine.schedule import next_tick, tick_at
from ..models import Job, Notification, ProcedureVersion, ScheduledStart, Unit, WorkItem
from ..models.dossiers import FINAL_STATUSES
from ..models.types import utcnow
from ..settings import Settings
from ..timezone import TZ
from . import (
    audit,
    connector_calls,
    dossiers,
    jobs,
    messages,
    notifications,
    officer_digest,
    outbox,
    procedures,
    schedules,
    stat_days,
    steps,
)
from .auth import Actor
from .dossiers import current_tasks

SYSTEM_TIMER = "system:timer"


def fire_timer(session: Session, job: Job) -> str:
    """Fire the dossier's due timers, if the job still matches the dossier's state."""
    step = steps.Step.lock(session, job.dossier_id, SYSTEM_TIMER)
    dossier = step.dossier
    if dossier.lock_version != job.lock_version or dossier.status in FINAL_STATUSES:
        return "stale"
    fired = step.engine(lambda run: run.fire_timers())
    if step.incident is not None:
        fired = [step.incident.element_id or "?"]
    if not fired:  # not due yet by the engine's clock (a job taken early, clocks apart): wait again
        due = step.run.next_timer_at()
        if due is not None:
            jobs.replace_timer(session, dossier.id, dossier.lock_version, max(due, utcnow() + timedelta(seconds=1)))
        return "early"
    for element_id in fired:
        audit.record(session, "timer", SYSTEM_TIMER, dossier=dossier, step_id=element_id,
                     data={"job": job.id})
    step.save()
    return "fired"


def send_reminder(session: Session, job: Job) -> str:
    """Tell whoever holds the dossier's open steps, and their unit leaders, that it is due tomorrow."""
    dossier = steps.Step.lock(session, job.dossier_id, "system:reminder").dossier
    if dossier.status in FINAL_STATUSES or dossier.finished_at is not None:
        return "finished"
    if dossier.due_at is None or dossier.due_at != datetime.fromisoformat(job.payload.get("due_at", "")):
        return "stale"  # the due date moved (apology, supplement): a new reminder was scheduled
    items = current_tasks(session, dossier)
    users: set[int] = set()
    for item in items:
        users |= _holders_and_leaders(session, item)
    due = dossier.due_at.astimezone(TZ).strftime("%H:%M %d/%m/%Y")
    names = ", ".join(dict.fromkeys(f"«{item.step_name}»" for item in items))
    notifications.notify(session, users, "due_soon", dossier,
                         f"Hồ sơ {dossier.code} đến hạn lúc {due}" + (f" (bước {names})." if names else "."))
    audit.record(session, "reminder", "system:reminder", dossier=dossier, note=f"{len(users)} người nhận")
    steps.schedule_overdue(session, dossier, dossier.due_at)  # and again when the date passes
    return "sent"


def _holders_and_leaders(session: Session, item: WorkItem) -> set[int]:
    """Who hears of a step's deadline: its holder (else its role holders in the unit) and the unit's leaders."""
    return notifications.holders(session, item) | set(notifications.role_holders(session, item.unit_code, "leader"))


def send_overdue(session: Session, job: Job) -> str:
    """A step's due date has passed (`steps.schedule_overdue`): its holders and their leaders are told,
    once per step and due date (a job run again, or queued twice for the same date, adds nothing)."""
    dossier = steps.Step.lock(session, job.dossier_id, "system:reminder").dossier
    if dossier.status in FINAL_STATUSES or dossier.finished_at is not None:
        return "finished"
    due_at = datetime.fromisoformat(job.payload.get("due_at", ""))
    if due_at > utcnow():  # taken before its time (clocks apart): wait again
        jobs.enqueue(session, "overdue", run_at=due_at, dossier_id=dossier.id, payload=dict(job.payload))
        return "early"
    task_id = job.payload.get("task_id")
    items = [i for i in current_tasks(session, dossier)
             if i.due_at == due_at and (task_id is None or i.id == task_id)]
    if not items:
        return "stale"  # done in time, or the due date moved (a new job was queued)
    due = due_at.astimezone(TZ).strftime("%H:%M %d/%m/%Y")
    told = 0
    for item in items:
        message = f"Bước «{item.step_name}» của hồ sơ {dossier.code} đã quá hạn ({due})."
        if session.scalar(select(Notification.id).where(Notification.dossier_id == dossier.id,
                                                        Notification.kind == "overdue",
                                                        Notification.message == message).limit(1)):
            continue
        users = _holders_and_leaders(session, item)
        notifications.notify(session, users, "overdue", dossier, message)
        told += len(users)
    if not told:
        return "already sent"
    audit.record(session, "reminder", "system:reminder", dossier=dossier, note=f"quá hạn: {told} người nhận")
    return "sent"


SCHEDULE_ACTOR = Actor(kind="system", name=schedules.SYSTEM_SCHEDULE)


def open_scheduled(session: Session, job: Job) -> str:
    """A tick of a scheduled version: one dossier per receiving unit, each through
    `dossiers.start` with the unit as applicant, unless this (version, tick, unit) already has one
    (a job run twice, a crash after some units); then the next tick is queued, all in this
    transaction. A version no longer in force opens nothing (a newer one or a rollback took over)."""
    version = session.scalar(select(ProcedureVersion).where(ProcedureVersion.id == job.payload.get("version_id"))
                             .options(lazyload(ProcedureVersion.procedure)).with_for_update())  # one tick at a time
    if not schedules.running(session, version):
        return "stopped"
    plan, tick = schedules.plan_of(version), int(job.payload.get("tick", -1))
    due = tick_at(plan, version.published_at, tick) if plan else None
    if due is None:
        return "over"
    latest = next_tick(plan, version.published_at, utcnow(), tick - 1)
    if latest is not None and latest[0] > tick:  # after downtime: the latest tick due, once
        tick, due = latest
    if due > utcnow():  # taken before its time: wait again
        jobs.enqueue(session, schedules.KIND, run_at=due, payload=dict(job.payload),
                     fifo_key=job.fifo_key, max_attempts=job.max_attempts)
        return "early"
    done = set(session.scalars(select(ScheduledStart.unit_code).where(
        ScheduledStart.version_id == version.id, ScheduledStart.tick == tick)).all())
    opened = 0
    for code in (version.schedule or {}).get("units") or []:
        unit = session.get(Unit, code)
        if code in done or unit is None:
            continue
        if getattr(procedures.in_force(session, version.procedure_code, unit.province_code), "id", None) != version.id:
            continue  # the province's own version is in force there
        step = dossiers.start(session, SCHEDULE_ACTOR, procedure_code=version.procedure_code,
                              province_code=unit.province_code, commune_code=unit.code, channel=dossiers.SCHEDULED,
                              applicant={"full_name": unit.name}, data={}, received_by_unit=unit.code,
                              timer_start=plan["element_id"], note=schedules.describe_tick(plan, tick, due))
        session.add(ScheduledStart(version_id=version.id, tick=tick, unit_code=unit.code,
                                   dossier_id=step.dossier.id, due_at=due))
        session.flush()
        opened += 1
    schedules.queue_next(session, version, after=tick)
    return f"opened {opened}"


def handlers(settings: Settings) -> dict:
    """What runs each kind of job: `handler(session, job)`, the deliveries with the deployment's
    settings (built once by the worker from the app's configuration)."""
    return {"timer": fire_timer, "reminder": send_reminder, "overdue": send_overdue, schedules.KIND: open_scheduled,
            stat_days.KIND: stat_days.run_fold,
            officer_digest.KIND: officer_digest.run,
            outbox.WEBHOOK: partial(outbox.deliver_webhook, settings=settings),
            outbox.PORTAL_SYNC: partial(outbox.deliver_portal, settings=settings),
            connector_calls.KIND: partial(connector_calls.call_connector, settings=settings),
            messages.KIND: partial(messages.send, settings=settings)}
