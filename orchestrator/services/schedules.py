"""Procedures that open dossiers on a schedule (issue 17): a version whose main process starts by a
timer is marked as scheduled with its receiving units (a draft edit, the API's and the back
office's one function), publish refuses an unmarked one, and while it is in force the worker opens
one dossier per receiving unit at each tick (`scheduled.open_scheduled`, job `scheduled_start`).

The schedule is stored with the version (`procedure_version.schedule`), frozen once published."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..engine import Problem
from ..engine.schedule import MAX_UNITS, ScheduleError, next_tick, tick_at
from ..i18n import vi
from ..models import Job, ProcedureInForce, ProcedureVersion, ScheduledStart, Unit
from ..models.jobs import QUEUED
from ..models.procedures import DRAFT, NATIONAL, PUBLISHED
from ..models.types import utcnow
from ..timezone import TZ
from . import access, audit, jobs
from .auth import Actor
from .errors import Conflict, Invalid, NotFound

KIND = "scheduled_start"
SYSTEM_SCHEDULE = "system:schedule"
UNMARKED = vi("Quy trình bắt đầu bằng sự kiện hẹn giờ nhưng phiên bản chưa được đánh dấu tạo hồ sơ theo lịch: mỗi "
              "hồ sơ cần một người nộp. Hãy đánh dấu thủ tục là tạo hồ sơ theo lịch và chọn các đơn vị nhận hồ sơ "
              "(đơn vị đứng tên người nộp).")


def plan_of(version: ProcedureVersion) -> dict | None:
    """The version's timer start as a plan (engine/schedule.py), or None when it has none."""
    starts = (version.model or {}).get("timer_starts") or []
    return starts[0] if starts else None


def _version(session: Session, code: str, number: int) -> ProcedureVersion:
    version = session.scalar(select(ProcedureVersion).where(
        ProcedureVersion.procedure_code == code, ProcedureVersion.version == number))
    if version is None:
        raise NotFound(vi("Không có thủ tục %(code)s phiên bản %(version)s.", code=code, version=number))
    return version


def set_schedule(session: Session, actor: Actor, code: str, number: int, units: list | None) -> ProcedureVersion:
    """Mark a draft as scheduled with its receiving units (communes of the version's scope), or
    unmark it (no units). Authorised like the draft's other edits."""
    version = _version(session, code, number)
    access.may_write_procedure(actor, version.scope)
    if version.state != DRAFT:
        raise Conflict(vi("Phiên bản đã công bố không thể sửa; hãy tạo bản nháp mới."), code="immutable")
    if units is None or not isinstance(units, list) or not all(isinstance(u, str) for u in units):
        raise Invalid(vi("Danh sách đơn vị nhận hồ sơ không hợp lệ."), fields={"units": vi("danh sách mã xã/phường")})
    chosen = list(dict.fromkeys(u.strip() for u in units if u.strip()))
    if chosen and plan_of(version) is None:
        raise Invalid(vi("Quy trình không có sự kiện bắt đầu hẹn giờ: không thể tạo hồ sơ theo lịch."),
                      fields={"units": vi("quy trình chính cần một sự kiện bắt đầu hẹn giờ")})
    if len(chosen) > MAX_UNITS:
        raise Invalid(vi("Tối đa %(count)s đơn vị nhận hồ sơ (mỗi lần tạo một hồ sơ cho mỗi đơn vị).", count=MAX_UNITS),
                      fields={"units": vi("tối đa %(count)s", count=MAX_UNITS)})
    found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(chosen or [""]))).all()}
    wrong = [c for c in chosen if c not in found or found[c].level != "commune"
             or (version.scope != NATIONAL and found[c].province_code != version.scope)]
    if wrong:
        where = vi("cả nước") if version.scope == NATIONAL else vi("tỉnh %(province)s", province=version.scope)
        raise Invalid(vi("Không phải xã/phường của %(where)s: %(codes)s.", where=where,
                         codes=", ".join(w[:40] for w in wrong[:10])),
                      fields={"units": vi("mã xã/phường thuộc phạm vi của phiên bản")})
    before = dict(version.schedule or {})
    version.schedule = {"units": chosen} if chosen else {}
    audit.record(session, "procedure.schedule", actor.name, note=f"{code} v{number}",
                 data={"before": before, "after": version.schedule})
    session.flush()
    return version


def publish_problems(version: ProcedureVersion, now: datetime) -> list[dict]:
    """What publish refuses about a version's timer start: unmarked (a dossier needs an applicant),
    more than one, a date already past."""
    starts = (version.model or {}).get("timer_starts") or []
    if not starts:
        return []
    if not (version.schedule or {}).get("units"):
        return [Problem(UNMARKED, s["element_id"], s["line"], code="schedule_unmarked").as_dict() for s in starts]
    if len(starts) > 1:
        return [Problem(vi("Chỉ một sự kiện bắt đầu hẹn giờ được dùng cho lịch tạo hồ sơ."), s["element_id"],
                        s["line"]).as_dict() for s in starts[1:]]
    plan = starts[0]
    if plan["kind"] == "timeDate" and tick_at(plan, now, 0) <= now:
        return [Problem(vi("Thời điểm tạo hồ sơ '%(value)s' đã qua.", value=plan["value"]), plan["element_id"],
                        plan["line"]).as_dict()]
    return []


def queue_next(session: Session, version: ProcedureVersion, after: int | None = None) -> Job | None:
    """Queue the job of the version's next tick (publish, rollback, each tick), replacing a queued
    one: missed ticks are run once, as the latest one due. None when the schedule is over."""
    plan = plan_of(version)
    if plan is None or not (version.schedule or {}).get("units") or version.published_at is None:
        return None
    key = f"{KIND}:{version.id}"
    session.execute(delete(Job).where(Job.kind == KIND, Job.fifo_key == key, Job.state == QUEUED))
    if after is None:
        after = session.scalar(select(ScheduledStart.tick).where(ScheduledStart.version_id == version.id)
                               .order_by(ScheduledStart.tick.desc()).limit(1))
    following = next_tick(plan, version.published_at, utcnow(), -1 if after is None else after)
    if following is None:
        return None
    tick, due = following
    return jobs.enqueue(session, KIND, run_at=due, payload={"version_id": version.id, "tick": tick},
                        fifo_key=key, max_attempts=10)


def stop(session: Session, version_id: int) -> None:
    """A version no longer in force (a newer one published, a rollback): its queued tick goes."""
    session.execute(delete(Job).where(Job.kind == KIND, Job.fifo_key == f"{KIND}:{version_id}",
                                      Job.state == QUEUED))


def running(session: Session, version: ProcedureVersion | None) -> bool:
    """A schedule runs while its version is published and in force for its scope."""
    if version is None or version.state != PUBLISHED:
        return False
    link = session.get(ProcedureInForce, (version.procedure_code, version.scope))
    return link is not None and link.version_id == version.id


def summary(session: Session, version: ProcedureVersion) -> dict | None:
    """What the version page and the API show of the schedule: the timer start, the receiving
    units, whether it runs, the next tick (Vietnamese time) and how many dossiers it opened."""
    plan = plan_of(version)
    if plan is None:
        return None
    units = list((version.schedule or {}).get("units") or [])
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(units or [""]))).all())
    job = session.scalar(select(Job).where(Job.kind == KIND, Job.fifo_key == f"{KIND}:{version.id}",
                                           Job.state == QUEUED).order_by(Job.run_at).limit(1))
    active = running(session, version)
    opened = len(session.scalars(select(ScheduledStart.dossier_id)
                                 .where(ScheduledStart.version_id == version.id)).all())
    return {"element_id": plan["element_id"], "timer": plan["value"], "kind": plan["kind"],
            "units": [{"code": u, "name": names.get(u, u)} for u in units], "marked": bool(units),
            "running": active, "opened": opened,
            "next_tick_at": job.run_at.astimezone(TZ) if job is not None and active else None}


def describe_tick(plan: dict, tick: int, due: datetime) -> str:
    """The history's note of a dossier the schedule opened."""
    return (f"tạo theo lịch (sự kiện bắt đầu hẹn giờ {plan['element_id']}, lần {tick + 1}, "
            f"{due.astimezone(TZ).strftime('%H:%M %d/%m/%Y')})")


__all__ = ["KIND", "SYSTEM_SCHEDULE", "ScheduleError", "plan_of", "publish_problems", "queue_next", "running",
           "set_schedule", "stop", "summary"]
