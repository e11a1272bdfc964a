"""Officers' work: claim, assign, complete a step (one transaction on a locked dossier)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.orm import Session, object_session

from ..engine import TaskNotReady
from ..i18n import vi
from ..models import AuditEvent, Dossier, RoleAssignment, User, WorkItem
from ..models.dossiers import COMPLETED, OPEN, DossierStatus
from ..models.types import utcnow
from . import access, audit, forms, limits, notifications, pauses, steps, substitutes, versions
from .auth import Actor
from .errors import Conflict, Forbidden, Invalid, NotFound

RECEPTION_RESULTS = {"accept": DossierStatus.RECEIVED, "supplement": DossierStatus.SUPPLEMENT_REQUESTED,
                     "refuse": DossierStatus.REFUSED}


def get_visible(session: Session, actor: Actor, task_id: str) -> WorkItem:
    item = session.get(WorkItem, task_id) if isinstance(task_id, str) and len(task_id) <= 36 else None
    if item is None or not access.sees_dossier(session, actor, item.dossier):
        raise NotFound(vi("Không tìm thấy công việc."))
    return item


def form_of(item: WorkItem) -> dict:
    """The form of the step: its own, or the built-in one, with the product's outcome fields."""
    v = versions.of(item.dossier)
    form = v.step_forms.get(item.step_id)
    if form is None:  # a step the version's model does not list (not expected): its key as recorded
        form = forms.effective(v.forms.get(item.form_key or ""), None)
    return form


def prefill(item: WorkItem, values: dict) -> dict:
    """The dossier's values for the fields of this step's form (what a form opens with). An
    instance of a loop or multi-instance opens empty: the dossier's values of its fields are
    another instance's answers (another department's opinion)."""
    v = versions.of(item.dossier)
    if (v.steps.get(item.step_id) or {}).get("loop"):
        return {}
    form = form_of(item) or {}
    fields = form.get("schema", {}).get("properties", {})
    values = {k: val for k, val in values.items() if k in fields}
    if (v.steps.get(item.step_id) or {}).get("milestone") == "reception" or not values:
        return values  # the reception form checks what the citizen declared: the start data
    # Another step's form: what the citizen declared (the reception form's fields) as recorded, and
    # the officers' findings only as earlier steps or the diagram's messages recorded them, never
    # from the start data (an integrator must not fill in an officer's finding).
    reception = next((sid for sid, s in v.steps.items() if s.get("milestone") == "reception"), None)
    declared = set((v.step_forms.get(reception) or {}).get("schema", {}).get("properties", {})) if reception else set()
    declared -= {"reception_result", "missing_items", "refusal_reason"}  # the desk's outcome, not declared
    findings = [k for k in values if k not in declared]
    if findings:
        recorded = _recorded_keys(item)
        values = {k: val for k, val in values.items() if k in declared or k in recorded}
    return values


def _recorded_keys(item: WorkItem) -> set[str]:
    """The keys of the dossier's data written by completed steps and delivered messages (its history)."""
    session = object_session(item)
    if session is None:
        return set()
    keys: set[str] = set()
    for data in session.scalars(select(AuditEvent.data).where(
            AuditEvent.dossier_id == item.dossier_id, AuditEvent.action.in_(("complete", "event")),
            AuditEvent.data.is_not(None))):
        if isinstance(data, dict):
            keys.update(data)
    return keys


def _holder_conflict(session: Session, item: WorkItem) -> Conflict:
    holder = session.get(User, item.assignee_id)
    name = holder.username if holder else "?"
    return Conflict(vi("Công việc đang do %(holder)s xử lý.", holder=name), code="held_by_other",
                    extra={"holder": name, "holder_name": holder.full_name if holder else None})


def claim(session: Session, actor: Actor, task_id: str) -> WorkItem:
    item = get_visible(session, actor, task_id)
    access.may_act_on_step(actor, item)
    result = session.execute(
        update(WorkItem).where(WorkItem.id == item.id, WorkItem.state == OPEN,
                               or_(WorkItem.assignee_id.is_(None), WorkItem.assignee_id == actor.user_id))
        .values(assignee_id=actor.user_id).execution_options(synchronize_session=False))
    session.refresh(item)
    if result.rowcount == 0:
        if item.state != OPEN:
            raise Conflict(vi("Công việc đã hoàn thành hoặc không còn hiệu lực."), code="not_open")
        raise _holder_conflict(session, item)
    audit.record(session, "claim", actor.name, dossier=item.dossier, task_id=item.id, step_id=item.step_id,
                 unit_code=item.unit_code)
    return item


def unclaim(session: Session, actor: Actor, task_id: str) -> WorkItem:
    item = get_visible(session, actor, task_id)
    is_leader = access.may_unclaim(actor, item)  # a leader may take it back from anyone in the unit
    cond = [WorkItem.id == item.id, WorkItem.state == OPEN]
    if not is_leader:
        cond.append(or_(WorkItem.assignee_id.is_(None), WorkItem.assignee_id == actor.user_id))
    result = session.execute(update(WorkItem).where(*cond).values(assignee_id=None)
                             .execution_options(synchronize_session=False))
    session.refresh(item)
    if result.rowcount == 0:
        if item.state != OPEN:
            raise Conflict(vi("Công việc đã hoàn thành hoặc không còn hiệu lực."), code="not_open")
        raise _holder_conflict(session, item)
    audit.record(session, "unclaim", actor.name, dossier=item.dossier, task_id=item.id, step_id=item.step_id)
    return item


def holders(session: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(unit, role) -> (username, full name) of the officers holding it, for a leader's reassignment
    list: one query for the whole page."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {pair: [] for pair in pairs}
    if not pairs:
        return out
    rows = session.execute(
        select(RoleAssignment.unit_code, RoleAssignment.role, User.username, User.full_name)
        .join(User, User.id == RoleAssignment.user_id)
        .where(tuple_(RoleAssignment.unit_code, RoleAssignment.role).in_(sorted(pairs)))
        .order_by(User.username)).all()
    for unit_code, role, username, full_name in rows:
        out[(unit_code, role)].append((username, full_name))
    return out


def assign(session: Session, actor: Actor, task_id: str, username: str) -> WorkItem:
    item = get_visible(session, actor, task_id)
    access.may_assign(actor, item)
    user = session.query(User).filter_by(username=username or "").one_or_none()
    if user is None or not any(a.role == item.role and a.unit_code == item.unit_code for a in user.assignments):
        raise Invalid(vi("Người được giao phải có vai trò phù hợp tại đơn vị."),
                      fields={"username": vi("không có %(role)s của %(unit)s với tên này", role=item.role,
                                             unit=item.unit_code)})
    if item.state != OPEN:
        raise Conflict(vi("Công việc đã hoàn thành hoặc không còn hiệu lực."), code="not_open")
    user = substitutes.stand_in(session, actor, user, item)  # an absent officer's work goes to their substitute
    item.assignee_id = user.id
    audit.record(session, "assign", actor.name, dossier=item.dossier, task_id=item.id, step_id=item.step_id,
                 note=f"giao cho {user.username}")
    if user.id != actor.user_id:  # a leader giving the step to someone else (not taking it)
        notifications.notify(session, [user.id], "assigned", item.dossier,
                             f"Bạn được giao bước «{item.step_name}» của hồ sơ {item.dossier.code}.")
    session.flush()
    return item


def ask_to_take_over(session: Session, actor: Actor, task_id: str) -> WorkItem:
    """An officer of the step (its role in its unit, as for claiming) asks the colleague holding it
    to let them take it: a `takeover_request` notification to the holder and a line in the history.
    Nothing moves: the holder gives it back (unclaim) or a leader reassigns it."""
    item = get_visible(session, actor, task_id)
    access.may_act_on_step(actor, item)
    if item.state != OPEN:
        raise Conflict(vi("Công việc đã hoàn thành hoặc không còn hiệu lực."), code="not_open")
    if item.assignee_id is None:
        raise Conflict(vi("Công việc chưa có người nhận: hãy nhận việc."), code="not_held")
    if item.assignee_id == actor.user_id:
        raise Conflict(vi("Bạn đang giữ công việc này."), code="held_by_you")
    holder, asker = session.get(User, item.assignee_id), session.get(User, actor.user_id)
    who = (asker.full_name if asker else None) or actor.name
    notifications.notify(session, [item.assignee_id], "takeover_request", item.dossier,
                         f"{who} đề nghị được nhận bước «{item.step_name}» của hồ sơ {item.dossier.code}.")
    audit.record(session, "takeover_request", actor.name, dossier=item.dossier, task_id=item.id,
                 step_id=item.step_id, unit_code=item.unit_code, note=f"đề nghị {holder.username} chuyển giao",
                 data={"holder": holder.username})
    session.flush()
    return item


def complete(session: Session, actor: Actor, task_id: str, data: dict,
             expected_lock_version: int | None = None) -> steps.Step:
    """Lock the dossier, check the item is still open and ours, validate, run, save: one transaction.
    Returns the step: its dossier, and its open items after this one (`Step.open_items`).

    The dossier is locked first and the items read after, so a second concurrent completion
    waits for the first to commit and then finds the item completed (409)."""
    step = (steps.Step.lock_for_task(session, task_id, actor.name)
            if isinstance(task_id, str) and len(task_id) <= 36 else None)
    if step is None:
        raise NotFound(vi("Không tìm thấy công việc."))
    return complete_on(step, actor, task_id, data, expected_lock_version)


def complete_on(step: steps.Step, actor: Actor, task_id: str, data: dict,
                expected_lock_version: int | None = None) -> steps.Step:
    """`complete` on a dossier the caller has locked (the lifecycle actions made by completing
    the reception or the return step)."""
    session, dossier = step.session, step.dossier
    items = step.read_open_items(also=task_id)
    item = next((w for w in items if w.id == task_id), None)
    if item is None or not access.sees_step(session, actor, dossier, item, step.participants):
        raise NotFound(vi("Không tìm thấy công việc."))
    access.may_act_on_step(actor, item)
    if item.state != OPEN:
        raise Conflict(vi("Công việc đã được hoàn thành hoặc không còn hiệu lực."), code="not_open")
    if item.assignee_id is not None and item.assignee_id != actor.user_id:
        raise _holder_conflict(session, item)
    if dossier.status in (DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.PAYMENT_REQUESTED):
        waiting = (vi("bổ sung hồ sơ") if dossier.status == DossierStatus.SUPPLEMENT_REQUESTED
                   else vi("thực hiện nghĩa vụ tài chính"))
        raise Conflict(vi("Hồ sơ đang tạm dừng chờ %(waiting)s; bước này tiếp tục khi có kết quả.", waiting=waiting),
                       code="dossier_paused")
    if expected_lock_version is not None and expected_lock_version != dossier.lock_version:
        raise Conflict(vi("Hồ sơ đã thay đổi kể từ khi mở biểu mẫu; hãy tải lại."), code="stale")
    limits.check_data(session, data, "data")
    forms.validate(form_of(item), data)
    _run_step(step, actor, item, data)
    return step


def _held_at_reception(dossier: Dossier, item: WorkItem, data: dict) -> bool:
    """A supplement asked at reception on a diagram that does not branch on the reception outcome:
    the workflow stays at the reception step (open, held while the dossier waits in 5) instead of
    running on to processing steps with an incomplete dossier."""
    v = versions.of(dossier)
    return (v.steps.get(item.step_id, {}).get("milestone") == "reception"
            and data.get("reception_result") == "supplement" and not v.model.get("reads_reception_result", True))


def _run_step(step: steps.Step, actor: Actor, item: WorkItem, data: dict) -> list[WorkItem]:
    """Complete the item on the workflow (an engine failure becomes the step's incident), record
    it, move the status by the step's milestone, save."""
    dossier, now = step.dossier, utcnow()
    if not _held_at_reception(dossier, item, data):
        try:
            step.engine(lambda run: run.complete(item.id, data))
        except TaskNotReady:
            raise Conflict(vi("Bước này không còn chờ xử lý trong quy trình."), code="not_open") from None
        item.state, item.completed_at, item.completed_by = COMPLETED, now, actor.name
    if item.assignee_id is None:
        item.assignee_id = actor.user_id
    dossier.data = {**dossier.data, **data}
    audit.record(step.session, "complete", actor.name, dossier=dossier, task_id=item.id, step_id=item.step_id,
                 unit_code=item.unit_code, from_status=int(dossier.status), note=item.step_name, data=data)
    _milestone(step, actor, item, data, now)
    return step.save()


def _milestone(step: steps.Step, actor: Actor, item: WorkItem, data: dict, now) -> None:
    """Statuses follow the step the designer marked (docs/domain.md: reception, decision, return)."""
    dossier = step.dossier
    milestone = steps.step_model(dossier).get(item.step_id, {}).get("milestone")
    if milestone == "reception":
        result = data.get("reception_result", "accept")
        if result == "accept" and dossier.status == DossierStatus.AWAITING_RECEPTION:
            steps.accept(step.session, dossier, now)
            step.set_status(DossierStatus.RECEIVED, step_id=item.step_id)
        elif result == "supplement":
            pauses.ensure_first_supplement(dossier, pauses.RECEPTION)
            pauses.open_pause(dossier, pauses.SUPPLEMENT, now, stage=pauses.RECEPTION, step_id=item.step_id,
                              items=[str(i) for i in data.get("missing_items") or []], by=actor.name,
                              unit=item.unit_code)
            step.set_status(DossierStatus.SUPPLEMENT_REQUESTED, step_id=item.step_id,
                            note="; ".join(map(str, data.get("missing_items") or [])) or None)
        elif result == "refuse":  # the dossier ends with this step (Step.save cancels what still runs)
            step.set_status(DossierStatus.REFUSED, step_id=item.step_id, note=data.get("refusal_reason"))
    elif milestone == "decision" and dossier.status in (DossierStatus.RECEIVED, DossierStatus.PROCESSING):
        step.set_status(DossierStatus.DECIDED, step_id=item.step_id, note=data.get("decision"))
    # The return milestone needs nothing here: the result is returned (10) when the workflow
    # ends, so a return drawn inside a sub-process or before other steps cannot end it early.


def reception_to_complete(step: steps.Step) -> WorkItem | None:
    """The reception step of a dossier just started, opened now (`Step.open_steps`), if the
    workflow waits there: an officer recording an in-person dossier has done it."""
    reception_steps = {sid for sid, s in steps.step_model(step.dossier).items() if s.get("milestone") == "reception"}
    return next((w for w in step.open_steps() if w.step_id in reception_steps), None)


def desk_outcome(reception: dict | None, *, in_person: bool) -> dict:
    """The desk's outcome of a dossier started now, checked before anything is written (docs/domain.md,
    Decree 118/2025 Art. 17): `reception_result` accept (the default), supplement (form 02: the
    citizen is guided to complete the file, `missing_items` listed all at once) or refuse (form 03,
    `refusal_reason`). Only an officer at the desk decides it: a dossier started online or by a
    schedule is received later (or at once by the schedule). Returns the reception values to record."""
    if reception is None:
        reception = {}
    if not isinstance(reception, dict):
        raise Invalid(vi("Dữ liệu tiếp nhận phải là một đối tượng."), fields={"reception": vi("đối tượng")})
    result = reception.get("reception_result", "accept")
    if result not in RECEPTION_RESULTS:
        raise Invalid(vi("Kết quả tiếp nhận không hợp lệ."),
                      fields={"reception.reception_result": " | ".join(RECEPTION_RESULTS)})
    if result != "accept" and not in_person:
        raise Invalid(vi("Chỉ cán bộ tiếp nhận trực tiếp tại Bộ phận Một cửa mới ghi được kết quả hướng dẫn bổ sung "
                         "hoặc từ chối khi tạo hồ sơ; hồ sơ nộp trực tuyến ở trạng thái chờ tiếp nhận (1)."),
                      fields={"reception.reception_result": vi("chỉ được là %(value)s", value="accept")})
    out = {**reception, "reception_result": result}
    if result == "supplement":
        items = reception.get("missing_items")
        if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
            raise Invalid(vi("Liệt kê đầy đủ một lần các thành phần hồ sơ cần bổ sung, hoàn thiện."),
                          fields={"reception.missing_items": vi("danh sách không rỗng các chuỗi")})
        if len(items) > 50 or any(len(i) > 500 for i in items):
            raise Invalid(vi("Danh sách bổ sung quá dài."),
                          fields={"reception.missing_items": vi("tối đa 50 mục, 500 ký tự mỗi mục")})
        out["missing_items"] = [i.strip() for i in items]
    elif result == "refuse":
        reason = reception.get("refusal_reason")
        if not isinstance(reason, str) or not reason.strip():
            raise Invalid(vi("Cần nêu rõ lý do từ chối tiếp nhận."),
                          fields={"reception.refusal_reason": vi("bắt buộc")})
        if len(reason) > 2000:
            raise Invalid(vi("Lý do quá dài."), fields={"reception.refusal_reason": vi("tối đa 2000 ký tự")})
        out["refusal_reason"] = reason.strip()
    return out


def complete_reception_in_person(step: steps.Step, actor: Actor, item: WorkItem, reception: dict) -> None:
    """Complete the reception step of an in-person dossier on its first step (one save for both),
    with the desk's outcome (`desk_outcome`): accepted, guided to supplement (status 1 → 5 at the
    reception stage, no period running) or refused (1 → 3)."""
    dossier = step.dossier
    data = {"reception_result": "accept", **prefill(item, dossier.data), **reception}
    errors = forms.field_errors(form_of(item), data)
    if errors:
        raise Invalid(vi("Dữ liệu tiếp nhận không hợp lệ."), fields={f"reception.{k}": v for k, v in errors.items()})
    _run_step(step, actor, item, data)


# -- several steps at once (the inbox's bulk claim and a leader's bulk reassignment) -------------

MAX_BULK = 200


@dataclass
class Bulk:
    """What a bulk action did: the steps done, and each refused one with why (its dossier's code
    when the caller sees it, else the id asked for)."""
    done: list[WorkItem] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _task_ids(task_ids) -> list[str]:
    ids = list(dict.fromkeys(t for t in (task_ids or []) if isinstance(t, str) and t))
    if not ids:
        raise Invalid(vi("Chưa chọn công việc nào."), fields={"task_ids": vi("chọn ít nhất một công việc")})
    if len(ids) > MAX_BULK:
        raise Invalid(vi("Chọn tối đa %(max)s công việc mỗi lần.", max=MAX_BULK),
                      fields={"task_ids": vi("tối đa %(max)s", max=MAX_BULK)})
    return ids


def _each(session: Session, actor: Actor, task_ids, action) -> Bulk:
    """`action(task_id)` per step with the rules of the one-step action; a refusal (403, 404, 409,
    400) is reported and the others go on, in the caller's one transaction (a refused step has
    written nothing: every rule is checked before the write). When every step is refused as not
    the caller's (403/404), the first of those is raised, as for one step."""
    out, denied = Bulk(), []
    for task_id in _task_ids(task_ids):
        try:
            out.done.append(action(task_id))
        except (Conflict, Forbidden, Invalid, NotFound) as exc:
            item = session.get(WorkItem, task_id) if len(task_id) <= 36 else None
            seen = item is not None and access.sees_dossier(session, actor, item.dossier)
            out.refused.append((item.dossier.code if seen else task_id, exc.message))
            if isinstance(exc, (Forbidden, NotFound)):
                denied.append(exc)
    if not out.done and len(denied) == len(out.refused):
        raise denied[0]  # none of them is the caller's to act on: refused as the one-step action is
    return out


def claim_many(session: Session, actor: Actor, task_ids) -> Bulk:
    """Claim several available steps at once (`claim` for each)."""
    return _each(session, actor, task_ids, lambda task_id: claim(session, actor, task_id))


def assign_many(session: Session, actor: Actor, task_ids, username: str) -> Bulk:
    """A leader gives several steps to one officer at once (`assign` for each: a leader of the
    step's unit, the officer holding its role there; an absent officer's go to the substitute)."""
    access.may_reassign_in_bulk(actor)
    return _each(session, actor, task_ids, lambda task_id: assign(session, actor, task_id, username))
