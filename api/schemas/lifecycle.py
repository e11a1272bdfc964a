"""Events into a dossier and officers' actions on it."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .data import Data


class DateOrDateTime(fields.Field):
    """A new appointment: `YYYY-MM-DD` (17:00 that day) or an ISO 8601 date-time."""

    def _deserialize(self, value, attr, data, **kwargs):
        from datetime import date, datetime

        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("ngày YYYY-MM-DD hoặc thời điểm ISO 8601")
        try:
            found = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("ngày YYYY-MM-DD hoặc thời điểm ISO 8601") from None
        if isinstance(found, datetime) and found.utcoffset() is None:  # never guessed (docs/api.md)
            raise ValidationError("thời điểm phải có múi giờ, ví dụ 2026-12-15T17:00:00+07:00")
        return found


class EventSchema(Schema):
    class Meta:
        unknown = RAISE

    data = Data(load_default=dict)
    message = fields.String(
        validate=[validate.Length(min=1, max=200),
                  validate.Regexp(r"^[^\x00-\x1f\x7f-\x9f]*$", error="không được có ký tự điều khiển")],
        metadata={"description": "with `POST /dossiers/{code}/events/message`: the name of the message to "
                                 "deliver, as the diagram writes it (any text, 1..200 characters, no control "
                                 "characters), instead of a URL-encoded name in the path"})


class ActionSchema(Schema):
    """Every field any action reads; each action validates what it needs (400 naming the field)."""

    class Meta:
        unknown = RAISE

    reason = fields.String(validate=validate.Length(max=2000))
    items = fields.List(fields.String(validate=validate.Length(max=500)), validate=validate.Length(max=50))
    new_due_at = DateOrDateTime(metadata={"type": "string", "description": "YYYY-MM-DD (17:00 that day) or an ISO 8601 date-time with its offset"})
    step_id = fields.String(validate=validate.Length(max=200))
    amount = fields.Integer(validate=validate.Range(min=0, max=10**13))
    note = fields.String(validate=validate.Length(max=2000))
    method = fields.String(validate=validate.OneOf(["in_person", "post", "online"]))
    data = Data()
    attachment_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
                                 validate=validate.Length(max=50))
