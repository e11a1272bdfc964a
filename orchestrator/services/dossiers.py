"""Dossiers: start (online or in person), code, visibility, reading and listing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..models import AuditEvent, Dossier, DossierCounter, Unit, WorkItem
from ..models.dossiers import OPEN, DossierStatus
from ..models.types import utcnow
from ..timezone import TZ
from . import access, audit, outbox, procedures, search, steps, tasks
from .auth import Actor
from .errors import Conflict, Invalid, NotFound
from .routing import Unresolvable

CHANNELS = {1: "in person", 2: "online", 3: "post", 4: "schedule"}
SCHEDULED = 4  # opened by a procedure's schedule: no citizen channel, the unit is the applicant


def next_code(session: Session, unit_code: str, now: datetime) -> str:
    """`{unit}-{YYMMDD}-{NNNN}`: an atomic per-unit daily counter, in the creating transaction,
    so concurrent creations get distinct numbers and a rolled-back one leaves no gap."""
    day = now.astimezone(TZ).strftime("%y%m%d")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(DossierCounter).values(unit_code=unit_code, day=day, value=1)
    stmt = stmt.on_conflict_do_update(index_elements=["unit_code", "day"],
                                      set_={"value": DossierCounter.value + 1}).returning(DossierCounter.value)
    value = session.execute(stmt).scalar_one()
    return f"{unit_code}-{day}-{value:04d}"


def _check_place(session: Session, province_code: str, commune_code: str, received_by: str) -> None:
    fields = {}
    province = session.get(Unit, province_code) if province_code else None
    if province is None or province.level != "province":
        fields["province_code"] = "không có tỉnh/thành phố mã này"
    commune = session.get(Unit, commune_code) if commune_code else None
    if commune is None or commune.level != "commune" or commune.parent_code != province_code:
        fields["commune_code"] = "không có xã/phường mã này trong tỉnh đã chọn"
    unit = session.get(Unit, received_by) if received_by else None
    if unit is None or unit.province_code != province_code or unit.level not in ("commune", "service-center", "department"):
        fields["received_by_unit"] = "đơn vị tiếp nhận phải là xã/phường, trung tâm hoặc sở của tỉnh"
    if fields:
        raise Invalid("Địa bàn hồ sơ không hợp lệ.", fields=fields)


def start(session: Session, actor: Actor, *, procedure_code: str, province_code: str, commune_code: str,
          channel: int, applicant: dict, data: dict, received_by_unit: str | None = None,
          reception: dict | None = None, timer_start: str | None = None, note: str | None = None) -> steps.Step:
    """Start a dossier on the version in force; nothing is created when a lane cannot resolve.
    Returns its first step (the dossier, its open items). An in-person dossier has its reception
    step completed by the receiving officer in the same step: one save. Its desk outcome
    (`reception.reception_result`, `tasks.desk_outcome`): accepted (status 2, the period starts),
    guided to supplement (created 1, then 5 at the reception stage: not received, no period) or
    refused (created 1, then 3); the history never shows a reception that did not happen.
    `timer_start`: opened by the version's schedule, received at once, its workflow past that timer
    start event."""
    received_by = received_by_unit or commune_code
    in_person = not actor.is_integrator and timer_start is None
    access.may_start_dossier(actor, province_code, received_by, scheduled=timer_start is not None)
    reception = tasks.desk_outcome(reception, in_person=in_person)
    accepted = reception["reception_result"] == "accept"
    _check_place(session, province_code, commune_code, received_by)
    version = procedures.in_force(session, procedure_code, province_code)
    if version is None:
        raise NotFound(f"Thủ tục {procedure_code} chưa được công bố cho tỉnh {province_code}.",
                       code="procedure_not_offered")
    if timer_start is None and (version.model or {}).get("timer_starts") and not version.model.get("plain_start"):
        raise Conflict(f"Thủ tục {procedure_code} chỉ tạo hồ sơ theo lịch (sự kiện bắt đầu hẹn giờ), không nhận "
                       "hồ sơ nộp.", code="scheduled_only")
    now = utcnow()
    dossier = Dossier(
        procedure_version_id=version.id, version=version, procedure_code=version.procedure_code,  # an alias: the new code
        province_code=province_code, commune_code=commune_code, received_by_unit=received_by,
        channel=channel, applicant=applicant, data=dict(data),
        status=(DossierStatus.RECEIVED if (in_person and accepted) or timer_start
                else DossierStatus.AWAITING_RECEPTION),
        submitted_at=now, updated_at=now, created_by=actor.name, lock_version=0,
    )
    try:
        routes = steps.routes_for(session, dossier)
    except Unresolvable as exc:
        raise Conflict(f"Không định tuyến được làn '{exc.path}': {exc.reason}.", code="unroutable",
                       extra={"lane": exc.path}) from None
    dossier.code = next_code(session, received_by, now)
    session.add(dossier)
    session.flush()
    if (in_person and accepted) or timer_start:
        steps.accept(session, dossier, now)
    step = steps.Step.start(session, dossier, {**data, "applicant": applicant}, actor.name,
                            participants={received_by} | {r.unit_code for r in routes.values()},
                            timer_start=timer_start)
    audit.record(session, "created", actor.name, dossier=dossier, to_status=int(dossier.status),
                 unit_code=received_by, note=note or f"kênh {channel} ({CHANNELS.get(channel, '?')})")
    item = tasks.reception_to_complete(step) if in_person else None
    if item is None and not accepted:
        raise Conflict(f"Quy trình của thủ tục {procedure_code} không mở bước tiếp nhận khi tạo hồ sơ; không ghi được "
                       "kết quả hướng dẫn bổ sung hoặc từ chối tại quầy.", code="no_reception_step")
    if item is None:
        step.save()
        outbox.emit(session, dossier, "dossier.created")
        outbox.portal_sync(session, dossier)
    else:
        outbox.emit(session, dossier, "dossier.created")
        outbox.portal_sync(session, dossier)
        tasks.complete_reception_in_person(step, actor, item, reception)  # saves the step
    return step


def get_visible(session: Session, actor: Actor, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or not access.sees_dossier(session, actor, dossier):
        raise NotFound(f"Không tìm thấy hồ sơ {code}.")
    return dossier


def get_public(session: Session, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None:
        raise NotFound("Không tìm thấy hồ sơ với mã này.")
    return dossier


# Built once: read on every dossier answer (SQLAlchemy then reuses their cache keys).
_CURRENT_TASKS = (select(WorkItem).where(WorkItem.dossier_id == bindparam("dossier_id"), WorkItem.state == OPEN)
                  .order_by(WorkItem.created_at, WorkItem.id))
_HISTORY = select(AuditEvent).where(AuditEvent.dossier_id == bindparam("dossier_id")).order_by(AuditEvent.id)


def current_tasks(session: Session, dossier: Dossier) -> list[WorkItem]:
    return list(session.scalars(_CURRENT_TASKS, {"dossier_id": dossier.id}).all())


def work_items(session: Session, dossier: Dossier) -> list[WorkItem]:
    """Every step the dossier has had, open, completed or cancelled, in the order they opened."""
    return list(session.scalars(select(WorkItem).where(WorkItem.dossier_id == dossier.id)
                                .order_by(WorkItem.created_at, WorkItem.id)).all())


def history(session: Session, dossier: Dossier) -> list[AuditEvent]:
    return list(session.scalars(_HISTORY, {"dossier_id": dossier.id}).all())


def list_visible(session: Session, actor: Actor, *, status: int | None = None, procedure_code: str | None = None,
                 commune_code: str | None = None, received_from: datetime | None = None,
                 received_to: datetime | None = None, updated_since: datetime | None = None,
                 q: str | None = None, after_id: int = 0, limit: int = 50) -> tuple[list[Dossier], int | None]:
    """A page of the dossiers the actor may see, oldest first; returns the next page's start.
    `q`: words each found, folded, in the code or the applicant's name, ID number or phone."""
    query = select(Dossier).where(access.visible_dossiers(actor), Dossier.id > after_id)
    if q:
        query = query.where(search.matches(Dossier.search_text, q))
    for column, value in ((Dossier.status, status), (Dossier.procedure_code, procedure_code),
                          (Dossier.commune_code, commune_code)):
        if value is not None:
            query = query.where(column == value)
    if received_from is not None:
        query = query.where(Dossier.received_at >= received_from)
    if received_to is not None:
        query = query.where(Dossier.received_at < received_to)
    if updated_since is not None:
        query = query.where(Dossier.updated_at >= updated_since)
    rows = list(session.scalars(query.order_by(Dossier.id).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)
