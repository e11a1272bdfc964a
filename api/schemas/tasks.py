"""Tasks: the inbox, a task with its form, claim/assign, complete."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .common import Cursor, VNDateTime, ViewSchema, row
from .data import Data

MAX_OFFSET = 100_000 * 200  # the deepest position page/per_page could reach


class CompleteSchema(Schema):
    class Meta:
        unknown = RAISE

    data = Data(load_default=dict)
    lock_version = fields.Integer()


class AssignSchema(Schema):
    class Meta:
        unknown = RAISE

    username = fields.String(required=True)


class InboxQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    view = fields.String(load_default="available", validate=validate.OneOf(["available", "mine", "unit"]))
    overdue = fields.Boolean(load_default=False)
    due = fields.String(validate=validate.OneOf(["overdue", "today", "soon"]))
    procedure_code = fields.String(validate=validate.Length(max=40))
    status = fields.Integer(validate=validate.Range(min=1, max=10))
    received_by_unit = fields.String(validate=validate.Length(max=40))
    cursor = Cursor(metadata={"description": "opaque: the `next_cursor` of the previous page, same `view`"})
    limit = fields.Integer(validate=validate.Range(min=1, max=200), metadata={"description": "default 50"})
    page = fields.Integer(validate=validate.Range(min=1, max=100000), metadata={
        "deprecated": True, "description": "deprecated: use `cursor`/`limit` (answers carry a `Deprecation` header)"})
    per_page = fields.Integer(validate=validate.Range(min=1, max=200), metadata={
        "deprecated": True, "description": "deprecated: use `limit`"})

    @validates_schema
    def _one_paging(self, data, **kwargs):
        """One way to page at a time; a cursor holds its view and the next page's position."""
        if {"page", "per_page"} & set(data) and {"cursor", "limit"} & set(data):
            raise ValidationError("page/per_page (deprecated) hoặc cursor/limit, không dùng cả hai",
                                  field_name="cursor")
        cursor = data.get("cursor")
        if cursor is not None and (cursor.get("view") != data["view"] or type(cursor.get("offset")) is not int
                                   or not 0 <= cursor["offset"] <= MAX_OFFSET):
            raise ValidationError("con trỏ trang của một danh sách khác: dùng cùng `view` với trang trước",
                                  field_name="cursor")


class TaskQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    view = fields.String(load_default="available", validate=validate.OneOf(["available", "mine"]))
    overdue = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class WorkItemSchema(ViewSchema):
    """Dumps a work item, or an `api.views.InboxEntry` (the item with its `due_mark`)."""

    id = fields.String()
    name = fields.String(attribute="step_name")
    step_id = fields.String()
    dossier_code = fields.Function(lambda w: row(w).dossier.code, metadata={"type": "string"})
    procedure_code = fields.Function(lambda w: row(w).dossier.procedure_code, metadata={"type": "string"})
    unit_code = fields.String()
    role = fields.String()
    assignee = fields.Function(lambda w: row(w).assignee.username if row(w).assignee else None,
                               metadata={"type": ["string", "null"]})
    due_at = VNDateTime(allow_none=True)
    created_at = VNDateTime()
    status = fields.Function(lambda w: row(w).dossier.status, metadata={"type": "integer"})
    received_by_unit = fields.Function(lambda w: row(w).dossier.received_by_unit, metadata={"type": "string"})
    due_mark = fields.String(allow_none=True, metadata={"description": "overdue | today | soon, computed now"})


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(WorkItemSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "null on the last page"})
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "all, overdue, today, soon (with the same filters)"})


class TaskDetailSchema(WorkItemSchema):
    """Dumps an `api.views.TaskView`."""

    state = fields.String()
    form_key = fields.String(allow_none=True)
    form = fields.Dict(allow_none=True, metadata={"description": "JSON Schema 2020-12 with UI hints"})
    prefill = fields.Dict()
    lock_version = fields.Integer()
    dossier = fields.Dict(attribute="dossier_summary")
