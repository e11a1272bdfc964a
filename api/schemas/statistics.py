"""Supervisors' figures."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .common import VNDateTime


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
    open = fields.Integer(metadata={"description": "as of `open_as_of`"})
    open_overdue = fields.Integer(metadata={"description": "as of `open_as_of`"})
    open_as_of = VNDateTime(metadata={"description": "when the open and overdue figures (totals, procedures', "
                                                     "units', bottlenecks') were counted: the worker's snapshot "
                                                     "of the open work, refreshed every minute"})
    weeks = fields.List(fields.Nested(WeekSchema))
    procedures = fields.List(fields.Nested(ProcedureStatisticsSchema))
    units = fields.List(fields.Nested(UnitStatisticsSchema))
    bottlenecks = fields.List(fields.Nested(BottleneckSchema))
