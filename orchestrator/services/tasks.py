"""Officers' work: inbox, claim, assign, complete a step (one transaction on a locked dossier)."""
from __future__ import annotations

from sqlalchemy import and_, false, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from ..engine import EngineIncident, TaskNotReady
from ..models import Dossier, RoleAssignment, User, WorkItem
from ..models.dossiers import COMPLETED, OPEN
from ..models.types import utcnow
from . import audit, forms, pauses, steps, versions
from .auth import Actor
from .dossiers import can_see
from .errors import Conflict, Forbidden, Invalid, NotFound

RECEPTION_RESULTS = {"accept": 2, "supplement": 5, "refuse": 3}


def inbox(session: Session, actor: Actor, view: str, *, overdue: bool = False, page: int = 1,
          per_page: int = 50) -> tuple[list[WorkItem], int]:
    """Available (my units and roles, unclaimed) or mine (claimed by me); reads only work items."""
    if view not in ("available", "mine"):
        raise Invalid("view phải là 'available' hoặc 'mine'.", fields={"view": "available | mine"})
    if view == "mine":
        cond = and_(WorkItem.assignee_id == actor.user_id) if actor.user_id else false()
    else:
        pairs = [(a.unit_code, a.role) for a in actor.assignments if a.role in ("reception", "specialist", "leader")]
        cond = or_(*[and_(WorkItem.unit_code == u, WorkItem.role == r) for u, r in pairs]) if pairs else false()
        cond = and_(cond, WorkItem.assignee_id.is_(None))
    cond = and_(cond, WorkItem.state == OPEN)
    if overdue:
        cond = and_(cond, WorkItem.due_at < utcnow())
    total = session.scalar(select(func.count()).select_from(WorkItem).where(cond))
    items = session.scalars(select(WorkItem).where(cond).order_by(WorkItem.due_at.is_(None), WorkItem.due_at,
                                                                  WorkItem.created_at)
                            .limit(per_page).offset((page - 1) * per_page)).all()
    return list(items), total or 0


def get_visible(session: Session, actor: Actor, task_id: str) -> WorkItem:
    item = session.get(WorkItem, task_id) if isinstance(task_id, str) and len(task_id) <= 36 else None
    if item is None or not can_see(session, actor, item.dossier):
        raise NotFound("Không tìm thấy công việc.")
    return item


def form_of(item: WorkItem) -> dict:
    """The form of the step: its own, or the built-in one, with the product's outcome fields."""
    v = versions.of(item.dossier)
    form = v.step_forms.get(item.step_id)
    if form is None:  # a step the version's model does not list (not expected): its key as recorded
        form = forms.effective(v.forms.get(item.form_key or ""), None)
    return form


def prefill(item: WorkItem, values: dict) -> dict:
    """The dossier's values for the fields of this step's form (what a form opens with)."""
    form = form_of(item) or {}
    fields = form.get("schema", {}).get("properties", {})
    return {k: v for k, v in values.items() if k in fields}


def _may_act(actor: Actor, item: WorkItem) -> None:
    if actor.is_integrator or not actor.has_role(item.role, item.unit_code):
        raise Forbidden(f"Công việc này dành cho vai trò {item.role} của đơn vị {item.unit_code}.")


def _holder_conflict(session: Session, item: WorkItem) -> Conflict:
    holder = session.get(User, item.assignee_id)
    name = holder.username if holder else "?"
    return Conflict(f"Công việc đang do {name} xử lý.", code="held_by_other",
                    extra={"holder": name, "holder_name": holder.full_name if holder else None})


def claim(session: Session, actor: Actor, task_id: str) -> WorkItem:
    item = get_visible(session, actor, task_id)
    _may_act(actor, item)
    result = session.execute(
        update(WorkItem).where(WorkItem.id == item.id, WorkItem.state == OPEN,
                               or_(WorkItem.assignee_id.is_(None), WorkItem.assignee_id == actor.user_id))
        .values(assignee_id=actor.user_id).execution_options(synchronize_session=False))
    session.refresh(item)
    if result.rowcount == 0:
        if item.state != OPEN:
            raise Conflict("Công việc đã hoàn thành hoặc không còn hiệu lực.", code="not_open")
        raise _holder_conflict(session, item)
    audit.record(session, "claim", actor.name, dossier=item.dossier, task_id=item.id, step_id=item.step_id,
                 unit_code=item.unit_code)
    return item


def unclaim(session: Session, actor: Actor, task_id: str) -> WorkItem:
    item = get_visible(session, actor, task_id)
    is_leader = actor.has_role("leader", item.unit_code)  # a leader may take it back from anyone in the unit
    if not is_leader:
        _may_act(actor, item)
    cond = [WorkItem.id == item.id, WorkItem.state == OPEN]
    if not is_leader:
        cond.append(or_(WorkItem.assignee_id.is_(None), WorkItem.assignee_id == actor.user_id))
    result = session.execute(update(WorkItem).where(*cond).values(assignee_id=None)
                             .execution_options(synchronize_session=False))
    session.refresh(item)
    if result.rowcount == 0:
        if item.state != OPEN:
            raise Conflict("Công việc đã hoàn thành hoặc không còn hiệu lực.", code="not_open")
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
    if actor.is_integrator or not actor.has_role("leader", item.unit_code):
        raise Forbidden("Chỉ lãnh đạo đơn vị được phân công.")
    user = session.query(User).filter_by(username=username or "").one_or_none()
    if user is None or not any(a.role == item.role and a.unit_code == item.unit_code for a in user.assignments):
        raise Invalid("Người được giao phải có vai trò phù hợp tại đơn vị.",
                      fields={"username": f"không có {item.role} của {item.unit_code} với tên này"})
    if item.state != OPEN:
        raise Conflict("Công việc đã hoàn thành hoặc không còn hiệu lực.", code="not_open")
    item.assignee_id = user.id
    audit.record(session, "assign", actor.name, dossier=item.dossier, task_id=item.id, step_id=item.step_id,
                 note=f"giao cho {user.username}")
    session.flush()
    return item


def complete(session: Session, actor: Actor, task_id: str, data: dict,
             expected_lock_version: int | None = None) -> Dossier:
    """Lock the dossier, check the item is still open and ours, validate, run, save: one transaction.
    The dossier comes back with `current_tasks`: its open steps after this one.

    The dossier is locked first and the items read after, so a second concurrent completion
    waits for the first to commit and then finds the item completed (409)."""
    dossier = steps.locked_for_task(session, task_id) if isinstance(task_id, str) and len(task_id) <= 36 else None
    if dossier is None:
        raise NotFound("Không tìm thấy công việc.")
    items = steps.open_items_of(session, dossier, also=task_id)
    item = next((w for w in items if w.id == task_id), None)
    if item is None or not (actor.has_role(item.role, item.unit_code) or can_see(session, actor, dossier)):
        raise NotFound("Không tìm thấy công việc.")
    _may_act(actor, item)
    if item.state != OPEN:
        raise Conflict("Công việc đã được hoàn thành hoặc không còn hiệu lực.", code="not_open")
    if item.assignee_id is not None and item.assignee_id != actor.user_id:
        raise _holder_conflict(session, item)
    if dossier.status in (5, 6):
        waiting = "bổ sung hồ sơ" if dossier.status == 5 else "thực hiện nghĩa vụ tài chính"
        raise Conflict(f"Hồ sơ đang tạm dừng chờ {waiting}; bước này tiếp tục khi có kết quả.",
                       code="dossier_paused")
    if expected_lock_version is not None and expected_lock_version != dossier.lock_version:
        raise Conflict("Hồ sơ đã thay đổi kể từ khi mở biểu mẫu; hãy tải lại.", code="stale")
    forms.validate(form_of(item), data)
    dossier.current_tasks = _run_step(session, actor, dossier, item, data, items)
    return dossier


def _held_at_reception(dossier: Dossier, item: WorkItem, data: dict) -> bool:
    """A supplement asked at reception on a diagram that does not branch on the reception outcome:
    the workflow stays at the reception step (open, held while the dossier waits in 5) instead of
    running on to processing steps with an incomplete dossier."""
    v = versions.of(dossier)
    return (v.steps.get(item.step_id, {}).get("milestone") == "reception"
            and data.get("reception_result") == "supplement" and not v.model.get("reads_reception_result", True))


def _run_step(session: Session, actor: Actor, dossier: Dossier, item: WorkItem, data: dict,
              items: list[WorkItem] | None = None) -> list[WorkItem]:
    run = steps.restore(session, dossier)
    incident = None
    now = utcnow()
    if not _held_at_reception(dossier, item, data):
        try:
            run.complete(item.id, data)
        except TaskNotReady:
            raise Conflict("Bước này không còn chờ xử lý trong quy trình.", code="not_open") from None
        except EngineIncident as exc:
            incident = exc
        item.state, item.completed_at, item.completed_by = COMPLETED, now, actor.name
    if item.assignee_id is None:
        item.assignee_id = actor.user_id
    dossier.data = {**dossier.data, **data}
    from_status = dossier.status
    audit.record(session, "complete", actor.name, dossier=dossier, task_id=item.id, step_id=item.step_id,
                 unit_code=item.unit_code, from_status=from_status, note=item.step_name, data=data)
    _milestone(session, actor, dossier, item, data, now)
    return steps.save_step(session, dossier, run, actor.name, incident, items)


def _milestone(session: Session, actor: Actor, dossier: Dossier, item: WorkItem, data: dict, now) -> None:
    """Statuses follow the step the designer marked (DOMAIN.md: reception, decision, return)."""
    milestone = steps.step_model(dossier).get(item.step_id, {}).get("milestone")
    if milestone == "reception":
        result = data.get("reception_result", "accept")
        if result == "accept" and dossier.status == 1:
            steps.accept(session, dossier, now)
            steps.set_status(session, dossier, 2, actor.name, "accepted", step_id=item.step_id)
        elif result == "supplement":
            pauses.ensure_first_supplement(dossier, pauses.RECEPTION)
            pauses.open_pause(dossier, pauses.SUPPLEMENT, now, stage=pauses.RECEPTION, step_id=item.step_id,
                              items=[str(i) for i in data.get("missing_items") or []], by=actor.name)
            steps.set_status(session, dossier, 5, actor.name, "supplement_requested", step_id=item.step_id,
                             note="; ".join(map(str, data.get("missing_items") or [])) or None)
        elif result == "refuse":  # the dossier ends with this step (steps.save_step)
            steps.set_status(session, dossier, 3, actor.name, "refused", step_id=item.step_id,
                             note=data.get("refusal_reason"))
    elif milestone == "decision" and dossier.status in (2, 4):
        steps.set_status(session, dossier, 9, actor.name, "decided", step_id=item.step_id,
                         note=data.get("decision"))
    # The return milestone needs nothing here: the result is returned (10) when the workflow
    # ends, so a return drawn inside a sub-process or before other steps cannot end it early.


def complete_reception_in_person(session: Session, actor: Actor, dossier: Dossier, reception: dict) -> None:
    """An officer recording an in-person dossier has done the reception step: complete it now."""
    reception_steps = {sid for sid, s in steps.step_model(dossier).items() if s.get("milestone") == "reception"}
    item = session.scalar(select(WorkItem).where(WorkItem.dossier_id == dossier.id, WorkItem.state == OPEN,
                                                 WorkItem.step_id.in_(reception_steps)))
    if item is None:
        return
    data = {"reception_result": "accept", **prefill(item, dossier.data), **reception}
    if data.get("reception_result", "accept") != "accept":
        raise Invalid("Hồ sơ ghi nhận trực tiếp là hồ sơ được tiếp nhận.", fields={"reception.reception_result": "accept"})
    errors = forms.field_errors(form_of(item), data)
    if errors:
        raise Invalid("Dữ liệu tiếp nhận không hợp lệ.", fields={f"reception.{k}": v for k, v in errors.items()})
    _run_step(session, actor, dossier, item, data)
