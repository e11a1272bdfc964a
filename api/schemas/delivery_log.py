"""A dossier's delivery log (issue 24): the messages the outbox sent, or tried to send, to its citizen."""
from __future__ import annotations

from marshmallow import Schema, fields

from .common import VNDateTime


class DeliveryEntrySchema(Schema):
    id = fields.Integer()
    event = fields.String(metadata={"description": "dossier.received, supplement.requested, payment.requested, "
                                                   "dossier.delayed, result.ready, dossier.refused"})
    event_label = fields.String(metadata={"description": "the event in words (Vietnamese, or English by "
                                                         "Accept-Language)"})
    channel = fields.String(metadata={"description": "email, sms or zalo"})
    recipient = fields.String(metadata={"description": "the contact, masked: `n***@example.vn`, `091*****78`"})
    state = fields.String(metadata={"description": "queued, sending, sent or dead (given up, or rate limited)"})
    state_label = fields.String(metadata={"description": "the state in words"})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True, metadata={"description": "short, contacts masked, never a key"})
    created_at = VNDateTime()
    sent_at = VNDateTime(allow_none=True)
    next_attempt_at = VNDateTime(allow_none=True, metadata={"description": "while queued for another attempt"})


class DeliveryLogSchema(Schema):
    items = fields.List(fields.Nested(DeliveryEntrySchema), metadata={"description": "oldest first"})
