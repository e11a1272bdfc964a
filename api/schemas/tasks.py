"""Tasks: the inbox, a task with its form, claim/assign, complete."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .common import VNDateTime, ViewSchema, row


class CompleteSchema(Schema):
    class Meta:
        unknown = RAISE

    data = fields.Dict(keys=fields.String(), load_default=dict)
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
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TaskQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    view = fields.String(load_default="available", validate=validate.OneOf(["available", "mine"]))
    overdue = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class WorkItemSchema(ViewSchema):
    """Dumps a work item, or an `api.views.InboxEntry` (the item with its `due_mark`)."""

    id = fields.String()
    name = fields.String(attribute="step_name")
    step_id = fields.String()
    dossier_code = fields.Function(lambda w: row(w).dossier.code)
    procedure_code = fields.Function(lambda w: row(w).dossier.procedure_code)
    unit_code = fields.String()
    role = fields.String()
    assignee = fields.Function(lambda w: row(w).assignee.username if row(w).assignee else None)
    due_at = VNDateTime()
    created_at = VNDateTime()
    status = fields.Function(lambda w: row(w).dossier.status)
    received_by_unit = fields.Function(lambda w: row(w).dossier.received_by_unit)
    due_mark = fields.String(allow_none=True, metadata={"description": "overdue | today | soon, computed now"})


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(WorkItemSchema))
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
