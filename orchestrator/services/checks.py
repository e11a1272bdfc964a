"""Invariants of the stored data, checked without changing anything (`flask check`, /readyz)."""
from __future__ import annotations

from datetime import timedelta

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.config import Config
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from werkzeug.security import check_password_hash

from ..models import Dossier, DossierCounter, DossierState, Job, User, WorkItem
from ..models.dossiers import FINAL_STATUSES, OPEN
from ..models.jobs import QUEUED, RUNNING
from ..models.types import utcnow
from ..engine.service_tasks import waiting_calls
from . import connectors, steps

LEASE_GRACE = timedelta(seconds=5)


def schema_is_current(session: Session, migrations_dir: str) -> bool:
    config = Config()
    config.set_main_option("script_location", migrations_dir)
    heads = set(ScriptDirectory.from_config(config).get_heads())
    current = set(MigrationContext.configure(session.connection()).get_current_heads())
    return current == heads


_DEMO_VERDICTS: dict[tuple[int, str, str], bool] = {}  # (user, hash, password): a hash is checked once


def demo_accounts_on_default_password(session: Session, password: str) -> list[str]:
    """Usernames of the active demo accounts (`User.demo`, made by `flask load-examples`) whose
    password is still `password` (DEMO_PASSWORD). Each stored hash is verified once per process."""
    found = []
    for user_id, username, password_hash in session.execute(
            select(User.id, User.username, User.password_hash)
            .where(User.demo.is_(True), User.active.is_(True)).order_by(User.username)).all():
        key = (user_id, password_hash, password)
        if key not in _DEMO_VERDICTS:
            _DEMO_VERDICTS[key] = check_password_hash(password_hash, password)
        if _DEMO_VERDICTS[key]:
            found.append(username)
    return found


def check_dossier(session: Session, dossier: Dossier) -> list[str]:
    problems = []
    state = session.get(DossierState, dossier.id)
    if state is None:
        return [f"{dossier.code}: no workflow state"]
    run = steps.workflow_of(dossier, state)
    ready = {t.id for t in run.ready_human_tasks()}
    open_items = set(session.scalars(select(WorkItem.id).where(WorkItem.dossier_id == dossier.id,
                                                               WorkItem.state == OPEN)).all())
    if ready != open_items:
        problems.append(f"{dossier.code}: open work items {sorted(open_items)} != ready tasks {sorted(ready)}")
    timers = session.scalars(select(Job).where(Job.dossier_id == dossier.id, Job.kind == "timer",
                                               Job.state.in_([QUEUED, RUNNING]))).all()
    due = None if run.completed else run.next_timer_at()
    if due is not None and not any(j.lock_version == dossier.lock_version for j in timers):
        problems.append(f"{dossier.code}: waits on a timer due {due.isoformat()} but no current timer job")
    if due is None and any(j.state == QUEUED for j in timers):
        problems.append(f"{dossier.code}: queued timer job but the workflow waits on no timer")
    calls = waiting_calls(run)
    if calls:  # a service task waits: its call is queued or running, else nothing would ever answer it
        pending = {j.payload.get("task_id") for j in session.scalars(select(Job).where(
            Job.dossier_id == dossier.id, Job.kind == connectors.KIND, Job.state.in_([QUEUED, RUNNING])))}
        problems += [f"{dossier.code}: waits on {c.element_id} ({c.connector}) but no connector call is queued"
                     for c in calls if c.task_id not in pending]
    if run.has_errors() and not dossier.incident:
        problems.append(f"{dossier.code}: failed engine task without the incident flag")
    if run.completed and not steps.waits_for_reception_supplement(dossier):
        problems.append(f"{dossier.code}: workflow complete but the dossier is open (status {dossier.status})")
    return problems


def check_all(session: Session) -> list[str]:
    problems: list[str] = []
    running = session.scalars(select(Dossier).where(Dossier.status.not_in(FINAL_STATUSES),
                                                    Dossier.finished_at.is_(None)).order_by(Dossier.id)).all()
    for dossier in running:
        problems += check_dossier(session, dossier)
    stray = session.execute(select(Dossier.code, WorkItem.id).join(WorkItem, WorkItem.dossier_id == Dossier.id)
                            .where(WorkItem.state == OPEN, (Dossier.finished_at.is_not(None))
                                   | Dossier.status.in_(FINAL_STATUSES)).order_by(Dossier.id)).all()
    problems += [f"{code}: finished but step {item_id} is still open" for code, item_id in stray]
    stuck = session.scalars(select(Job).where(Job.state == RUNNING, Job.lease_until < utcnow() - LEASE_GRACE)).all()
    problems += [f"job {j.id} ({j.kind}) leased to {j.locked_by} past its expiry {j.lease_until.isoformat()}"
                 for j in stuck]
    for counter in session.scalars(select(DossierCounter)).all():
        prefix = f"{counter.unit_code}-{counter.day}-"
        count, highest = session.execute(select(func.count(), func.max(Dossier.code))
                                         .where(Dossier.code.like(prefix + "%"))).one()
        number = int(highest.rsplit("-", 1)[1]) if highest else 0
        if count != counter.value or number != counter.value:
            problems.append(f"counter {prefix}: value {counter.value}, {count} dossiers, highest {number}")
    return problems
