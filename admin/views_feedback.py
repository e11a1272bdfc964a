"""Supervisors' page beside the statistics (issue 24): citizens' ratings per receiving unit and
procedure, their feedback and petitions, and the answer form (sent through the outbox)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.services import access, feedback
from orchestrator.services import units as unit_service
from orchestrator.services.errors import Conflict, Invalid

from .blueprint import bp
from .i18n import said
from .params import choice_arg, text_arg
from .views_auth import current_actor, role_required


@bp.get("/statistics/feedback")
@role_required(*access.STATISTICS_ROLES)
def feedback_page():
    actor = current_actor()
    answered = choice_arg("answered", ["yes", "no"]) or None
    summary = feedback.summary(db.session, actor, text_arg("province", 10) or None,
                               kind=choice_arg("kind", ["feedback", "petition"]) or None,
                               answered=None if answered is None else answered == "yes",
                               unit=text_arg("unit", 40) or None, procedure=text_arg("procedure", 40) or None)
    scopes = access.statistics_scopes(actor)
    provinces = unit_service.provinces(db.session, None if "VN" in scopes else scopes)
    return render_template("admin/feedback.html", summary=summary, provinces=provinces, national="VN" in scopes,
                           filters={k: request.args.get(k, "") for k in ("kind", "answered", "unit", "procedure")})


@bp.post("/statistics/feedback/<int:feedback_id>/answer")
@role_required(*access.STATISTICS_ROLES)
def answer_feedback(feedback_id: int):
    """Stored and queued to the citizen's contacts in one transaction; out of scope: 404."""
    try:
        item = feedback.answer(db.session, current_actor(), feedback_id, request.form.get("answer", ""))
    except (Invalid, Conflict) as exc:
        db.session.rollback()
        flash(said(exc.message), "error")
        return redirect(url_for("admin.feedback_page", province=request.form.get("province") or None))
    db.session.commit()
    flash(_("Đã lưu câu trả lời và gửi tới công dân."), "success")
    return redirect(url_for("admin.feedback_page", province=item.province_code, _anchor=f"feedback-{item.id}"))
