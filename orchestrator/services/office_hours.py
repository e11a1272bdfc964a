"""An administrator sets the office hours and same-day cut-off of its scope (VN or a province):
`PUT /api/v1/calendar/office-hours` and the back office's calendar page both come here. The
rules (national defaults, what a province may change) are in docs/domain.md "Deadlines"."""
from __future__ import annotations

import re
from datetime import time
from types import SimpleNamespace
from typing import Any, Mapping

from sqlalchemy.orm import Session

from ..models.calendar import OfficeHoursSetting
from . import audit
from .administration import check_calendar_scope
from .auth import Actor
from .calendar import OFFICE_HOURS_FIELDS, OfficeHours, office_hours_problems
from .deadlines import forget_calendars, office_hours_for
from ..i18n import vi
from .errors import Invalid

_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def effective(session: Session, scope: str) -> tuple[OfficeHours, str | None]:
    """The hours that apply in a scope and whose they are (the scope, "VN", or None: defaults)."""
    return office_hours_for(session, None if scope == "VN" else scope)


def set_hours(session: Session, actor: Actor, scope: str, values: Mapping[str, Any]) -> OfficeHours:
    """Save a scope's own office hours (all five times, "HH:MM"), audited; a refusal names the
    field (400). An administrator of the scope, or of VN (403 otherwise)."""
    check_calendar_scope(session, actor, scope)
    parsed: dict[str, time] = {}
    problems: dict[str, str] = {}
    for name in OFFICE_HOURS_FIELDS:
        raw = values.get(name)
        if isinstance(raw, time):
            parsed[name] = raw
            continue
        match = _HH_MM.match(str(raw or "").strip())
        if match is None:
            problems[name] = vi("giờ không hợp lệ (HH:MM)") if raw not in (None, "") else vi("bắt buộc (HH:MM)")
        else:
            parsed[name] = time(int(match.group(1)), int(match.group(2)))
    if not problems:
        # every field checked (the OfficeHours constructor reports only the first problem)
        problems = office_hours_problems(SimpleNamespace(**parsed))
    if problems:
        raise Invalid(vi("Giờ làm việc không hợp lệ."), fields=problems)
    hours = OfficeHours(**parsed)
    row = session.get(OfficeHoursSetting, scope)
    if row is None:
        row = OfficeHoursSetting(scope=scope)
        session.add(row)
    for name in OFFICE_HOURS_FIELDS:
        setattr(row, name, getattr(hours, name))
    forget_calendars()
    shown = hours.as_dict()
    audit.record(session, "calendar.office_hours", actor.name, unit_code=scope,
                 note=f"{scope} {shown['morning_start']}–{shown['morning_end']}, {shown['afternoon_start']}–"
                      f"{shown['afternoon_end']}, cut-off {shown['same_day_cutoff']}")
    session.flush()
    return hours

