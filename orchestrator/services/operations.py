"""What operators do when something went wrong: incidents to retry, dead jobs to re-queue."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Dossier, Job
from ..models.jobs import DEAD
from . import access, audit, jobs, limits, steps
from .auth import Actor
from .errors import Conflict, NotFound
from ..i18n import vi


def incidents(session: Session, actor: Actor) -> list[Dossier]:
    scopes = access.admin_scopes(actor)
    query = (select(Dossier).where(Dossier.incident.is_(True), access.scope_filter(scopes, Dossier.province_code))
             .order_by(Dossier.updated_at.desc()))
    return list(session.scalars(query.limit(500)).all())


def retry_incident(session: Session, actor: Actor, code: str, data: dict | None = None) -> steps.Step:
    """Re-run the failed engine step, with corrected data if given; the incident clears on success."""
    scopes = access.admin_scopes(actor)
    limits.check_data(session, data, "data")

    def administered(dossier: Dossier) -> None:
        if not access.in_scope(scopes, dossier.province_code):
            raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=code))

    step = steps.Step.lock_code(session, code, actor.name, administered)
    dossier = step.dossier
    if not dossier.incident:
        raise Conflict(vi("Hồ sơ không có sự cố cần xử lý lại."), code="no_incident")
    failed = step.run.failed_steps()
    step.engine(lambda run: run.retry(data))
    if step.incident is None:
        dossier.incident, dossier.incident_message = False, None
    audit.record(session, "incident_retry", actor.name, dossier=dossier, step_id=",".join(failed) or None,
                 note="thành công" if step.incident is None else step.incident.message, data=data or None)
    step.save()
    return step


def dead_jobs(session: Session, actor: Actor) -> list[Job]:
    scopes = access.admin_scopes(actor)
    query = select(Job).where(Job.state == DEAD).order_by(Job.id.desc())
    if "VN" not in scopes:  # a province sees the jobs of its dossiers only
        query = (query.join(Dossier, Dossier.id == Job.dossier_id)
                 .where(access.scope_filter(scopes, Dossier.province_code)))
    return list(session.scalars(query.limit(500)).all())


def requeue_job(session: Session, actor: Actor, job_id: int) -> Job:
    scopes = access.admin_scopes(actor)
    job = session.get(Job, job_id)
    if job is not None and "VN" not in scopes:  # a province sees the jobs of its dossiers only
        dossier = session.get(Dossier, job.dossier_id) if job.dossier_id else None
        if dossier is None or not access.in_scope(scopes, dossier.province_code):
            job = None
    if job is None:
        raise NotFound(vi("Không có công việc nền này."))
    if jobs.retry_dead(session, job_id) is None:
        raise Conflict(vi("Chỉ xếp lại được công việc đã hỏng hẳn (dead)."), code="not_dead")
    audit.record(session, "job_requeue", actor.name, note=f"job {job_id} ({job.kind})")
    return job
