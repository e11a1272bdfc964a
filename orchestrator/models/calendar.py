"""Days off and make-up working days declared by administrators, per country or province."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

DAY_OFF, WORKING_DAY = "off", "work"


class CalendarDay(db.Model):
    __tablename__ = "calendar_day"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(10), default="VN")  # "VN" or a province code
    kind: Mapped[str] = mapped_column(String(4))
    note: Mapped[str | None] = mapped_column(String(300))
    # False: reported by secondary sources (a shipped day), applied but to be confirmed by an administrator
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    __table_args__ = (UniqueConstraint("day", "scope"),)
