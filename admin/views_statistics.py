"""Supervisors' page: on-time rate by week (a chart), by procedure and by unit, and where work waits."""
from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import Unit
from orchestrator.services import statistics
from orchestrator.services.errors import Invalid

from . import bp
from .charts import weekly_bars
from .views_auth import current_actor, role_required


def _day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(_("Ngày không hợp lệ (YYYY-MM-DD)."), fields={name: value[:40]}) from None


@bp.get("/statistics")
@role_required("supervisor", "admin")
def statistics_page():
    actor = current_actor()
    scope = request.args.get("province", "").strip() or None
    error = None
    try:
        report = statistics.report(db.session, actor, scope, _day("from"), _day("to"))
    except Invalid as exc:  # a bad period: say so, and show the default one
        error = exc.message
        report = statistics.report(db.session, actor, scope)
    scopes = statistics.allowed_scopes(actor)
    query = select(Unit.code, Unit.name).where(Unit.level == "province").order_by(Unit.code)
    if "VN" not in scopes:
        query = query.where(Unit.code.in_(scopes))
    provinces = db.session.execute(query).all()
    return render_template("admin/statistics.html", report=report, chart=weekly_bars(report.weeks),
                           provinces=provinces, national="VN" in scopes, error=error)
