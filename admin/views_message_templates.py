"""Administrator pages for notification templates (issue 24): the events x channels of a scope
with the level that applies, an edit form with a preview on sample values, reset to the inherited
text. Rules: `access.may_edit_message_templates`; everything else: `services/message_templates.py`."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.i18n import vi
from orchestrator.services import administration
from orchestrator.services import message_templates as service
from orchestrator.services import units as unit_service
from orchestrator.services.errors import Invalid, Rejected

from .blueprint import bp
from .params import text_arg
from .views_auth import current_actor, role_required

admin_required = role_required("admin")


def _known(scope: str, event: str, channel: str) -> None:
    """An unknown event or channel is no page (404); a scope that cannot be a code is a 400 naming
    it before it reaches the database (PostgreSQL refuses a NUL in a string)."""
    if event not in service.EVENTS or channel not in service.channels_of(event):
        abort(404)
    if not scope.isalnum() or len(scope) > 10:
        raise Invalid(vi("Phạm vi phải là VN hoặc mã tỉnh."), fields={"scope": vi("VN | mã tỉnh")})


@bp.get("/message-templates")
@admin_required
def message_templates():
    actor = current_actor()
    scopes = administration.calendar_scopes(actor)
    scope = text_arg("scope", 10) or scopes[0]
    rows = service.matrix(db.session, actor, scope)
    provinces = unit_service.provinces(db.session) if "VN" in scopes else []
    return render_template("admin/message_templates.html", scope=scope, rows=rows, events=service.EVENTS,
                           provinces=provinces)


def _edit_page(scope: str, event: str, channel: str, form: dict, level: str, result=None, status: int = 200):
    variables = [(name, service.VARIABLES[name][0]) for name in service.EVENTS[event][2]]
    return render_template("admin/message_template.html", scope=scope, event=event, channel=channel,
                           label=service.EVENTS[event][1], form=form, level=level, result=result,
                           variables=variables), status


@bp.get("/message-templates/<scope>/<event>/<channel>")
@admin_required
def message_template(scope: str, event: str, channel: str):
    _known(scope, event, channel)
    actor = current_actor()
    service.matrix(db.session, actor, scope)  # the scope's rule first (403 / 400)
    form, level = service.effective_text(db.session, scope, event, channel)
    return _edit_page(scope, event, channel, form, level)


@bp.post("/message-templates/<scope>/<event>/<channel>")
@admin_required
def message_template_save(scope: str, event: str, channel: str):
    _known(scope, event, channel)
    actor = current_actor()
    f = request.form
    form = {"subject": f.get("subject", ""), "body": f.get("body", ""), "zns_template_id": f.get("zns_template_id", "")}
    if f.get("action") == "preview":
        result = service.preview(db.session, actor, scope, event, channel, form["subject"], form["body"],
                                 form["zns_template_id"])
        level = service.effective_text(db.session, scope, event, channel)[1]
        return _edit_page(scope, event, channel, form, level, result, 200 if not result.errors else 422)
    try:
        service.save_template(db.session, actor, scope, event, channel, form["subject"], form["body"],
                              form["zns_template_id"])
    except Rejected as e:
        db.session.rollback()
        result = service.Preview(None, e.problems or [e.message], [])
        level = service.effective_text(db.session, scope, event, channel)[1]
        return _edit_page(scope, event, channel, form, level, result, 422)
    db.session.commit()
    flash(_("Đã lưu mẫu thông báo."), "ok")
    return redirect(url_for("admin.message_template", scope=scope, event=event, channel=channel), 303)


@bp.post("/message-templates/<scope>/<event>/<channel>/reset")
@admin_required
def message_template_reset(scope: str, event: str, channel: str):
    _known(scope, event, channel)
    service.reset_template(db.session, current_actor(), scope, event, channel)
    db.session.commit()
    flash(_("Đã đặt lại mẫu mặc định."), "ok")
    return redirect(url_for("admin.message_template", scope=scope, event=event, channel=channel), 303)
