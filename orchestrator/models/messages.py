"""The citizens' notification outbox (issue 24): one row per message and channel, written in the
transaction of the change that causes it and sent by a `send_message` job, at least once, with a
stable id (`idempotency_key`: the email's Message-ID, the HTTP providers' Idempotency-Key)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow

EMAIL, SMS, ZALO = "email", "sms", "zalo"
CHANNELS = (EMAIL, SMS, ZALO)
QUEUED, SENDING, SENT, DEAD = "queued", "sending", "sent", "dead"
STATES = (QUEUED, SENDING, SENT, DEAD)


class CitizenMessage(db.Model):
    """One message to one contact by one channel. `last_error` is short and never holds a secret
    or the contact in clear; a message refused by the rate limit is dead from the start."""

    __tablename__ = "citizen_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(254))  # normalised: email lower-cased, phone digits
    event: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(JSONType, default=dict)  # Zalo ZNS template data
    template_id: Mapped[str | None] = mapped_column(String(100))  # Zalo ZNS template id
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    job_id: Mapped[int | None] = mapped_column(Integer)  # None: never queued for sending (rate limited)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # the per-recipient rate limit counts a contact's messages of the last hour
    __table_args__ = (Index("ix_citizen_message_recipient", "recipient", "created_at"),)
