"""Dossiers opened by a procedure version's schedule (issue 17): one row per (version, tick, unit),
written with the dossier, so a tick run twice (a crashed or duplicated job) never opens a second."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class ScheduledStart(db.Model):
    __tablename__ = "scheduled_start"

    version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"), primary_key=True)
    tick: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0, 1, ... of the version's timer start
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
