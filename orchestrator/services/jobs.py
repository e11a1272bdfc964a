"""The job queue: enqueue in the caller's transaction, claim with a lease, finish or retry.

PostgreSQL: claims use `FOR UPDATE SKIP LOCKED`, and `NOTIFY jobs` (sent at commit) wakes the
workers. SQLite (embedded, one worker): `BEGIN IMMEDIATE` already serialises claims.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, text, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm import Session

from ..models import Job
from ..models.jobs import DEAD, DONE, QUEUED, RUNNING
from ..models.types import utcnow

CHANNEL = "jobs"
WAKE_WINDOW = timedelta(seconds=25)  # below the workers' longest sleep (30 s)
TIMER = "timer"


def _notify(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


def enqueue(session: Session, kind: str, *, run_at: datetime | None = None, dossier_id: int | None = None,
            lock_version: int | None = None, payload: dict | None = None, max_attempts: int = 8,
            fifo_key: str | None = None, flush: bool = True) -> Job:
    """Add a job in the current transaction: it exists if and only if the change that needs it commits.
    Workers are woken (NOTIFY at commit) only for jobs due soon; the others they find when they
    next look at the queue's nearest due time."""
    run_at = run_at or utcnow()
    job = Job(kind=kind, run_at=run_at, dossier_id=dossier_id, lock_version=lock_version,
              payload=payload or {}, state=QUEUED, attempts=0, max_attempts=max_attempts, fifo_key=fifo_key)
    session.add(job)
    if flush:
        session.flush()
    if run_at <= utcnow() + WAKE_WINDOW:
        _notify(session)
    return job


_QUEUED_TIMER = (Job.__table__.c.dossier_id == bindparam("b_dossier")) & (Job.__table__.c.kind == TIMER) \
    & (Job.__table__.c.state == QUEUED)
_MOVE_TIMER = update(Job.__table__).where(_QUEUED_TIMER).values(
    run_at=bindparam("b_run_at"), lock_version=bindparam("b_lock_version"), attempts=0, last_error=None)
_DROP_TIMER = delete(Job.__table__).where(_QUEUED_TIMER)


def replace_timer(session: Session, dossier_id: int, lock_version: int, run_at: datetime | None) -> None:
    """Timer jobs are derived from the workflow at each commit: the queued one moves to the next
    time in place (one UPDATE; a new row only when none is queued), or goes when there is none.
    Core statements on the step's connection: nothing to flush, no ORM object to track."""
    conn = session.connection()
    params = {"b_dossier": dossier_id}
    if run_at is None:
        conn.execute(_DROP_TIMER, params)
        return
    if conn.execute(_MOVE_TIMER, {**params, "b_run_at": run_at, "b_lock_version": lock_version}).rowcount == 0:
        enqueue(session, TIMER, run_at=run_at, dossier_id=dossier_id, lock_version=lock_version, max_attempts=20)
    elif run_at - utcnow() < WAKE_WINDOW:
        _notify(session)


def claim(session: Session, worker: str, lease: timedelta, now: datetime | None = None) -> Job | None:
    """Take the most overdue job (or one whose holder's lease expired) and lease it to `worker`."""
    jobs = claim_many(session, worker, lease, 1, now)
    return jobs[0] if jobs else None


def claim_many(session: Session, worker: str, lease: timedelta, limit: int,
               now: datetime | None = None) -> list[Job]:
    """Lease up to `limit` due jobs, most overdue first, the first in line of each FIFO key only.
    One claim for several jobs when there is a backlog: the worker runs them one by one, each in
    its own transaction that renews its lease first (`renew`)."""
    now = now or utcnow()
    ready = or_(and_(Job.state == QUEUED, Job.run_at <= now), and_(Job.state == RUNNING, Job.lease_until < now))
    earlier = aliased(Job)
    first_in_line = or_(Job.fifo_key.is_(None), ~exists().where(
        earlier.fifo_key == Job.fifo_key, earlier.id < Job.id, earlier.state.in_([QUEUED, RUNNING])))
    query = select(Job).where(ready, first_in_line).order_by(Job.run_at, Job.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    jobs = list(session.scalars(query).all())
    for job in jobs:
        job.state, job.locked_by, job.lease_until = RUNNING, worker, now + lease
        job.attempts += 1
    if jobs:
        session.flush()
    return jobs


def renew(session: Session, job_id: int, worker: str, lease: timedelta) -> Job | None:
    """At the start of a job's own transaction: extend our lease and load the job, locking its row
    until commit (other workers skip locked rows); None when the lease was lost meanwhile."""
    return session.scalars(
        update(Job).where(Job.id == job_id, Job.state == RUNNING, Job.locked_by == worker)
        .values(lease_until=utcnow() + lease).returning(Job)
        .execution_options(populate_existing=True)
    ).first()


def extend(session: Session, job_id: int, worker: str, lease: timedelta) -> bool:
    """Lengthen our lease (before a call outside the transaction), without loading the job again:
    False when it is no longer ours."""
    return session.execute(
        update(Job).where(Job.id == job_id, Job.state == RUNNING, Job.locked_by == worker)
        .values(lease_until=utcnow() + lease).execution_options(synchronize_session=False)
    ).rowcount == 1


def finish(session: Session, job: Job, worker: str) -> bool:
    """Mark our job done; False if it is no longer ours (then the caller rolls back)."""
    result = session.execute(
        update(Job).where(Job.id == job.id, Job.state == RUNNING, Job.locked_by == worker)
        .values(state=DONE, finished_at=utcnow(), lease_until=None).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def backoff(attempts: int) -> timedelta:
    """Exponential with jitter: 2, 4, 8 ... seconds, capped at an hour."""
    return timedelta(seconds=min(3600, 2 ** attempts) * (0.8 + 0.4 * random.random()))


def fail(session: Session, job_id: int, worker: str, error: str) -> None:
    """Record a failure; retry later, or dead-letter after max_attempts."""
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.locked_by != worker or job.state != RUNNING:
        return
    settle_failure(job, error)


def settle_failure(job: Job, error: str) -> bool:
    """A failed attempt of a job we hold: queued again after `backoff`, or dead after its last
    attempt (True). For handlers that record the failure with their own effects (`Outside`)."""
    job.last_error = error[:4000]
    job.lease_until = None
    if job.attempts >= job.max_attempts:
        job.state, job.finished_at = DEAD, utcnow()
        return True
    job.state, job.run_at = QUEUED, utcnow() + backoff(job.attempts)
    return False


@dataclass(frozen=True)
class Outside:
    """What a handler returns to run something slow (an HTTP call) outside any transaction: the
    worker commits the job's lease (extended by `seconds`), runs `call()` with no session open,
    then, in a new transaction where the lease is still ours, `then(session, job, result)`, whose
    effects commit with the job's end. `then` may settle the job itself (`settle_failure`)."""

    call: Callable[[], Any]
    then: Callable[[Session, Job, Any], str]
    seconds: float = 0.0


def next_run_at(session: Session) -> datetime | None:
    """When the next job becomes due (workers sleep until then, or until NOTIFY)."""
    queued = session.scalar(select(func.min(Job.run_at)).where(Job.state == QUEUED))
    leased = session.scalar(select(func.min(Job.lease_until)).where(Job.state == RUNNING))
    candidates = [t for t in (queued, leased) if t is not None]
    return min(candidates) if candidates else None


def retry_dead(session: Session, job_id: int) -> Job | None:
    job = session.get(Job, job_id)
    if job is None or job.state != DEAD:
        return None
    job.state, job.run_at, job.attempts, job.finished_at = QUEUED, utcnow(), 0, None
    _notify(session)
    return job


def purge_done(session: Session, older_than: timedelta) -> int:
    result = session.execute(delete(Job).where(Job.state == DONE, Job.finished_at < utcnow() - older_than))
    return result.rowcount or 0


def expire_now(session: Session, job_id: int) -> None:
    """For tests and operators: make a leased job's lease expire at once."""
    session.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
