"""Operator routes: incidents and dead-letter jobs (administrators)."""
from __future__ import annotations

from flask import request

from orchestrator.extensions import db
from orchestrator.services import operations as service

from . import bp
from .auth import authenticated, current_actor
from .dossiers import dossier_body
from .schemas import DossierSchema, JobSchema, RetrySchema


@bp.get("/admin/incidents")
@authenticated
def incidents():
    rows = service.incidents(db.session, current_actor())
    return {"items": DossierSchema(many=True, only=("code", "procedure_code", "status", "status_name",
                                                    "incident_message", "province_code")).dump(rows)}


@bp.post("/dossiers/<code>/actions/retry")
@authenticated
def retry_incident(code: str):
    args = RetrySchema().load(request.get_json(silent=True) or {})
    dossier = service.retry_incident(db.session, current_actor(), code, args.get("data"))
    db.session.commit()
    return dossier_body(dossier)


@bp.get("/admin/jobs")
@authenticated
def dead_jobs():
    return {"items": JobSchema(many=True).dump(service.dead_jobs(db.session, current_actor()))}


@bp.post("/admin/jobs/<int:job_id>/retry")
@authenticated
def requeue(job_id: int):
    job = service.requeue_job(db.session, current_actor(), job_id)
    db.session.commit()
    return JobSchema().dump(job)
