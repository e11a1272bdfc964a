"""Administrator pages: users and their (role, unit) pairs, the working calendar, units' validity,
and the back office's own history."""
from __future__ import annotations

import calendar as pycalendar
from datetime import date, datetime

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.models.users import ROLES
from orchestrator.services import administration as service
from orchestrator.services import tokens as tokens_service
from orchestrator.services import history_text, office_hours
from orchestrator.services.deadlines import calendar_for, declared_days
from orchestrator.services import units as unit_service
from orchestrator.services.errors import Invalid
from orchestrator.timezone import TZ

from .blueprint import bp
from .i18n import select_locale
from .params import text_arg, choice_arg, int_arg
from .views_auth import current_actor, role_required

admin_required = role_required("admin")


def _done(message: str, target: str):
    db.session.commit()
    flash(message, "ok")
    return redirect(target, 303)


@bp.get("/users")
@admin_required
def users():
    actor = current_actor()
    # strict (admin/params.py): a bad value is a 400 page naming it
    q, role, active = text_arg("q", 200), choice_arg("role", ROLES), choice_arg("active", ("0", "1"))
    rows = service.search_users(db.session, actor, q, role, active)
    return render_template("admin/users.html", rows=rows, roles=ROLES, q=q, role=role, active=active)


@bp.post("/users")
@admin_required
def user_create():
    f = request.form
    user = service.new_user(db.session, current_actor(), f.get("username", ""), f.get("password", ""),
                            f.get("full_name", ""), f.get("role", ""), f.get("unit_code", "").strip())
    return _done(_("Đã tạo người dùng %(u)s.", u=user.username), url_for("admin.user", user_id=user.id))


@bp.get("/users/<int:user_id>")
@admin_required
def user(user_id: int):
    actor = current_actor()
    u = service.get_user(db.session, actor, user_id)
    names = unit_service.names(db.session, {a.unit_code for a in u.assignments})
    tokens = tokens_service.list_tokens(db.session, actor, user_id=u.id)
    return render_template("admin/user.html", u=u, unit_names=names, roles=ROLES, tokens=tokens)


@bp.post("/users/<int:user_id>/roles")
@admin_required
def user_role_add(user_id: int):
    f = request.form
    u = service.add_pair(db.session, current_actor(), user_id, f.get("role", ""), f.get("unit_code", "").strip())
    return _done(_("Đã thêm vai trò."), url_for("admin.user", user_id=u.id))


@bp.post("/users/<int:user_id>/roles/<int:assignment_id>/delete")
@admin_required
def user_role_remove(user_id: int, assignment_id: int):
    u = service.remove_pair(db.session, current_actor(), user_id, assignment_id)
    return _done(_("Đã gỡ vai trò."), url_for("admin.user", user_id=u.id))


@bp.post("/users/<int:user_id>/active")
@admin_required
def user_active(user_id: int):
    active = request.form.get("active") == "1"
    u = service.set_active(db.session, current_actor(), user_id, active)
    return _done(_("Đã mở khóa tài khoản.") if active else _("Đã khóa tài khoản."), url_for("admin.user", user_id=u.id))


@bp.post("/users/<int:user_id>/profile")
@admin_required
def user_profile(user_id: int):
    f = request.form
    u = service.set_profile(db.session, current_actor(), user_id, f.get("full_name", ""), f.get("title", ""))
    return _done(_("Đã lưu họ tên và chức vụ."), url_for("admin.user", user_id=u.id))


@bp.post("/users/<int:user_id>/password")
@admin_required
def user_password(user_id: int):
    u = service.reset_password(db.session, current_actor(), user_id, request.form.get("password", ""))
    return _done(_("Đã đặt lại mật khẩu."), url_for("admin.user", user_id=u.id))


@bp.get("/calendar")
@admin_required
def calendar():
    actor = current_actor()
    scopes = service.calendar_scopes(actor)
    scope = request.args.get("scope", "").strip() or scopes[0]
    today = datetime.now(TZ).date()
    # holidays of year 99999 (or -1) cannot be computed: 2000-2100, a 400 page naming the parameter
    year = int_arg("year", today.year, 2000, 2100, _("Năm không hợp lệ: chọn từ 2000 đến 2100."))
    month = int_arg("month", today.month if year == today.year else 1, 1, 12)
    service.check_calendar_scope(db.session, actor, scope)
    cal = calendar_for(db.session, None if scope == "VN" else scope)
    holidays = sorted((d, n) for d, n in cal.holidays(year).items())
    provinces = unit_service.provinces(db.session) if "VN" in scopes else []
    hours, hours_source = office_hours.effective(db.session, scope)
    days = declared_days(db.session, scope, year)
    country_days = declared_days(db.session, "VN", year) if scope != "VN" else []
    return render_template("admin/calendar.html", scope=scope, year=year, month=month, scopes=scopes,
                           provinces=provinces, days=days, holidays=holidays, country_days=country_days,
                           hours=hours.as_dict(), hours_source=hours_source,
                           weeks=month_grid(cal, year, month, country_days + days), today=today,
                           previous=(year, month - 1) if month > 1 else (year - 1, 12),
                           following=(year, month + 1) if month < 12 else (year + 1, 1))


def month_grid(cal, year: int, month: int, declared) -> list[list[dict]]:
    """The month as weeks (Monday first) of days: what each day is for the office (a weekend, a
    holiday and its name, a declared day off or make-up working day), the scope's own declarations
    overriding the country's."""
    by_day = {d.day: d for d in declared}
    weeks = []
    for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
        row = []
        for d in week:
            declared_day, computable = by_day.get(d), 2000 <= d.year <= 2100
            holiday = cal.holidays(d.year).get(d) if computable else None
            kind = (("makeup" if declared_day.kind == "work" else "off") if declared_day
                    else "holiday" if holiday else "weekend" if d.weekday() >= 5 else "")
            row.append({"day": d, "in_month": d.month == month, "kind": kind, "holiday": holiday,
                        "declared": declared_day,
                        "working": cal.is_working_day(d) if computable else d.weekday() < 5})
        weeks.append(row)
    return weeks


@bp.post("/calendar/office-hours")
@admin_required
def calendar_office_hours():
    f = request.form
    scope = f.get("scope", "")
    office_hours.set_hours(db.session, current_actor(), scope, f)
    return _done(_("Đã lưu giờ làm việc."), url_for("admin.calendar", scope=scope, year=f.get("year", "")))


@bp.post("/calendar")
@admin_required
def calendar_add():
    f = request.form
    row = service.add_day(db.session, current_actor(), f.get("scope", ""), f.get("day", ""), f.get("kind", ""),
                          f.get("note"))
    return _done(_("Đã khai báo ngày %(d)s.", d=row.day.strftime("%d/%m/%Y")),
                 url_for("admin.calendar", scope=row.scope, year=row.day.year, month=row.day.month))


@bp.post("/calendar/<int:day_id>/delete")
@admin_required
def calendar_remove(day_id: int):
    scope = request.form.get("scope", "")
    service.remove_day(db.session, current_actor(), scope, day_id)
    return _done(_("Đã xóa ngày đã khai báo."), url_for("admin.calendar", scope=scope,
                                                         year=request.form.get("year", date.today().year)))


@bp.post("/calendar/<int:day_id>/confirm")
@admin_required
def calendar_confirm(day_id: int):
    scope = request.form.get("scope", "")
    row = service.confirm_day(db.session, current_actor(), scope, day_id)
    return _done(_("Đã xác nhận ngày %(d)s.", d=row.day.strftime("%d/%m/%Y")),
                 url_for("admin.calendar", scope=scope, year=row.day.year, month=row.day.month))


UNITS_PER_PAGE = 50


@bp.get("/units")
@admin_required
def units():
    """Searchable (folded words of the name, or a code) and paged; each unit is edited on its page."""
    actor, args = current_actor(), request.args
    q = args.get("q", "").strip()
    level = choice_arg("level", service.UNIT_LEVELS)
    page = int_arg("page", 1, 1, 100000)
    total = service.count_units(db.session, actor, q, level)
    pages = max(1, -(-total // UNITS_PER_PAGE))
    if page > pages:
        raise Invalid(_("Trang %(p)s không có: chỉ có %(n)s trang.", p=page, n=pages), fields={"page": f"1-{pages}"})
    rows = service.search_units(db.session, actor, q, level, limit=UNITS_PER_PAGE,
                                offset=(page - 1) * UNITS_PER_PAGE)
    return render_template("admin/units.html", rows=rows, q=q, level=level, levels=service.UNIT_LEVELS,
                           page=page, pages=pages, total=total)


@bp.get("/units/lookup")
@admin_required
def units_lookup():
    """The unit pickers' suggestions (admin/static/unitpicker.js): the administrator's own units
    whose code is `q` or whose name holds its words, without diacritics too."""
    level = choice_arg("level", service.UNIT_LEVELS)
    rows = service.lookup_units(db.session, current_actor(), request.args.get("q", ""), level)
    return jsonify({"items": [{"code": u.code, "name": u.name, "level": u.level} for u in rows]})


@bp.get("/units/<code>")
@admin_required
def unit(code: str):
    u = service.get_unit(db.session, current_actor(), code)
    province = unit_service.names(db.session, {u.province_code}).get(u.province_code) if u.province_code else None
    return render_template("admin/unit.html", u=u, province=province)


@bp.post("/units/<code>")
@admin_required
def unit_validity(code: str):
    f = request.form
    unit = service.set_validity(db.session, current_actor(), code, f.get("valid_from") or None,
                                f.get("valid_to") or None)
    return _done(_("Đã lưu hiệu lực của %(u)s.", u=unit.name), url_for("admin.unit", code=unit.code))


@bp.post("/units/<code>/disadvantaged")
@admin_required
def unit_disadvantaged(code: str):
    f = request.form
    unit = service.set_disadvantaged(db.session, current_actor(), code, f.get("disadvantaged") == "1")
    message = (_("Đã đánh dấu %(u)s là xã có điều kiện kinh tế - xã hội đặc biệt khó khăn.", u=unit.name)
               if unit.disadvantaged else _("Đã bỏ đánh dấu xã đặc biệt khó khăn của %(u)s.", u=unit.name))
    return _done(message, url_for("admin.unit", code=unit.code))


@bp.post("/units/<code>/contact")
@admin_required
def unit_contact(code: str):
    f = request.form
    unit = service.set_contact(db.session, current_actor(), code, f.get("address"), f.get("phone"))
    return _done(_("Đã lưu địa chỉ và điện thoại của %(u)s.", u=unit.name), url_for("admin.unit", code=unit.code))


@bp.get("/audit")
@role_required("admin", "designer")
def audit_log():
    events = service.recent_events(db.session, current_actor())
    return render_template("admin/audit.html", events=events,
                           texts=history_text.texts(db.session, events, None, select_locale()))
