"""The working calendar of a province, from the holidays package plus declared days."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import CalendarDay
from ..models.calendar import DAY_OFF, WORKING_DAY
from .calendar import CalendarOverrides, WorkingCalendar


@lru_cache(maxsize=64)
def _calendar(overrides: CalendarOverrides) -> WorkingCalendar:
    return WorkingCalendar(overrides)


def calendar_for(session: Session, province_code: str | None) -> WorkingCalendar:
    """Country-wide declarations, with a province's own declarations taking precedence."""
    scopes = ["VN"] + ([province_code] if province_code and province_code != "VN" else [])
    rows = session.execute(
        select(CalendarDay.day, CalendarDay.scope, CalendarDay.kind).where(CalendarDay.scope.in_(scopes))
    ).all()
    kinds: dict = {}
    for day, scope, kind in sorted(rows, key=lambda r: r[1] != "VN"):  # province rows last, so they win
        kinds[day] = kind
    return _calendar(CalendarOverrides(
        days_off=frozenset(d for d, k in kinds.items() if k == DAY_OFF),
        working_days=frozenset(d for d, k in kinds.items() if k == WORKING_DAY),
    ))


def legal_due_at(session: Session, province_code: str, received_at: datetime, kind: str,
                 days: int | None) -> datetime | None:
    """The legal due date of a dossier received now; None when the procedure sets no deadline."""
    if kind != "same-day" and not days:
        return None
    return calendar_for(session, province_code).due_at(received_at, kind, days if kind != "same-day" else None)
