"""Operator routes: incidents and dead-letter jobs (administrators)."""
from __future__ import annotations

from orchestrator.extensions import db
from orchestrator.services import operations as service

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .http import committed, history_choice
from .schemas.dossiers import DossierDetailSchema
from .schemas.operations import IncidentListSchema, JobListSchema, JobSchema, RetrySchema


@bp.get("/admin/incidents")
@authenticated
@bp.response(200, IncidentListSchema)
@documented(401, 403)
def incidents():
    """Dossiers whose script, condition or timer failed, in the administrator's area."""
    return {"items": service.incidents(db.session, current_actor())}


@bp.post("/dossiers/<code>/actions/retry")
@authenticated
@history_choice
@bp.arguments(RetrySchema)
@bp.response(200, DossierDetailSchema)
@documented(400, 401, 403, 404, 409)
def retry_incident(args, code: str):
    """Re-run the failed step of a dossier in incident, with corrected data if given."""
    step = service.retry_incident(db.session, current_actor(), code, args.get("data"))
    return committed(step)


@bp.get("/admin/jobs")
@authenticated
@bp.response(200, JobListSchema)
@documented(401, 403)
def dead_jobs():
    """Background jobs that failed for good (dead letters)."""
    return {"items": service.dead_jobs(db.session, current_actor())}


@bp.post("/admin/jobs/<id:job_id>/retry")
@authenticated
@bp.response(200, JobSchema)
@documented(401, 403, 404, 409)
def requeue(job_id: int):
    """Queue a dead job again."""
    job = service.requeue_job(db.session, current_actor(), job_id)
    db.session.commit()
    return job
