"""Citizens' satisfaction ratings and feedback (issue 24, point 6): what the national service
index is built on. A rating is kept once per dossier; feedback or a petition is about a dossier or
a procedure, and a supervisor's answer is kept with it (and sent through the outbox)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow

FEEDBACK, PETITION = "feedback", "petition"
KINDS = (FEEDBACK, PETITION)
COMMENT_MAX = 1000
TEXT_MAX = 4000


class Rating(db.Model):
    """A citizen's 1-5 satisfaction rating of a returned dossier (unique per dossier: once)."""

    __tablename__ = "citizen_rating"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(COMMENT_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="ck_citizen_rating_score"),)


class Feedback(db.Model):
    """Feedback (phản ánh) or a petition (kiến nghị) about a dossier or a procedure. The province
    (and the receiving unit, for a dossier) decide which supervisors see and answer it."""

    __tablename__ = "citizen_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id", ondelete="SET NULL"), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(40))
    province_code: Mapped[str] = mapped_column(String(2))
    unit_code: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10), default=FEEDBACK)
    text: Mapped[str] = mapped_column(Text)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(120))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_citizen_feedback_province", "province_code", "created_at"),)
