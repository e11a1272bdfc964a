"""The legal lifecycle of a dossier beyond single steps (DOMAIN.md, Decree 118/2025).

Officers' actions on the dossier as a whole (request a supplement, ask for the financial
obligation, apologise with a new date, stop, refuse at reception, return to an earlier step,
return the result) and the events that come into a dossier (`supplement_submitted`,
`payment_received`, `withdrawn`, or a message a diagram waits for).

Each use case is one transaction on the locked dossier (`steps.locked_dossier`): it checks what
the law and the state allow *before* changing anything, changes the status only through
`steps.set_status` (status-change notifications hook there), records audit events and answers
a `Conflict` (409) naming the reason when it is not allowed. The caller commits.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from ..engine import EngineIncident, TaskNotReady
from ..models import Attachment, Dossier, DossierParticipant, WorkItem
from ..models.attachments import RESULT_DOCUMENT
from ..models.dossiers import CANCELLED, OPEN
from ..models.types import utcnow
from . import audit, events, fees, jobs, pauses, steps, tasks
from .auth import Actor
from .deadlines import calendar_for, legal_due_at
from .dossiers import can_see, current_tasks
from .errors import Conflict, Forbidden, Invalid, NotFound

OFFICER_ROLES = ("reception", "specialist", "leader")
PROCESSING = (2, 4)
DEFAULT_SUPPLEMENT_WINDOW_DAYS = 3
DELIVERY_METHODS = ("in_person", "post", "online")


# -- who may act ---------------------------------------------------------------------------

def takes_part(session: Session, actor: Actor, dossier: Dossier) -> bool:
    units = actor.units(*OFFICER_ROLES)
    return bool(units) and bool(session.scalar(select(exists().where(
        DossierParticipant.dossier_id == dossier.id, DossierParticipant.unit_code.in_(units)))))


def _find(session: Session, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code)) if isinstance(code, str) else None
    if dossier is None:
        raise NotFound(f"Không tìm thấy hồ sơ {code}.")
    return dossier


def dossier_for_action(session: Session, actor: Actor, code: str) -> Dossier:
    """The locked dossier, for an officer with a role in a unit taking part (404 if unseen, 403)."""
    dossier = _find(session, code)
    if not can_see(session, actor, dossier):
        raise NotFound(f"Không tìm thấy hồ sơ {code}.")
    if actor.is_integrator or not takes_part(session, actor, dossier):
        raise Forbidden("Chỉ cán bộ của đơn vị tham gia giải quyết hồ sơ mới thực hiện được thao tác này.")
    return steps.locked_dossier(session, dossier.id)


def dossier_for_event(session: Session, actor: Actor, code: str) -> Dossier:
    """Integrators need `events:send` for the dossier's province; officers a role in a unit taking part."""
    dossier = _find(session, code)
    if actor.is_integrator:
        if not actor.province_allowed(dossier.province_code):
            raise NotFound(f"Không tìm thấy hồ sơ {code}.")
        if not actor.can("events:send"):
            raise Forbidden("Khóa API không có quyền events:send.")
        return steps.locked_dossier(session, dossier.id)
    return dossier_for_action(session, actor, code)


# -- shared mechanics ----------------------------------------------------------------------

def _touch(dossier: Dossier) -> None:
    dossier.lock_version += 1
    dossier.updated_at = utcnow()


def _move_due(session: Session, dossier: Dossier, new_due: datetime | None) -> None:
    """The dossier's due date moves; open steps that carried the old one follow; the reminder
    is rescheduled (the old reminder job sees a different due date and does nothing)."""
    old = dossier.due_at
    dossier.due_at = new_due
    if old is not None:
        session.execute(update(WorkItem).where(WorkItem.dossier_id == dossier.id, WorkItem.state == OPEN,
                                               WorkItem.due_at == old).values(due_at=new_due)
                        .execution_options(synchronize_session="fetch"))
    steps.schedule_reminder(session, dossier)


def _close(session: Session, actor: Actor, dossier: Dossier, status: int, action: str, note: str | None,
           data: dict | None = None) -> None:
    """Withdrawn, stopped: open steps are cancelled, timers dropped, the dossier is finished."""
    now = utcnow()
    pauses.close_pause(dossier, now, closed_by=action)
    for item in current_tasks(session, dossier):
        item.state, item.completed_at = CANCELLED, now
    steps.set_status(session, dossier, status, actor.name, action, note=note, data=data)
    dossier.finished_at = now
    _touch(dossier)
    session.flush()
    jobs.replace_timer(session, dossier.id, dossier.lock_version, None)


def _reason(value, field: str = "reason") -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise Invalid("Cần nêu lý do.", fields={field: "bắt buộc"})
    if len(text) > 2000:
        raise Invalid("Lý do quá dài.", fields={field: "tối đa 2000 ký tự"})
    return text


def _items(value) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(i, str) and i.strip() for i in value):
        raise Invalid("Liệt kê đầy đủ các thành phần cần bổ sung (một lần).",
                      fields={"items": "danh sách không rỗng các chuỗi"})
    if len(value) > 50 or any(len(i) > 500 for i in value):
        raise Invalid("Danh sách bổ sung quá dài.", fields={"items": "tối đa 50 mục, 500 ký tự mỗi mục"})
    return [i.strip() for i in value]


def _reception_item(session: Session, dossier: Dossier) -> WorkItem | None:
    reception = {sid for sid, s in steps.step_model(dossier).items() if s.get("milestone") == "reception"}
    return next((w for w in current_tasks(session, dossier) if w.step_id in reception), None)


def _not_now(dossier: Dossier, what: str) -> Conflict:
    return Conflict(f"Không thể {what} khi hồ sơ ở trạng thái {dossier.status} ({dossier.status_name}).",
                    code="not_allowed_in_status", extra={"status": dossier.status})


# -- supplements ---------------------------------------------------------------------------

def request_supplement(session: Session, actor: Actor, dossier: Dossier, items, reason: str | None = None, *,
                       window_days: int = DEFAULT_SUPPLEMENT_WINDOW_DAYS) -> Dossier:
    """At reception (status 1): the reception step's outcome 'supplement'. During processing
    (2/4): once, within `window_days` working days of reception; the dossier waits in status 5
    and its open steps are held until the supplement arrives."""
    items = _items(items)
    if dossier.status == 1:
        item = _reception_item(session, dossier)
        if item is None:
            raise _not_now(dossier, "yêu cầu bổ sung")
        return tasks.complete(session, actor, item.id, {"reception_result": "supplement", "missing_items": items})
    if dossier.status not in PROCESSING:
        raise _not_now(dossier, "yêu cầu bổ sung")
    pauses.ensure_first_supplement(dossier, pauses.PROCESSING)
    now = utcnow()
    elapsed = calendar_for(session, dossier.province_code).working_days_between(dossier.received_at, now)
    if elapsed > window_days:
        raise Conflict(f"Chỉ được yêu cầu bổ sung trong {window_days} ngày làm việc kể từ ngày tiếp nhận "
                       f"(đã qua {elapsed} ngày làm việc).", code="supplement_too_late",
                       extra={"window_days": window_days, "elapsed_working_days": elapsed})
    note = "; ".join(items)
    pauses.open_pause(dossier, pauses.SUPPLEMENT, now, stage=pauses.PROCESSING, items=items, by=actor.name,
                      reason=(reason or "").strip() or None)
    steps.set_status(session, dossier, 5, actor.name, "supplement_requested", note=note,
                     data={"items": items, "reason": reason})
    _touch(dossier)
    session.flush()
    return dossier


def supplement_submitted(session: Session, actor: Actor, dossier: Dossier, data: dict) -> Dossier:
    """The citizen supplemented. At reception, the reception step opens again (status 1); during
    processing the dossier goes back to 4 and the legal period counts again from today."""
    entry = pauses.current(dossier)
    if dossier.status != 5 or entry is None or entry.get("kind") != pauses.SUPPLEMENT:
        raise Conflict("Hồ sơ không ở trạng thái chờ bổ sung.", code="not_waiting")
    now = utcnow()
    pauses.close_pause(dossier, now, received_by=actor.name, note=_note(data))
    if entry.get("stage") == pauses.RECEPTION and _reception_item(session, dossier) is not None:
        # the workflow was held at its reception step (tasks._held_at_reception): it opens again as is
        steps.set_status(session, dossier, 1, actor.name, "supplement_submitted", note=_note(data))
        _touch(dossier)
        session.flush()
        return dossier
    if entry.get("stage") == pauses.RECEPTION:
        run = steps.restore(session, dossier)
        incident = None
        try:
            run.reset_to(entry.get("step_id") or "")
        except TaskNotReady:
            raise Conflict("Không mở lại được bước tiếp nhận của hồ sơ.", code="not_waiting") from None
        except EngineIncident as exc:
            incident = exc
        dossier.finished_at = None
        steps.set_status(session, dossier, 1, actor.name, "supplement_submitted", note=_note(data))
        steps.save_step(session, dossier, run, actor.name, incident)
        return dossier
    v = dossier.version
    dossier.legal_due_at = legal_due_at(session, dossier.province_code, now, v.deadline_kind, v.deadline_days)
    _move_due(session, dossier, dossier.legal_due_at)
    steps.set_status(session, dossier, 4, actor.name, "supplement_submitted", note=_note(data),
                     data={"counted_again_from": now.isoformat(),
                           "legal_due_at": dossier.legal_due_at.isoformat() if dossier.legal_due_at else None})
    _touch(dossier)
    session.flush()
    return dossier


def _note(data: dict) -> str | None:
    note = data.get("note") if isinstance(data, dict) else None
    return str(note)[:2000] if note else None


# -- financial obligation ------------------------------------------------------------------

def request_payment(session: Session, actor: Actor, dossier: Dossier, amount=None, note: str | None = None) -> Dossier:
    """The dossier waits in status 6 until `payment_received`; the amount comes from the
    version's fee rule unless the officer states it (e.g. the tax authority's notice)."""
    if dossier.status not in PROCESSING:
        raise _not_now(dossier, "yêu cầu thực hiện nghĩa vụ tài chính")
    if amount is None:
        amount = fees.compute(dossier.version.fee_rule, dossier.data)
    elif isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise Invalid("Số tiền phải là số nguyên VND ≥ 0.", fields={"amount": "số nguyên ≥ 0"})
    now = utcnow()
    pauses.open_pause(dossier, pauses.PAYMENT, now, amount=amount, by=actor.name, note=note)
    steps.set_status(session, dossier, 6, actor.name, "payment_requested", note=f"{amount:,} VND".replace(",", "."),
                     data={"amount": amount, "note": note})
    _touch(dossier)
    session.flush()
    return dossier


def payment_received(session: Session, actor: Actor, dossier: Dossier, data: dict) -> Dossier:
    """Paid: back to 4; the due dates move by the office time spent waiting (not counted)."""
    entry = pauses.current(dossier)
    if dossier.status != 6 or entry is None or entry.get("kind") != pauses.PAYMENT:
        raise Conflict("Hồ sơ không ở trạng thái chờ thực hiện nghĩa vụ tài chính.", code="not_waiting")
    now = utcnow()
    cal = calendar_for(session, dossier.province_code)
    # whole minutes: a pause of exactly a day moves 17:00 to 17:00, not to the next morning
    hours = int(cal.office_hours_between(pauses.started(entry), now) * 60) / 60
    receipt = data.get("receipt_number") if isinstance(data, dict) else None
    pauses.close_pause(dossier, now, office_hours=round(hours, 2), receipt_number=receipt, received_by=actor.name)
    if hours > 0:
        if dossier.legal_due_at is not None:
            dossier.legal_due_at = cal.add_office_hours(dossier.legal_due_at, hours)
        if dossier.due_at is not None:
            _move_due(session, dossier, cal.add_office_hours(dossier.due_at, hours))
    steps.set_status(session, dossier, 4, actor.name, "payment_received", note=receipt,
                     data={"office_hours_paused": round(hours, 2)})
    _touch(dossier)
    session.flush()
    return dossier


# -- apology, withdrawal, stop, refusal ----------------------------------------------------

def _as_due(value) -> datetime:
    """A new appointment: a date means the end of office hours (17:00) of that day."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=steps.TZ)
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(17, 0), tzinfo=steps.TZ)
    raise Invalid("Cần ngày hẹn trả mới.", fields={"new_due_at": "ngày (YYYY-MM-DD) hoặc thời điểm ISO 8601"})


def apologize(session: Session, actor: Actor, dossier: Dossier, new_due_at, reason) -> Dossier:
    """The apology and extension letter: once, at least one working day before the due date;
    the new date becomes `due_at`, `legal_due_at` stays for the on-time statistics."""
    reason = _reason(reason)
    new_due = _as_due(new_due_at)
    if dossier.status not in (2, 4, 6):
        raise _not_now(dossier, "gửi phiếu xin lỗi và hẹn lại")
    if dossier.apologized_at is not None:
        raise Conflict("Hồ sơ đã có phiếu xin lỗi và hẹn lại; chỉ được gửi một lần.", code="apology_already_sent")
    if dossier.due_at is None:
        raise Conflict("Hồ sơ chưa có ngày hẹn trả.", code="no_due_date")
    now = utcnow()
    if calendar_for(session, dossier.province_code).working_days_between(now, dossier.due_at) < 1:
        raise Conflict("Phiếu xin lỗi phải gửi chậm nhất một ngày làm việc trước ngày hẹn trả.",
                       code="apology_too_late", extra={"due_at": dossier.due_at.isoformat()})
    if new_due <= dossier.due_at:
        raise Invalid("Ngày hẹn mới phải sau ngày hẹn hiện tại.", fields={"new_due_at": "sau ngày hẹn hiện tại"})
    old = dossier.due_at
    dossier.apologized_at, dossier.apology_reason = now, reason
    _move_due(session, dossier, new_due)
    audit.record(session, "apologized", actor.name, dossier=dossier, note=reason,
                 data={"old_due_at": old.isoformat(), "new_due_at": new_due.isoformat()})
    _touch(dossier)
    session.flush()
    return dossier


def withdraw(session: Session, actor: Actor, dossier: Dossier, data: dict) -> Dossier:
    """The citizen withdraws the dossier (status 7) before a decision."""
    if dossier.status not in (1, 2, 4, 5, 6):
        raise Conflict(f"Hồ sơ ở trạng thái {dossier.status} ({dossier.status_name}) không rút được.",
                       code="not_waiting")
    _close(session, actor, dossier, 7, "withdrawn", _note(data) or (data or {}).get("reason"))
    return dossier


def stop(session: Session, actor: Actor, dossier: Dossier, reason) -> Dossier:
    """Stop processing (Decree 118 Art. 21) with the reason the written notice states (status 8)."""
    reason = _reason(reason)
    if dossier.status not in (2, 4, 5, 6):
        raise _not_now(dossier, "dừng xử lý")
    _close(session, actor, dossier, 8, "stopped", reason)
    return dossier


def refuse(session: Session, actor: Actor, dossier: Dossier, reason) -> Dossier:
    """Refusal is a reception outcome (status 1 → 3); during processing, `stop` is the act."""
    reason = _reason(reason)
    item = _reception_item(session, dossier) if dossier.status == 1 else None
    if item is None:
        raise Conflict("Chỉ từ chối được khi tiếp nhận; hồ sơ đang giải quyết thì dùng 'dừng xử lý'.",
                       code="not_allowed_in_status", extra={"status": dossier.status})
    return tasks.complete(session, actor, item.id, {"reception_result": "refuse", "refusal_reason": reason})


# -- return to an earlier step, return of the result ----------------------------------------

def return_to_step(session: Session, actor: Actor, dossier: Dossier, step_id, reason) -> Dossier:
    """Send the dossier back to an earlier step (one every open step descends from), with the
    reason in the history. The holder of a current step, or a leader of its unit, may do it."""
    reason = _reason(reason)
    model = steps.step_model(dossier)
    if not isinstance(step_id, str) or step_id not in model:
        raise Invalid("Bước không có trong quy trình.", fields={"step_id": "mã bước của quy trình"})
    if model[step_id].get("milestone") == "reception":
        raise Conflict("Không trả hồ sơ về bước tiếp nhận; hãy yêu cầu bổ sung hoặc dừng xử lý.",
                       code="not_allowed_step")
    if dossier.status not in (2, 4, 9):
        raise _not_now(dossier, "trả về bước trước")
    open_items = current_tasks(session, dossier)
    if not any(actor.has_role(w.role, w.unit_code) or actor.has_role("leader", w.unit_code) for w in open_items):
        raise Forbidden("Chỉ người xử lý bước hiện tại (hoặc lãnh đạo đơn vị) được trả hồ sơ về bước trước.")
    run = steps.restore(session, dossier)
    incident = None
    try:
        run.reset_to(step_id)
    except TaskNotReady:
        raise Conflict("Không trả về được bước này: bước chưa được thực hiện hoặc nằm trên nhánh song song khác.",
                       code="not_allowed_step") from None
    except EngineIncident as exc:
        incident = exc
    audit.record(session, "return_to_step", actor.name, dossier=dossier, step_id=step_id, note=reason,
                 data={"from_steps": [w.step_id for w in open_items]})
    if dossier.status == 9:
        steps.set_status(session, dossier, 4, actor.name, "reopened", step_id=step_id, note=reason)
    steps.save_step(session, dossier, run, actor.name, incident)
    return dossier


def return_result(session: Session, actor: Actor, dossier: Dossier, method, data: dict | None = None,
                  attachment_ids=None) -> Dossier:
    """Hand over the result (status 9 → 10) in person, by post or online, with the result
    documents; the open return step, if the diagram has one, is completed with the same data."""
    if method not in DELIVERY_METHODS:
        raise Invalid("Hình thức trả kết quả không hợp lệ.", fields={"method": " | ".join(DELIVERY_METHODS)})
    model = steps.step_model(dossier)
    has_decision = any(s.get("milestone") == "decision" for s in model.values())
    if dossier.status != 9 and (has_decision or dossier.status not in PROCESSING):
        # a procedure drawn without a decision step returns its result from processing
        raise Conflict("Chỉ trả kết quả khi hồ sơ đã xử lý xong (trạng thái 9).", code="not_allowed_in_status",
                       extra={"status": dossier.status})
    ids = attachment_ids or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise Invalid("Danh sách tệp kết quả không hợp lệ.", fields={"attachment_ids": "danh sách số"})
    found = list(session.scalars(select(Attachment).where(Attachment.id.in_(ids), Attachment.dossier_id == dossier.id,
                                                          Attachment.kind == RESULT_DOCUMENT)).all()) if ids else []
    if len(found) != len(set(ids)):
        raise Invalid("Có tệp không phải kết quả của hồ sơ này.", fields={"attachment_ids": "tệp kết quả của hồ sơ"})
    if method == "online" and not found:
        raise Conflict("Trả kết quả trực tuyến cần đính kèm văn bản kết quả điện tử.", code="result_missing")
    ret = {sid for sid, s in model.items() if s.get("milestone") == "return"}
    open_items = current_tasks(session, dossier)
    item = next((w for w in open_items if w.step_id in ret), None)
    note = {"method": method, "attachments": [a.id for a in found]}
    if item is not None:
        tasks.complete(session, actor, item.id, {**(data or {}), "delivery_method": method})
    elif open_items:
        raise Conflict("Còn bước chưa hoàn thành; chưa trả kết quả được.", code="steps_open",
                       extra={"open_steps": [w.step_id for w in open_items]})
    else:
        steps.set_status(session, dossier, 10, actor.name, "returned", note=method)
        dossier.finished_at = utcnow()
        _touch(dossier)
    audit.record(session, "result_returned", actor.name, dossier=dossier, note=method, data=note)
    session.flush()
    return dossier


# -- dispatch ------------------------------------------------------------------------------

def handle_message_event(session: Session, actor: Actor, dossier: Dossier, name: str, data: dict) -> Dossier:
    """An event that is not built in: a message the dossier's diagram waits for."""
    return events.deliver_message(session, actor.name, dossier, name, data)


EVENTS = {"supplement_submitted": supplement_submitted, "payment_received": payment_received, "withdrawn": withdraw}


def send_event(session: Session, actor: Actor, code: str, name: str, data: dict, *, field: str = "name") -> Dossier:
    """A built-in event (`EVENTS`) or a message the dossier's diagram waits for, by its name as
    the diagram writes it (any text of 1..200 characters without control characters); `field`
    is what a refused name is reported as (the path's `name`, or the body's `message`)."""
    events.check_name(name, field)
    dossier = dossier_for_event(session, actor, code)
    handler = EVENTS.get(name)
    if handler is None:
        return handle_message_event(session, actor, dossier, name, data or {})
    audit.record(session, "event", actor.name, dossier=dossier, note=name)
    return handler(session, actor, dossier, data or {})


ACTIONS = ("request-supplement", "request-payment", "refuse", "apologize", "stop", "return-to-step",
           "return-result")


def perform(session: Session, actor: Actor, code: str, action: str, body: dict, *,
            supplement_window_days: int = DEFAULT_SUPPLEMENT_WINDOW_DAYS) -> Dossier:
    """One officer action on the dossier as a whole (API and back office share this entry)."""
    if action not in ACTIONS:
        raise NotFound(f"Không có thao tác '{action}'.", code="unknown_action",
                       extra={"actions": list(ACTIONS)})
    dossier = dossier_for_action(session, actor, code)
    if action == "request-supplement":
        return request_supplement(session, actor, dossier, body.get("items"), body.get("reason"),
                                  window_days=supplement_window_days)
    if action == "request-payment":
        return request_payment(session, actor, dossier, body.get("amount"), body.get("note"))
    if action == "refuse":
        return refuse(session, actor, dossier, body.get("reason"))
    if action == "apologize":
        return apologize(session, actor, dossier, body.get("new_due_at"), body.get("reason"))
    if action == "stop":
        return stop(session, actor, dossier, body.get("reason"))
    if action == "return-to-step":
        return return_to_step(session, actor, dossier, body.get("step_id"), body.get("reason"))
    return return_result(session, actor, dossier, body.get("method"), body.get("data"), body.get("attachment_ids"))
