"""Webhooks: the body a subscription receives (shown as OpenAPI 3.1 `webhooks`) and the calling
integrator's own delivery log."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from orchestrator.services.outbox import EVENT_TYPES

from .common import Cursor
from .integrations import DeliverySchema

HEADERS = {
    "X-Webhook-Id": "the delivery's id (also `delivery_id`): the same on every attempt and redelivery",
    "X-Webhook-Event": "the event type (also `type`)",
    "X-Webhook-Timestamp": "Unix time (seconds) of this attempt, part of what is signed",
    "X-Webhook-Signature": "`sha256=` + hex HMAC-SHA256 with the subscription's secret over "
                           "`{X-Webhook-Timestamp}.{raw body}`",
}


class WebhookDossierSchema(Schema):
    """The dossier as of the change (never the applicant's personal data)."""

    code = fields.String(required=True)
    procedure_code = fields.String(required=True)
    province_code = fields.String(required=True)
    commune_code = fields.String(required=True)
    status = fields.Integer(required=True, metadata={"description": "1..10, as `GET /dossiers/{code}`"})
    status_name = fields.String(required=True)
    received_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    due_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "set from the change that ends the workflow (statuses 3, 4, 10, "
                                              "9 once decided), as GET shows it"})
    incident = fields.Boolean(required=True)


class WebhookDataSchema(Schema):
    """What the event adds; which fields depend on `type`."""

    from_status = fields.Integer(metadata={"description": "dossier.status_changed"})
    to_status = fields.Integer(metadata={"description": "dossier.status_changed"})
    name = fields.String(metadata={"description": "dossier.event: the event or BPMN message sent "
                                                  "(payment_received, withdrawn, supplement_submitted, ...)"})
    step_id = fields.String(metadata={"description": "dossier.incident: the step that failed"})


class WebhookBodySchema(Schema):
    """The JSON body POSTed to a subscription's URL (UTF-8; headers in `HEADERS`)."""

    delivery_id = fields.String(required=True, metadata={"description": "stable across retries: deduplicate by it"})
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    occurred_at = fields.String(required=True, metadata={"format": "date-time", "description": "+07:00"})
    sequence = fields.Integer(required=True, metadata={
        "description": "this dossier's deliveries to this subscription counted 1, 2, 3 ... without gaps, in "
                       "the order of the changes; they arrive in that order (retries included)"})
    dossier = fields.Nested(WebhookDossierSchema, required=True)
    data = fields.Nested(WebhookDataSchema, required=True)


class DeliveryQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    dossier = fields.String(validate=validate.Length(min=1, max=80), metadata={"description": "a dossier's code"})
    status = fields.String(validate=validate.OneOf(("delivered", "queued", "running", "failed", "dead")),
                           metadata={"description": "failed: not delivered yet and the last attempt failed"})
    cursor = Cursor(metadata={"description": "`next_cursor` of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class OwnDeliverySchema(DeliverySchema):
    """Dumps an `api.views.DeliveryView` for the integrator it was sent to."""

    subscription_id = fields.Integer()
    sequence = fields.Integer(allow_none=True)


class OwnDeliveryListSchema(Schema):
    items = fields.List(fields.Nested(OwnDeliverySchema))
    next_cursor = fields.String(allow_none=True)


class RedeliverySchema(Schema):
    delivery_id = fields.String()
    job_id = fields.Integer()
    state = fields.String(metadata={"description": "queued"})


def document_webhooks(spec) -> None:
    """Register the body's schema (components `WebhookBody`), so the document's `webhooks` can
    refer to it."""
    spec.components.schema("WebhookBody", schema=WebhookBodySchema)


def webhooks_section() -> dict:
    """OpenAPI 3.1 `webhooks`: what we POST to a subscription's URL, one entry per event type."""
    headers = [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
               for name, text in HEADERS.items()]
    return {event: {"post": {
        "operationId": "on_" + event.replace(".", "_"), "tags": ["integrations"],
        "summary": f"{event}: see docs/api.md, Webhooks",
        "parameters": headers,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/WebhookBody"}}}},
        "responses": {"2XX": {"description": "received (any other answer, or none within the timeout, is retried)"}},
    }} for event in EVENT_TYPES}
