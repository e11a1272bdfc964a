"""The working calendar of a province, from the holidays package plus declared days, with the
province's office hours (its own, else VN's, else the national defaults)."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import CalendarDay
from ..models.calendar import DAY_OFF, WORKING_DAY, OfficeHoursSetting
from .cache import TTLCache, db_key
from .calendar import OFFICE_HOURS_FIELDS, CalendarOverrides, OfficeHours, WorkingCalendar


@lru_cache(maxsize=64)
def _calendar(overrides: CalendarOverrides, hours: OfficeHours) -> WorkingCalendar:
    return WorkingCalendar(overrides, hours)


_calendars = TTLCache(max_size=128, ttl=60)


def calendar_for(session: Session, province_code: str | None) -> WorkingCalendar:
    """Country-wide declarations, with a province's own declarations taking precedence, and the
    province's office hours. Cached for a minute (an administrator's changes made in this process
    apply at once: `forget_calendars`)."""
    return _calendars.get((db_key(session), province_code), lambda: _calendar_for(session, province_code))


def forget_calendars() -> None:
    _calendars.clear()


def _calendar_for(session: Session, province_code: str | None) -> WorkingCalendar:
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
    ), office_hours_for(session, province_code)[0])


def office_hours_for(session: Session, province_code: str | None) -> tuple[OfficeHours, str | None]:
    """The office hours that apply in a province and whose they are: its own row (scope = the
    province), else VN's row ("VN"), else the national defaults (None)."""
    scopes = ["VN"] + ([province_code] if province_code and province_code != "VN" else [])
    rows = {r.scope: r for r in session.scalars(select(OfficeHoursSetting).where(OfficeHoursSetting.scope.in_(scopes)))}
    for scope in reversed(scopes):  # the province's own row first
        row = rows.get(scope)
        if row is not None:
            try:
                return OfficeHours(**{name: getattr(row, name) for name in OFFICE_HOURS_FIELDS}), scope
            except ValueError:  # a row edited by hand into nonsense: the defaults rather than a 500
                continue
    return OfficeHours(), None


def legal_due_at(session: Session, province_code: str, received_at: datetime, kind: str,
                 days: int | None) -> datetime | None:
    """The legal due date of a dossier received now; None when the procedure sets no deadline."""
    if kind != "same-day" and not days:
        return None
    return calendar_for(session, province_code).due_at(received_at, kind, days if kind != "same-day" else None)


def declare_day(session: Session, actor, day, kind: str, scope: str, note: str | None) -> CalendarDay:
    """An administrator declares a day off or a make-up working day (country or province); the
    use case, audited, is `administration.add_day`."""
    from . import access
    from ..i18n import vi
    from .errors import Invalid

    if kind not in (DAY_OFF, WORKING_DAY):
        raise Invalid(vi("Loại ngày không hợp lệ."),
                      fields={"kind": vi("off (ngày nghỉ) hoặc work (ngày làm việc bù)")})
    access.may_administer(actor, scope)
    forget_calendars()
    row = session.scalar(select(CalendarDay).where(CalendarDay.day == day, CalendarDay.scope == scope))
    if row is None:
        row = CalendarDay(day=day, scope=scope, kind=kind, note=note)
        session.add(row)
    else:
        row.kind, row.note, row.confirmed = kind, note, True  # the administrator's own declaration
    session.flush()
    return row


def declared_days(session: Session, scope: str, year: int | None = None) -> list[CalendarDay]:
    query = select(CalendarDay).where(CalendarDay.scope == scope).order_by(CalendarDay.day)
    rows = session.scalars(query).all()
    return [r for r in rows if year is None or r.day.year == year]
