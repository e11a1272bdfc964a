"""The dossier tracking book of a receiving unit (Sổ theo dõi hồ sơ)."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .common import VNDateTime


class TrackingBookQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    from_ = fields.Date(data_key="from", metadata={"description": "first day (Vietnam); default: the 1st of this month"})
    to = fields.Date(metadata={"description": "last day, included; default: today. At most 366 days."})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "json, or csv (UTF-8 with BOM)"})


class TrackingBookRowSchema(Schema):
    number = fields.Integer(metadata={"description": "STT"})
    code = fields.String()
    procedure_code = fields.String()
    procedure_name = fields.String()
    count = fields.Integer(metadata={"description": "số lượng hồ sơ: 1"})
    applicant_name = fields.String()
    applicant_address = fields.String()
    applicant_phone = fields.String()
    handling_unit = fields.String(metadata={"description": "cơ quan chủ trì giải quyết (unit code)"})
    handling_unit_name = fields.String()
    received_at = VNDateTime(metadata={"description": "received; never received (refused at the desk): submitted"})
    due_at = VNDateTime(allow_none=True, metadata={"description": "hẹn trả kết quả (the legal date)"})
    transferred_at = VNDateTime(allow_none=True, metadata={"description": "sent on for processing"})
    decided_at = VNDateTime(allow_none=True, metadata={"description": "the handling agency decided"})
    returned_at = VNDateTime(allow_none=True)
    outcome = fields.String(allow_none=True, metadata={"description": "early, on_time or late, once returned"})
    status = fields.Integer()
    status_name = fields.String()
    notes = fields.List(fields.String(), metadata={"description": "ghi chú: supplement, refusal, apology..."})


class TrackingBookSchema(Schema):
    unit = fields.String()
    unit_name = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    items = fields.List(fields.Nested(TrackingBookRowSchema))
