"""Integrators: API keys, webhook subscriptions, deliveries."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from .common import OffsetDateTime, VNDateTime, ViewSchema, row


class KeyRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    provinces = fields.List(fields.String(validate=validate.Length(min=2, max=2)), required=True,
                            validate=validate.Length(min=1))
    permissions = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    events = fields.List(fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(max=100),
                         metadata={"description": "the event names the key may send (built-in events or messages "
                                                  "a procedure waits for); default or [\"*\"]: all"})
    expires_at = OffsetDateTime()
    scope = fields.String(validate=validate.Regexp(r"^([0-9]{2}|VN)$", error="mã tỉnh (2 chữ số) hoặc VN"),
                          metadata={"description": "the integrator's scope (a province code or VN); default: "
                                                   "the key's province if it has one, else VN. The name is "
                                                   "looked up within this scope only"})


class ApiKeySchema(ViewSchema):
    """Dumps an API key, or an `api.views.NewKeyView`."""

    id = fields.Integer()
    prefix = fields.String()
    integrator = fields.Function(lambda k: row(k).integrator.name, metadata={"type": "string"})
    integrator_id = fields.Integer()
    scope = fields.Function(lambda k: row(k).integrator.scope, metadata={"type": "string", "description": "the integrator's scope"})
    provinces = fields.List(fields.String())
    permissions = fields.List(fields.String())
    events = fields.Function(lambda k: list(row(k).events or ["*"]), metadata={
        "type": "array", "items": {"type": "string"}, "description": "the events the key may send; [\"*\"]: all"})
    created_at = VNDateTime()
    expires_at = VNDateTime(allow_none=True)
    revoked_at = VNDateTime(allow_none=True)
    last_used_at = VNDateTime(allow_none=True)
    replaced_by_id = fields.Integer(allow_none=True)


class NewKeySchema(ApiKeySchema):
    """Dumps an `api.views.NewKeyView`."""

    key = fields.String(metadata={"description": "the secret, shown only in this answer"})


class RotateSchema(Schema):
    class Meta:
        unknown = RAISE

    overlap_hours = fields.Float(load_default=24, validate=validate.Range(min=0, max=720))


class IntegratorSchema(ViewSchema):
    """Dumps an `api.views.IntegratorView`."""

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


class DeliverySchema(ViewSchema):
    """Dumps an `api.views.DeliveryView`."""

    id = fields.String()
    event_type = fields.String()
    dossier_code = fields.Function(lambda d: row(d).payload.get("dossier", {}).get("code"),
                                   metadata={"type": ["string", "null"]})
    created_at = VNDateTime()
    delivered_at = VNDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    attempts = fields.Integer()
    state = fields.String()
    last_error = fields.String(allow_none=True)


class DeliveryListSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))
