"""What operators do when something went wrong: incidents to retry, dead jobs to re-queue."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine import EngineIncident
from ..models import Dossier, Job
from ..models.jobs import DEAD
from . import audit, jobs, steps
from .auth import Actor
from .errors import Conflict, Forbidden, NotFound


def _admin_scopes(actor: Actor) -> set[str]:
    scopes = set() if actor.is_integrator else actor.scopes("admin")
    if not scopes:
        raise Forbidden("Cần vai trò quản trị (admin).")
    return scopes


def incidents(session: Session, actor: Actor) -> list[Dossier]:
    scopes = _admin_scopes(actor)
    query = select(Dossier).where(Dossier.incident.is_(True)).order_by(Dossier.updated_at.desc())
    if "VN" not in scopes:
        query = query.where(Dossier.province_code.in_(scopes))
    return list(session.scalars(query.limit(500)).all())


def retry_incident(session: Session, actor: Actor, code: str, data: dict | None = None) -> Dossier:
    """Re-run the failed engine step, with corrected data if given; the incident clears on success."""
    scopes = _admin_scopes(actor)
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or ("VN" not in scopes and dossier.province_code not in scopes):
        raise NotFound(f"Không tìm thấy hồ sơ {code}.")
    dossier = steps.locked_dossier(session, dossier.id)
    if not dossier.incident:
        raise Conflict("Hồ sơ không có sự cố cần xử lý lại.", code="no_incident")
    run = steps.restore(session, dossier)
    failed = run.failed_steps()
    incident = None
    try:
        run.retry(data)
    except EngineIncident as exc:
        incident = exc
    if incident is None:
        dossier.incident, dossier.incident_message = False, None
    audit.record(session, "incident_retry", actor.name, dossier=dossier, step_id=",".join(failed) or None,
                 note="thành công" if incident is None else incident.message, data=data or None)
    steps.save_step(session, dossier, run, actor.name, incident)
    return dossier


def dead_jobs(session: Session, actor: Actor) -> list[Job]:
    scopes = _admin_scopes(actor)
    query = select(Job).where(Job.state == DEAD).order_by(Job.id.desc())
    if "VN" not in scopes:
        query = query.join(Dossier, Dossier.id == Job.dossier_id).where(Dossier.province_code.in_(scopes))
    return list(session.scalars(query.limit(500)).all())


def requeue_job(session: Session, actor: Actor, job_id: int) -> Job:
    scopes = _admin_scopes(actor)
    job = session.get(Job, job_id)
    if job is not None and "VN" not in scopes:
        dossier = session.get(Dossier, job.dossier_id) if job.dossier_id else None
        if dossier is None or dossier.province_code not in scopes:
            job = None
    if job is None:
        raise NotFound("Không có công việc nền này.")
    if jobs.retry_dead(session, job_id) is None:
        raise Conflict("Chỉ xếp lại được công việc đã hỏng hẳn (dead).", code="not_dead")
    audit.record(session, "job_requeue", actor.name, note=f"job {job_id} ({job.kind})")
    return job
