"""Operators: incidents and dead-letter jobs."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields

from .common import VNDateTime
from .data import Data


class RetrySchema(Schema):
    class Meta:
        unknown = RAISE

    data = Data()


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


class JobListSchema(Schema):
    items = fields.List(fields.Nested(JobSchema))


class IncidentSchema(Schema):
    code = fields.String()
    procedure_code = fields.String()
    province_code = fields.String()
    status = fields.Integer()
    status_name = fields.String()
    incident_message = fields.String(allow_none=True)


class IncidentListSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema))
