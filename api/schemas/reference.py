"""Reference data: units, the legal due-date computation, declared calendar days, office hours."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .common import OffsetDateTime


class CalendarQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    from_ = OffsetDateTime(data_key="from", required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["working", "calendar", "same-day"]))
    days = fields.Integer(validate=validate.Range(min=1, max=3650))
    province = fields.String(validate=validate.Length(min=2, max=2))


class UnitQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    level = fields.String(validate=validate.OneOf(["national", "province", "commune", "department", "service-center"]))
    parent = fields.String(validate=validate.Length(max=40))
    q = fields.String(validate=validate.Length(max=100))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=5000))


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    province_code = fields.String(allow_none=True)


class UnitListSchema(Schema):
    items = fields.List(fields.Nested(UnitSchema))
    total = fields.Integer()


class CalendarDaySchema(Schema):
    class Meta:
        unknown = RAISE

    date = fields.Date(required=True, attribute="day")
    kind = fields.String(required=True, validate=validate.OneOf(["off", "work"]))
    scope = fields.String(load_default="VN", validate=validate.Length(min=2, max=2))
    note = fields.String(allow_none=True, validate=validate.Length(max=300))
    id = fields.Integer(dump_only=True)
    # False: a shipped day only reported by secondary sources, applied until an administrator confirms it
    confirmed = fields.Boolean(dump_only=True)


class DueSchema(Schema):
    from_ = fields.String(data_key="from")
    kind = fields.String()
    days = fields.Integer(allow_none=True)
    due_at = fields.String()


class CalendarDaysQuerySchema(Schema):
    scope = fields.String(load_default="VN", validate=validate.Length(min=2, max=2))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class OfficeHoursQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    province = fields.String(validate=validate.Length(min=2, max=2))


class OfficeHoursSchema(Schema):
    """A scope's office hours and same-day cut-off, local times "HH:MM"."""

    class Meta:
        unknown = RAISE

    scope = fields.String(load_default="VN", validate=validate.Length(min=2, max=2))
    morning_start = fields.String(required=True, validate=validate.Length(max=20))
    morning_end = fields.String(required=True, validate=validate.Length(max=20))
    afternoon_start = fields.String(required=True, validate=validate.Length(max=20))
    afternoon_end = fields.String(required=True, validate=validate.Length(max=20))
    same_day_cutoff = fields.String(required=True, validate=validate.Length(max=20))
    # Whose hours apply: the scope's own, "VN"'s, or "default" (the national defaults)
    source = fields.String(dump_only=True)


class CalendarDayListSchema(Schema):
    items = fields.List(fields.Nested(CalendarDaySchema))
    office_hours = fields.Nested(OfficeHoursSchema)
