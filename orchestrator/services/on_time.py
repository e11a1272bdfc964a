"""On time or late: the one rule, in Python and in SQL, for statistics, the inbox, the control slip
and the portal.

A period counted in days ends at 24:00 of its last day (Civil Code 2015, Arts. 147–148), so a
result returned or a step completed any time on the due day — even after office hours — is on
time; it is late from 00:00 (Vietnam) of the next day. Early: done on a day before the due day.
The due date-time shown to officers is unchanged; only the judgement uses the due DAY.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import case, func, literal
from sqlalchemy.orm import Session

from ..timezone import TZ

EARLY, ON_TIME, LATE = "early", "on_time", "late"


def due_day_end(due_at: datetime) -> datetime:
    """24:00 (Vietnam) of the due day: the first instant that is late."""
    return datetime.combine(due_at.astimezone(TZ).date() + timedelta(days=1), time(0), TZ)


def is_late(done_at: datetime, due_at: datetime | None) -> bool:
    return due_at is not None and done_at >= due_day_end(due_at)


def outcome(done_at: datetime, due_at: datetime | None) -> str:
    """early (a day before the due day), on_time (on the due day) or late (after it); no due: on time."""
    if due_at is None:
        return ON_TIME
    done_day, due_day = done_at.astimezone(TZ).date(), due_at.astimezone(TZ).date()
    return LATE if done_day > due_day else EARLY if done_day < due_day else ON_TIME


def overdue_before(now: datetime) -> datetime:
    """Open work whose due date-time is before this (00:00 today, Vietnam) is overdue now: its due
    day has ended. A plain comparison on the due column, so indexes on it still serve."""
    return datetime.combine(now.astimezone(TZ).date(), time(0), TZ)


def is_overdue(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at < overdue_before(now)


def vn_day(session: Session, column):
    """The Vietnam calendar day of a UTC timestamp column, as text YYYY-MM-DD on both backends
    (Vietnam has no daylight saving: +7 hours)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column + literal(timedelta(hours=7)), "YYYY-MM-DD")
    return func.date(column, "+7 hours")


def sql_late(session: Session, done, due):
    """SQL: done on a day after the due day (NULL due: never late)."""
    return vn_day(session, done) > vn_day(session, due)


def sql_outcome(session: Session, done, due):
    """SQL twin of `outcome`."""
    return case(
        (due.is_(None), ON_TIME),
        (sql_late(session, done, due), LATE),
        (vn_day(session, done) < vn_day(session, due), EARLY),
        else_=ON_TIME,
    )
