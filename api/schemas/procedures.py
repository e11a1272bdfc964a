"""Procedures: upload, versions, lanes, publish, the catalogue of a province."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, fields, post_dump, validate
from sqlalchemy.orm import object_session

from orchestrator.services import procedures, schedules

from .common import ProblemSchema, VNDateTime, ViewSchema, row


def _version_steps(v) -> list[dict]:
    v = row(v)
    paths = procedures.step_routes(v)
    return [{"id": t["id"], "name": t["name"], "lane_id": t["lane_id"], "route": paths.get(t["id"]),
             "form_key": t["form_key"], "milestone": t.get("milestone")} for t in v.model.get("user_tasks", [])]


def _lanes(v) -> list[dict]:
    v = row(v)
    return [{"id": lane["id"], "name": lane["name"], "mapped_to": v.lane_map.get(lane["id"])}
            for lane in v.model.get("lanes", [])]


def _schedule(v) -> dict | None:
    v = row(v)
    summary = schedules.summary(object_session(v), v)
    if summary and summary["next_tick_at"] is not None:
        summary["next_tick_at"] = summary["next_tick_at"].isoformat(timespec="seconds")
    return summary


# What a caller who may not read a version's internals sees of a published version (issue 21,
# `access.sees_version_internals`): no lanes, routes, schedule, callers or designers' usernames.
PUBLIC_VERSION_FIELDS = ("code", "name", "version", "scope", "state", "deadline_days", "deadline_kind",
                         "supplement_window_days", "documents", "messages", "published_at", "steps", "in_force")
PUBLIC_STEP_FIELDS = ("id", "name", "milestone")


class VersionSchema(ViewSchema):
    """Dumps a procedure version, or an `api.views.VersionView` (its `full`: False keeps the
    published summary, PUBLIC_VERSION_FIELDS)."""

    @post_dump(pass_original=True)
    def _summary_unless_full(self, data, original, **kwargs):
        if getattr(original, "full", True):
            return data
        data = {k: v for k, v in data.items() if k in PUBLIC_VERSION_FIELDS}
        if "steps" in data:
            data["steps"] = [{k: s.get(k) for k in PUBLIC_STEP_FIELDS} for s in data["steps"]]
        return data

    code = fields.String(attribute="procedure_code")
    name = fields.Function(lambda v: row(v).procedure.name, metadata={"type": "string"})
    version = fields.Integer()
    scope = fields.String()
    state = fields.String()
    dialect = fields.String()
    deadline_days = fields.Integer(allow_none=True)
    deadline_kind = fields.String()
    fee_rule = fields.Dict()
    supplement_window_days = fields.Integer(allow_none=True, metadata={
        "description": "working days after reception within which a supplement may be requested during "
                       "processing; null: no window (issue 18)"})
    documents = fields.List(fields.Dict(), metadata={
        "description": "the documents the citizen brings (thành phần hồ sơ), printed on the receipt: "
                       "[{name, copies, required}] (issue 19)"})
    decisions = fields.Function(lambda v: sorted((row(v).decisions or {}).keys()),
                                metadata={"type": "array", "items": {"type": "string"},
                                          "description": "ids of the DMN decision tables uploaded with the diagram"})
    lanes = fields.Function(_lanes, metadata={"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "name": {"type": ["string", "null"]}, "mapped_to": {"type": ["string", "null"]}}}})
    process_id = fields.String()
    executable = fields.Function(lambda v: bool((row(v).model or {}).get("executable", True)),
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
    messages = fields.Function(lambda v: procedures.waiting_for(row(v)),
                               metadata={"type": "array", "items": {"type": "string"},
                                         "description": "names of the messages the diagram waits for"})
    schedule = fields.Function(
        _schedule,
        metadata={"type": "object", "nullable": True,
                  "description": "null unless the main process starts by a timer: element_id, timer, "
                                 "kind, units [{code, name}] (the receiving communes, one dossier each per tick), "
                                 "marked, running (published and in force), next_tick_at, opened (dossiers so far)"})
    called_by = fields.Function(
        lambda v: procedures.callers_of(row(v)),
        metadata={"type": "array",
                  "items": {"type": "object", "properties": {
                      "code": {"type": "string"}, "version": {"type": "integer"}, "scope": {"type": "string"},
                      "element_id": {"type": "string"}, "calls_version": {"type": "integer", "nullable": True},
                      "state": {"type": "string", "enum": ["published", "draft"]}}},
                  "description": "versions whose call activities call this procedure "
                                 "(calledElement=\"procedure:<code>\"): code, version, scope, element_id, state "
                                 "(published, then draft), calls_version (for a published caller the version of "
                                 "this procedure it pinned at its publish; for a draft the version its publish would "
                                 "pin now, null when none is in force for its scope)"})


class ScheduleSchema(Schema):
    """A draft's schedule: the communes that receive a dossier at each tick; [] unmarks it."""

    class Meta:
        unknown = RAISE

    units = fields.List(fields.String(validate=validate.Length(max=40)), required=True,
                        validate=validate.Length(max=500),
                        metadata={"description": "codes of communes of the version's scope (at most 50)"})


class SupplementWindowSchema(Schema):
    """A draft's supplement window (issue 18): null turns it off."""

    class Meta:
        unknown = RAISE

    supplement_window_days = fields.Integer(required=True, allow_none=True, strict=True,
                                            validate=validate.Range(min=1, max=365))


class DocumentsSchema(Schema):
    """A draft's list of documents (issue 19); the service checks the items (400 naming `documents`)."""

    class Meta:
        unknown = RAISE

    documents = fields.Raw(required=True, metadata={
        "type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "copies": {"type": "string"}, "required": {"type": "boolean"}}},
        "description": "at most 50 items; name and copies at most 500 characters each; required defaults to true"})


class DecisionTableSchema(Schema):
    """A DMN decision table of a version: the grid and the XML as stored."""

    id = fields.String()
    name = fields.String()
    hit_policy = fields.String()
    aggregation = fields.String(allow_none=True)
    inputs = fields.List(fields.Dict(), metadata={"description": "id, label, expression"})
    outputs = fields.List(fields.Dict(), metadata={"description": "id, label, name, default"})
    rules = fields.List(fields.Dict(), metadata={"description": "id, inputs (unary tests), outputs, annotation"})
    used_by = fields.List(fields.String(), metadata={"description": "the business rule tasks that call it"})
    xml = fields.String(metadata={"description": "the DMN document as stored with the version"})


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
    dmn = fields.List(Upload(), load_default=list,
                      metadata={"description": "DMN 1.1-1.4 files (one decision table each) that the diagram's "
                                               "business rule tasks call; repeat the field for several (at most 20)"})


class UploadedSchema(Schema):
    code = fields.String()
    scope = fields.String()
    version = fields.Integer()
    state = fields.String()
    warnings = fields.List(fields.Nested(ProblemSchema))


class VersionListSchema(Schema):
    items = fields.List(fields.Nested(lambda: VersionInForceSchema()))


class VersionInForceSchema(VersionSchema):
    """Dumps an `api.views.VersionView` (its `in_force`)."""

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


class WithdrawalSchema(Schema):
    """Withdrawing a province's variant (issue 22): the province goes back to the national
    template; unfinished dossiers keep the variant version they started on."""

    code = fields.String()
    province = fields.String()
    withdrawn = fields.Boolean(metadata={"description": "false: a preview, nothing changed; true: done"})
    variant_version = fields.Integer(metadata={
        "description": "the province's variant: in force until the withdrawal, then only for running dossiers"})
    national_version = fields.Integer(metadata={
        "description": "the national template's version the province's new dossiers use after it"})
    running = fields.Integer(metadata={"description": "unfinished dossiers of the province on the variant version"})
    running_dossiers = fields.List(fields.String(), metadata={
        "description": "their codes, oldest first (at most 100)"})


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


class ChannelSchema(Schema):
    value = fields.Integer(metadata={"description": "what `channel` carries"})
    name = fields.String(metadata={"description": "in_person, online, post or schedule"})
    label = fields.String(metadata={"description": "Vietnamese"})
    label_en = fields.String()


class ProcedureInForceSchema(OfferedSchema):
    """A procedure with the version in force, and the messages its diagram waits for: the events
    an integrator may send (`POST /dossiers/{code}/events/...`)."""

    messages = fields.List(fields.String(), metadata={"description": "names of the messages the diagram waits for"})
    events = fields.List(fields.String(), metadata={
        "description": "every name `POST /dossiers/{code}/events/{name}` may take for this procedure: the built-in "
                       "events (supplement_submitted in status 5, payment_received in status 6, withdrawn before "
                       "a decision), then the diagram's messages"})
    channels = fields.List(fields.Nested(ChannelSchema), metadata={
        "description": "the values of `channel` in `POST /dossiers`: 1, 2 or 3 (left out: 2 for an integrator, 1 "
                       "for an officer); 4 only for dossiers the system opens on a schedule"})
    start_schema = fields.Dict(metadata={
        "description": "JSON Schema (2020-12) of the `data` of `POST /dossiers`: the reception form of the version "
                       "in force without the desk's outcome fields, requiring what an accepted dossier needs; field "
                       "titles in Vietnamese (`title`) and English (`x-title-en`)"})

