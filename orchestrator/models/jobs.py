"""One queue for everything deferred: timers, reminders, deliveries, notifications."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"


class Job(db.Model):
    __tablename__ = "job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"))
    # Timer jobs carry the dossier's lock_version: a job from an older state does nothing.
    lock_version: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Jobs sharing a fifo_key run one at a time in id order (national portal sync per dossier).
    fifo_key: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(10), default=QUEUED)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_job_due", "state", "run_at"),
        Index("ix_job_dossier_kind", "dossier_id", "kind", "state"),
    )


class Notification(db.Model):
    """A message for a user (deadline reminders, escalations); read in the inbox."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # set when the row went out in its owner's daily email digest (services.officer_digest)
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # the bell: a user's unread notifications, newest first
    __table_args__ = (Index("ix_notification_unread", "user_id", "read_at", "id"),)
