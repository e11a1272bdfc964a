"""The bearer user's notifications (the bell of the back office)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .common import VNDateTime


class NotificationQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    unread = fields.Boolean(load_default=False, metadata={"description": "only the unread ones"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "assigned, returned, due_soon, overdue, supplement_received, "
                                                  "takeover_request"})
    message = fields.String(metadata={"description": "in Vietnamese, with the dossier's code and the step's name"})
    dossier_code = fields.String(allow_none=True)
    created_at = VNDateTime()
    read_at = VNDateTime(allow_none=True, metadata={"description": "null while unread"})


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), metadata={"description": "newest first"})
    total = fields.Integer(metadata={"description": "how many match (all, or the unread ones)"})
    unread = fields.Integer()
