"""The token route."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from .common import VNDateTime


class TokenRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    token = fields.String()
    expires_at = VNDateTime()
