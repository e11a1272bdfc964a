"""Who may do what: every permission rule of the services, in one place.

Plain functions over the caller (`auth.Actor`) and what it asks for. Each answers a bool or an
SQL condition, or raises `Forbidden` (403: the caller sees the thing but may not do this) or
`NotFound` (404: the caller may not know it exists). No Flask: the JSON API and the back office
reach these rules only through the services, one service function per action for both.

Roles (`models.users.ROLES`, held per unit): reception, specialist and leader are the officers
that lanes route steps to; a supervisor reads the dossiers and figures of its area (a commune, a
province or VN); a designer works on its province's procedures (VN: all); an administrator
manages its province's users, calendar, units, integrators and operations (VN: everything) and
reads its area like a supervisor. Integrators call with API keys scoped to provinces (or VN) and
permissions (`auth.PERMISSIONS`).
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from ..models import Dossier, DossierParticipant, Notification, RoleAssignment, Unit, User, WorkItem
from ..models.attachments import APPLICANT_DOCUMENT
from ..models.procedures import NATIONAL
from . import fault
from .auth import Actor
from ..i18n import vi
from .errors import Forbidden, Invalid, NotFound

# -- roles -------------------------------------------------------------------------------------

OFFICER_ROLES = ("reception", "specialist", "leader")  # the roles lanes route to: they act on steps and dossiers
AREA_ROLES = ("supervisor", "admin")                  # read every dossier of their area
STATISTICS_ROLES = AREA_ROLES                          # read the figures of their area
# Who opens the officers' workspace in the back office (inbox, tasks, dossiers): the officers, and
# supervisors, who read there and act on nothing (the services refuse their actions).
WORKSPACE_ROLES = (*OFFICER_ROLES, "supervisor")
BACK_OFFICE_ROLES = ("designer", "admin", *WORKSPACE_ROLES)  # who may log in to the back office


def holds_any(actor: Actor, roles: Iterable[str]) -> bool:
    """The actor holds one of these roles in some unit (what opens a back-office page)."""
    roles = tuple(roles)
    return any(a.role in roles for a in actor.assignments)


def may_use_back_office(actor: Actor) -> bool:
    return holds_any(actor, BACK_OFFICE_ROLES)


def in_scope(scopes: set[str], scope: str | None) -> bool:
    """A scope (a province code, VN) lies within scopes: every one for VN, else its own."""
    return "VN" in scopes or scope in scopes


def scope_filter(scopes: set[str], column):
    """The SQL twin of `in_scope`: rows whose province `column` lies within scopes."""
    return true() if "VN" in scopes else column.in_(sorted(scopes))


def _user_scopes(actor: Actor, role: str) -> set[str]:
    return set() if actor.is_integrator else actor.scopes(role)


# -- integrators ---------------------------------------------------------------------------------

def key_allows(actor: Actor, permission: str, province_code: str | None) -> bool:
    """An integrator's key has this permission for this province (its provinces, or VN)."""
    return actor.is_integrator and actor.can(permission) and actor.province_allowed(province_code or "")


# Events a key sends in the citizen's name: only the integrator that submitted the dossier. The
# others (`payment_received` from a payment provider, a message a diagram waits for such as the tax
# authority's notice) come from systems that never created the dossier and stay province-wide.
CITIZEN_EVENTS = ("withdrawn", "supplement_submitted")


def may_act_for_citizen(actor: Actor, dossier: Dossier) -> None:
    """Withdraw, supplement, add the applicant's documents: a key acts for the citizen only on the
    dossiers its integrator submitted (`Dossier.created_by_integrator_id`); reading stays
    province-wide (`visibility`). Users are not concerned (their own rules apply)."""
    if actor.is_integrator and (actor.integrator_id is None or dossier.created_by_integrator_id != actor.integrator_id):
        raise Forbidden(vi("Hồ sơ %(code)s không do hệ thống của khóa API này nộp; chỉ hệ thống đã nộp hồ sơ mới "
                           "thay công dân rút, bổ sung hoặc đính kèm giấy tờ.", code=dossier.code),
                        code="not_your_dossier")


def may_send_named(actor: Actor, name: str) -> None:
    """A key sends only the events its `events` list names (`ApiKey.events`, "*": all)."""
    if not actor.may_send(name):
        raise Forbidden(vi("Khóa API không được gửi sự kiện '%(event)s'.", event=name), code="event_not_allowed",
                        extra={"event": name, "allowed": sorted(actor.events or ())})


def may_manage_webhooks(actor: Actor) -> None:
    """Webhook subscriptions belong to the calling key: integrators only."""
    if not actor.is_integrator:
        raise Forbidden(vi("Chỉ hệ thống tích hợp (khóa API) quản lý đăng ký webhook của mình."))


# -- dossiers: who sees which -----------------------------------------------------------------------

@dataclass(frozen=True)
class Visibility:
    """The dossiers an actor sees, as data. The Python check (`sees`) and the SQL condition
    (`condition`) both read these fields, so a listing and a read can never disagree."""

    everything: bool = False
    provinces: frozenset[str] = frozenset()  # dossier.province_code is one of them
    communes: frozenset[str] = frozenset()   # dossier.commune_code is one of them
    units: frozenset[str] = frozenset()      # one of them takes part (dossier_participant)

    def by_area(self, dossier: Dossier) -> bool:
        """What needs no statement: everything, or the dossier's province or commune."""
        return self.everything or dossier.province_code in self.provinces or dossier.commune_code in self.communes

    def sees(self, session: Session, dossier: Dossier, participants: set[str] | None = None) -> bool:
        return self.by_area(dossier) or participates(session, dossier, self.units, participants)

    def condition(self):
        """The same rule as an SQL condition on `Dossier`."""
        if self.everything:
            return true()
        conds = []
        if self.provinces:
            conds.append(Dossier.province_code.in_(sorted(self.provinces)))
        if self.communes:
            conds.append(Dossier.commune_code.in_(sorted(self.communes)))
        if self.units:
            conds.append(exists().where(and_(DossierParticipant.dossier_id == Dossier.id,
                                             DossierParticipant.unit_code.in_(sorted(self.units)))))
        return or_(*conds) if conds else false()


NOTHING = Visibility()
EVERYTHING = Visibility(everything=True)


def visibility(actor: Actor) -> Visibility:
    """Integrators: dossiers of their key's provinces, with `dossiers:read` or `dossiers:create`.
    Supervisors and administrators: their area (VN: every dossier; a province or a commune: the
    dossiers there). Officers: the dossiers a unit of theirs takes part in."""
    if actor.is_integrator:
        if not (actor.can("dossiers:read") or actor.can("dossiers:create")):
            return NOTHING
        return EVERYTHING if "VN" in actor.provinces else Visibility(provinces=frozenset(actor.provinces))
    area = set()
    for a in actor.assignments:
        if a.role in AREA_ROLES:
            if a.level == "national":
                return EVERYTHING
            area.add(a.unit_code)
    return Visibility(provinces=frozenset(area), communes=frozenset(area),
                      units=frozenset(actor.units(*OFFICER_ROLES)))


def participates(session: Session, dossier: Dossier, units: Iterable[str],
                 participants: set[str] | None = None) -> bool:
    """One of these units takes part in the dossier. `participants`: the units taking part as the
    caller knows them (a locked step reads them with its lock): no statement then; else one query."""
    units = set(units)
    if not units:
        return False
    if participants is not None:
        return not participants.isdisjoint(units)
    return bool(session.scalar(select(exists().where(
        DossierParticipant.dossier_id == dossier.id, DossierParticipant.unit_code.in_(sorted(units))))))


def sees_dossier(session: Session, actor: Actor, dossier: Dossier, participants: set[str] | None = None) -> bool:
    """`participants`: the units taking part, when the caller has them (`steps.Step.participants`)."""
    return visibility(actor).sees(session, dossier, participants)


def visible_dossiers(actor: Actor):
    """SQL condition on `Dossier`: what the actor may list (the same rule as `sees_dossier`)."""
    return visibility(actor).condition()


def takes_part(session: Session, actor: Actor, dossier: Dossier, participants: set[str] | None = None) -> bool:
    """The actor is an officer (reception, specialist, leader) of a unit taking part."""
    return not actor.is_integrator and participates(session, dossier, actor.units(*OFFICER_ROLES), participants)


def may_start_dossier(actor: Actor, province_code: str, received_by: str, scheduled: bool = False) -> None:
    """Integrators with `dossiers:create` for the province (online); a reception officer of the
    receiving unit (in person); the worker's schedule actor (`system`, never built from a request)
    for a scheduled dossier only, and only it."""
    if actor.kind == "system" or scheduled:
        if not (actor.kind == "system" and scheduled):
            raise Forbidden(vi("Chỉ lịch tạo hồ sơ của thủ tục mới tạo hồ sơ theo lịch."))
        return
    if actor.is_integrator:
        if not actor.can("dossiers:create"):
            raise Forbidden(vi("Khóa API không có quyền dossiers:create."))
        if not actor.province_allowed(province_code):
            raise Forbidden(vi("Khóa API không được phép nộp hồ sơ tại tỉnh %(province)s.", province=province_code))
    elif received_by not in desk_units(actor):
        raise Forbidden(vi("Chỉ cán bộ tiếp nhận của đơn vị tiếp nhận mới ghi nhận hồ sơ trực tiếp."))


DESK_ROLE = "reception"


def desk_units(actor: Actor) -> set[str]:
    """The units at whose one-stop desk the actor receives walk-in dossiers (`may_start_dossier`):
    the back office's "Tiếp nhận hồ sơ mới" opens for them only."""
    return set() if actor.is_integrator else actor.units(DESK_ROLE)


def may_add_to(session: Session, actor: Actor, dossier: Dossier) -> None:
    """Attachments: a dossier is found (else 404) by those who see it and by keys that submit
    dossiers in its province (they add the applicant's documents)."""
    if not (key_allows(actor, "dossiers:create", dossier.province_code) or sees_dossier(session, actor, dossier)):
        raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=dossier.code))


def may_upload_attachment(session: Session, actor: Actor, dossier: Dossier, kind: str) -> None:
    """Applicant's documents: keys with `dossiers:create` for the province; any document: officers
    of a unit taking part."""
    if actor.is_integrator:
        if kind != APPLICANT_DOCUMENT or not key_allows(actor, "dossiers:create", dossier.province_code):
            raise Forbidden(vi("Khóa API chỉ nộp được giấy tờ của người nộp hồ sơ (dossiers:create)."))
        may_act_for_citizen(actor, dossier)
        return
    if not takes_part(session, actor, dossier):
        raise Forbidden(vi("Chỉ cán bộ của đơn vị tham gia giải quyết hồ sơ mới tải tệp lên được."))


PHONE_SUFFIX = 4


def citizen_sees_details(dossier: Dossier, phone_suffix: str | None) -> bool:
    """The public tracking page shows the details with the last four digits of the applicant's
    phone number (compared in constant time; attempts capped by the caller's rate limit)."""
    digits = re.sub(r"\D", "", str((dossier.applicant or {}).get("phone") or ""))
    given = re.sub(r"\D", "", phone_suffix or "")
    if len(digits) < PHONE_SUFFIX or len(given) != PHONE_SUFFIX:
        return False
    return hmac.compare_digest(digits[-PHONE_SUFFIX:], given)


# -- steps (work items) --------------------------------------------------------------------------

def sees_step(session: Session, actor: Actor, dossier: Dossier, item: WorkItem,
              participants: set[str] | None = None) -> bool:
    """The step's own officers, or whoever sees its dossier (`participants`: as the locked step
    read them, so no statement). Holding the step's role in its unit comes first: that unit takes
    part, even when the participants read with the lock miss one added by a step committed while
    this one waited for the lock."""
    return actor.has_role(item.role, item.unit_code) or sees_dossier(session, actor, dossier, participants)


def may_act_on_step(actor: Actor, item: WorkItem) -> None:
    """Claim, complete: the step's role in the step's unit."""
    if actor.is_integrator or not actor.has_role(item.role, item.unit_code):
        raise Forbidden(vi("Công việc này dành cho vai trò %(role)s của đơn vị %(unit)s.", role=item.role,
                                  unit=item.unit_code))


def may_unclaim(actor: Actor, item: WorkItem) -> bool:
    """Give a step back: its officers (their own claim), or a leader of its unit, who takes it
    back from anyone; True for the leader."""
    if not actor.is_integrator and actor.has_role("leader", item.unit_code):
        return True
    may_act_on_step(actor, item)
    return False


def may_assign(actor: Actor, item: WorkItem) -> None:
    """Give a step to an officer: a leader of its unit."""
    if actor.is_integrator or not actor.has_role("leader", item.unit_code):
        raise Forbidden(vi("Chỉ lãnh đạo đơn vị được phân công."))


def led_units(actor: Actor) -> set[str]:
    """The units the actor leads: their whole inbox (`view=unit`) and reassignment."""
    return actor.units("leader")


def workable_steps(actor: Actor):
    """SQL condition on `WorkItem`: the steps routed to one of the actor's (unit, officer role)
    pairs, those `may_act_on_step` allows."""
    pairs = [(a.unit_code, a.role) for a in actor.assignments if a.role in OFFICER_ROLES]
    return or_(*[and_(WorkItem.unit_code == u, WorkItem.role == r) for u, r in pairs]) if pairs else false()


def led_steps(actor: Actor):
    """SQL condition on `WorkItem`: the steps of the units the actor leads."""
    units = led_units(actor)
    return WorkItem.unit_code.in_(units) if units else false()


# -- the dossier lifecycle: who may do each action ------------------------------------------------

def may_act_on_dossier(session: Session, actor: Actor, dossier: Dossier) -> None:
    """An officer with a role in a unit taking part (403); 404 when the dossier is not visible at
    all. One participants query at most: for someone who does not take part, visibility is the
    area alone (the officers' units are the units visibility reads)."""
    if takes_part(session, actor, dossier):
        return
    if not visibility(actor).by_area(dossier):
        raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=dossier.code))
    raise Forbidden(vi("Chỉ cán bộ của đơn vị tham gia giải quyết hồ sơ mới thực hiện được thao tác này."))


# Which units an action may be done from (`LifecycleRule.units`), read from the dossier's steps.
TAKING_PART = "taking_part"    # any unit taking part in the dossier
HOLDING = "holding"            # a unit holding an open step; none open: the unit of the last completed step
RECEIVING = "receiving"        # the receiving unit (its reception desk received the dossier and returns the result)
AT_FAULT = "at_fault"          # the unit at fault (`fault.units_at_fault`)
CURRENT_STEP = "current_step"  # the holder (claimant) of an open step, or a leader of that step's unit


@dataclass(frozen=True)
class LifecycleRule:
    """Who may do a lifecycle action: one of `roles` in one of the `units` the dossier names
    (an officer of another unit taking part: 403 naming `who`; not seen at all: 404)."""

    roles: tuple[str, ...]
    units: tuple[str, ...]
    who: str      # in the refusal and in docs/domain.md
    source: str   # the legal basis, for docs/domain.md


# ONE permission table for the actions of `lifecycle.ACTIONS` (docs/domain.md shows it). The state
# rules (which status, once per unit, on time) are `lifecycle`'s; the actions made by completing a
# step (refuse and request-supplement at reception, return-result with an open return step) also
# need that step's role: `tasks.complete` checks `may_act_on_step`.
LIFECYCLE_RULES: dict[str, LifecycleRule] = {
    "request-supplement": LifecycleRule(
        OFFICER_ROLES, (TAKING_PART,),
        vi("cán bộ của đơn vị tham gia giải quyết hồ sơ; đơn vị yêu cầu phải đang giữ một bước (mỗi đơn vị một lần)"),
        "Nghị định 61/2018/NĐ-CP Điều 19 khoản 2 (sửa đổi bởi Nghị định 118/2025/NĐ-CP) – cần xác nhận"),
    "request-payment": LifecycleRule(
        OFFICER_ROLES, (HOLDING, RECEIVING),
        vi("cán bộ của đơn vị đang giữ bước xử lý hồ sơ hoặc của đơn vị tiếp nhận"),
        "Nghị định 118/2025/NĐ-CP (nghĩa vụ tài chính, thời gian không tính vào thời hạn) – cần xác nhận"),
    "refuse": LifecycleRule(
        ("reception",), (RECEIVING,),
        vi("cán bộ tiếp nhận của đơn vị tiếp nhận (khi tiếp nhận; đang giải quyết thì lãnh đạo dùng 'dừng xử lý')"),
        "Nghị định 61/2018/NĐ-CP Điều 15, Điều 19 (sửa đổi bởi Nghị định 118/2025/NĐ-CP) – cần xác nhận"),
    "apologize": LifecycleRule(
        ("leader",), (AT_FAULT,),
        vi("lãnh đạo của đơn vị làm chậm hồ sơ (đơn vị có bước quá hạn, hoặc đang giữ hồ sơ)"),
        "Nghị định 61/2018/NĐ-CP Điều 19 khoản 3 điểm c (sửa đổi bởi Nghị định 118/2025/NĐ-CP): cơ quan, "
        "đơn vị làm quá hạn gửi phiếu xin lỗi và hẹn lại ngày trả kết quả – cần xác nhận số điều"),
    "stop": LifecycleRule(
        ("leader",), (AT_FAULT,),
        vi("lãnh đạo của đơn vị đang giải quyết hồ sơ (đơn vị có bước quá hạn, hoặc đang giữ hồ sơ)"),
        "Nghị định 118/2025/NĐ-CP Điều 21 (dừng giải quyết hồ sơ) – cần xác nhận"),
    "return-to-step": LifecycleRule(
        OFFICER_ROLES, (CURRENT_STEP,),
        vi("người đang giữ (đã nhận) bước hiện tại hoặc lãnh đạo của đơn vị có bước đó"),
        "docs/api.md (quy tắc nội bộ; không có quy định riêng)"),
    "return-result": LifecycleRule(
        ("reception",), (RECEIVING, HOLDING),
        vi("cán bộ tiếp nhận của đơn vị tiếp nhận hoặc của đơn vị giữ bước trả kết quả"),
        "Nghị định 61/2018/NĐ-CP Điều 20 (trả kết quả) – cần xác nhận"),
}


def lifecycle_units(session: Session, dossier: Dossier, kind: str,
                    open_steps: list[WorkItem] | None = None) -> set[str]:
    """The units a `LifecycleRule.units` entry names for this dossier (CURRENT_STEP: the open
    steps' units; who of them may act is `may_rewind`'s)."""
    if kind == RECEIVING:
        return {dossier.received_by_unit}
    steps = fault.open_steps(session, dossier) if open_steps is None else open_steps
    if kind == AT_FAULT:
        return set(fault.units_at_fault(session, dossier, steps=steps))
    if kind == HOLDING:
        if steps:
            return {w.unit_code for w in steps}
        last = fault.last_completed_unit(session, dossier)
        return {last} if last else set()
    if kind == CURRENT_STEP:
        return {w.unit_code for w in steps}
    raise ValueError(kind)


def may_do(session: Session, actor: Actor, dossier: Dossier, action: str) -> None:
    """The one check of `LIFECYCLE_RULES`: first an officer of a unit taking part (else 403, or
    404 when the dossier is not seen at all), then one of the rule's roles in one of its units
    (403 saying who may)."""
    rule = LIFECYCLE_RULES[action]
    may_act_on_dossier(session, actor, dossier)
    if TAKING_PART in rule.units:
        return
    if CURRENT_STEP in rule.units:
        return  # the open steps are read under the lock: `lifecycle.return_to_step` calls `may_rewind`
    steps = None if rule.units == (RECEIVING,) else fault.open_steps(session, dossier)  # one read
    units = set().union(*(lifecycle_units(session, dossier, kind, steps) for kind in rule.units))
    if units & {a.unit_code for a in actor.assignments if a.role in rule.roles}:
        return
    raise Forbidden(vi("Chỉ %(who)s mới được thực hiện thao tác này.", who=rule.who),
                    extra={"action": action, "roles": list(rule.roles), "units": sorted(units)})


def _rule(action: str):
    def check(session: Session, actor: Actor, dossier: Dossier) -> None:
        may_do(session, actor, dossier, action)
    check.__name__ = "may_" + action.replace("-", "_")
    check.__doc__ = f"`LIFECYCLE_RULES['{action}']`: {LIFECYCLE_RULES[action].who}."
    return check


# The checks `lifecycle.perform` runs on the dossier before it is locked, by action name.
LIFECYCLE_ACTIONS = {action: _rule(action) for action in LIFECYCLE_RULES}
may_request_supplement = LIFECYCLE_ACTIONS["request-supplement"]
may_request_payment = LIFECYCLE_ACTIONS["request-payment"]
may_refuse = LIFECYCLE_ACTIONS["refuse"]
may_apologize = LIFECYCLE_ACTIONS["apologize"]
may_stop = LIFECYCLE_ACTIONS["stop"]
may_return_to_step = LIFECYCLE_ACTIONS["return-to-step"]
may_return_result = LIFECYCLE_ACTIONS["return-result"]


def fault_unit_led_by(session: Session, actor: Actor, dossier: Dossier, action: str = "apologize") -> str:
    """The unit at fault the actor leads, in whose name the apology or the stop notice is issued
    (parallel branches: the first of them the actor leads); 403 when the actor leads none."""
    led = actor.units("leader") if not actor.is_integrator else set()
    unit = next((u for u in fault.units_at_fault(session, dossier) if u in led), None)
    if unit is None:
        raise Forbidden(vi("Chỉ %(who)s mới được thực hiện thao tác này.", who=LIFECYCLE_RULES[action].who),
                        extra={"action": action, "roles": ["leader"]})
    return unit


def may_rewind(actor: Actor, open_steps: Iterable[WorkItem]) -> None:
    """Return-to-step: the holder of a current step (the officer who claimed it) or a leader of
    that step's unit (docs/api.md). An unclaimed step has no holder: its officers claim it first
    (then they hold it), so a receptionist cannot send back a decided dossier whose return step
    nobody took."""
    if actor.is_integrator:
        raise Forbidden(vi("Khóa API không trả hồ sơ về bước trước."))
    if not any((actor.user_id is not None and w.assignee_id == actor.user_id and actor.has_role(w.role, w.unit_code))
               or actor.has_role("leader", w.unit_code) for w in open_steps):
        raise Forbidden(vi("Chỉ người đang giữ (đã nhận) bước hiện tại hoặc lãnh đạo đơn vị có bước đó mới được trả "
                           "hồ sơ về bước trước; hãy nhận xử lý bước trước khi trả về."))


def may_send_event(session: Session, actor: Actor, dossier: Dossier, name: str | None = None) -> None:
    """Integrators with `events:send` for the dossier's province (another province: 404), the
    citizen's events (`CITIZEN_EVENTS`) only on the dossiers they submitted; officers of a unit
    taking part (as for actions)."""
    if actor.is_integrator:
        if not actor.province_allowed(dossier.province_code):
            raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=dossier.code))
        if not actor.can("events:send"):
            raise Forbidden(vi("Khóa API không có quyền events:send."))
        if name in CITIZEN_EVENTS:
            may_act_for_citizen(actor, dossier)
        return
    may_act_on_dossier(session, actor, dossier)


# -- procedure designers ---------------------------------------------------------------------------

def designer_scopes(actor: Actor) -> set[str]:
    """Province codes (or VN) where the actor designs; 403 when it designs nowhere."""
    scopes = _user_scopes(actor, "designer")
    if not scopes:
        raise Forbidden(vi("Cần vai trò thiết kế quy trình (designer)."))
    return scopes


def may_view_design(actor: Actor, scope: str) -> bool:
    """Back office: a designer sees its provinces' versions and the national templates (VN: all)."""
    scopes = designer_scopes(actor)
    return "VN" in scopes or scope == NATIONAL or scope in scopes


def may_edit_design(actor: Actor, scope: str) -> bool:
    """Back office: a designer changes its provinces' versions (VN: all, national templates too)."""
    scopes = designer_scopes(actor)
    return "VN" in scopes or (scope != NATIONAL and scope in scopes)


def sees_version_internals(actor: Actor, scope: str) -> bool:
    """The API's versions (issue 21): drafts, lane maps, routes, schedules, callers and the
    designers' usernames of a scope are read by its designers and administrators (their
    provinces and the national templates; VN: all) and by keys with `procedures:write` for it (a
    national key for national templates). Everyone else reads published versions only, without
    those details; a draft they may not read is 404."""
    if actor.is_integrator:
        if not actor.can("procedures:write"):
            return False
        return "VN" in actor.provinces if scope == NATIONAL else actor.province_allowed(scope)
    scopes = _user_scopes(actor, "designer") | _user_scopes(actor, "admin")
    return bool(scopes) and ("VN" in scopes or scope == NATIONAL or scope in scopes)


def may_write_procedure(actor: Actor, scope: str) -> None:
    """Upload, map lanes, mark executable, publish in a scope (the API, where every version is
    readable: a refusal is 403): the designers `may_edit_design` allows; keys with
    `procedures:write` for that province (a national key for national templates)."""
    if actor.is_integrator:
        if not actor.can("procedures:write"):
            raise Forbidden(vi("Khóa API không có quyền procedures:write."))
        if scope != NATIONAL and not actor.province_allowed(scope):
            raise Forbidden(vi("Khóa API không được phép với tỉnh %(province)s.", province=scope))
        if scope == NATIONAL and "VN" not in actor.provinces:
            raise Forbidden(vi("Chỉ khóa API cấp quốc gia được sửa mẫu quốc gia."))
        return
    scopes = actor.scopes("designer")
    if "VN" in scopes or (scope != NATIONAL and scope in scopes):
        return
    raise Forbidden(vi("Cần vai trò thiết kế quy trình (designer) cho phạm vi này."))


# -- supervisors' figures ----------------------------------------------------------------------------

def statistics_scopes(actor: Actor) -> set[str]:
    """Province codes (or VN) whose figures the actor may see: supervisors' and administrators'."""
    if actor.is_integrator:
        return set()
    return set().union(*(actor.scopes(role) for role in STATISTICS_ROLES)) - {""}


def statistics_scope(actor: Actor, scope: str | None, session: Session | None = None) -> str:
    """The scope asked for (default: VN for a national viewer, else its first province); 400 for
    anything but VN or a known province code (never echoed back); 403 outside the actor's provinces."""
    scopes = statistics_scopes(actor)
    if actor.is_integrator or not scopes:
        raise Forbidden(vi("Chỉ giám sát viên hoặc quản trị được xem thống kê."))
    if scope in (None, ""):
        return "VN" if "VN" in scopes else sorted(scopes)[0]
    known = scope == "VN" or (re.fullmatch(r"[0-9]{2}", scope) is not None and (
        session is None or session.scalar(select(Unit.code).where(Unit.code == scope, Unit.level == "province"))))
    if not known:
        raise Invalid(vi("Phạm vi thống kê không hợp lệ: chọn VN hoặc mã tỉnh hai chữ số."),
                      fields={"province": vi("VN hoặc mã tỉnh hai chữ số")})
    if not in_scope(scopes, scope):
        raise Forbidden(vi("Không có quyền xem thống kê của %(scope)s.", scope=scope))
    return scope


def may_answer_feedback(actor: Actor, province_code: str | None) -> None:
    """Citizens' feedback (issue 24) is read and answered by the supervisors and administrators
    whose figures cover its province (`statistics_scopes`); for anyone else it does not exist (404)."""
    if actor.is_integrator or not province_code or not in_scope(statistics_scopes(actor), province_code):
        raise NotFound(vi("Không tìm thấy phản ánh, kiến nghị này."))


def may_read_book(session: Session, actor: Actor, unit_code: str) -> Unit:
    """The dossier tracking book of a receiving unit (docs/domain.md): the unit's officers (any
    role), supervisors and administrators of its area (the commune itself, its province, VN).
    An unknown unit: 404; anyone else: 403. Returns the unit."""
    unit = session.get(Unit, unit_code) if unit_code else None
    if unit is None:
        raise NotFound(vi("Không tìm thấy đơn vị %(unit)s.", unit=unit_code))
    if not actor.is_integrator:
        for a in actor.assignments:
            if a.role in OFFICER_ROLES and a.unit_code == unit.code:
                return unit
            if a.role in AREA_ROLES and (a.level == "national" or a.unit_code in (unit.code, unit.province_code)):
                return unit
    raise Forbidden(vi("Không có quyền xem sổ theo dõi hồ sơ của đơn vị %(unit)s.", unit=unit.code))


# -- administrators ------------------------------------------------------------------------------------

def admin_scopes(actor: Actor) -> set[str]:
    """Province codes (or VN) the actor administers; 403 when none."""
    scopes = _user_scopes(actor, "admin")
    if not scopes:
        raise Forbidden(vi("Cần vai trò quản trị (admin)."))
    return scopes


def may_administer(actor: Actor, scope: str) -> None:
    """Something of one scope (a calendar day of VN or a province): its administrators, or VN's."""
    if not in_scope(_user_scopes(actor, "admin"), scope):
        raise Forbidden(vi("Cần vai trò quản trị (admin) của phạm vi này."))


def may_edit_message_templates(actor: Actor, scope: str) -> None:
    """Notification templates (issue 24): an administrator (403), of the scope it edits: VN's for
    the national rows, a province's (or VN's) for that province's rows (403 otherwise)."""
    admin_scopes(actor)
    may_administer(actor, scope)


def may_read_delivery_log(session: Session, actor: Actor, dossier: Dossier) -> None:
    """The messages sent to a dossier's citizen (issue 24, point 4): administrators of the
    dossier's province (or VN) only, since the log names the citizen's contacts (masked). Who sees
    the dossier otherwise (its officers, supervisors, keys) gets 403; who does not, 404."""
    if not actor.is_integrator and in_scope(_user_scopes(actor, "admin"), dossier.province_code):
        return
    if sees_dossier(session, actor, dossier):
        raise Forbidden(vi("Chỉ quản trị viên của địa bàn hồ sơ xem được nhật ký gửi tin cho công dân."))
    raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=dossier.code))


def _unit_province(session: Session, unit_code: str) -> str | None:
    unit = session.get(Unit, unit_code)
    if unit is None:
        return None
    return "VN" if unit.level == "national" else unit.province_code


def admin_manages_unit(session: Session, actor: Actor, unit_code: str) -> bool:
    """A unit of the administrator's province (VN: every unit)."""
    scopes = admin_scopes(actor)
    return "VN" in scopes or _unit_province(session, unit_code) in scopes


def admin_manages_user(session: Session, actor: Actor, user: User) -> bool:
    """Every unit of the user lies in the administrator's province (a user without units is
    manageable only nationally, since nothing ties it to a province)."""
    scopes = admin_scopes(actor)
    if "VN" in scopes:
        return True
    units = [a.unit_code for a in user.assignments]
    return bool(units) and all(_unit_province(session, u) in scopes for u in units)


def managed_users(scopes: set[str]):
    """SQL condition on `User`: the users `admin_manages_user` allows for these scopes."""
    if "VN" in scopes:
        return true()
    in_scope_units = select(Unit.code).where(Unit.province_code.in_(scopes), Unit.level != "national")
    outside = select(RoleAssignment.user_id).where(RoleAssignment.unit_code.not_in(in_scope_units))
    inside = select(RoleAssignment.user_id).where(RoleAssignment.unit_code.in_(in_scope_units))
    return User.id.in_(inside) & User.id.not_in(outside)


def must_be_user(actor: Actor) -> None:
    """Tokens and sessions belong to users: an integrator's key has none (403)."""
    if actor.is_integrator or actor.user_id is None:
        raise Forbidden(vi("Chỉ người dùng mới có mã truy cập."))


def may_manage_tokens(session: Session, actor: Actor, user: User) -> bool:
    """A user's tokens and sessions (list, revoke, log out everywhere): the user themself, or an
    administrator who manages the user (`admin_manages_user`, as for a password reset). Whoever
    else asks gets 404 from the services, so other provinces' accounts do not show."""
    if actor.is_integrator or actor.user_id is None:
        return False
    if actor.user_id == user.id:
        return True
    return bool(_user_scopes(actor, "admin")) and admin_manages_user(session, actor, user)


def audit_scopes(actor: Actor) -> set[str]:
    """The back office's own history: administrators and designers, of their provinces (VN: all)."""
    scopes = _user_scopes(actor, "admin") | _user_scopes(actor, "designer")
    if not scopes:
        raise Forbidden(vi("Cần vai trò quản trị hoặc thiết kế."))
    return scopes


def may_issue_key(actor: Actor, scope: str, provinces: Iterable[str]) -> None:
    """A key for an integrator of `scope`, over `provinces`: administrators of all of them."""
    scopes = admin_scopes(actor)
    if not in_scope(scopes, scope) or not all(in_scope(scopes, p) for p in provinces):
        raise Forbidden(vi("Quản trị tỉnh chỉ cấp khóa cho tỉnh của mình."))


# -- notifications (the bell) ------------------------------------------------------------------

def own_notifications(actor: Actor):
    """SQL condition on `Notification`: a user reads only their own (integrators have none)."""
    return Notification.user_id == actor.user_id if actor.user_id else false()


def may_read_notification(actor: Actor, notification) -> None:
    """Another user's notification does not exist for the caller (404, not 403)."""
    if notification is None or actor.user_id is None or notification.user_id != actor.user_id:
        raise NotFound(vi("Không tìm thấy thông báo."))


# -- absences (substitutes) and bulk reassignment ----------------------------------------------

def may_reassign_in_bulk(actor: Actor) -> None:
    """Reassigning several steps at once: a leader of some unit; each step is then checked by
    `may_assign` (a leader of its own unit) and refused alone if not."""
    if actor.is_integrator or not led_units(actor):
        raise Forbidden(vi("Chỉ lãnh đạo đơn vị được phân công."))


def may_manage_absences(actor: Actor, unit_code: str) -> None:
    """Substitutes for a unit's officers (set, end, move their held work): a leader of that unit."""
    if actor.is_integrator or not actor.has_role("leader", unit_code):
        raise Forbidden(vi("Chỉ lãnh đạo đơn vị được cử người làm thay."))


def officer_roles_in(session: Session, user_id: int, unit_code: str) -> set[str]:
    """The officer roles (`OFFICER_ROLES`) a user holds in a unit."""
    return set(session.scalars(select(RoleAssignment.role).where(
        RoleAssignment.user_id == user_id, RoleAssignment.unit_code == unit_code,
        RoleAssignment.role.in_(OFFICER_ROLES))).all())


def roles_lacking_to_stand_in(session: Session, officer_id: int, substitute_id: int, unit_code: str) -> set[str]:
    """A substitute holds every officer role the absent officer holds in the unit (else they could
    not act on the work that comes to them): the roles missing, empty when they may stand in."""
    return officer_roles_in(session, officer_id, unit_code) - officer_roles_in(session, substitute_id, unit_code)


def may_stand_in_on_step(session: Session, substitute_id: int, item: WorkItem) -> bool:
    """Work routed to a substitute: only when they hold the step's role in its unit today."""
    return item.role in officer_roles_in(session, substitute_id, item.unit_code)
