"""What administrators do in the back office: users and their (role, unit) pairs, the working
calendar's declared days, and units' validity dates when communes merge.

Scope: an administrator of province P manages the users whose every unit lies in P, grants
pairs only on P's units, declares P's calendar days and edits P's units; an administrator of
VN manages everything. Users an administrator may not manage answer 404 (they are not
listed either), so the existence of other provinces' accounts does not leak.
"""
from __future__ import annotations

import re
import secrets

from datetime import date

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from ..models import CalendarDay, RoleAssignment, Unit, User
from .deadlines import forget_calendars
from .routing import forget_routes
from ..models.users import ROLES
from . import access, audit, history_text, search
from .auth import Actor, create_user, forget_actor, hash_password, revoke_credentials
from .deadlines import declare_day
from .errors import Conflict, Forbidden, Invalid, NotFound
from ..i18n import vi


# Who manages what: `access.admin_scopes`, `admin_manages_unit`, `admin_manages_user`, `managed_users`.

def search_users(session: Session, actor: Actor, q: str = "", role: str = "", active: str = "",
                 limit: int = 100) -> list[User]:
    scopes = access.admin_scopes(actor)
    query = select(User).where(access.managed_users(scopes))
    q = (q or "").strip()
    wanted = search.words(q)
    if role:
        query = query.where(User.id.in_(select(RoleAssignment.user_id).where(RoleAssignment.role == role)))
    if active in ("1", "0"):
        query = query.where(User.active == (active == "1"))
    if not wanted:
        return list(session.scalars(query.order_by(User.username).limit(limit)).all())
    # Full names are folded here, not in SQL (the database's lower() keeps "Đ" and the diacritics):
    # an administrator's users are a few thousand at most, read as (id, username, name) in pages.
    by_pair = set(session.scalars(select(RoleAssignment.user_id).where(RoleAssignment.unit_code == q)))
    found: list[int] = []
    names = session.execute(query.with_only_columns(User.id, User.username, User.full_name)
                            .order_by(User.username).execution_options(yield_per=1000))
    for user_id, username, full_name in names:
        text = f"{search.fold(username)} {search.fold(full_name)}"
        if user_id in by_pair or all(w in text for w in wanted):
            found.append(user_id)
            if len(found) == limit:
                break
    names.close()
    if not found:
        return []
    return list(session.scalars(select(User).where(User.id.in_(found)).order_by(User.username)).all())


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not access.admin_manages_user(session, actor, user):
        raise NotFound(vi("Không tìm thấy người dùng."))
    return user


def _check_pair(session: Session, actor: Actor, role: str, unit_code: str) -> None:
    if role not in ROLES:
        raise Invalid(vi("Vai trò không hợp lệ."), fields={"role": ", ".join(ROLES)})
    if session.get(Unit, unit_code or "") is None:
        raise Invalid(vi("Không có đơn vị mã này."), fields={"unit": vi("mã đơn vị (ví dụ 00070, 01.TTPVHCC)")})
    if not access.admin_manages_unit(session, actor, unit_code):
        raise Forbidden(vi("Đơn vị này không thuộc phạm vi quản trị của bạn."))


def _free_username(session: Session, username: str, unit_code: str) -> str:
    """`username.<province>` (then `.2`, `.3`...) not yet taken; the unit's province code, else its own."""
    unit = session.get(Unit, unit_code)
    suffix = (unit.province_code if unit is not None and unit.province_code else unit_code)
    base = f"{username[:60]}.{suffix}"
    for n in range(1, 100):
        candidate = base if n == 1 else f"{base}.{n}"
        if not session.scalar(select(User.id).where(User.username == candidate)):
            return candidate
    return f"{base}.{secrets.token_hex(3)}"


def new_user(session: Session, actor: Actor, username: str, password: str, full_name: str, role: str,
             unit_code: str) -> User:
    _check_pair(session, actor, role, unit_code)
    username = (username or "").strip()
    if session.scalar(select(User.id).where(User.username == username)):
        # Usernames are unique across the country: the same answer whichever province holds the name
        # (never named), with a free name in the new user's own province as a suggestion.
        raise Conflict(vi("Tên đăng nhập đã được dùng; hãy chọn tên khác, ví dụ %(suggestion)s.",
                          suggestion=_free_username(session, username, unit_code)),
                       fields={"username": vi("đã được dùng")})
    user = create_user(session, username, password, [(role, unit_code)], full_name=(full_name or "").strip() or None)
    audit.record(session, "user.create", actor.name, unit_code=unit_code, note=f"{username}: {role}@{unit_code}")
    return user


def add_pair(session: Session, actor: Actor, user_id: int, role: str, unit_code: str) -> User:
    user = get_user(session, actor, user_id)
    _check_pair(session, actor, role, unit_code)
    if any(a.role == role and a.unit_code == unit_code for a in user.assignments):
        raise Conflict(vi("Người dùng đã có vai trò này tại đơn vị này."))
    user.assignments.append(RoleAssignment(role=role, unit_code=unit_code))
    audit.record(session, "user.role_add", actor.name, unit_code=unit_code, note=f"{user.username}: {role}@{unit_code}")
    session.flush()
    forget_actor()
    return user


def remove_pair(session: Session, actor: Actor, user_id: int, assignment_id: int) -> User:
    user = get_user(session, actor, user_id)
    pair = next((a for a in user.assignments if a.id == assignment_id), None)
    if pair is None:
        raise NotFound(vi("Không có vai trò này."))
    if len(user.assignments) == 1 and "VN" not in access.admin_scopes(actor):
        raise Conflict(vi("Không thể gỡ vai trò cuối cùng: người dùng sẽ ra khỏi phạm vi quản lý của bạn. "
                          "Hãy khóa tài khoản thay vì gỡ."), code="last_pair")
    user.assignments.remove(pair)
    audit.record(session, "user.role_remove", actor.name, unit_code=pair.unit_code,
                 note=f"{user.username}: {pair.role}@{pair.unit_code}")
    session.flush()
    revoke_credentials(session, user)  # a token or session opened with the role ends with it
    forget_actor()
    return user


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Deactivation keeps the account and its history; the user can no longer log in or use tokens,
    and the sessions and tokens open now end for good (reactivating does not revive them)."""
    user = get_user(session, actor, user_id)
    if user.id == actor.user_id and not active:
        raise Conflict(vi("Không thể tự khóa tài khoản của chính mình."))
    if user.active and not active:
        revoke_credentials(session, user)
    user.active = active
    audit.record(session, "user.activate" if active else "user.deactivate", actor.name, note=user.username)
    session.flush()
    return user


def set_profile(session: Session, actor: Actor, user_id: int, full_name: str, title: str) -> User:
    """Full name and title (chức vụ): a leader signs the apology letter and the stop notice with
    them (documents print what the action recorded, so a change reaches later documents only)."""
    user = get_user(session, actor, user_id)
    full_name, title = (full_name or "").strip(), (title or "").strip()
    if len(full_name) > 200:
        raise Invalid(vi("Họ tên quá dài."), fields={"full_name": vi("tối đa %(n)s ký tự", n=200)})
    if len(title) > 120:
        raise Invalid(vi("Chức vụ quá dài."), fields={"title": vi("tối đa %(n)s ký tự", n=120)})
    user.full_name, user.title = full_name or None, title or None
    history_text.forget_person(session, user.username)  # histories name people by these
    audit.record(session, "user.profile", actor.name, note=f"{user.username}: {full_name} · {title}")
    session.flush()
    return user


def reset_password(session: Session, actor: Actor, user_id: int, password: str) -> User:
    user = get_user(session, actor, user_id)
    if not password or len(password) < 8:
        raise Invalid(vi("Mật khẩu phải có ít nhất 8 ký tự."), fields={"password": vi("tối thiểu %(n)s ký tự", n=8)})
    user.password_hash = hash_password(session, password)
    revoke_credentials(session, user)  # whoever knew the old password is logged out everywhere
    audit.record(session, "user.password", actor.name, note=user.username)
    session.flush()
    return user


# -- calendar ----------------------------------------------------------------------------------

def calendar_scopes(actor: Actor) -> list[str]:
    scopes = access.admin_scopes(actor)
    return ["VN"] if "VN" in scopes else sorted(scopes)


def check_calendar_scope(session: Session, actor: Actor, scope: str) -> None:
    """An administrator (403), of VN or a province (400), that it administers (403)."""
    access.admin_scopes(actor)
    if scope != "VN":
        unit = session.get(Unit, scope)
        if unit is None or unit.level != "province":
            raise Invalid(vi("Phạm vi phải là VN hoặc mã tỉnh."), fields={"scope": vi("VN | mã tỉnh")})
    access.may_administer(actor, scope)


def add_day(session: Session, actor: Actor, scope: str, day, kind: str, note: str | None) -> CalendarDay:
    """Declare a day off or a make-up working day, audited: `POST /api/v1/calendar/days` and the
    back office's calendar page both come here."""
    check_calendar_scope(session, actor, scope)
    if isinstance(day, str):
        try:
            day = date.fromisoformat(day)
        except ValueError:
            raise Invalid(vi("Ngày không hợp lệ."), fields={"day": vi("YYYY-MM-DD")}) from None
    if not isinstance(day, date):
        raise Invalid(vi("Ngày không hợp lệ."), fields={"day": vi("YYYY-MM-DD")})
    row = declare_day(session, actor, day, kind, scope, (note or "").strip()[:300] or None)
    audit.record(session, "calendar.declare", actor.name, unit_code=scope,
                 note=f"{scope} {day.isoformat()} {kind}: {row.note or ''}")
    return row


def remove_day(session: Session, actor: Actor, scope: str, day_id: int) -> None:
    check_calendar_scope(session, actor, scope)
    row = session.get(CalendarDay, day_id)
    if row is None or row.scope != scope:
        raise NotFound(vi("Không có ngày đã khai báo này."))
    session.execute(delete(CalendarDay).where(CalendarDay.id == day_id))
    forget_calendars()
    audit.record(session, "calendar.remove", actor.name, unit_code=scope, note=f"{scope} {row.day.isoformat()} {row.kind}")
    session.flush()


def confirm_day(session: Session, actor: Actor, scope: str, day_id: int) -> CalendarDay:
    """An administrator of the day's scope has checked a reported day (a shipped decision marked
    `confirmed: false`) against its document: it stays as declared, now confirmed; audited."""
    check_calendar_scope(session, actor, scope)
    row = session.get(CalendarDay, day_id)
    if row is None or row.scope != scope:
        raise NotFound(vi("Không có ngày đã khai báo này."))
    if not row.confirmed:
        row.confirmed = True
        audit.record(session, "calendar.confirm", actor.name, unit_code=scope,
                     note=f"{scope} {row.day.isoformat()} {row.kind}: {row.note or ''}"[:2000])
        session.flush()
    return row


# -- units -------------------------------------------------------------------------------------

UNIT_LEVELS = ("national", "province", "commune", "department", "service-center")


def _units_query(actor: Actor, q: str, level: str):
    """The units an administrator manages (VN: all) matching `q` (a code, or folded words of the
    name: "phuong ba dinh" finds "Phường Ba Đình") and `level`; bad values are 400s naming them."""
    scopes = access.admin_scopes(actor)
    query = select(Unit)
    if "VN" not in scopes:
        query = query.where(Unit.province_code.in_(scopes))
    q = (q or "").strip()
    if q:
        query = query.where(or_(Unit.code == q, search.matches(Unit.name_folded, q)))
    if level:
        if level not in UNIT_LEVELS:
            raise Invalid(vi("Cấp đơn vị không hợp lệ."), fields={"level": " | ".join(UNIT_LEVELS)})
        query = query.where(Unit.level == level)
    return query


def search_units(session: Session, actor: Actor, q: str = "", level: str = "", limit: int = 100,
                 offset: int = 0) -> list[Unit]:
    query = _units_query(actor, q, level)
    return list(session.scalars(query.order_by(Unit.code).limit(limit).offset(offset)).all())


def count_units(session: Session, actor: Actor, q: str = "", level: str = "") -> int:
    """How many units `search_units` pages through (the units page's page links)."""
    return session.scalar(select(func.count()).select_from(_units_query(actor, q, level).subquery())) or 0


def lookup_units(session: Session, actor: Actor, q: str = "", level: str = "", limit: int = 15) -> list[Unit]:
    """Units for a picker: an exact code first, then names containing the folded words, shortest
    (closest) names first; only the administrator's own units, so a picker never offers a unit
    the save would refuse."""
    query = _units_query(actor, q, level)
    exact = (q or "").strip()
    return list(session.scalars(query.order_by((Unit.code == exact).desc(), func.length(Unit.name), Unit.code)
                                .limit(limit)).all())


def get_unit(session: Session, actor: Actor, unit_code: str) -> Unit:
    """A unit the administrator manages (its own page); others' answer 404."""
    unit = session.get(Unit, unit_code)
    if unit is None or not access.admin_manages_unit(session, actor, unit_code) or unit.level == "national":
        raise NotFound(vi("Không tìm thấy đơn vị."))
    return unit


def set_validity(session: Session, actor: Actor, unit_code: str, valid_from: str | None,
                 valid_to: str | None) -> Unit:
    """When communes merge, the old units get an end date (and the new one a start date)."""
    unit = session.get(Unit, unit_code)
    if unit is None or not access.admin_manages_unit(session, actor, unit_code) or unit.level == "national":
        raise NotFound(vi("Không tìm thấy đơn vị."))
    fields, parsed = {}, {}
    for name, raw in (("valid_from", valid_from), ("valid_to", valid_to)):
        try:
            parsed[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            fields[name] = vi("YYYY-MM-DD")
    if not fields and parsed["valid_from"] and parsed["valid_to"] and parsed["valid_to"] < parsed["valid_from"]:
        fields["valid_to"] = vi("phải sau ngày bắt đầu")
    if fields:
        raise Invalid(vi("Ngày hiệu lực không hợp lệ."), fields=fields)
    before = {"valid_from": str(unit.valid_from or ""), "valid_to": str(unit.valid_to or "")}
    unit.valid_from, unit.valid_to = parsed["valid_from"], parsed["valid_to"]
    forget_routes()
    audit.record(session, "unit.validity", actor.name, unit_code=unit_code, note=unit.name,
                 data={"before": before, "after": {k: str(v or "") for k, v in parsed.items()}})
    session.flush()
    return unit


def set_disadvantaged(session: Session, actor: Actor, unit_code: str, value: bool) -> Unit:
    """Mark a commune as having especially difficult socio-economic conditions: procedures whose
    period rules say so give its dossiers more days (`periods`; the land procedure: +10)."""
    unit = session.get(Unit, unit_code)
    if unit is None or not access.admin_manages_unit(session, actor, unit_code) or unit.level == "national":
        raise NotFound(vi("Không tìm thấy đơn vị."))
    if unit.level != "commune":
        raise Invalid(vi("Chỉ xã/phường được đánh dấu có điều kiện kinh tế - xã hội đặc biệt khó khăn."),
                      fields={"disadvantaged": vi("chỉ áp dụng cho xã/phường")})
    before, unit.disadvantaged = bool(unit.disadvantaged), bool(value)
    audit.record(session, "unit.disadvantaged", actor.name, unit_code=unit_code, note=unit.name,
                 data={"before": before, "after": unit.disadvantaged})
    session.flush()
    return unit


def set_contact(session: Session, actor: Actor, unit_code: str, address: str | None, phone: str | None) -> Unit:
    """Where citizens go and whom they call (issue 22): shown on the public tracking page of the
    dossiers the unit received. Empty: not shown."""
    unit = session.get(Unit, unit_code)
    if unit is None or not access.admin_manages_unit(session, actor, unit_code) or unit.level == "national":
        raise NotFound(vi("Không tìm thấy đơn vị."))
    address = " ".join((address or "").split()) or None
    phone = " ".join((phone or "").split()) or None
    fields = {}
    if address and len(address) > 300:
        fields["address"] = vi("tối đa 300 ký tự")
    if phone and not re.fullmatch(r"\+?[0-9 .()-]{3,40}", phone):
        fields["phone"] = vi("chỉ chữ số, khoảng trắng, dấu . - ( ) +")
    if fields:
        raise Invalid(vi("Địa chỉ hoặc số điện thoại của đơn vị không hợp lệ."), fields=fields)
    before = {"address": unit.address, "phone": unit.phone}
    unit.address, unit.phone = address, phone
    audit.record(session, "unit.contact", actor.name, unit_code=unit_code, note=unit.name,
                 data={"before": before, "after": {"address": address, "phone": phone}})
    session.flush()
    return unit


def recent_events(session: Session, actor: Actor, limit: int = 200):
    """The back office's own history (events without a dossier), newest first."""
    from ..models import AuditEvent

    admin_or_designer = access.audit_scopes(actor)
    query = select(AuditEvent).where(AuditEvent.dossier_id.is_(None)).order_by(AuditEvent.id.desc()).limit(limit)
    if "VN" not in admin_or_designer:  # a province sees what its own people did
        people = select(User.username).join(RoleAssignment, RoleAssignment.user_id == User.id).join(
            Unit, Unit.code == RoleAssignment.unit_code).where(Unit.province_code.in_(admin_or_designer))
        query = query.where(AuditEvent.actor.in_(people))
    return list(session.scalars(query).all())
