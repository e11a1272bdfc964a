"""Vietnamese working-day calendar and legal due dates (docs/domain.md, "Deadlines and the calendar").

Pure Python: no database, no Flask. The statutory holidays come from the
``holidays`` package (VN) plus the few rules it lacks (added below, with the
rule cited); the yearly government decisions (swapped days, make-up Saturdays)
are data, declared by an administrator as :class:`CalendarOverrides`. The
initial declarations ship in ``orchestrator/data/calendar/VN.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Mapping

import holidays

from ..timezone import TZ



@dataclass(frozen=True)
class OfficeHours:
    """A province's office hours and same-day cut-off (local time). The defaults are the national
    ones: 07:30–11:30 and 13:00–17:00 (the working hours of state agencies, see docs/domain.md
    "Deadlines"); a province may set its own (`office_hours` rows, scope VN or a province code).
    A due date falls at the end of the afternoon of its day; a same-day ("trong ngày") dossier
    received at/after the cut-off is due the next working day."""

    morning_start: time = time(7, 30)
    morning_end: time = time(11, 30)
    afternoon_start: time = time(13, 0)
    afternoon_end: time = time(17, 0)
    same_day_cutoff: time = time(15, 0)

    def __post_init__(self) -> None:
        problems = office_hours_problems(self)
        if problems:
            name, message = next(iter(problems.items()))
            raise ValueError(f"{name}: {message}")

    @property
    def periods(self) -> tuple[tuple[time, time], tuple[time, time]]:
        return ((self.morning_start, self.morning_end), (self.afternoon_start, self.afternoon_end))

    def as_dict(self) -> dict[str, str]:
        """{field: "HH:MM"}, the shape of the API and the back-office form."""
        return {name: getattr(self, name).strftime("%H:%M") for name in OFFICE_HOURS_FIELDS}


OFFICE_HOURS_FIELDS: tuple[str, ...] = (
    "morning_start", "morning_end", "afternoon_start", "afternoon_end", "same_day_cutoff")


def office_hours_problems(hours: Any) -> dict[str, str]:
    """What is wrong with a set of office hours, by field (empty when they are fine): whole
    minutes, morning_start < morning_end <= afternoon_start < afternoon_end, and a cut-off within
    office hours (in the morning or the afternoon, its ends included)."""
    problems: dict[str, str] = {}
    values = {name: getattr(hours, name, None) for name in OFFICE_HOURS_FIELDS}
    for name, value in values.items():
        if not isinstance(value, time) or value.tzinfo is not None:
            problems[name] = "giờ không hợp lệ (HH:MM)"
        elif value.second or value.microsecond:
            problems[name] = "chỉ ghi giờ và phút (HH:MM)"
    if problems:
        return problems
    ms, me, as_, ae, cut = (values[n] for n in OFFICE_HOURS_FIELDS)
    if not ms < me:
        problems["morning_end"] = "phải sau giờ bắt đầu buổi sáng"
    elif not me <= as_:
        problems["afternoon_start"] = "không được trước giờ kết thúc buổi sáng"
    elif not as_ < ae:
        problems["afternoon_end"] = "phải sau giờ bắt đầu buổi chiều"
    elif not (ms <= cut <= me or as_ <= cut <= ae):
        problems["same_day_cutoff"] = "phải nằm trong giờ làm việc (buổi sáng hoặc buổi chiều)"
    return problems


DEFAULT_OFFICE_HOURS = OfficeHours()

# The national defaults under their former names (the hours of a calendar are `calendar.hours`).
MORNING_START = DEFAULT_OFFICE_HOURS.morning_start
MORNING_END = DEFAULT_OFFICE_HOURS.morning_end
AFTERNOON_START = DEFAULT_OFFICE_HOURS.afternoon_start
AFTERNOON_END = DEFAULT_OFFICE_HOURS.afternoon_end
DUE_TIME = DEFAULT_OFFICE_HOURS.afternoon_end
SAME_DAY_CUTOFF = DEFAULT_OFFICE_HOURS.same_day_cutoff

DUE_KINDS: tuple[str, ...] = ("working", "calendar", "same-day")

# Vietnam Culture Day (Ngày Văn hóa Việt Nam), 24/11, a paid day off from 2026: the legal basis
# is the National Assembly resolution that made it a holiday (reported, its number to confirm);
# Politburo Resolution 80-NQ/TW only proposed the day and is not the basis of the day off.
# holidays 0.85 lacks it.
CULTURE_DAY_FROM_YEAR = 2026
CULTURE_DAY_NAME = "Ngày Văn hóa Việt Nam"
DECLARED_DAY_OFF_NAME = "Ngày nghỉ theo quyết định"

DEFAULT_OVERRIDES_PATH = Path(__file__).resolve().parents[1] / "data" / "calendar" / "VN.json"


@dataclass(frozen=True)
class CalendarOverrides:
    """Administrator-declared exceptions to the statutory calendar.

    ``working_days`` (make-up Saturdays) win over weekends and holidays;
    ``days_off`` (swapped or extra days off) win over normal weekdays. A date in
    both sets is contradictory and rejected.
    """

    days_off: frozenset[date] = field(default_factory=frozenset)
    working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Accept any iterable of dates so callers can pass lists/sets.
        object.__setattr__(self, "days_off", frozenset(self.days_off))
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        for name in ("days_off", "working_days"):
            for d in getattr(self, name):
                if not isinstance(d, date) or isinstance(d, datetime):
                    raise ValueError(f"{name}: expected dates, got {d!r}")
        both = self.days_off & self.working_days
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"days_off and working_days both contain {listed}")


def overrides_from_dict(data: Mapping[str, Any]) -> CalendarOverrides:
    """Build overrides from the VN.json shape (entries ``{"date": "YYYY-MM-DD", "note": ...}``)."""

    def dates(key: str) -> frozenset[date]:
        out: set[date] = set()
        for i, entry in enumerate(data.get(key) or []):
            raw = entry.get("date") if isinstance(entry, Mapping) else entry
            try:
                out.add(date.fromisoformat(str(raw)))
            except ValueError:
                raise ValueError(f"{key}[{i}].date: invalid ISO date {raw!r}") from None
        return frozenset(out)

    return CalendarOverrides(days_off=dates("days_off"), working_days=dates("working_days"))


def load_default_overrides(path: Path | None = None) -> CalendarOverrides:
    """Read the shipped yearly decisions (initial administrator-declared entries)."""
    with open(path or DEFAULT_OVERRIDES_PATH, encoding="utf-8") as fh:
        return overrides_from_dict(json.load(fh))


def shipped_days(path: Path | None = None) -> list[dict]:
    """The shipped declarations with what the database keeps of them: [{day, kind ("off" |
    "work"), note (with its document number), confirmed}]; `confirmed` is False for a day only
    reported by secondary sources, until an administrator confirms it."""
    with open(path or DEFAULT_OVERRIDES_PATH, encoding="utf-8") as fh:
        data = json.load(fh)
    overrides_from_dict(data)  # the same checks as the calendar (dates, no day in both lists)
    out = []
    for key, kind in (("days_off", "off"), ("working_days", "work")):
        for entry in data.get(key) or []:
            note = " — ".join(part for part in (entry.get("note"), entry.get("document")) if part)
            out.append({"day": date.fromisoformat(entry["date"]), "kind": kind, "note": note[:300] or None,
                        "confirmed": entry.get("confirmed", True) is not False})
    return out


def _require_aware(value: datetime, name: str) -> datetime:
    """Naive datetimes are ambiguous for legal deadlines: reject them, convert the rest."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(TZ)


def _require_count(value: Any, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


class WorkingCalendar:
    """Working days of Vietnamese state agencies (Mon–Fri minus holidays, plus overrides), and
    the office hours of one province (``hours``, the national defaults when not given).

    Holidays are computed lazily per year and cached, and so is each date's
    working/non-working answer, so bulk due-date computation stays cheap.
    """

    def __init__(self, overrides: CalendarOverrides | None = None, hours: OfficeHours | None = None) -> None:
        self.overrides = overrides or CalendarOverrides()
        self.hours = hours or DEFAULT_OFFICE_HOURS
        self._holidays_by_year: dict[int, dict[date, str]] = {}
        self._working: dict[date, bool] = {}

    # -- holidays -------------------------------------------------------------

    def holidays(self, year: int) -> dict[date, str]:
        """The statutory holidays of a year (with their names), before declared changes."""
        cached = self._holidays_by_year.get(year)
        if cached is None:
            vn = holidays.country_holidays("VN", years=year, language="vi")
            cached = {d: name for d, name in vn.items() if d.year == year}
            if year >= CULTURE_DAY_FROM_YEAR:
                # No substitute-day rule has been enacted for 24/11; a weekend
                # 24/11 simply stays a weekend (add a declared day off if decided).
                cached.setdefault(date(year, 11, 24), CULTURE_DAY_NAME)
            self._holidays_by_year[year] = cached
        return cached

    def holiday_name(self, d: date) -> str | None:
        """Why ``d`` is a day off (statutory or declared); None if it is not a holiday."""
        if d in self.overrides.working_days:
            return None
        name = self.holidays(d.year).get(d)
        if name is None and d in self.overrides.days_off:
            return DECLARED_DAY_OFF_NAME
        return name

    # -- working days ---------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """True when agencies receive/process dossiers on ``d``."""
        if isinstance(d, datetime):
            d = d.date()
        cached = self._working.get(d)
        if cached is None:
            if d in self.overrides.working_days:
                cached = True
            elif d in self.overrides.days_off or d.weekday() >= 5:
                cached = False
            else:
                cached = d not in self.holidays(d.year)
            self._working[d] = cached
        return cached

    def next_working_day(self, d: date) -> date:
        """First working day strictly after ``d``."""
        d += timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (day 1 = first working day after ``d``; n=0 -> d)."""
        _require_count(n, "n")
        for _ in range(n):
            d = self.next_working_day(d)
        return d

    def working_days_between(self, a: datetime, b: datetime) -> int:
        """Working days in (a's date, b's date], local time; negative if b is before a.

        Consistent with :meth:`add_working_days`: a dossier received at ``a`` is
        "within 3 working days" at ``b`` when this returns <= 3.
        """
        da = _require_aware(a, "a").date()
        db = _require_aware(b, "b").date()
        if db < da:
            return -self.working_days_between(b, a)
        count, d = 0, da
        while d < db:
            d += timedelta(days=1)
            count += self.is_working_day(d)
        return count

    # -- due dates ------------------------------------------------------------

    def due_at(self, received_at: datetime, kind: str, days: int | None = None) -> datetime:
        """Legal due date (end of the afternoon, 17:00 by default, Asia/Ho_Chi_Minh) of a dossier
        received at ``received_at``.

        ``working``: end of the ``days``-th working day after the reception date.
        ``calendar``: reception date + ``days``; a last day that is not a working
        day moves to the next working day (Civil Code 2015, Art. 147–148).
        ``same-day``: today if received on a working day before the cut-off (15:00 by
        default), else the next working day. Raises ValueError naming the bad parameter.
        """
        local = _require_aware(received_at, "received_at")
        if kind not in DUE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(DUE_KINDS)}; got {kind!r}")
        received = local.date()
        if kind == "same-day":
            if days not in (None, 0):
                raise ValueError(f"days must be empty for kind 'same-day', got {days!r}")
            if self.is_working_day(received) and local.time() < self.hours.same_day_cutoff:
                due_day = received
            else:
                due_day = self.next_working_day(received)
        else:
            if days is None:
                raise ValueError(f"days is required for kind {kind!r}")
            # 0 is rejected: an on-the-spot procedure must say so with 'same-day'.
            _require_count(days, "days", minimum=1)
            if kind == "working":
                due_day = self.add_working_days(received, days)
            else:
                due_day = received + timedelta(days=days)
                if not self.is_working_day(due_day):
                    due_day = self.next_working_day(due_day)
        return datetime.combine(due_day, self.hours.afternoon_end, tzinfo=TZ)

    def office_hours_between(self, start: datetime, end: datetime) -> float:
        """Office time (hours) between two instants: what a paused interval costs a deadline.

        The inverse of :meth:`add_office_hours`: a due date moved by this many office hours
        gives back exactly the working time the dossier spent paused.
        """
        cursor = _require_aware(start, "start")
        stop = _require_aware(end, "end")
        total = timedelta()
        day = cursor.date()
        while day <= stop.date():
            if self.is_working_day(day):
                for open_t, close_t in self.hours.periods:
                    begin = max(cursor, datetime.combine(day, open_t, tzinfo=TZ))
                    finish = min(stop, datetime.combine(day, close_t, tzinfo=TZ))
                    if finish > begin:
                        total += finish - begin
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    def add_office_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of office time (working days, within ``self.hours``).

        Used for step deadlines expressed in hours. Time outside office hours is
        skipped; a deadline that lands exactly on a closing time stays there.
        """
        cursor = _require_aware(start, "start")
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours != hours:
            raise ValueError(f"hours must be a number, got {hours!r}")
        if hours < 0:
            raise ValueError(f"hours must be >= 0, got {hours}")
        remaining = timedelta(hours=hours)
        if not remaining:
            return cursor
        day = cursor.date()
        while True:
            if self.is_working_day(day):
                for open_t, close_t in self.hours.periods:
                    opens = datetime.combine(day, open_t, tzinfo=TZ)
                    closes = datetime.combine(day, close_t, tzinfo=TZ)
                    begin = max(cursor, opens)
                    if begin >= closes:
                        continue
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
            day = self.next_working_day(day)
            cursor = datetime.combine(day, time(0, 0), tzinfo=TZ)
