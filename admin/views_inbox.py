"""The inbox's bulk actions and its refresh stamp (the page itself is `views_work.inbox`).

Bulk claim (the available view) and a leader's bulk reassignment (the unit view) each call one
service function (`tasks.claim_many`, `tasks.assign_many`) in one transaction: the steps done and
each refused one with its reason come back as messages. `static/inbox.js` polls `stamp`.
"""
from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.services import inbox as inbox_service, tasks

from .blueprint import bp
from .views_auth import current_actor
from .views_work import officer_required


def _back(view: str):
    target = request.form.get("next") or ""
    if not target.startswith("/admin/inbox") or "//" in target:
        target = url_for("admin.inbox", view=view)
    return redirect(target, 303)


def _report(result: tasks.Bulk, done_message: str | None) -> None:
    if done_message:
        flash(done_message, "ok")
    for label, reason in result.refused[:20]:
        flash(_("Không thực hiện được với %(what)s: %(why)s", what=label, why=reason), "error")
    if len(result.refused) > 20:
        flash(_("… và %(n)s việc khác không thực hiện được.", n=len(result.refused) - 20), "error")


@bp.post("/inbox/claim")
@officer_required
def claim_selected():
    result = tasks.claim_many(db.session, current_actor(), request.form.getlist("task_ids"))
    db.session.commit()
    _report(result, _("Đã nhận %(n)s việc.", n=len(result.done)) if result.done else None)
    return _back("available")


@bp.post("/inbox/assign")
@officer_required
def assign_selected():
    username = request.form.get("username", "")
    result = tasks.assign_many(db.session, current_actor(), request.form.getlist("task_ids"), username)
    db.session.commit()  # expires the rows: each step's holder is read again (a substitute, maybe)
    people = ", ".join(sorted({w.assignee.username for w in result.done if w.assignee}))
    _report(result, _("Đã giao %(n)s việc cho %(u)s.", n=len(result.done), u=people) if result.done else None)
    return _back("unit")


@bp.get("/inbox/stamp")
@officer_required
def inbox_stamp():
    """The tabs' counts and the latest arrival: cheap enough to poll every 30 seconds."""
    return jsonify(inbox_service.stamp(db.session, current_actor()))
