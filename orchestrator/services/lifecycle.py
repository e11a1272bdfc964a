"""The legal lifecycle of a dossier beyond single steps (docs/domain.md, Decree 118/2025).

Officers' actions on the dossier as a whole (request a supplement, ask for the financial
obligation, apologise with a new date, stop, refuse at reception, return to an earlier step,
return the result) and the events that come into a dossier (`supplement_submitted`,
`payment_received`, `withdrawn`, or a message a diagram waits for).

Each use case is one step on the locked dossier (`steps.Step`, locked once `access` lets the caller
act): it checks what the law and the state allow *before* changing anything, changes the status
only through `Step.set_status` (the allowed moves are `models.dossiers.TRANSITIONS`; status-change
notifications hook there), records audit events and answers a `Conflict` (409) naming the reason
when it is not allowed. It returns the step; the caller commits.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..engine import TaskNotReady
from ..i18n import vi
from ..models import Attachment, Dossier, Unit, User, WorkItem
from ..models.attachments import RESULT_DOCUMENT
from ..models.dossiers import CANCELLED, OPEN, DossierStatus
from ..models.types import utcnow
from ..timezone import TZ
from . import (access, audit, citizen_notices, events, fault, fees, jobs, limits, notifications, outbox, pauses,
               periods, steps, substitutes, tasks, versions)
from .auth import Actor
from .deadlines import calendar_for, legal_due_at
from .dossiers import current_tasks
from .errors import Conflict, Invalid, NotFound
from .steps import Step

PROCESSING_STATUSES = (DossierStatus.RECEIVED, DossierStatus.PROCESSING)
DELIVERY_METHODS = ("in_person", "post", "online")


# -- who may act: the rules are in `access` (LIFECYCLE_ACTIONS, may_send_event, may_rewind) ---

def step_for_action(session: Session, actor: Actor, code: str, may=access.may_act_on_dossier) -> Step:
    """The dossier's step, locked once `may` (a rule of `access.LIFECYCLE_ACTIONS`: an officer with
    a role in a unit taking part; 404 if unseen, 403) lets the actor act on it."""
    return Step.lock_code(session, code, actor.name, lambda dossier: may(session, actor, dossier))


def step_for_event(session: Session, actor: Actor, code: str, name: str | None = None) -> Step:
    """Integrators need `events:send` for the dossier's province (the citizen's events: on the
    dossiers they submitted); officers a role in a unit taking part (`access.may_send_event`)."""
    return step_for_action(session, actor, code,
                           lambda session, actor, dossier: access.may_send_event(session, actor, dossier, name))


# -- shared mechanics ----------------------------------------------------------------------


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


def _close(step: Step, status: DossierStatus, action: str, note: str | None, data: dict | None = None) -> None:
    """Withdrawn, stopped: open steps are cancelled, timers dropped, the dossier is finished
    (`set_status`: a final status)."""
    session, dossier, now = step.session, step.dossier, utcnow()
    pauses.close_pause(dossier, now, closed_by=action)
    for item in current_tasks(session, dossier):
        item.state, item.completed_at = CANCELLED, now
    step.set_status(status, note=note, data=data)
    step.touch()
    session.flush()
    jobs.replace_timer(session, dossier.id, dossier.lock_version, None)


def _reason(value, field: str = "reason") -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise Invalid(vi("Cần nêu lý do."), fields={field: vi("bắt buộc")})
    if len(text) > 2000:
        raise Invalid(vi("Lý do quá dài."), fields={field: vi("tối đa 2000 ký tự")})
    return text


def _items(value) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(i, str) and i.strip() for i in value):
        raise Invalid(vi("Liệt kê đầy đủ các thành phần cần bổ sung (một lần)."),
                      fields={"items": vi("danh sách không rỗng các chuỗi")})
    if len(value) > 50 or any(len(i) > 500 for i in value):
        raise Invalid(vi("Danh sách bổ sung quá dài."), fields={"items": vi("tối đa 50 mục, 500 ký tự mỗi mục")})
    return [i.strip() for i in value]


def _reception_item(session: Session, dossier: Dossier) -> WorkItem | None:
    reception = {sid for sid, s in steps.step_model(dossier).items() if s.get("milestone") == "reception"}
    return next((w for w in current_tasks(session, dossier) if w.step_id in reception), None)


def _not_now(dossier: Dossier, what: str) -> Conflict:
    return Conflict(vi("Không thể %(action)s khi hồ sơ ở trạng thái %(status)s (%(status_name)s).", action=what,
                       status=dossier.status, status_name=dossier.status_name),
                    code="not_allowed_in_status", extra={"status": dossier.status})


# -- supplements ---------------------------------------------------------------------------

def request_supplement(step: Step, actor: Actor, items, reason: str | None = None) -> Step:
    """At reception (status 1): the reception step's outcome 'supplement'. During processing
    (2/4): once per deciding unit (the unit of the open step the officer holds), within the
    version's `supplement_window_days` working days of reception when the procedure sets one (no
    general rule does: off by default); the dossier waits in status 5 and its open steps are held
    until the supplement arrives, then the period counts again from the day it arrives."""
    session, dossier = step.session, step.dossier
    items = _items(items)
    if dossier.status == DossierStatus.AWAITING_RECEPTION:
        item = _reception_item(session, dossier)
        if item is None:
            raise _not_now(dossier, vi("yêu cầu bổ sung"))
        return tasks.complete_on(step, actor, item.id, {"reception_result": "supplement", "missing_items": items})
    if dossier.status not in PROCESSING_STATUSES:
        raise _not_now(dossier, vi("yêu cầu bổ sung"))
    unit = _requesting_unit(session, actor, dossier)
    pauses.ensure_first_supplement(dossier, pauses.PROCESSING, unit)
    now = utcnow()
    window_days = dossier.version.supplement_window_days
    if window_days is not None:
        elapsed = calendar_for(session, dossier.province_code).working_days_between(dossier.received_at, now)
        if elapsed > window_days:
            raise Conflict(vi("Quy trình này chỉ cho phép yêu cầu bổ sung trong %(days)s ngày làm việc kể từ "
                              "ngày tiếp nhận (đã qua %(elapsed)s ngày làm việc).", days=window_days, elapsed=elapsed),
                           code="supplement_too_late",
                           extra={"window_days": window_days, "elapsed_working_days": elapsed})
    note = "; ".join(items)
    pauses.open_pause(dossier, pauses.SUPPLEMENT, now, stage=pauses.PROCESSING, items=items, by=actor.name,
                      unit=unit, reason=(reason or "").strip() or None)
    step.set_status(DossierStatus.SUPPLEMENT_REQUESTED, note=note, data={"items": items, "reason": reason})
    step.touch()
    session.flush()
    return step


def _requesting_unit(session: Session, actor: Actor, dossier: Dossier) -> str:
    """The deciding unit that asks: the unit of an open step the officer holds (assigned to them
    first, else one of their units' open steps); with no step open (the workflow waits for an
    event), the unit of the last completed step, if it is theirs; else 409."""
    mine = actor.units()
    current = current_tasks(session, dossier)
    open_items = [w for w in current if w.unit_code in mine]
    if not open_items:
        last = None if current else fault.last_completed_unit(session, dossier)
        if last in mine:
            return last
        raise Conflict(vi("Chỉ đơn vị đang giữ một bước của hồ sơ mới được yêu cầu bổ sung."),
                       code="supplement_no_open_step")
    held = next((w for w in open_items if actor.user_id is not None and w.assignee_id == actor.user_id), None)
    return (held or open_items[0]).unit_code


def _tell_supplement(step: Step, entry: dict, items: list[WorkItem]) -> None:
    """The supplement reached the officers holding the reopened (or held) steps; with none open,
    the officer of the unit that asked (else its leaders)."""
    session, dossier = step.session, step.dossier
    users: set[int] = set()
    for item in items:
        users |= notifications.holders(session, item)
    if not items:
        asked = session.scalar(select(User.id).where(User.username == (entry.get("by") or "")))
        users = {asked} if asked else set(notifications.role_holders(session, entry.get("unit") or "", "leader"))
    names = ", ".join(dict.fromkeys(f"«{item.step_name}»" for item in items))
    notifications.notify(session, users, "supplement_received", dossier,
                         f"Hồ sơ {dossier.code} đã được bổ sung" + (f" (bước {names})." if names else "."))


def supplement_submitted(step: Step, actor: Actor, data: dict) -> Step:
    """The citizen supplemented. At reception, the reception step opens again (status 1); during
    processing the dossier goes back to 4 and the legal period counts again from today."""
    session, dossier = step.session, step.dossier
    entry = pauses.current(dossier)
    if dossier.status != DossierStatus.SUPPLEMENT_REQUESTED or entry is None or entry.get("kind") != pauses.SUPPLEMENT:
        raise Conflict(vi("Hồ sơ không ở trạng thái chờ bổ sung."), code="not_waiting")
    now = utcnow()
    pauses.close_pause(dossier, now, received_by=actor.name, note=_note(data))
    if entry.get("stage") == pauses.RECEPTION and _reception_item(session, dossier) is not None:
        # the workflow was held at its reception step (tasks._held_at_reception): it opens again as is
        step.set_status(DossierStatus.AWAITING_RECEPTION, note=_note(data))
        step.touch()
        _tell_supplement(step, entry, [_reception_item(session, dossier)])
        session.flush()
        return step
    if entry.get("stage") == pauses.RECEPTION:
        try:
            step.engine(lambda run: run.reset_to(entry.get("step_id") or ""))
        except TaskNotReady:
            raise Conflict(vi("Không mở lại được bước tiếp nhận của hồ sơ."), code="not_waiting") from None
        step.set_status(DossierStatus.AWAITING_RECEPTION, note=_note(data))
        step.save()
        _tell_supplement(step, entry, step.created)
        return step
    v = dossier.version
    dossier.legal_due_at = legal_due_at(session, dossier.province_code, now, *periods.legal_period(session, dossier, v))
    _move_due(session, dossier, dossier.legal_due_at)
    step.set_status(DossierStatus.PROCESSING, note=_note(data),
                    data={"counted_again_from": now.isoformat(),
                          "legal_due_at": dossier.legal_due_at.isoformat() if dossier.legal_due_at else None})
    step.touch()
    _tell_supplement(step, entry, current_tasks(session, dossier))
    session.flush()
    return step


def _note(data: dict) -> str | None:
    note = data.get("note") if isinstance(data, dict) else None
    return str(note)[:2000] if note else None


# -- financial obligation ------------------------------------------------------------------

def request_payment(step: Step, actor: Actor, amount=None, note: str | None = None) -> Step:
    """The dossier waits in status 6 until `payment_received`; the amount comes from the
    version's fee rule unless the officer states it (e.g. the tax authority's notice)."""
    session, dossier = step.session, step.dossier
    if dossier.status not in PROCESSING_STATUSES:
        raise _not_now(dossier, vi("yêu cầu thực hiện nghĩa vụ tài chính"))
    if amount is None:
        amount = fees.compute(dossier.version.fee_rule, dossier.data, dossier.version.decisions)
    elif isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise Invalid(vi("Số tiền phải là số nguyên VND ≥ 0."), fields={"amount": vi("số nguyên ≥ 0")})
    now = utcnow()
    pauses.open_pause(dossier, pauses.PAYMENT, now, amount=amount, by=actor.name, note=note)
    step.set_status(DossierStatus.PAYMENT_REQUESTED, note=f"{amount:,} VND".replace(",", "."),
                    data={"amount": amount, "note": note})
    step.touch()
    session.flush()
    return step


def payment_received(step: Step, actor: Actor, data: dict) -> Step:
    """Paid: back to 4; the due dates move by the office time spent waiting (not counted)."""
    session, dossier = step.session, step.dossier
    entry = pauses.current(dossier)
    if dossier.status != DossierStatus.PAYMENT_REQUESTED or entry is None or entry.get("kind") != pauses.PAYMENT:
        raise Conflict(vi("Hồ sơ không ở trạng thái chờ thực hiện nghĩa vụ tài chính."), code="not_waiting")
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
    step.set_status(DossierStatus.PROCESSING, note=receipt, data={"office_hours_paused": round(hours, 2)})
    step.touch()
    session.flush()
    return step


# -- apology, withdrawal, stop, refusal ----------------------------------------------------

def _as_due(value) -> datetime:
    """A new appointment: a date means the end of office hours (17:00) of that day."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=TZ)
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(17, 0), tzinfo=TZ)
    raise Invalid(vi("Cần ngày hẹn trả mới."), fields={"new_due_at": vi("ngày (YYYY-MM-DD) hoặc thời điểm ISO 8601")})


def signed_by(session: Session, actor: Actor, dossier: Dossier, action: str) -> dict:
    """The unit at fault the acting leader leads and the leader, as the apology letter and the
    stop notice name them; kept in the history entry so the document reads the same later."""
    unit_code = access.fault_unit_led_by(session, actor, dossier, action)
    unit = session.get(Unit, unit_code)
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    return {"unit": unit_code, "unit_name": unit.name if unit is not None else unit_code,
            "parent_code": unit.parent_code if unit is not None else None,
            "leader": actor.name, "leader_name": (user.full_name if user is not None else None) or actor.name,
            "leader_title": user.title if user is not None else None}


def apologize(step: Step, actor: Actor, new_due_at, reason) -> Step:
    """The apology and extension letter: once, at least one working day before the due date, in
    the name of the unit at fault and signed by its leader (`signed_by`); the new date becomes
    `due_at`, `legal_due_at` stays for the on-time statistics."""
    session, dossier = step.session, step.dossier
    signer = signed_by(session, actor, dossier, "apologize")
    reason = _reason(reason)
    new_due = _as_due(new_due_at)
    if dossier.status not in (*PROCESSING_STATUSES, DossierStatus.PAYMENT_REQUESTED):
        raise _not_now(dossier, vi("gửi phiếu xin lỗi và hẹn lại"))
    if dossier.apologized_at is not None:
        raise Conflict(vi("Hồ sơ đã có phiếu xin lỗi và hẹn lại; chỉ được gửi một lần."), code="apology_already_sent")
    if dossier.due_at is None:
        raise Conflict(vi("Hồ sơ chưa có ngày hẹn trả."), code="no_due_date")
    now = utcnow()
    if calendar_for(session, dossier.province_code).working_days_between(now, dossier.due_at) < 1:
        raise Conflict(vi("Phiếu xin lỗi phải gửi chậm nhất một ngày làm việc trước ngày hẹn trả."),
                       code="apology_too_late", extra={"due_at": dossier.due_at.astimezone(TZ).isoformat()})
    if new_due <= dossier.due_at:
        raise Invalid(vi("Ngày hẹn mới phải sau ngày hẹn hiện tại."),
                      fields={"new_due_at": vi("sau ngày hẹn hiện tại")})
    old = dossier.due_at
    dossier.apologized_at, dossier.apology_reason = now, reason
    _move_due(session, dossier, new_due)
    audit.record(session, "apologized", actor.name, dossier=dossier, note=reason,
                 data={"old_due_at": old.isoformat(), "new_due_at": new_due.isoformat(), **signer})
    citizen_notices.delayed(session, dossier, reason)
    step.touch()
    session.flush()
    return step


WITHDRAWABLE = (DossierStatus.AWAITING_RECEPTION, DossierStatus.RECEIVED, DossierStatus.PROCESSING,
                DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.PAYMENT_REQUESTED)
STOPPABLE = (DossierStatus.RECEIVED, DossierStatus.PROCESSING, DossierStatus.SUPPLEMENT_REQUESTED,
             DossierStatus.PAYMENT_REQUESTED)


def withdraw(step: Step, actor: Actor, data: dict) -> Step:
    """The citizen withdraws the dossier (status 7) before a decision."""
    dossier = step.dossier
    if dossier.status not in WITHDRAWABLE:
        raise Conflict(vi("Hồ sơ ở trạng thái %(status)s (%(status_name)s) không rút được.", status=dossier.status,
                          status_name=dossier.status_name),
                       code="not_waiting")
    _close(step, DossierStatus.WITHDRAWN, "withdrawn", _note(data) or (data or {}).get("reason"))
    return step


def stop(step: Step, actor: Actor, reason) -> Step:
    """Stop processing (Decree 118 Art. 21) with the reason the written notice states (status 8),
    in the name of the unit at fault and signed by its leader (`signed_by`)."""
    signer = signed_by(step.session, actor, step.dossier, "stop")
    reason = _reason(reason)
    if step.dossier.status not in STOPPABLE:
        raise _not_now(step.dossier, vi("dừng xử lý"))
    _close(step, DossierStatus.STOPPED, "stopped", reason, data=signer)
    return step


def refuse(step: Step, actor: Actor, reason) -> Step:
    """Refusal is a reception outcome (status 1 → 3); during processing, `stop` is the act."""
    dossier = step.dossier
    reason = _reason(reason)
    item = _reception_item(step.session, dossier) if dossier.status == DossierStatus.AWAITING_RECEPTION else None
    if item is None:
        raise Conflict(vi("Chỉ từ chối được khi tiếp nhận; hồ sơ đang giải quyết thì dùng 'dừng xử lý'."),
                       code="not_allowed_in_status", extra={"status": dossier.status})
    return tasks.complete_on(step, actor, item.id, {"reception_result": "refuse", "refusal_reason": reason})


# -- return to an earlier step, return of the result ----------------------------------------

def return_to_step(step: Step, actor: Actor, step_id, reason) -> Step:
    """Send the dossier back to an earlier step (one every open step descends from), with the
    reason in the history. The holder of a current step, or a leader of its unit, may do it
    (`access.may_rewind`: an unclaimed step is claimed first)."""
    session, dossier = step.session, step.dossier
    reason = _reason(reason)
    model = steps.step_model(dossier)
    if not isinstance(step_id, str) or step_id not in model:
        raise Invalid(vi("Bước không có trong quy trình."), fields={"step_id": vi("mã bước của quy trình")})
    if model[step_id].get("milestone") == "reception":
        raise Conflict(vi("Không trả hồ sơ về bước tiếp nhận; hãy yêu cầu bổ sung hoặc dừng xử lý."),
                       code="not_allowed_step")
    if dossier.status not in (*PROCESSING_STATUSES, DossierStatus.DECIDED):
        raise _not_now(dossier, vi("trả về bước trước"))
    open_items = current_tasks(session, dossier)
    access.may_rewind(actor, open_items)
    try:
        step.engine(lambda run: run.reset_to(step_id))
    except TaskNotReady:
        raise Conflict(vi("Không trả về được bước này: bước chưa được thực hiện hoặc nằm trên nhánh song song khác."),
                       code="not_allowed_step") from None
    audit.record(session, "return_to_step", actor.name, dossier=dossier, step_id=step_id, note=reason,
                 data={"from_steps": [w.step_id for w in open_items]})
    if dossier.status == DossierStatus.DECIDED:
        step.set_status(DossierStatus.PROCESSING, step_id=step_id, note=reason)
    step.save()
    for item in step.created:  # the officer who held the step before, else its role holders
        before = session.scalar(select(WorkItem.assignee_id).where(
            WorkItem.dossier_id == dossier.id, WorkItem.step_id == item.step_id, WorkItem.id != item.id,
            WorkItem.assignee_id.is_not(None)).order_by(WorkItem.created_at.desc()).limit(1))
        if before:  # an absent officer's work goes to their substitute
            before = substitutes.effective(session, before, substitutes.today()) or before
        notifications.notify(session, {before} if before else notifications.holders(session, item), "returned",
                             dossier, f"Hồ sơ {dossier.code} được trả về bước «{item.step_name}»: {reason}")
    return step


def return_result(step: Step, actor: Actor, method, data: dict | None = None, attachment_ids=None) -> Step:
    """Hand over the result (status 9 → 10) in person, by post or online, with the result
    documents; the open return step, if the diagram has one, is completed with the same data."""
    session, dossier = step.session, step.dossier
    if method not in DELIVERY_METHODS:
        raise Invalid(vi("Hình thức trả kết quả không hợp lệ."), fields={"method": " | ".join(DELIVERY_METHODS)})
    model = steps.step_model(dossier)
    has_decision = any(s.get("milestone") == "decision" for s in model.values())
    if dossier.status != DossierStatus.DECIDED and (has_decision or dossier.status not in PROCESSING_STATUSES):
        # a procedure drawn without a decision step returns its result from processing
        raise Conflict(vi("Chỉ trả kết quả khi hồ sơ đã xử lý xong (trạng thái 9)."), code="not_allowed_in_status",
                       extra={"status": dossier.status})
    ids = attachment_ids or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise Invalid(vi("Danh sách tệp kết quả không hợp lệ."), fields={"attachment_ids": vi("danh sách số")})
    found = list(session.scalars(select(Attachment).where(Attachment.id.in_(ids), Attachment.dossier_id == dossier.id,
                                                          Attachment.kind == RESULT_DOCUMENT)).all()) if ids else []
    if len(found) != len(set(ids)):
        raise Invalid(vi("Có tệp không phải kết quả của hồ sơ này."),
                      fields={"attachment_ids": vi("tệp kết quả của hồ sơ")})
    if method == "online" and not found:
        raise Conflict(vi("Trả kết quả trực tuyến cần đính kèm văn bản kết quả điện tử."), code="result_missing")
    ret = {sid for sid, s in model.items() if s.get("milestone") == "return"}
    open_items = current_tasks(session, dossier)
    item = next((w for w in open_items if w.step_id in ret), None)
    note = {"method": method, "attachments": [a.id for a in found]}
    if item is not None:
        tasks.complete_on(step, actor, item.id, {**(data or {}), "delivery_method": method})
    elif open_items:
        raise Conflict(vi("Còn bước chưa hoàn thành; chưa trả kết quả được."), code="steps_open",
                       extra={"open_steps": [w.step_id for w in open_items]})
    else:
        step.set_status(DossierStatus.RETURNED, note=method)
        step.touch()
    audit.record(session, "result_returned", actor.name, dossier=dossier, note=method, data=note)
    session.flush()
    return step


# -- dispatch ------------------------------------------------------------------------------

def handle_message_event(step: Step, actor: Actor, name: str, data: dict) -> Step:
    """An event that is not built in: a message the dossier's diagram waits for."""
    return events.deliver_message(step, name, data)


EVENTS = {"supplement_submitted": supplement_submitted, "payment_received": payment_received, "withdrawn": withdraw}


def send_event(session: Session, actor: Actor, code: str, name: str, data: dict, *, field: str = "name") -> Step:
    """A built-in event (`EVENTS`) or a message the dossier's diagram waits for, by its name as
    the diagram writes it (any text of 1..200 characters without control characters); `field`
    is what a refused name is reported as (the path's `name`, or the body's `message`)."""
    events.check_name(name, field)
    access.may_send_named(actor, name)  # the key's `events` list, before the dossier is read
    limits.check_data(session, data, "data")
    step = step_for_event(session, actor, code, name)
    handler = EVENTS.get(name)
    if handler is None:
        return handle_message_event(step, actor, name, data or {})
    # A diagram may wait for a message named like a built-in event (a publish warning): the built-in
    # effect first, then the diagram's wait; either alone when only one applies.
    waits = versions.of(step.dossier).model.get("message_waits") or ()  # the cached version: no statement
    diagram_waits = any(w.get("name") == name for w in waits) and name in step.run.waiting_messages()
    # one history entry per event: the diagram's delivery records it when the diagram waits for it
    if not diagram_waits:
        audit.record(session, "event", actor.name, dossier=step.dossier, note=name)
    try:
        handler(step, actor, data or {})
    except Conflict as exc:
        if not diagram_waits:
            raise events.listing_waits(exc, step, name)
        return handle_message_event(step, actor, name, data or {})  # the built-in changed nothing
    if diagram_waits and step.dossier.finished_at is None:
        return handle_message_event(step, actor, name, data or {})  # tells `dossier.event` itself
    if diagram_waits:
        audit.record(session, "event", actor.name, dossier=step.dossier, note=name)
    outbox.emit(session, step.dossier, "dossier.event", {"name": name})  # after the status it changed
    return step


ACTIONS = ("request-supplement", "request-payment", "refuse", "apologize", "stop", "return-to-step",
           "return-result")


def perform(session: Session, actor: Actor, code: str, action: str, body: dict) -> Step:
    """One officer action on the dossier as a whole (API and back office share this entry)."""
    if action not in ACTIONS:
        raise NotFound(vi("Không có thao tác '%(action)s'.", action=action), code="unknown_action",
                       extra={"actions": list(ACTIONS)})
    step = step_for_action(session, actor, code, access.LIFECYCLE_ACTIONS[action])
    if action == "request-supplement":
        return request_supplement(step, actor, body.get("items"), body.get("reason"))
    if action == "request-payment":
        return request_payment(step, actor, body.get("amount"), body.get("note"))
    if action == "refuse":
        return refuse(step, actor, body.get("reason"))
    if action == "apologize":
        return apologize(step, actor, body.get("new_due_at"), body.get("reason"))
    if action == "stop":
        return stop(step, actor, body.get("reason"))
    if action == "return-to-step":
        return return_to_step(step, actor, body.get("step_id"), body.get("reason"))
    return return_result(step, actor, body.get("method"), body.get("data"), body.get("attachment_ids"))
