"""The citizens' notification outbox (issue 24): messages queued in the caller's transaction and
sent by the worker, at least once, with a stable id.

`queue_message` writes a `citizen_message` row and its `send_message` job together: a step that
rolls back sends nothing, one that commits loses nothing. The job (`send`) marks the message
`sending` and commits, calls the channel with no transaction open (`jobs.Outside`), then marks it
`sent`, or queued again after the job queue's backoff, or `dead` after its last attempt (or at
once when the failure is permanent). A worker that dies after the call and before the mark leaves
its lease to expire; the next worker sends again with the same Message-ID / Idempotency-Key.
Contacts are masked in every log line (`channels.mask_contact`)."""
from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Dossier, Job
from ..models.messages import (
    CHANNELS,
    DEAD,
    EMAIL,
    QUEUED,
    SENDING,
    SENT,
    CitizenMessage,
)
from ..models.types import utcnow
from ..settings import Settings, settings_of
from . import channels, jobs
from .channels import Delivery, Outgoing, mask_contact

__all__ = ["KIND", "RATE_LIMITED", "mask_contact", "normalise", "queue_message", "send"]

KIND = "send_message"
RATE_LIMITED = "rate_limited"
log = logging.getLogger("orchestrator.messages")


def normalise(channel: str, recipient: str) -> str:
    """One spelling per contact, so the rate limit counts a contact once: emails lower-cased,
    phone numbers as digits (+84 / 84 as the national 0)."""
    recipient = (recipient or "").strip()
    if channel == EMAIL:
        return recipient.lower()
    digits = re.sub(r"\D", "", recipient)
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


# One rule for every contact the product keeps (a citizen's consent, a feedback's answer, an
# officer's digest): an address with a dotted domain; a Vietnamese mobile (0[35789]x, 10 digits)
# or landline (02x, 11 digits) number once normalised.
_EMAIL = re.compile(r"[^@\s<>,;\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+")
_PHONE = re.compile(r"0[35789]\d{8}|02\d{9}")


def valid_email(address: str) -> bool:
    return len(address) <= 254 and _EMAIL.fullmatch(address) is not None


def valid_phone(normalised: str) -> bool:
    """A number as `normalise` leaves it."""
    return _PHONE.fullmatch(normalised) is not None


def sent_last_hour(session: Session, recipient: str) -> int:
    """Messages to this contact accepted for sending in the last hour (the refused ones do not count)."""
    return session.scalar(select(func.count()).select_from(CitizenMessage).where(
        CitizenMessage.recipient == recipient, CitizenMessage.created_at > utcnow() - timedelta(hours=1),
        CitizenMessage.job_id.is_not(None))) or 0


def queue_message(session: Session, *, dossier: Dossier | None, channel: str, recipient: str, event: str,
                  subject: str, body: str, params: dict | None = None,
                  template_id: str | None = None) -> CitizenMessage:
    """Add a message and the job that sends it to the caller's transaction (never committed here).
    Over the per-recipient limit (MESSAGES_PER_RECIPIENT_PER_HOUR) the message is stored dead,
    `rate_limited`, and no job is queued."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    settings = settings_of(session)
    recipient = normalise(channel, recipient)
    if not recipient:
        raise ValueError("a message needs a recipient")
    if dossier is not None and dossier.id is None:
        session.flush()
    message = CitizenMessage(dossier_id=dossier.id if dossier is not None else None, channel=channel,
                             recipient=recipient, event=event, subject=subject or "", body=body or "",
                             params=dict(params or {}), template_id=template_id, state=QUEUED, attempts=0,
                             idempotency_key=uuid.uuid4().hex, created_at=utcnow())
    session.add(message)
    limit = settings.messages_per_recipient_per_hour
    if sent_last_hour(session, recipient) >= limit:
        message.state = DEAD
        message.last_error = f"{RATE_LIMITED}: more than {limit} messages to this recipient in an hour"
        session.flush()
        log.warning("message rate limited", extra={"channel": channel, "event": event,
                                                    "recipient": mask_contact(recipient)})
        return message
    session.flush()
    job = jobs.enqueue(session, KIND, dossier_id=message.dossier_id, payload={"message_id": message.id},
                       max_attempts=settings.messages_max_attempts)
    message.job_id, message.next_attempt_at = job.id, job.run_at
    return message


def send(session: Session, job: Job, settings: Settings):
    """The worker's handler: mark the message `sending` (committed with the lease), send it
    outside any transaction, then settle (`_settle`)."""
    message = session.get(CitizenMessage, job.payload.get("message_id"))
    if message is None:
        return "gone"
    if message.state in (SENT, DEAD):
        return message.state  # sent by an earlier attempt, or given up: nothing more to do
    message.state, message.attempts, message.next_attempt_at = SENDING, message.attempts + 1, None
    outgoing = Outgoing(id=message.id, channel=message.channel, recipient=message.recipient, subject=message.subject,
                        body=message.body, idempotency_key=message.idempotency_key, event=message.event,
                        params=dict(message.params or {}), template_id=message.template_id)
    channel = channels.for_name(message.channel, settings)
    return jobs.Outside(call=lambda: _call(channel, outgoing), then=_settle, seconds=settings.messages_timeout * 3)


def _call(channel: channels.Channel, outgoing: Outgoing) -> Delivery:
    try:
        return channel.send(outgoing)
    except Exception as exc:  # noqa: BLE001 - a channel's bug is a failed attempt, retried
        return Delivery(False, channels.redact(f"{exc.__class__.__name__}: {exc}")[:300])


def _settle(session: Session, job: Job, delivery: Delivery) -> str:
    message = session.get(CitizenMessage, job.payload.get("message_id"), populate_existing=True)
    if message is None:
        return "gone"
    contact = {"message_id": message.id, "channel": message.channel, "event": message.event,
               "recipient": mask_contact(message.recipient), "attempt": message.attempts}
    if delivery.ok:
        message.state, message.sent_at, message.last_error = SENT, utcnow(), None
        log.info("message sent", extra={**contact, "via": delivery.note})
        return "sent"
    message.last_error = (delivery.error or "failed")[:500]
    if delivery.permanent:
        job.attempts = max(job.attempts, job.max_attempts)
    if jobs.settle_failure(job, message.last_error):
        message.state = DEAD
        log.warning("message dead", extra={**contact, "error": message.last_error})
        return "dead"
    message.state, message.next_attempt_at = QUEUED, job.run_at
    log.info("message retried", extra={**contact, "error": message.last_error})
    return "retry"
