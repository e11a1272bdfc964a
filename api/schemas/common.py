"""Shared by every resource: times with the +07:00 offset and the error envelope."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer
from marshmallow import Schema, ValidationError, fields

from orchestrator.timezone import TZ

from ..views import View


def row(obj):
    """What a `fields.Function` reads: the row itself, or the row a view (`api.views`) shows."""
    return obj.row if isinstance(obj, View) else obj


class ViewSchema(Schema):
    """The schema of a row, that dumps a view of it (`api.views`) as well: the view's own fields
    come from the view, every other field from its row (`fields.Function`s read `row(obj)`)."""

    def get_attribute(self, obj, attr, default):
        if isinstance(obj, View) and attr not in obj.__dataclass_fields__:
            obj = obj.row
        return super().get_attribute(obj, attr, default)


class VNDateTime(fields.DateTime):
    """ISO 8601 with the +07:00 offset, as docs/api.md promises."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(TZ).isoformat()


class OffsetDateTime(fields.AwareDateTime):
    """A time a client sends: ISO 8601 with its offset (`+07:00`, `Z`); a time without one is
    refused (400 naming the field) rather than guessed."""

    default_error_messages = {"invalid": "thời điểm ISO 8601 không hợp lệ",
                              "invalid_awareness": "thời điểm phải có múi giờ, ví dụ 2026-11-30T10:00:00+07:00"}


class Cursor(fields.String):
    """An opaque cursor: a signed, URL-safe token of where the next page starts (`encode_cursor`),
    loaded back to that dict; a cursor that was not ours or was altered is refused (400)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            found = _cursor_signer().loads(text) if len(text) <= 200 else None
        except BadData:
            found = None
        if not isinstance(found, dict):
            raise ValidationError("con trỏ trang không hợp lệ: dùng đúng giá trị next_cursor của trang trước")
        return found


def _cursor_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="api.cursor")


def encode_cursor(position: dict | None) -> str | None:
    """The `next_cursor` of an answer (None at the end)."""
    return None if position is None else _cursor_signer().dumps(position)


class ProblemSchema(Schema):
    element_id = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    message = fields.String()
    code = fields.String(metadata={"description": "kind of problem where a fix is offered, e.g. not_executable"})
    field = fields.String(metadata={"description": "the upload field at fault, e.g. process_id"})


class ErrorBodySchema(Schema):
    code = fields.String(metadata={"description": "machine-readable reason"})
    message = fields.String(metadata={"description": "human-readable: Vietnamese by default, English with "
                                                     "`Accept-Language: en` (the API's own messages; some "
                                                     "messages of the rules stay Vietnamese)"})
    field_errors = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                               metadata={"description": "field name -> problem, for body and form errors"})
    problems = fields.List(fields.Nested(ProblemSchema), metadata={"description": "diagram problems"})
    holder = fields.String(metadata={"description": "who holds the task (409 held_by_other)"})
    holder_name = fields.String(allow_none=True)
    lane = fields.String(metadata={"description": "the lane that cannot be routed (409 unroutable)"})
    status = fields.Integer(metadata={"description": "the dossier's status when an action is not allowed in it"})
    window_days = fields.Integer(metadata={"description": "409 supplement_too_late: the version's window"})
    unit = fields.String(metadata={"description": "409 supplement_already_requested: the unit that already asked"})
    elapsed_working_days = fields.Integer(metadata={"description": "409 supplement_too_late: days since reception"})
    due_at = fields.String(metadata={"description": "409 apology_too_late: the current due date"})
    event = fields.String(metadata={"description": "409 not_waiting: the event the dossier does not wait for"})
    waiting_for = fields.List(fields.String(), metadata={
        "description": "409 not_waiting: the names of the messages the dossier's diagram waits for now, what "
                       "`POST /dossiers/{code}/events/{name}` may deliver; empty when it waits for none (a "
                       "finished dossier, or one between steps). Built-in events (supplement_submitted in "
                       "status 5, payment_received in 6, withdrawn before a decision) follow the status"})
    actions = fields.List(fields.String(), metadata={"description": "404 unknown_action: the known actions"})
    open_steps = fields.List(fields.String(), metadata={"description": "409 steps_open: steps still open"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)
