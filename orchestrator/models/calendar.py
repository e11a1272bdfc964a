"""Days off and make-up working days declared by administrators, per country or province, and the
office hours a province sets for itself."""
from __future__ import annotations

from datetime import date, time

from sqlalchemy import Boolean, Date, Integer, String, Time, UniqueConstraint, true
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


class OfficeHoursSetting(db.Model):
    """A scope's own office hours and same-day cut-off (local times); a province without a row
    follows VN's row, and without that the national defaults (`services.calendar.OfficeHours`)."""
    __tablename__ = "office_hours"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # "VN" or a province code
    morning_start: Mapped[time] = mapped_column(Time)
    morning_end: Mapped[time] = mapped_column(Time)
    afternoon_start: Mapped[time] = mapped_column(Time)
    afternoon_end: Mapped[time] = mapped_column(Time)
    same_day_cutoff: Mapped[time] = mapped_column(Time)
