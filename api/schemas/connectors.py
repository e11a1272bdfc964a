"""Connectors (administrators): what service tasks call. Secret header values are write-only."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .common import VNDateTime


class ConnectorInSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(validate=validate.Length(max=60))
    scope = fields.String(validate=validate.Length(max=8))
    description = fields.String(allow_none=True, validate=validate.Length(max=300))
    method = fields.String(load_default="GET", validate=validate.Length(max=8))
    url_template = fields.String(required=True, validate=validate.Length(max=500))
    headers = fields.Dict(keys=fields.String(validate=validate.Length(max=60)),
                          values=fields.String(validate=validate.Length(max=1000)), load_default=dict)
    secret_headers = fields.Dict(keys=fields.String(validate=validate.Length(max=60)),
                                 values=fields.String(validate=validate.Length(max=1000)), load_default=dict,
                                 metadata={"description": "write-only; an empty value keeps the stored one"})
    inputs = fields.List(fields.String(validate=validate.Length(max=60)), load_default=list,
                         validate=validate.Length(max=50))
    outputs = fields.Dict(keys=fields.String(validate=validate.Length(max=60)),
                          values=fields.String(validate=validate.Length(max=200)), load_default=dict)
    timeout_seconds = fields.Float(load_default=10.0)
    max_attempts = fields.Integer(load_default=5)
    allow_private = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)


class ConnectorSchema(Schema):
    id = fields.Integer()
    scope = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    method = fields.String()
    url_template = fields.String()
    headers = fields.Dict(keys=fields.String(), values=fields.String())
    secret_headers = fields.Function(lambda c: sorted(c.secret_headers or {}),
                                     metadata={"type": "array", "items": {"type": "string"}, "description": "the names of the secret headers, never their values"})
    inputs = fields.List(fields.String())
    outputs = fields.Dict(keys=fields.String(), values=fields.String())
    timeout_seconds = fields.Float()
    max_attempts = fields.Integer()
    allow_private = fields.Boolean()
    active = fields.Boolean()
    updated_by = fields.String(allow_none=True)
    updated_at = VNDateTime()


class ConnectorListSchema(Schema):
    items = fields.List(fields.Nested(ConnectorSchema))
