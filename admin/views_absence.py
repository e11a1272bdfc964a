"""Absences: a leader names a substitute for an officer of their unit for a period, ends it early,
and moves the officer's held work to the substitute. Thin views over `services/substitutes.py`;
who may is `access.may_manage_absences` (a leader of the unit)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.services import access, substitutes
from orchestrator.services.errors import Forbidden
from orchestrator.services.units import names as unit_names

from .blueprint import bp
from .views_auth import current_actor, role_required

leader_required = role_required("leader")


def _unit() -> str:
    """The unit asked for (a form's or the query's), else the first unit the leader leads."""
    led = sorted(access.led_units(current_actor()))
    unit = (request.form.get("unit") or request.args.get("unit") or (led[0] if led else "")).strip()
    if not unit:
        raise Forbidden(_("Chỉ lãnh đạo đơn vị được cử người làm thay."))
    return unit


def _back(unit: str):
    return redirect(url_for("admin.absence", unit=unit), 303)


@bp.get("/absence")
@leader_required
def absence():
    actor, unit = current_actor(), _unit()
    data = substitutes.for_unit(db.session, actor, unit)
    led = sorted(access.led_units(actor))
    return render_template("admin/absence.html", data=data, unit=unit, led=led,
                           unit_names=unit_names(db.session, set(led) | {unit}), today=substitutes.today())


@bp.post("/absence")
@leader_required
def absence_set():
    unit, form = _unit(), request.form
    row = substitutes.set_substitute(db.session, current_actor(), unit, form.get("officer"), form.get("substitute"),
                                     form.get("starts_on"), form.get("ends_on"))
    db.session.commit()
    flash(_("Đã cử %(s)s làm thay %(o)s từ %(a)s đến %(b)s.", s=row.substitute.full_name or row.substitute.username,
            o=row.user.full_name or row.user.username, a=row.starts_on.strftime("%d/%m/%Y"),
            b=row.ends_on.strftime("%d/%m/%Y")), "ok")
    return _back(unit)


@bp.post("/absence/<int:substitute_id>/end")
@leader_required
def absence_end(substitute_id: int):
    unit = _unit()
    substitutes.end_substitute(db.session, current_actor(), substitute_id, unit)
    db.session.commit()
    flash(_("Đã kết thúc việc làm thay."), "ok")
    return _back(unit)


@bp.post("/absence/<int:substitute_id>/move")
@leader_required
def absence_move(substitute_id: int):
    unit = _unit()
    result = substitutes.move_held(db.session, current_actor(), substitute_id, unit)
    db.session.commit()
    flash(_("Đã chuyển %(n)s việc đang giữ cho người làm thay.", n=len(result.moved)), "ok")
    for item, why in result.kept[:20]:
        flash(_("Giữ lại %(code)s: %(why)s", code=item.dossier.code, why=why), "error")
    return _back(unit)
