"""The bearer user's notifications, newest first (docs/api.md): what the back office's bell shows."""
from __future__ import annotations

from orchestrator.extensions import db
from orchestrator.services import notifications

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .schemas.notifications import NotificationListSchema, NotificationQuerySchema


@bp.get("/notifications")
@authenticated
@bp.arguments(NotificationQuerySchema, location="query")
@bp.response(200, NotificationListSchema)
@documented(400, 401)
def list_notifications(args):
    """My notifications (a user's own; an integrator key has none); reading them marks nothing."""
    result = notifications.page(db.session, current_actor(), args["page"], args["per_page"], args["unread"])
    return {"items": result.items, "total": result.total, "unread": result.unread}
