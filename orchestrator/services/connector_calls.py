"""The `connector_call` job: one service task's HTTP call, at least once.

In the job's transaction: read what the call needs (`connectors.build_request`). Then, with no
transaction open, the call (`connectors.perform`, `jobs.Outside`). Then, in one locked step: the
call in the dossier's history (connector, status code, duration, attempt; never a header), and
either the task completed with the outputs and the workflow continued, or the job retried with
backoff, or, after its last attempt, the job dead and the task in incident naming the task and
the connector (the back office's retry runs the task again, which queues the call again, with
the same Idempotency-Key).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..engine.service_tasks import complete_call, fail_call, is_waiting
from ..models import Dossier, Job
from ..models.dossiers import FINAL_STATUSES
from ..settings import Settings
from . import audit, connectors, jobs, steps
from .connectors import KIND, SYSTEM_ACTOR, CallFailed, Result

__all__ = ["KIND", "call_connector", "settle"]


def call_connector(session: Session, job: Job, settings: Settings):
    """The worker's handler: prepares the call, or settles at once when there is nothing to call."""
    dossier = session.get(Dossier, job.dossier_id)
    if dossier is None or dossier.status in FINAL_STATUSES or dossier.finished_at is not None:
        return "stale"
    payload = dict(job.payload)
    try:
        request = connectors.build_request(session, settings, dossier, payload)
    except CallFailed as exc:
        failed = Result(None, None, exc.message, exc.permanent, 0)
        return jobs.Outside(call=lambda: failed, then=lambda s, j, r: settle(s, j, r, payload))
    return jobs.Outside(call=lambda: connectors.perform(request),
                        then=lambda s, j, r: settle(s, j, r, payload), seconds=request.timeout)


def settle(session: Session, job: Job, result: Result, payload: dict) -> str:
    """After the call, in one locked step of the dossier."""
    step = steps.Step.lock(session, job.dossier_id, SYSTEM_ACTOR)
    dossier, task_id, element_id = step.dossier, payload["task_id"], payload["element_id"]
    if dossier.status in FINAL_STATUSES or dossier.finished_at is not None or not is_waiting(step.run, task_id):
        return "stale"  # withdrawn, rewound, or an earlier attempt already completed the task
    name = payload["connector"]
    summary = (f"{name}: HTTP {result.status if result.status is not None else '-'}, {result.duration_ms} ms, "
               f"lần {job.attempts}" + ("" if result.error is None else f" ({result.error[:200]})"))
    audit.record(session, "connector_call", SYSTEM_ACTOR, dossier=dossier, step_id=element_id, note=summary,
                 data={"connector": name, "status_code": result.status, "duration_ms": result.duration_ms,
                       "attempt": job.attempts, "ok": result.error is None})
    if result.error is None:
        was_incident = dossier.incident
        added = step.engine(lambda run: complete_call(run, task_id, dict(result.outputs or {})))
        dossier.data = {**dossier.data, **(added or {})}  # the dossier's data shows them, as a message's
        if was_incident and step.incident is None and not step.run.has_errors():
            dossier.incident, dossier.incident_message = False, None  # a dead call re-queued, now answered
        step.save()
        return "completed"
    if result.permanent:
        job.attempts = max(job.attempts, job.max_attempts)
    if not jobs.settle_failure(job, f"{name}: {result.error}"):
        return "retry"
    message = (f"{element_id}: kết nối '{name}' thất bại sau {job.attempts} lần: {result.error}")
    step.engine(lambda run: fail_call(run, task_id, message))
    step.save()
    return "dead"

