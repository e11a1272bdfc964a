"""The token route and the listing of a user's tokens."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from .common import VNDateTime


class TokenRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenSchema(Schema):
    token = fields.String()
    expires_at = VNDateTime()


class TokenQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    user = fields.String(validate=validate.Length(min=1, max=80),
                         metadata={"description": "another user's username (administrators who manage that user)"})


class UserTokenSchema(Schema):
    """A user token as its owner and administrators see it: never the token or its hash."""

    id = fields.Integer()
    created_at = VNDateTime()
    expires_at = VNDateTime()
    revoked_at = VNDateTime(allow_none=True, metadata={"description": "null while the token works"})
    current = fields.Boolean(metadata={"description": "the token of this request"})


class UserTokenListSchema(Schema):
    items = fields.List(fields.Nested(UserTokenSchema),
                        metadata={"description": "tokens not yet expired, newest first"})
