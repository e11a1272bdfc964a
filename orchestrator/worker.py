"""The background worker: takes due jobs from the `job` table and runs their handlers.

Several workers may run against one PostgreSQL; each job is leased to one of them (a few at a
time when there is a backlog, each lease renewed as its job starts), a lease held by a dead
worker expires and the job is taken again, and a handler's effects commit together with the
job's completion (so a timer fires once); a handler with slow outside work (a connector's HTTP
call) returns `jobs.Outside`, and the call runs between two transactions, no lock held. Workers
sleep until the nearest due job or until `NOTIFY jobs`; on SQLite they poll briefly instead.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from flask import Flask

from .extensions import db
from .models.jobs import RUNNING
from .models.types import utcnow
from .services import jobs as queue
from .services import scheduled
from .settings import Settings

log = logging.getLogger("orchestrator.worker")


class Worker:
    def __init__(self, app: Flask, name: str | None = None, lease: timedelta = timedelta(seconds=60),
                 max_sleep: float = 30.0, handlers: dict | None = None, batch: int = 4):
        self.app = app
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10000}"
        self.lease = lease
        self.max_sleep = max_sleep
        self.settings = Settings.from_config(app.config)  # once: what the delivery handlers need
        self.handlers = handlers or scheduled.handlers(self.settings)
        self.batch = batch
        self.stop = threading.Event()
        self.processed = 0
        self._listener = None

    # Jobs ---------------------------------------------------------------------------------
    def start_periodic(self) -> None:
        """Queue the periodic jobs that keep themselves going (the statistics' daily aggregates, the
        officers' daily email digest)."""
        from .services import officer_digest, stat_days

        with self.app.app_context():
            try:
                stat_days.ensure_job(db.session)
                officer_digest.ensure_job(db.session)
                db.session.commit()
            except Exception:  # noqa: BLE001 - the next worker start queues it
                db.session.rollback()
                log.exception("could not queue the periodic jobs")
            finally:
                db.session.remove()

    def run_once(self) -> int:
        """Claim up to `batch` due jobs and run them, each in its own transaction; how many were
        claimed (0: nothing is due)."""
        with self.app.app_context():
            session = db.session
            try:
                claimed = [(job.id, job.kind) for job in queue.claim_many(session, self.name, self.lease, self.batch)]
                session.commit()
            except Exception:  # noqa: BLE001 - a locked database or a lost connection: try again later
                session.rollback()
                log.exception("claim failed")
                return 0
            finally:
                session.remove()
            for job_id, kind in claimed:
                self._run(job_id, kind)
            return len(claimed)

    def _run(self, job_id: int, kind: str) -> None:
        session = db.session
        started = time.monotonic()
        try:
            job = queue.renew(session, job_id, self.name, self.lease)
            if job is None:
                session.rollback()
                log.warning("lease lost", extra={"job": job_id, "kind": kind})
                return
            handler = self.handlers.get(kind)
            if handler is None:
                raise LookupError(f"no handler for job kind {kind!r}")
            outcome = handler(session, job)
            if isinstance(outcome, queue.Outside):
                job, outcome = self._outside(session, job_id, outcome)
                if job is None:
                    session.rollback()
                    log.warning("lease lost", extra={"job": job_id, "kind": kind})
                    return
            if job.state == RUNNING and not queue.finish(session, job, self.name):
                session.rollback()
                log.warning("lease lost", extra={"job": job_id, "kind": kind})
                return
            session.commit()
            self.processed += 1
            log.info("job done", extra={"job": job_id, "kind": kind, "outcome": outcome,
                                        "ms": round((time.monotonic() - started) * 1000, 1)})
        except Exception as exc:  # noqa: BLE001 - any handler failure is retried, never fatal
            session.rollback()
            log.warning("job failed", extra={"job": job_id, "kind": kind, "error": repr(exc)})
            try:
                queue.fail(session, job_id, self.name, f"{exc.__class__.__name__}: {exc}")
                session.commit()
            except Exception:  # noqa: BLE001
                session.rollback()
                log.exception("could not record the failure of job %s", job_id)
        finally:
            session.remove()

    def _outside(self, session, job_id: int, outside: queue.Outside):
        """Commit the lease (long enough for the call), run the call with no transaction open, then
        take the job again in a new transaction: (job, outcome of `then`), or (None, None) when
        the lease was lost meanwhile (another worker took the job: its call wins)."""
        lease = max(self.lease, timedelta(seconds=outside.seconds + 10))
        if not queue.extend(session, job_id, self.name, lease):
            return None, None
        session.commit()
        session.remove()
        result = outside.call()
        job = queue.renew(session, job_id, self.name, self.lease)
        if job is None:
            return None, None
        return job, outside.then(session, job, result)

    def run_until_idle(self, limit: int = 10_000) -> int:
        """Run every job that is due now (tests, the `worker --once` command)."""
        count = 0
        while count < limit:
            claimed = self.run_once()
            if not claimed:
                break
            count += claimed
        return count

    # Forever -------------------------------------------------------------------------------
    def run_forever(self) -> None:
        log.info("worker started", extra={"worker": self.name})
        self.start_periodic()
        while not self.stop.is_set():
            if self.run_once():
                continue
            self._sleep(self._seconds_to_next())
        self._close_listener()
        log.info("worker stopped", extra={"worker": self.name, "processed": self.processed})

    def _seconds_to_next(self) -> float:
        with self.app.app_context():
            try:
                nxt = queue.next_run_at(db.session)
            finally:
                db.session.remove()
        if nxt is None:
            return self.max_sleep
        return max(0.0, min(self.max_sleep, (nxt - utcnow()).total_seconds()))

    def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        listener = self._get_listener()
        if listener is None:
            self.stop.wait(min(seconds, 0.5))  # SQLite: short polls, one process
            return
        try:
            # In slices of at most a second, so that `stop` (SIGTERM) is honoured promptly.
            deadline = time.monotonic() + seconds
            while not self.stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if any(True for _ in listener.notifies(timeout=min(remaining, 1.0), stop_after=1)):
                    break
        except Exception:  # noqa: BLE001 - the listener died: fall back to a short sleep, reconnect later
            log.exception("listener failed")
            self._close_listener()
            self.stop.wait(min(seconds, 1.0))

    def _get_listener(self):
        if self._listener is not None:
            return self._listener
        with self.app.app_context():
            url = db.engine.url
        if url.get_backend_name() != "postgresql":
            return None
        import psycopg

        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._listener = psycopg.connect(conninfo, autocommit=True)
        self._listener.execute(f"LISTEN {queue.CHANNEL}")
        return self._listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._listener.close()
            finally:
                self._listener = None
