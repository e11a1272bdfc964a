"""Per-day aggregates behind the supervisors' statistics (issue 23): recounted by the worker's
`stat_fold` job from the dossiers and steps, read by `services.statistics.report` for past days."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime


class DossierMeasures:
    """What a day counts of dossiers: received, and ended (returned early / on time / late by the
    legal due day, refused, withdrawn, stopped); the same columns per commune and per province."""

    received: Mapped[int] = mapped_column(Integer, default=0)
    early: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    stopped: Mapped[int] = mapped_column(Integer, default=0)


class StatDay(DossierMeasures, db.Model):
    """Dossiers of a Vietnam day, province, commune and procedure: received that day, and ended
    that day (returned early / on time / late by the legal due day, refused, withdrawn, stopped)."""

    __tablename__ = "stat_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(40), primary_key=True)


class StatProvinceDay(DossierMeasures, db.Model):
    """`stat_day` summed over the communes (issue 23, point 3): what a report without a commune
    filter reads (a province's 84 days: ~250 rows instead of ~31,000 at 1,000,000 dossiers).
    Written with `stat_day`'s rows, in the same transaction."""

    __tablename__ = "stat_province_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(40), primary_key=True)


MEASURED = ["unit_code", "steps_done", "steps_late", "seconds", "timed"]  # what a report sums per unit


class StatUnitDay(db.Model):
    """Steps a unit completed on a Vietnam day, per commune of their dossiers: how many, how many
    after their due day, and the seconds they stayed with the unit (sum and how many were timed).
    `province_code`: the unit's province when folded (None for a national unit), so a province's
    report filters its units in SQL."""

    __tablename__ = "stat_unit_day"
    # covering (PostgreSQL): a period's units summed from the index alone, no table row read
    __table_args__ = (Index("ix_stat_unit_day_province_day", "province_code", "day", postgresql_include=MEASURED),
                      Index("ix_stat_unit_day_day", "day", postgresql_include=MEASURED))

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    province_code: Mapped[str | None] = mapped_column(String(2))
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    steps_late: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    timed: Mapped[int] = mapped_column(Integer, default=0)


class StatFold(db.Model):
    """One row: the aggregates hold every change to dossiers updated before `folded_to` (its row
    lock also makes folds run one at a time); `stat_open` was taken at `open_taken_at`."""

    __tablename__ = "stat_fold"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folded_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    open_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatOpen(db.Model):
    """The open work when the worker last took it (`StatFold.open_taken_at`): kind "dossier", the
    unfinished dossiers of a province, commune and procedure (step_name, unit_code ""); kind "step",
    the open steps of those dossiers per step and unit. `overdue`: due before the day the snapshot
    was taken (`on_time.overdue_before`); `oldest_due_at`: the earliest due time (steps)."""

    __tablename__ = "stat_open"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    province_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    step_name: Mapped[str] = mapped_column(String(300), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    open: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    oldest_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
