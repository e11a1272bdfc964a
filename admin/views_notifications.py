"""The bell: the current user's notifications (newest first, unread highlighted), opening one
marks it read and goes to its dossier, "mark all read", and the unread count as JSON for
`static/bell.js`. Thin views over `services/notifications.py`; the header's count comes from
the context processor of `views_auth`."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from orchestrator.extensions import db
from orchestrator.services import access, notifications

from .params import flag_arg, int_arg
from .blueprint import bp
from .i18n import DEFAULT, select_locale
from .views_auth import current_actor

KIND_LABELS = {
    "assigned": _l("Được giao việc"),
    "returned": _l("Hồ sơ bị trả về"),
    "due_soon": _l("Sắp đến hạn"),
    "overdue": _l("Quá hạn"),
    "supplement_received": _l("Đã nhận bổ sung"),
    "takeover_request": _l("Đề nghị nhận lại việc"),
}


# In another language than Vietnamese, the stored message (Vietnamese, as the API gives it) is
# replaced by this sentence: one language per page.
KIND_SENTENCES = {
    "assigned": _l("Bạn được giao một bước của hồ sơ %(code)s."),
    "returned": _l("Hồ sơ %(code)s được trả về một bước trước."),
    "due_soon": _l("Hồ sơ %(code)s sắp đến hạn."),
    "overdue": _l("Một bước của hồ sơ %(code)s đã quá hạn."),
    "supplement_received": _l("Hồ sơ %(code)s đã được bổ sung."),
    "takeover_request": _l("Có đề nghị nhận lại một bước của hồ sơ %(code)s."),
}


@bp.app_template_filter("notification_kind")
def notification_kind(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_filter("notification_text")
def notification_text(entry) -> str:
    if select_locale() == DEFAULT or entry.kind not in KIND_SENTENCES:
        return entry.message
    return str(KIND_SENTENCES[entry.kind]) % {"code": entry.dossier_code or "—"}


@bp.get("/notifications")
@login_required
def notifications_page():
    unread_only = flag_arg("unread")  # strict: a bad value is a 400 page naming it (admin/params.py)
    result = notifications.page(db.session, current_actor(), int_arg("page", 1, 1, 100_000), 20, unread_only)
    return render_template("admin/notifications.html", result=result, unread_only=unread_only)


@bp.get("/notifications/count")
@login_required
def notifications_count():
    response = jsonify({"unread": notifications.unread_count(db.session, current_actor())})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/notifications/<int(max=2147483647):notification_id>/open")
@login_required
def open_notification(notification_id: int):
    """Marks it read, then opens its dossier (officers' page), else back to the list."""
    actor = current_actor()
    entry = notifications.mark_read(db.session, actor, notification_id)
    db.session.commit()
    if entry.dossier_code and access.holds_any(actor, access.WORKSPACE_ROLES):
        return redirect(url_for("admin.dossier", code=entry.dossier_code), 303)
    return redirect(url_for("admin.notifications_page"), 303)


@bp.post("/notifications/read-all")
@login_required
def read_all_notifications():
    count = notifications.mark_all_read(db.session, current_actor())
    db.session.commit()
    flash(_("Đã đánh dấu %(n)s thông báo là đã đọc.", n=count), "ok")
    return redirect(url_for("admin.notifications_page"), 303)
