"""Dossiers: start, list, read (with current tasks and history), public tracking."""
from __future__ import annotations

from datetime import datetime

from flask import url_for
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from orchestrator.services import dossiers as dossier_service, pauses, versions
from orchestrator.timezone import TZ

from .common import Cursor, OffsetDateTime, VNDateTime, ViewSchema, row
from .data import Data


class ApplicantSchema(Schema):
    class Meta:
        unknown = RAISE

    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    id_number = fields.String(validate=validate.Regexp(r"^[0-9]{9,12}$", error="9 đến 12 chữ số"))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 .-]{8,15}$", error="số điện thoại không hợp lệ"))
    email = fields.Email()
    address = fields.String(validate=validate.Length(max=500))


class NotifySchema(Schema):
    """The citizen's consent to be told about the dossier (docs/notifications.md "Events and consent")."""

    class Meta:
        unknown = RAISE

    channels = fields.List(fields.String(validate=validate.OneOf(["email", "sms", "zalo"])), load_default=list,
                           validate=validate.Length(max=3), metadata={
                               "description": "The channels the citizen chose: `email` (needs `email`), `sms` and "
                                              "`zalo` (need `phone`). Empty or left out: nothing is sent."})
    email = fields.Email(validate=validate.Length(max=254), metadata={"description": "The citizen's email address."})
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 .-]{9,16}$", error="số điện thoại không hợp lệ"),
                          metadata={"description": "A Vietnamese phone number: 0xxxxxxxxx or +84xxxxxxxxx."})


class DossierStartSchema(Schema):
    class Meta:
        unknown = RAISE

    procedure_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    province_code = fields.String(required=True, validate=validate.Length(min=1, max=2))
    commune_code = fields.String(required=True, validate=validate.Length(min=1, max=5))
    channel = fields.Integer(validate=validate.OneOf([1, 2, 3]), metadata={
        "description": "; ".join(f"{v}: {en} ({vi})" for v, (vi, en) in dossier_service.CHANNEL_LABELS.items() if v < 4)
        + ". Left out: 2 for an integrator, 1 for an officer. `GET /procedures/{code}` lists them (`channels`).",
        "x-enum-varnames": ["IN_PERSON", "ONLINE", "POST"],
        "x-enum-descriptions": [en for v, (_vi, en) in dossier_service.CHANNEL_LABELS.items() if v < 4]})
    applicant = fields.Nested(ApplicantSchema, required=True)
    data = Data(load_default=dict)
    received_by_unit = fields.String(validate=validate.Length(min=1, max=40))
    reception = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": (
        "In person only: the reception form's values, completed by the receiving officer at once. "
        "`reception_result`: `accept` (default), `supplement` (with `missing_items`, a non-empty list: "
        "status 5, not received) or `refuse` (with `refusal_reason`: status 3). Integrators may only "
        "leave it out or send `accept`.")})
    notify = fields.Nested(NotifySchema, metadata={"description": (
        "Optional: how the citizen wants to be told (received, supplement, payment, apology, result, refusal). "
        "Only the chosen channels, only to the contacts given; a channel without its contact is 422 naming "
        "`notify.email` or `notify.phone`.")})


class DossierQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    status = fields.Integer(validate=validate.Range(min=1, max=10))
    procedure_code = fields.String(validate=validate.Length(max=40))
    commune_code = fields.String(validate=validate.Length(max=5))
    received_from = OffsetDateTime()
    received_to = OffsetDateTime()
    updated_since = OffsetDateTime(metadata={"description": "changed at or after this time (with its offset): "
                                                           "the `updated_at` of the last sync, a watermark"})
    # Words searched, folded, in the code and the applicant's name, ID number and phone (services.search).
    q = fields.String(validate=validate.Length(max=200))
    # A procedure's code or words of its name; the receiving unit's code or words of its name (folded).
    procedure = fields.String(validate=validate.Length(max=200))
    unit = fields.String(validate=validate.Length(max=200))
    overdue = fields.Boolean(metadata={"description": "only open dossiers whose due day has ended"})
    sort = fields.String(load_default="id", validate=validate.OneOf(dossier_service.SORT_NAMES), metadata={
        "description": "`id` (oldest first, the default), `received`, `due` or `code`; `-` first for descending"})
    cursor = Cursor(metadata={"description": "opaque: the `next_cursor` of the previous page, with the same `sort`"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    count = fields.Boolean(load_default=False, metadata={"description": "also answer `total`"})

    @validates_schema
    def _cursor_fits_sort(self, data, **kwargs):
        """A cursor holds its sort and where the next page starts (`api.dossiers.list_dossiers`)."""
        cursor = data.get("cursor")
        if cursor is None:
            return
        key, top = ("after", 2**31 - 1) if data["sort"] == "id" else ("offset", dossier_service.MAX_OFFSET)
        position = cursor.get(key)
        if cursor.get("sort") != data["sort"] or type(position) is not int or not 0 <= position <= top:
            raise ValidationError("con trỏ trang của một cách sắp xếp khác: dùng cùng `sort` với trang trước",
                                  field_name="cursor")


class CurrentTaskSchema(Schema):
    id = fields.String()
    name = fields.String(attribute="step_name")
    step_id = fields.String()
    unit_code = fields.String()
    role = fields.String()
    assignee = fields.Function(lambda w: w.assignee.username if w.assignee else None,
                               metadata={"type": ["string", "null"]})
    due_at = VNDateTime(allow_none=True)


class HistorySchema(ViewSchema):
    """Dumps an audit event, or an `api.views.HistoryEntry` (with its sentence)."""

    at = VNDateTime()
    actor = fields.String()
    action = fields.String()
    from_status = fields.Integer(allow_none=True)
    to_status = fields.Integer(allow_none=True)
    step_id = fields.String(allow_none=True)
    unit_code = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    text = fields.String(metadata={"description": "the event as a sentence people read (full names, step "
                                                  "names), Vietnamese, or English with `Accept-Language: en`"})


class PaymentSchema(Schema):
    amount = fields.Integer(metadata={"description": "whole VND"})
    currency = fields.String(validate=validate.OneOf(["VND"]), metadata={"description": "always VND"})
    requested_at = VNDateTime()
    paid_at = VNDateTime(allow_none=True, metadata={"description": "null until paid"})
    receipt_number = fields.String(allow_none=True)


class PaymentField(fields.Nested):
    """`payment`: read from the dossier's paused intervals (`services.pauses.payment`)."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return pauses.payment(row(obj))


class PausedField(fields.List):
    """The paused intervals with their times in +07:00, as every time the API answers."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else [
            {k: (datetime.fromisoformat(v).astimezone(TZ).isoformat() if k in ("from", "to") and v else v)
             for k, v in entry.items()} for entry in value]


class DossierSchema(ViewSchema):
    """Dumps a dossier, or an `api.views.DossierView`."""

    code = fields.String()
    procedure_code = fields.String()
    procedure_version = fields.Function(lambda d: versions.of(row(d)).number, metadata={"type": "integer"})
    procedure_scope = fields.Function(lambda d: versions.of(row(d)).scope, metadata={"type": "string"})
    province_code = fields.String()
    commune_code = fields.String()
    channel = fields.Integer()
    status = fields.Integer()
    status_name = fields.String()
    incident = fields.Boolean()
    incident_message = fields.String(allow_none=True)
    received_by_unit = fields.String()
    submitted_at = VNDateTime()
    received_at = VNDateTime(allow_none=True, metadata={"description": "null until received"})
    legal_due_at = VNDateTime(allow_none=True)
    due_at = VNDateTime(allow_none=True)
    finished_at = VNDateTime(allow_none=True)
    lock_version = fields.Integer()
    apologized_at = VNDateTime(allow_none=True)
    updated_at = VNDateTime(metadata={"description": "the last change (a watermark for `updated_since`)"})
    payment = PaymentField(PaymentSchema, allow_none=True, metadata={
        "description": "the financial obligation asked (status 6) and its payment; null when none was asked"})
    paused = PausedField(fields.Dict(), metadata={
        "description": "paused intervals (`from`, `to` with +07:00); `paused[-1].amount` is kept: read `payment`"})
    applicant = fields.Dict()
    data = fields.Dict()


class PublicDossierSchema(Schema):
    code = fields.String()
    status = fields.Integer()
    status_name = fields.String()
    received_at = VNDateTime(allow_none=True)
    due_at = VNDateTime(allow_none=True)
    finished_at = VNDateTime(allow_none=True)


HISTORY_LATEST = 10  # `?history=latest`: this many events, the most recent (docs/api.md)


class DossierDetailSchema(DossierSchema):
    """Dumps an `api.views.DossierView`: the dossier's fields, its open steps, its history."""

    current_tasks = fields.List(fields.Nested(CurrentTaskSchema))
    history = fields.List(fields.Nested(HistorySchema), metadata={
        "description": "oldest first: every event (`history=all`, the default), the last "
                       f"{HISTORY_LATEST} (`latest`) or none (`none`); page it at `history_url`"})
    history_url = fields.Function(lambda v: url_for("api.list_dossier_history", code=row(v).code),
                                  metadata={"type": "string", "description": "the whole history, paged "
                                            "(`GET /dossiers/{code}/history`)"})


class HistoryChoiceSchema(Schema):
    """`?history=` on the answers that show a dossier: how much history to build (issue 23)."""

    class Meta:
        unknown = EXCLUDE  # these routes ignored other query parameters before: they still do

    history = fields.String(load_default="all", validate=validate.OneOf(["none", "latest", "all"]), metadata={
        "description": f"`all` (the default): every event; `latest`: the last {HISTORY_LATEST}; `none`: "
                       "an empty list (page it at `history_url`)"})


class HistoryQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    cursor = Cursor(metadata={"description": "opaque: the `next_cursor` of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

    @validates_schema
    def _cursor_holds_an_id(self, data, **kwargs):
        """A history cursor is {"after": the last event id seen} (`api.dossiers.list_dossier_history`)."""
        cursor = data.get("cursor")
        if cursor is not None and (set(cursor) != {"after"} or type(cursor["after"]) is not int
                                   or not 0 <= cursor["after"] <= 2**63 - 1):
            raise ValidationError("con trỏ trang không phải của lịch sử hồ sơ", field_name="cursor")


class HistoryPageSchema(Schema):
    items = fields.List(fields.Nested(HistorySchema), metadata={"description": "oldest first"})
    next_cursor = fields.String(allow_none=True, metadata={"description": "null on the last page"})


class DossierBriefSchema(DossierSchema):
    """A dossier in lists: without the applicant's personal data and the form data."""

    class Meta:
        exclude = ("applicant", "data")


class DossierListSchema(Schema):
    items = fields.List(fields.Nested(DossierBriefSchema))
    next_cursor = fields.String(allow_none=True)
    total = fields.Integer(allow_none=True, metadata={"description": "with `count=true`: counted up to 10,000"})
    total_capped = fields.Boolean(metadata={"description": "true when there are more than `total`"})
