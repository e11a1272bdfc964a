"""Administrator pages: users and their (role, unit) pairs, the working calendar, units' validity,
and the back office's own history."""
from __future__ import annotations

from datetime import date, datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.models.users import ROLES
from orchestrator.services import administration as service
from orchestrator.services import history_text, office_hours
from orchestrator.services.deadlines import calendar_for, declared_days
from orchestrator.services import units as unit_service
from orchestrator.services.errors import Invalid
from orchestrator.timezone import TZ

from .blueprint import bp
from .i18n import select_locale
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
    args = request.args
    rows = service.search_users(db.session, actor, args.get("q", ""), args.get("role", ""), args.get("active", ""))
    return render_template("admin/users.html", rows=rows, roles=ROLES, q=args.get("q", ""),
                           role=args.get("role", ""), active=args.get("active", ""))


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
    u = service.get_user(db.session, current_actor(), user_id)
    names = unit_service.names(db.session, {a.unit_code for a in u.assignments})
    return render_template("admin/user.html", u=u, unit_names=names, roles=ROLES)


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
    scope = request.args.get("scope") or scopes[0]
    year = request.args.get("year", type=int)
    year = datetime.now(TZ).year if year is None else year
    if not 2000 <= year <= 2100:  # holidays of year 99999 (or -1) cannot be computed
        raise Invalid(_("Năm không hợp lệ: chọn từ 2000 đến 2100."), fields={"year": "2000-2100"})
    service.check_calendar_scope(db.session, actor, scope)
    cal = calendar_for(db.session, None if scope == "VN" else scope)
    holidays = sorted((d, n) for d, n in cal.holidays(year).items())
    provinces = unit_service.provinces(db.session) if "VN" in scopes else []
    hours, hours_source = office_hours.effective(db.session, scope)
    return render_template("admin/calendar.html", scope=scope, year=year, scopes=scopes, provinces=provinces,
                           days=declared_days(db.session, scope, year), holidays=holidays,
                           country_days=declared_days(db.session, "VN", year) if scope != "VN" else [],
                           hours=hours.as_dict(), hours_source=hours_source)


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
                 url_for("admin.calendar", scope=row.scope, year=row.day.year))


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
                 url_for("admin.calendar", scope=scope, year=row.day.year))


@bp.get("/units")
@admin_required
def units():
    args = request.args
    rows = service.search_units(db.session, current_actor(), args.get("q", ""), args.get("level", ""))
    return render_template("admin/units.html", rows=rows, q=args.get("q", ""), level=args.get("level", ""))


@bp.post("/units/<code>")
@admin_required
def unit_validity(code: str):
    f = request.form
    unit = service.set_validity(db.session, current_actor(), code, f.get("valid_from") or None,
                                f.get("valid_to") or None)
    return _done(_("Đã lưu hiệu lực của %(u)s.", u=unit.name), url_for("admin.units", q=request.form.get("q", code)))


@bp.post("/units/<code>/disadvantaged")
@admin_required
def unit_disadvantaged(code: str):
    f = request.form
    unit = service.set_disadvantaged(db.session, current_actor(), code, f.get("disadvantaged") == "1")
    message = (_("Đã đánh dấu %(u)s là xã có điều kiện kinh tế - xã hội đặc biệt khó khăn.", u=unit.name)
               if unit.disadvantaged else _("Đã bỏ đánh dấu xã đặc biệt khó khăn của %(u)s.", u=unit.name))
    return _done(message, url_for("admin.units", q=f.get("q", code)))


@bp.get("/audit")
@role_required("admin", "designer")
def audit_log():
    events = service.recent_events(db.session, current_actor())
    return render_template("admin/audit.html", events=events,
                           texts=history_text.texts(db.session, events, None, select_locale()))
