"""Absences: a leader names a substitute for an officer of their unit for a period (docs/domain.md,
"Absence and substitutes"). While the period runs, work given to the officer goes to the
substitute (`stand_in`, called where a step is given to a person: `tasks.assign` and the bulk
reassignment) and the leader may move the officer's held work to the substitute in one action
(`move_held`). Who may do it is `access.may_manage_absences` / `access.roles_lacking_to_stand_in`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import RoleAssignment, User, WorkItem
from ..models.dossiers import OPEN
from ..models.types import utcnow
from ..models.users import Substitute
from ..timezone import TZ
from . import access, audit, notifications
from .auth import Actor
from .errors import Conflict, Invalid, NotFound

MAX_DAYS = 366  # one absence is at most a year; a longer one is a change of post, not an absence
MAX_HOPS = 3    # a substitute absent too passes the work on, at most this far (no loops)


def today() -> date:
    return utcnow().astimezone(TZ).date()


def _user(session: Session, username: str | None, field: str) -> User:
    user = session.scalar(select(User).where(User.username == (username or "").strip())) if username else None
    if user is None:
        raise Invalid(vi("Không tìm thấy cán bộ với tên đăng nhập này."), fields={field: vi("tên đăng nhập của cán bộ")})
    return user


def _date(value, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise Invalid(vi("Ngày không hợp lệ."), fields={field: vi("ngày dạng YYYY-MM-DD")}) from None


def set_substitute(session: Session, actor: Actor, unit_code: str, officer: str, substitute: str,
                   starts_on, ends_on, on: date | None = None) -> Substitute:
    """A leader of `unit_code` names `substitute` for `officer` (usernames) from `starts_on` to
    `ends_on` inclusive: the officer works in the unit, the substitute holds the officer's roles
    there, the period starts today or later and overlaps no other absence of the officer."""
    access.may_manage_absences(actor, unit_code)
    on = on or today()
    person, stand_in_user = _user(session, officer, "officer"), _user(session, substitute, "substitute")
    if not access.officer_roles_in(session, person.id, unit_code):
        raise Invalid(vi("Cán bộ không thuộc đơn vị này."),
                      fields={"officer": vi("cán bộ của đơn vị %(unit)s", unit=unit_code)})
    if stand_in_user.id == person.id:
        raise Invalid(vi("Người làm thay phải là người khác."), fields={"substitute": vi("khác cán bộ vắng mặt")})
    lacking = access.roles_lacking_to_stand_in(session, person.id, stand_in_user.id, unit_code)
    if lacking:
        raise Invalid(vi("Người làm thay phải có cùng vai trò tại đơn vị."),
                      fields={"substitute": vi("thiếu vai trò %(roles)s tại %(unit)s", roles=", ".join(sorted(lacking)),
                                               unit=unit_code)})
    start, end = _date(starts_on, "starts_on"), _date(ends_on, "ends_on")
    if start < on:
        raise Invalid(vi("Thời gian vắng mặt không được bắt đầu trong quá khứ."),
                      fields={"starts_on": vi("từ %(date)s", date=on.isoformat())})
    if end < start:
        raise Invalid(vi("Ngày kết thúc phải sau hoặc bằng ngày bắt đầu."),
                      fields={"ends_on": vi("từ %(date)s", date=start.isoformat())})
    if (end - start).days >= MAX_DAYS:
        raise Invalid(vi("Một lần vắng mặt tối đa %(days)s ngày.", days=MAX_DAYS),
                      fields={"ends_on": vi("tối đa %(days)s ngày", days=MAX_DAYS)})
    clash = session.scalar(select(Substitute).where(Substitute.user_id == person.id, Substitute.starts_on <= end,
                                                    Substitute.ends_on >= start))
    if clash is not None:
        raise Conflict(vi("Cán bộ %(officer)s đã có người làm thay từ %(starts)s đến %(ends)s.",
                          officer=person.username, starts=f"{clash.starts_on:%d/%m/%Y}",
                          ends=f"{clash.ends_on:%d/%m/%Y}"), code="substitute_overlap",
                       fields={"starts_on": vi("trùng thời gian đã đặt")})
    row = Substitute(user_id=person.id, substitute_id=stand_in_user.id, starts_on=start, ends_on=end,
                     set_by=actor.name, created_at=utcnow())
    row.user, row.substitute = person, stand_in_user
    session.add(row)
    session.flush()
    audit.record(session, "substitute_set", actor.name, unit_code=unit_code,
                 note=f"{stand_in_user.username} làm thay {person.username} từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}",
                 data={"id": row.id, "officer": person.username, "substitute": stand_in_user.username,
                       "starts_on": start.isoformat(), "ends_on": end.isoformat()})
    return row


def _managed(session: Session, actor: Actor, substitute_id, unit_code: str) -> Substitute:
    access.may_manage_absences(actor, unit_code)
    row = session.get(Substitute, substitute_id) if isinstance(substitute_id, int) else None
    if row is None or not access.officer_roles_in(session, row.user_id, unit_code):
        raise NotFound(vi("Không tìm thấy người làm thay này."))
    return row


def end_substitute(session: Session, actor: Actor, substitute_id: int, unit_code: str,
                   on: date | None = None) -> Substitute | None:
    """The officer is back: a period not started yet is deleted, a running one ends yesterday
    (deleted if it began today). Returns the row kept, or None when deleted."""
    on = on or today()
    row = _managed(session, actor, substitute_id, unit_code)
    if row.ends_on < on:
        raise Conflict(vi("Thời gian làm thay này đã kết thúc."), code="substitute_over")
    audit.record(session, "substitute_ended", actor.name, unit_code=unit_code,
                 note=f"{row.user.username} trở lại; {row.substitute.username} thôi làm thay",
                 data={"id": row.id, "officer": row.user.username, "substitute": row.substitute.username})
    if row.starts_on >= on:
        session.delete(row)
        session.flush()
        return None
    row.ends_on = on - timedelta(days=1)
    session.flush()
    return row


@dataclass
class UnitAbsences:
    """A unit's officers with their roles there, each one's current or coming substitutes, and how
    many open steps each one holds (three statements for the page)."""
    unit_code: str
    officers: list[tuple[User, list[str]]]
    substitutes: dict[int, list[Substitute]]
    held: dict[int, int]


def for_unit(session: Session, actor: Actor, unit_code: str, on: date | None = None) -> UnitAbsences:
    access.may_manage_absences(actor, unit_code)
    on = on or today()
    roles: dict[int, list[str]] = {}
    users: dict[int, User] = {}
    for user, role in session.execute(
            select(User, RoleAssignment.role).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.unit_code == unit_code, RoleAssignment.role.in_(access.OFFICER_ROLES))
            .order_by(User.username, RoleAssignment.role)).all():
        users[user.id] = user
        roles.setdefault(user.id, []).append(role)
    ids = list(users)
    subs: dict[int, list[Substitute]] = {i: [] for i in ids}
    held: dict[int, int] = {}
    if ids:
        for row in session.scalars(select(Substitute).where(Substitute.user_id.in_(ids), Substitute.ends_on >= on)
                                   .order_by(Substitute.starts_on)).all():
            subs[row.user_id].append(row)
        held = dict(session.execute(select(WorkItem.assignee_id, func.count()).where(
            WorkItem.assignee_id.in_(ids), WorkItem.state == OPEN, WorkItem.unit_code == unit_code)
            .group_by(WorkItem.assignee_id)).all())
    return UnitAbsences(unit_code, [(users[i], roles[i]) for i in ids], subs, held)


def effective(session: Session, user_id: int, on: date) -> int | None:
    """The user id of the officer's substitute on that day, or None when they are not absent."""
    return session.scalar(select(Substitute.substitute_id).where(
        Substitute.user_id == user_id, Substitute.starts_on <= on, Substitute.ends_on >= on)
        .order_by(Substitute.id.desc()).limit(1))


def stand_in(session: Session, actor: Actor, user: User, item: WorkItem, on: date | None = None) -> User:
    """Who a step given to `user` goes to: their substitute while they are absent (and the
    substitute's, if absent too), as long as that person holds the step's role in its unit; the
    history notes the substitution. The user themselves otherwise."""
    on = on or today()
    target, seen = user, {user.id}
    for _ in range(MAX_HOPS):
        other_id = effective(session, target.id, on)
        if other_id is None or other_id in seen or not access.may_stand_in_on_step(session, other_id, item):
            break
        seen.add(other_id)
        target = session.get(User, other_id)
    if target is not user:
        audit.record(session, "substitute_routed", actor.name, dossier=item.dossier, task_id=item.id,
                     step_id=item.step_id, unit_code=item.unit_code,
                     note=f"{user.username} vắng mặt: giao cho người làm thay {target.username}",
                     data={"officer": user.username, "substitute": target.username})
    return target


@dataclass
class Moved:
    moved: list[WorkItem]
    kept: list[tuple[WorkItem, str]]  # (item, why it stays with the officer)


def move_held(session: Session, actor: Actor, substitute_id: int, unit_code: str) -> Moved:
    """Every open step the absent officer holds in the unit goes to their substitute in one action
    (one transaction); a step whose role the substitute lacks stays, with the reason."""
    row = _managed(session, actor, substitute_id, unit_code)
    items = session.scalars(select(WorkItem).where(
        WorkItem.assignee_id == row.user_id, WorkItem.state == OPEN, WorkItem.unit_code.in_(access.led_units(actor))
    ).order_by(WorkItem.created_at, WorkItem.id)).all()
    result = Moved([], [])
    for item in items:
        if not access.may_stand_in_on_step(session, row.substitute_id, item):
            result.kept.append((item, f"{row.substitute.username} không có vai trò {item.role} tại {item.unit_code}"))
            continue
        item.assignee_id, item.assignee = row.substitute_id, row.substitute
        audit.record(session, "assign", actor.name, dossier=item.dossier, task_id=item.id, step_id=item.step_id,
                     note=f"giao cho {row.substitute.username}",  # the history's sentence reads the note
                     data={"officer": row.user.username, "substitute": row.substitute.username})
        result.moved.append(item)
    if result.moved:
        notifications.notify(session, [row.substitute_id], "assigned", None,
                             f"Bạn nhận {len(result.moved)} việc của {row.user.full_name or row.user.username} "
                             f"(làm thay đến {row.ends_on:%d/%m/%Y}).")
    session.flush()
    return result
