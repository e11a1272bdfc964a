"""Marshmallow schemas: the HTTP edge only (input validation and output shape)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class VNDateTime(fields.DateTime):
    """ISO 8601 with the +07:00 offset, as API.md promises."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(TZ).isoformat()


class ApplicantSchema(Schema):
    class Meta:
        unknown = RAISE

    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    id_number = fields.String(validate=validate.Regexp(r"^[0-9]{9,12}$", error="9 đến 12 chữ số"))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 .-]{8,15}$", error="số điện thoại không hợp lệ"))
    email = fields.Email()
    address = fields.String(validate=validate.Length(max=500))


class DossierStartSchema(Schema):
    class Meta:
        unknown = RAISE

    procedure_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    province_code = fields.String(required=True, validate=validate.Length(min=1, max=2))
    commune_code = fields.String(required=True, validate=validate.Length(min=1, max=5))
    channel = fields.Integer(validate=validate.OneOf([1, 2, 3]))
    applicant = fields.Nested(ApplicantSchema, required=True)
    data = fields.Dict(keys=fields.String(), load_default=dict)
    received_by_unit = fields.String(validate=validate.Length(min=1, max=40))
    reception = fields.Dict(keys=fields.String(), load_default=dict)


class CompleteSchema(Schema):
    class Meta:
        unknown = RAISE

    data = fields.Dict(keys=fields.String(), load_default=dict)
    lock_version = fields.Integer()


class AssignSchema(Schema):
    class Meta:
        unknown = RAISE

    username = fields.String(required=True)


class TokenRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CalendarQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    from_ = fields.AwareDateTime(data_key="from", required=True, default_timezone=TZ)
    kind = fields.String(required=True, validate=validate.OneOf(["working", "calendar", "same-day"]))
    days = fields.Integer(validate=validate.Range(min=1, max=3650))
    province = fields.String(validate=validate.Length(min=2, max=2))


class DossierQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.Integer(validate=validate.Range(min=1, max=10))
    procedure_code = fields.String(validate=validate.Length(max=40))
    commune_code = fields.String(validate=validate.Length(max=5))
    received_from = fields.AwareDateTime(default_timezone=TZ)
    received_to = fields.AwareDateTime(default_timezone=TZ)
    updated_since = fields.AwareDateTime(default_timezone=TZ)
    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$", error="không hợp lệ"))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class TaskQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    view = fields.String(load_default="available", validate=validate.OneOf(["available", "mine"]))
    overdue = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class UnitQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    level = fields.String(validate=validate.OneOf(["national", "province", "commune", "department", "service-center"]))
    parent = fields.String(validate=validate.Length(max=40))
    q = fields.String(validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000))


class WorkItemSchema(Schema):
    id = fields.String()
    name = fields.String(attribute="step_name")
    step_id = fields.String()
    dossier_code = fields.Function(lambda w: w.dossier.code)
    procedure_code = fields.Function(lambda w: w.dossier.procedure_code)
    unit_code = fields.String()
    role = fields.String()
    assignee = fields.Function(lambda w: w.assignee.username if w.assignee else None)
    due_at = VNDateTime()
    created_at = VNDateTime()


class CurrentTaskSchema(Schema):
    id = fields.String()
    name = fields.String(attribute="step_name")
    step_id = fields.String()
    unit_code = fields.String()
    role = fields.String()
    assignee = fields.Function(lambda w: w.assignee.username if w.assignee else None)
    due_at = VNDateTime()


class HistorySchema(Schema):
    at = VNDateTime()
    actor = fields.String()
    action = fields.String()
    from_status = fields.Integer(allow_none=True)
    to_status = fields.Integer(allow_none=True)
    step_id = fields.String(allow_none=True)
    unit_code = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class DossierSchema(Schema):
    code = fields.String()
    procedure_code = fields.String()
    procedure_version = fields.Function(lambda d: d.version.version)
    procedure_scope = fields.Function(lambda d: d.version.scope)
    province_code = fields.String()
    commune_code = fields.String()
    channel = fields.Integer()
    status = fields.Integer()
    status_name = fields.String()
    incident = fields.Boolean()
    incident_message = fields.String(allow_none=True)
    received_by_unit = fields.String()
    submitted_at = VNDateTime()
    received_at = VNDateTime()
    legal_due_at = VNDateTime()
    due_at = VNDateTime()
    finished_at = VNDateTime()
    lock_version = fields.Integer()
    applicant = fields.Dict()
    data = fields.Dict()


class PublicDossierSchema(Schema):
    code = fields.String()
    status = fields.Integer()
    status_name = fields.String()
    received_at = VNDateTime()
    due_at = VNDateTime()
    finished_at = VNDateTime()


class VersionSchema(Schema):
    code = fields.String(attribute="procedure_code")
    name = fields.Function(lambda v: v.procedure.name)
    version = fields.Integer()
    scope = fields.String()
    state = fields.String()
    dialect = fields.String()
    deadline_days = fields.Integer(allow_none=True)
    deadline_kind = fields.String()
    fee_rule = fields.Dict()
    lanes = fields.Function(lambda v: [{"id": lane["id"], "name": lane["name"], "mapped_to": v.lane_map.get(lane["id"])}
                                       for lane in v.model.get("lanes", [])])
    warnings = fields.List(fields.Dict())
    created_by = fields.String(allow_none=True)
    created_at = VNDateTime()
    published_at = VNDateTime()
    published_by = fields.String(allow_none=True)


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    province_code = fields.String(allow_none=True)


class CalendarDaySchema(Schema):
    class Meta:
        unknown = RAISE

    date = fields.Date(required=True, attribute="day")
    kind = fields.String(required=True, validate=validate.OneOf(["off", "work"]))
    scope = fields.String(load_default="VN", validate=validate.Length(min=2, max=2))
    note = fields.String(allow_none=True, validate=validate.Length(max=300))


class RetrySchema(Schema):
    class Meta:
        unknown = RAISE

    data = fields.Dict(keys=fields.String())


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    state = fields.String()
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    run_at = VNDateTime()
    created_at = VNDateTime()
    finished_at = VNDateTime()
    dossier_id = fields.Integer(allow_none=True)
