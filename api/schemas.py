"""Marshmallow schemas: the HTTP edge only (input validation and output shape)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, ValidationError, fields, validate

from orchestrator.engine import step_paths
from orchestrator.services import procedures, versions

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


# Lifecycle (events into a dossier, officers' actions, documents, attachments) -----------------

class DateOrDateTime(fields.Field):
    """A new appointment: `YYYY-MM-DD` (17:00 that day) or an ISO 8601 date-time."""

    def _deserialize(self, value, attr, data, **kwargs):
        from datetime import date, datetime

        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("ngày YYYY-MM-DD hoặc thời điểm ISO 8601")
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("ngày YYYY-MM-DD hoặc thời điểm ISO 8601") from None


class EventSchema(Schema):
    class Meta:
        unknown = RAISE

    data = fields.Dict(keys=fields.String(), load_default=dict)
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
    new_due_at = DateOrDateTime()
    step_id = fields.String(validate=validate.Length(max=200))
    amount = fields.Integer(validate=validate.Range(min=0, max=10**13))
    note = fields.String(validate=validate.Length(max=2000))
    method = fields.String(validate=validate.OneOf(["in_person", "post", "online"]))
    data = fields.Dict(keys=fields.String())
    attachment_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
                                 validate=validate.Length(max=50))


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


class AttachmentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    uploaded_at = VNDateTime()


class AttachmentListSchema(Schema):
    items = fields.List(fields.Nested(AttachmentSchema))


class AttachmentFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(load_default="applicant", validate=validate.OneOf(["applicant", "result"]))


class AttachmentFileSchema(Schema):
    file = Upload(required=True)


class DocumentQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    format = fields.String(load_default="html", validate=validate.OneOf(["html", "pdf"]))


class DocumentListSchema(Schema):
    items = fields.List(fields.Dict())


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
    status = fields.Function(lambda w: w.dossier.status)
    received_by_unit = fields.Function(lambda w: w.dossier.received_by_unit)
    due_mark = fields.String(allow_none=True, metadata={"description": "overdue | today | soon, computed now"})


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
    procedure_version = fields.Function(lambda d: versions.of(d).number)
    procedure_scope = fields.Function(lambda d: versions.of(d).scope)
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
    apologized_at = VNDateTime()
    paused = fields.List(fields.Dict())
    applicant = fields.Dict()
    data = fields.Dict()


class PublicDossierSchema(Schema):
    code = fields.String()
    status = fields.Integer()
    status_name = fields.String()
    received_at = VNDateTime()
    due_at = VNDateTime()
    finished_at = VNDateTime()


def _version_steps(v) -> list[dict]:
    paths = step_paths(v.model, v.lane_map)
    return [{"id": t["id"], "name": t["name"], "lane_id": t["lane_id"], "route": paths.get(t["id"]),
             "form_key": t["form_key"], "milestone": t.get("milestone")} for t in v.model.get("user_tasks", [])]


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
    process_id = fields.String()
    executable = fields.Function(lambda v: bool((v.model or {}).get("executable", True)),
                                 metadata={"type": "boolean", "description": "false: mark it executable before publish"})
    mapping = fields.Dict(attribute="lane_map", metadata={"description": "the routing the designer set: lane id, step "
                                                                         "id, group name or `_default` -> path"})
    steps = fields.Function(_version_steps, metadata={"type": "array", "items": {"type": "object"},
                                                      "description": "human steps: id, name, lane_id, route, form_key"})
    warnings = fields.List(fields.Dict())
    created_by = fields.String(allow_none=True)
    created_at = VNDateTime()
    published_at = VNDateTime()
    published_by = fields.String(allow_none=True)
    messages = fields.Function(procedures.waiting_for,
                               metadata={"type": "array", "items": {"type": "string"},
                                         "description": "names of the messages the diagram waits for"})


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


# Response envelopes and errors (documented in the OpenAPI document) ------------------------

class ProblemSchema(Schema):
    element_id = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    message = fields.String()
    code = fields.String(metadata={"description": "kind of problem where a fix is offered, e.g. not_executable"})
    field = fields.String(metadata={"description": "the upload field at fault, e.g. process_id"})


class ErrorBodySchema(Schema):
    code = fields.String(metadata={"description": "machine-readable reason"})
    message = fields.String(metadata={"description": "human-readable, Vietnamese"})
    field_errors = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                               metadata={"description": "field name -> problem, for body and form errors"})
    problems = fields.List(fields.Nested(ProblemSchema), metadata={"description": "diagram problems"})
    holder = fields.String(metadata={"description": "who holds the task (409 held_by_other)"})
    holder_name = fields.String(allow_none=True)
    lane = fields.String(metadata={"description": "the lane that cannot be routed (409 unroutable)"})
    status = fields.Integer(metadata={"description": "the dossier's status when an action is not allowed in it"})
    window_days = fields.Integer(metadata={"description": "409 supplement_too_late: the configured window"})
    elapsed_working_days = fields.Integer(metadata={"description": "409 supplement_too_late: days since reception"})
    due_at = fields.String(metadata={"description": "409 apology_too_late: the current due date"})
    event = fields.String(metadata={"description": "409 not_waiting: the event the dossier does not wait for"})
    actions = fields.List(fields.String(), metadata={"description": "404 unknown_action: the known actions"})
    open_steps = fields.List(fields.String(), metadata={"description": "409 steps_open: steps still open"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class TokenSchema(Schema):
    token = fields.String()
    expires_at = VNDateTime()


class UploadFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.String(load_default="", metadata={"description": "national procedure code, e.g. 1.001193"})
    scope = fields.String(load_default="", metadata={"description": "'national' or a province code"})
    name = fields.String(validate=validate.Length(max=300))
    name_en = fields.String(validate=validate.Length(max=300))
    field = fields.String(validate=validate.Length(max=200))
    deadline_days = fields.String(validate=validate.Length(max=5))
    deadline_kind = fields.String(load_default="working")
    fee = fields.String(metadata={"description": "JSON object: the fee rule"})
    lanes = fields.String(metadata={"description": "JSON object: lane id (or step id, a step's group name, "
                                                   "`_default`) -> routing path"})
    process_id = fields.String(validate=validate.Length(max=200),
                               metadata={"description": "the main process, when the file holds several"})


class UploadFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "the BPMN 2.0 XML file"})


class UploadedSchema(Schema):
    code = fields.String()
    scope = fields.String()
    version = fields.Integer()
    state = fields.String()
    warnings = fields.List(fields.Nested(ProblemSchema))


class VersionListSchema(Schema):
    items = fields.List(fields.Nested(lambda: VersionInForceSchema()))


class VersionInForceSchema(VersionSchema):
    in_force = fields.Boolean()


class LaneMapSchema(Schema):
    """Lane id -> routing path (any lane ids as keys)."""

    class Meta:
        unknown = INCLUDE


class PublishedSchema(Schema):
    code = fields.String()
    scope = fields.String()
    version = fields.Integer()
    state = fields.String()
    in_force = fields.Boolean()
    provinces_lacking_units = fields.List(fields.Dict())


class OfferedSchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    version = fields.Integer()
    scope = fields.String()
    deadline_days = fields.Integer(allow_none=True)
    deadline_kind = fields.String()


class OfferedQuerySchema(Schema):
    province = fields.String(required=True, validate=validate.Length(min=2, max=2))


class OfferedListSchema(Schema):
    items = fields.List(fields.Nested(OfferedSchema))


class ProcedureQuerySchema(Schema):
    province = fields.String(validate=validate.Length(min=2, max=2),
                             metadata={"description": "the province whose variant applies (else the national template)"})


class ProcedureInForceSchema(OfferedSchema):
    """A procedure with the version in force, and the messages its diagram waits for: the events
    an integrator may send (`POST /dossiers/{code}/events/...`)."""

    messages = fields.List(fields.String(), metadata={"description": "names of the messages the diagram waits for"})


class DossierDetailSchema(DossierSchema):
    current_tasks = fields.List(fields.Nested(CurrentTaskSchema))
    history = fields.List(fields.Nested(HistorySchema))


class DossierBriefSchema(DossierSchema):
    """A dossier in lists: without the applicant's personal data and the form data."""

    class Meta:
        exclude = ("applicant", "data")


class DossierListSchema(Schema):
    items = fields.List(fields.Nested(DossierBriefSchema))
    next_cursor = fields.String(allow_none=True)


class TaskListSchema(Schema):
    items = fields.List(fields.Nested(WorkItemSchema))
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "all, overdue, today, soon (with the same filters)"})


class TaskDetailSchema(WorkItemSchema):
    state = fields.String()
    form_key = fields.String(allow_none=True)
    form = fields.Dict(allow_none=True, metadata={"description": "JSON Schema 2020-12 with UI hints"})
    prefill = fields.Dict()
    lock_version = fields.Integer()
    dossier = fields.Dict(attribute="dossier_summary")


class UnitListSchema(Schema):
    items = fields.List(fields.Nested(UnitSchema))
    total = fields.Integer()


class DueSchema(Schema):
    from_ = fields.String(data_key="from")
    kind = fields.String()
    days = fields.Integer(allow_none=True)
    due_at = fields.String()


class CalendarDaysQuerySchema(Schema):
    scope = fields.String(load_default="VN", validate=validate.Length(min=2, max=2))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class CalendarDayListSchema(Schema):
    items = fields.List(fields.Nested(CalendarDaySchema))


class IncidentSchema(Schema):
    code = fields.String()
    procedure_code = fields.String()
    province_code = fields.String()
    status = fields.Integer()
    status_name = fields.String()
    incident_message = fields.String(allow_none=True)


class IncidentListSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema))


class JobListSchema(Schema):
    items = fields.List(fields.Nested(JobSchema))


class KeyRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    provinces = fields.List(fields.String(validate=validate.Length(min=2, max=2)), required=True,
                            validate=validate.Length(min=1))
    permissions = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    expires_at = fields.AwareDateTime(default_timezone=TZ)
    scope = fields.String(validate=validate.Regexp(r"^([0-9]{2}|VN)$", error="mã tỉnh (2 chữ số) hoặc VN"),
                          metadata={"description": "the integrator's scope (a province code or VN); default: "
                                                   "the key's province if it has one, else VN. The name is "
                                                   "looked up within this scope only"})


class ApiKeySchema(Schema):
    id = fields.Integer()
    prefix = fields.String()
    integrator = fields.Function(lambda k: k.integrator.name)
    integrator_id = fields.Integer()
    scope = fields.Function(lambda k: k.integrator.scope, metadata={"description": "the integrator's scope"})
    provinces = fields.List(fields.String())
    permissions = fields.List(fields.String())
    created_at = VNDateTime()
    expires_at = VNDateTime(allow_none=True)
    revoked_at = VNDateTime(allow_none=True)
    last_used_at = VNDateTime(allow_none=True)
    replaced_by_id = fields.Integer(allow_none=True)


class NewKeySchema(ApiKeySchema):
    key = fields.String(metadata={"description": "the secret, shown only in this answer"})


class RotateSchema(Schema):
    class Meta:
        unknown = RAISE

    overlap_hours = fields.Float(load_default=24, validate=validate.Range(min=0, max=720))


class IntegratorSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    scope = fields.String(metadata={"description": "a province code or VN: who manages it"})
    active = fields.Boolean()
    keys = fields.List(fields.Nested(ApiKeySchema))


class IntegratorListSchema(Schema):
    items = fields.List(fields.Nested(IntegratorSchema))


class SubscribeSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(required=True, validate=validate.Length(min=1, max=500))
    event_types = fields.List(fields.String(), required=True)
    secret = fields.String(validate=validate.Length(min=1, max=200))


class SubscriptionSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    active = fields.Boolean()
    created_at = VNDateTime()


class NewSubscriptionSchema(SubscriptionSchema):
    secret = fields.String(metadata={"description": "the signing secret, shown only in this answer"})


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema))


class DeliverySchema(Schema):
    id = fields.String()
    event_type = fields.String()
    dossier_code = fields.Function(lambda d: d.payload.get("dossier", {}).get("code"))
    created_at = VNDateTime()
    delivered_at = VNDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    attempts = fields.Integer()
    state = fields.String()
    last_error = fields.String(allow_none=True)


class DeliveryListSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))


class StatisticsQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    province = fields.String(validate=validate.Regexp(r"^([0-9]{2}|VN)$", error="mã tỉnh (2 chữ số) hoặc VN"))
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class OutcomesSchema(Schema):
    resolved = fields.Integer()
    early = fields.Integer()
    on_time = fields.Integer()
    late = fields.Integer()
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "(early + on time) / resolved"})


class WeekSchema(Schema):
    start = fields.Date()
    outcomes = fields.Nested(OutcomesSchema)


class ProcedureStatisticsSchema(Schema):
    code = fields.String()
    name = fields.String()
    received = fields.Integer()
    outcomes = fields.Nested(OutcomesSchema)
    open = fields.Integer()
    open_overdue = fields.Integer()


class UnitStatisticsSchema(Schema):
    code = fields.String()
    name = fields.String()
    steps_done = fields.Integer()
    steps_late = fields.Integer()
    open = fields.Integer()
    open_overdue = fields.Integer()
    hours_per_step = fields.Float(allow_none=True)


class BottleneckSchema(Schema):
    procedure_code = fields.String()
    step_name = fields.String()
    unit_code = fields.String()
    open = fields.Integer()
    open_overdue = fields.Integer()
    oldest_due_at = VNDateTime(allow_none=True)


class StatisticsSchema(Schema):
    scope = fields.String(metadata={"description": "a province code, or VN for the whole country"})
    from_ = fields.Date(data_key="from", attribute="start")
    to = fields.Date(attribute="end", metadata={"description": "inclusive"})
    outcomes = fields.Nested(OutcomesSchema, metadata={"description": "dossiers whose result was returned"})
    received = fields.Integer()
    refused = fields.Integer()
    withdrawn_or_stopped = fields.Integer()
    open = fields.Integer(metadata={"description": "now"})
    open_overdue = fields.Integer(metadata={"description": "now"})
    weeks = fields.List(fields.Nested(WeekSchema))
    procedures = fields.List(fields.Nested(ProcedureStatisticsSchema))
    units = fields.List(fields.Nested(UnitStatisticsSchema))
    bottlenecks = fields.List(fields.Nested(BottleneckSchema))
