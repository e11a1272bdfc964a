"""Working-day calendar and legal due dates (docs/domain.md, "Deadlines and the calendar").

Every expected value is worked out by hand in a comment; weekdays are noted as
(Mon)…(Sun) so a reader can check them against a printed calendar.
"""

from __future__ import annotations

import time as _time
from datetime import date, datetime, timedelta, timezone

import pytest

from orchestrator.services.calendar import (
    TZ,
    CalendarOverrides,
    WorkingCalendar,
    load_default_overrides,
    overrides_from_dict,
    shipped_days,
)


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    """Aware local (Asia/Ho_Chi_Minh) datetime."""
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def due(y: int, m: int, d: int) -> datetime:
    """A due date: 17:00 local of that day."""
    return datetime(y, m, d, 17, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    """Calendar with the shipped yearly decisions (VN.json) loaded."""
    return WorkingCalendar(load_default_overrides())


@pytest.fixture(scope="module")
def bare() -> WorkingCalendar:
    """Statutory holidays only, no administrator declarations."""
    return WorkingCalendar()


# -- what the holiday set contains ------------------------------------------------


@pytest.mark.parametrize(
    "d",
    [
        date(2025, 1, 1), date(2026, 1, 1), date(2027, 1, 1),  # Tết Dương lịch
        # Tết Nguyên đán weekdays (package): 27–31/1/2025, 16–20/2/2026, 4–5 and 8–10/2/2027
        *[date(2025, 1, d) for d in range(27, 32)],
        *[date(2026, 2, d) for d in range(16, 21)],
        date(2027, 2, 4), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10),
        # Giỗ Tổ Hùng Vương 10/3 lunar: 7/4/2025 (Mon); 26/4/2026 is a Sunday -> off Mon 27/4
        date(2025, 4, 7), date(2026, 4, 27), date(2027, 4, 16),
        date(2025, 4, 30), date(2025, 5, 1), date(2026, 4, 30), date(2026, 5, 1), date(2027, 4, 30),
        date(2027, 5, 3),  # 1/5/2027 is a Saturday -> off Mon 3/5
        # 2/9 plus one adjacent day (Labor Code 2019 Art. 112)
        date(2025, 9, 1), date(2025, 9, 2), date(2026, 9, 1), date(2026, 9, 2),
        date(2027, 9, 2), date(2027, 9, 3),
        # Vietnam Culture Day from 2026 (added in code): 24/11/2026 (Tue), 24/11/2027 (Wed)
        date(2026, 11, 24), date(2027, 11, 24),
    ],
)
def test_statutory_holidays_are_not_working_days(bare: WorkingCalendar, d: date) -> None:
    assert d.weekday() < 5, "pick weekdays so the holiday, not the weekend, is tested"
    assert not bare.is_working_day(d)
    assert bare.holiday_name(d)


def test_culture_day_only_from_2026(bare: WorkingCalendar) -> None:
    # 24/11/2025 is a Monday and before the rule: a normal working day.
    assert bare.is_working_day(date(2025, 11, 24))
    assert bare.holiday_name(date(2025, 11, 24)) is None
    assert bare.holiday_name(date(2026, 11, 24)) == "Ngày Văn hóa Việt Nam"


def test_plain_weekday_and_weekend(bare: WorkingCalendar) -> None:
    assert bare.is_working_day(date(2026, 3, 10))  # Tue
    assert not bare.is_working_day(date(2026, 3, 7))  # Sat
    assert not bare.is_working_day(date(2026, 3, 8))  # Sun
    assert bare.holiday_name(date(2026, 3, 7)) is None  # a weekend is not a holiday


def test_default_overrides_file() -> None:
    o = load_default_overrides()
    assert date(2025, 4, 26) in o.working_days  # make-up Sat for Fri 2/5/2025
    assert date(2026, 1, 10) in o.working_days  # make-up Sat for Fri 2/1/2026
    assert {date(2025, 5, 2), date(2026, 1, 2)} <= o.days_off
    assert {date(2026, 2, d) for d in range(16, 21)} <= o.days_off


# -- kind "working" ---------------------------------------------------------------


def test_working_days_across_a_weekend(cal: WorkingCalendar) -> None:
    # Received Thu 5/3/2026 -> 1: Fri 6, (Sat 7, Sun 8), 2: Mon 9, 3: Tue 10
    assert cal.due_at(at(2026, 3, 5, 10), "working", 3) == due(2026, 3, 10)


def test_working_days_across_tet_2026(cal: WorkingCalendar) -> None:
    # Received Thu 12/2/2026 -> 1: Fri 13, (off Sat 14 .. Sun 22), 2: Mon 23,
    # 3: Tue 24, 4: Wed 25, 5: Thu 26
    assert cal.due_at(at(2026, 2, 12), "working", 5) == due(2026, 2, 26)
    for d in range(14, 23):
        assert not cal.is_working_day(date(2026, 2, d))


def test_working_days_across_30_4_2025_with_swap(cal: WorkingCalendar, bare: WorkingCalendar) -> None:
    # With VN.json: Fri 25/4/2025 -> 1: Sat 26 (make-up), 2: Mon 28, 3: Tue 29
    assert cal.due_at(at(2025, 4, 25), "working", 3) == due(2025, 4, 29)
    # 5 days: 3: Tue 29, (Wed 30/4, Thu 1/5 holidays, Fri 2/5 swapped off, Sat 3, Sun 4),
    # 4: Mon 5/5, 5: Tue 6/5
    assert cal.due_at(at(2025, 4, 25), "working", 5) == due(2025, 5, 6)
    # Without the decision: 1: Mon 28, 2: Tue 29, (30/4, 1/5), 3: Fri 2/5
    assert bare.due_at(at(2025, 4, 25), "working", 3) == due(2025, 5, 2)


def test_working_days_across_30_4_2026(cal: WorkingCalendar) -> None:
    # Received Wed 29/4/2026 -> (Thu 30/4, Fri 1/5 holidays, Sat 2, Sun 3), 1: Mon 4, 2: Tue 5
    assert cal.due_at(at(2026, 4, 29), "working", 2) == due(2026, 5, 5)


def test_working_days_across_2_9_2025(cal: WorkingCalendar) -> None:
    # Received Fri 29/8/2025 -> (Sat 30, Sun 31, Mon 1/9, Tue 2/9), 1: Wed 3, 2: Thu 4
    assert cal.due_at(at(2025, 8, 29, 14), "working", 2) == due(2025, 9, 4)


@pytest.mark.parametrize(
    "received",
    [
        at(2026, 3, 6, 19, 30),  # Fri evening: reception time does not matter
        at(2026, 3, 7, 10),  # Sat (online submission)
        at(2026, 3, 8, 23, 59),  # Sun
    ],
)
def test_day_one_is_next_working_day(cal: WorkingCalendar, received: datetime) -> None:
    # 1: Mon 9/3/2026
    assert cal.due_at(received, "working", 1) == due(2026, 3, 9)


def test_day_one_after_reception_on_a_holiday(cal: WorkingCalendar) -> None:
    # Received Thu 30/4/2026 (holiday) -> (Fri 1/5, Sat 2, Sun 3), 1: Mon 4/5
    assert cal.due_at(at(2026, 4, 30), "working", 1) == due(2026, 5, 4)


def test_make_up_saturday_counts(cal: WorkingCalendar, bare: WorkingCalendar) -> None:
    # Received Fri 9/1/2026 -> 1: Sat 10/1 (make-up working day, Công văn 12729/VPCP-KGVX)
    assert cal.due_at(at(2026, 1, 9), "working", 1) == due(2026, 1, 10)
    # Without the declaration Sat 10 is a weekend -> 1: Mon 12/1
    assert bare.due_at(at(2026, 1, 9), "working", 1) == due(2026, 1, 12)
    # And the swapped Friday 2/1/2026 is off: Wed 31/12/2025 -> (Thu 1/1, Fri 2/1, Sat, Sun), 1: Mon 5/1
    assert cal.due_at(at(2025, 12, 31), "working", 1) == due(2026, 1, 5)
    assert bare.due_at(at(2025, 12, 31), "working", 1) == due(2026, 1, 2)


def test_extra_day_off_is_skipped() -> None:
    # An administrator closes offices on Tue 10/3/2026 (e.g. a storm).
    storm = WorkingCalendar(CalendarOverrides(days_off=frozenset({date(2026, 3, 10)})))
    # Received Mon 9/3 -> (Tue 10 off), 1: Wed 11, 2: Thu 12
    assert storm.due_at(at(2026, 3, 9), "working", 2) == due(2026, 3, 12)
    assert storm.holiday_name(date(2026, 3, 10)) == "Ngày nghỉ theo quyết định"
    assert WorkingCalendar().due_at(at(2026, 3, 9), "working", 2) == due(2026, 3, 11)


def test_reception_date_is_taken_in_vietnam_time(cal: WorkingCalendar) -> None:
    # 18:00Z Thu 5/3 = 01:00 Fri 6/3 in Hanoi -> 1: Mon 9 (not Fri 6)
    received = datetime(2026, 3, 5, 18, 0, tzinfo=timezone.utc)
    result = cal.due_at(received, "working", 1)
    assert result == due(2026, 3, 9)
    assert result.tzinfo == TZ and result.hour == 17


# -- kind "calendar" (Civil Code 2015 Art. 147-148) -------------------------------


def test_calendar_days_ending_on_weekday_stay(cal: WorkingCalendar) -> None:
    # Mon 2/3/2026 + 10 days = Thu 12/3
    assert cal.due_at(at(2026, 3, 2), "calendar", 10) == due(2026, 3, 12)
    # Weekends/holidays inside the period count: Tue 10/2/2026 + 14 = Tue 24/2 (Tết in between)
    assert cal.due_at(at(2026, 2, 10), "calendar", 14) == due(2026, 2, 24)


def test_calendar_days_ending_on_sunday_move(cal: WorkingCalendar) -> None:
    # Mon 2/3/2026 + 13 days = Sun 15/3 -> next working day Mon 16/3
    assert cal.due_at(at(2026, 3, 2), "calendar", 13) == due(2026, 3, 16)
    # Wed 4/3/2026 + 10 days = Sat 14/3 -> Mon 16/3
    assert cal.due_at(at(2026, 3, 4), "calendar", 10) == due(2026, 3, 16)


def test_calendar_days_ending_on_holiday_move(cal: WorkingCalendar) -> None:
    # Wed 15/4/2026 + 15 days = Thu 30/4 (holiday) -> (Fri 1/5, Sat 2, Sun 3) -> Mon 4/5
    assert cal.due_at(at(2026, 4, 15), "calendar", 15) == due(2026, 5, 4)
    # Sat 14/11/2026 + 10 days = Tue 24/11 (Vietnam Culture Day) -> Wed 25/11
    assert cal.due_at(at(2026, 11, 14), "calendar", 10) == due(2026, 11, 25)


# -- kind "same-day" -------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (at(2026, 3, 10, 14, 59), due(2026, 3, 10)),  # Tue before 15:00 -> same day
        (at(2026, 3, 10, 15, 0), due(2026, 3, 11)),  # exactly 15:00 -> next working day (Wed)
        (at(2026, 3, 10, 16, 59), due(2026, 3, 11)),  # 16:59 -> Wed
        (at(2026, 3, 6, 15, 30), due(2026, 3, 9)),  # Fri 15:30 -> Mon 9
        (at(2026, 3, 7, 9, 0), due(2026, 3, 9)),  # Sat morning -> Mon 9
        # 09:30Z = 16:30 Hanoi on Fri 6/3 -> Mon 9
        (datetime(2026, 3, 6, 9, 30, tzinfo=timezone.utc), due(2026, 3, 9)),
    ],
)
def test_same_day(cal: WorkingCalendar, received: datetime, expected: datetime) -> None:
    assert cal.due_at(received, "same-day") == expected


# -- office hours ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Tue 10/3/2026 10:30 + 2h: 1h to 11:30, lunch, 1h from 13:00 -> 14:00
        (at(2026, 3, 10, 10, 30), 2, at(2026, 3, 10, 14, 0)),
        # 12:00 (lunch) + 0.5h -> 13:30
        (at(2026, 3, 10, 12, 0), 0.5, at(2026, 3, 10, 13, 30)),
        # 06:00 (before opening) + 1h -> 08:30
        (at(2026, 3, 10, 6, 0), 1, at(2026, 3, 10, 8, 30)),
        # 16:00 + 1h -> exactly 17:00, stays that day
        (at(2026, 3, 10, 16, 0), 1, at(2026, 3, 10, 17, 0)),
        # Overnight: Tue 16:00 + 3h: 1h to 17:00, then Wed 07:30 + 2h -> 09:30
        (at(2026, 3, 10, 16, 0), 3, at(2026, 3, 11, 9, 30)),
        # A full office day is 8h: 07:30 + 8h -> 17:00
        (at(2026, 3, 10, 7, 30), 8, at(2026, 3, 10, 17, 0)),
        # Over a weekend: Fri 6/3 16:30 + 1h: 0.5h, then Mon 9/3 07:30 + 0.5h -> 08:00
        (at(2026, 3, 6, 16, 30), 1, at(2026, 3, 9, 8, 0)),
        # 0 hours: unchanged
        (at(2026, 3, 7, 20, 0), 0, at(2026, 3, 7, 20, 0)),
        # UTC input: 03:30Z = 10:30 Hanoi, + 2h -> 14:00 Hanoi
        (datetime(2026, 3, 10, 3, 30, tzinfo=timezone.utc), 2, at(2026, 3, 10, 14, 0)),
    ],
)
def test_add_office_hours(cal: WorkingCalendar, start: datetime, hours: float, expected: datetime) -> None:
    assert cal.add_office_hours(start, hours) == expected


def test_add_office_hours_over_tet(cal: WorkingCalendar) -> None:
    # Fri 13/2/2026 16:00 + 4h: 1h to 17:00, (14–22/2 off), Mon 23/2 07:30 + 3h -> 10:30
    assert cal.add_office_hours(at(2026, 2, 13, 16, 0), 4) == at(2026, 2, 23, 10, 30)


# -- working_days_between ---------------------------------------------------------


def test_working_days_between(cal: WorkingCalendar) -> None:
    # Received Fri 6/3/2026 16:00, now Wed 11/3 10:00: Mon 9, Tue 10, Wed 11 -> 3
    a, b = at(2026, 3, 6, 16), at(2026, 3, 11, 10)
    assert cal.working_days_between(a, b) == 3
    assert cal.working_days_between(b, a) == -3
    assert cal.working_days_between(a, at(2026, 3, 6, 17)) == 0
    # Consistent with due_at: the due day is exactly `days` working days after reception
    received = at(2026, 2, 12)
    assert cal.working_days_between(received, cal.due_at(received, "working", 5)) == 5


# -- validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "weekly", "days": 3}, "kind"),
        ({"kind": "working"}, "days"),
        ({"kind": "working", "days": None}, "days"),
        ({"kind": "working", "days": -1}, "days"),
        ({"kind": "calendar", "days": 0}, "days"),
        ({"kind": "working", "days": "3"}, "days"),
        ({"kind": "working", "days": True}, "days"),
        ({"kind": "same-day", "days": 3}, "days"),
    ],
)
def test_due_at_invalid_input(cal: WorkingCalendar, kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        cal.due_at(at(2026, 3, 10), **kwargs)


def test_naive_or_wrong_type_received_at_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="received_at"):
        cal.due_at(datetime(2026, 3, 10, 9), "working", 3)
    with pytest.raises(ValueError, match="received_at"):
        cal.due_at(date(2026, 3, 10), "working", 3)  # type: ignore[arg-type]


def test_other_invalid_inputs(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="n must be"):
        cal.add_working_days(date(2026, 3, 10), -1)
    with pytest.raises(ValueError, match="hours"):
        cal.add_office_hours(at(2026, 3, 10), -1)
    with pytest.raises(ValueError, match="start"):
        cal.add_office_hours(datetime(2026, 3, 10, 9), 1)
    with pytest.raises(ValueError, match="days_off and working_days"):
        CalendarOverrides(days_off=frozenset({date(2026, 1, 10)}), working_days=frozenset({date(2026, 1, 10)}))
    with pytest.raises(ValueError, match=r"days_off\[0\]\.date"):
        overrides_from_dict({"days_off": [{"date": "2026-02-30"}]})


# -- speed -----------------------------------------------------------------------


def test_ten_thousand_due_dates_are_fast() -> None:
    fresh = WorkingCalendar(load_default_overrides())  # includes the lazy year loads
    start = at(2025, 1, 1, 8)
    t0 = _time.perf_counter()
    for i in range(10_000):
        fresh.due_at(start + timedelta(hours=5 * i), ("working", "calendar")[i % 2], 1 + i % 30)
    assert _time.perf_counter() - t0 < 1.0


# -- reported 2026/2027 decisions (issue 18): declared, carrying their document, to confirm -------


def test_national_day_2026_swapped_monday_is_skipped(cal: WorkingCalendar, bare: WorkingCalendar) -> None:
    # Received Fri 28/8/2026: Sat 29, Sun 30, Mon 31/8 (swapped day off, notice 9441/TB-BNV),
    # Tue 1/9 and Wed 2/9 (National Day) are off -> day 1 is Thu 3/9, day 2 Fri 4/9.
    assert not cal.is_working_day(date(2026, 8, 31)) and bare.is_working_day(date(2026, 8, 31))
    assert cal.due_at(at(2026, 8, 28), "working", 1) == due(2026, 9, 3)
    assert cal.due_at(at(2026, 8, 28), "working", 2) == due(2026, 9, 4)
    # without the declaration Monday 31/8 would have been day 1
    assert bare.due_at(at(2026, 8, 28), "working", 1) == due(2026, 8, 31)


def test_tet_2027_is_skipped(cal: WorkingCalendar) -> None:
    # Received Wed 3/2/2027: Thu 4/2 to Wed 10/2/2027 off (Tết Đinh Mùi, dispatch 10065/VPCP-KGVX)
    # -> day 1 is Thu 11/2, day 3 Mon 15/2.
    assert all(not cal.is_working_day(date(2027, 2, d)) for d in range(4, 11))
    assert cal.due_at(at(2027, 2, 3), "working", 1) == due(2027, 2, 11)
    assert cal.due_at(at(2027, 2, 3), "working", 3) == due(2027, 2, 15)


def test_reported_days_ship_with_their_document_and_unconfirmed() -> None:
    days = {d["day"]: d for d in shipped_days()}
    swap = days[date(2026, 8, 31)]
    assert swap["kind"] == "off" and "9441/TB-BNV" in swap["note"] and swap["confirmed"] is False
    tet = [days[date(2027, 2, d)] for d in (4, 5, 8, 9, 10)]
    assert all("10065/VPCP-KGVX" in d["note"] and d["confirmed"] is False for d in tet)
    assert days[date(2026, 1, 2)]["confirmed"] is True  # the earlier decisions stay as they were


def _day_id(app, scope: str, day: date):
    from sqlalchemy import select

    from orchestrator.extensions import db
    from orchestrator.models import CalendarDay

    with app.app_context():
        row = db.session.scalar(select(CalendarDay).where(CalendarDay.scope == scope, CalendarDay.day == day))
        found = (row.id, row.confirmed) if row is not None else (None, None)
        db.session.remove()
        return found


def test_admin_confirms_a_reported_day_and_a_province_still_overrides(app, client, api) -> None:
    from .admin_client import BackOffice

    day_id, confirmed = _day_id(app, "VN", date(2026, 8, 31))
    assert day_id is not None and confirmed is False  # seeded from the shipped data
    office = BackOffice(client)
    office.login("admin.01")
    # a province administrator sees it (it applies) but cannot confirm a national declaration
    assert "chưa xác nhận" in office.text(office.get("/calendar?scope=01&year=2026"))
    assert office.post(f"/calendar/{day_id}/confirm", {"scope": "VN"}, referrer="/calendar").status_code == 403
    # no CSRF token: refused with the message on the page, nothing changes
    r = client.post(f"/admin/calendar/{day_id}/confirm", data={"scope": "VN"},
                    headers={"Referer": "http://localhost/admin/calendar"}, follow_redirects=True)
    assert "CSRF" in r.get_data(as_text=True) and _day_id(app, "VN", date(2026, 8, 31))[1] is False

    # a province declares Monday 31/8/2026 a working day: its own declaration wins there only
    query = "/calendar/due?from=2026-08-28T09:00:00%2B07:00&kind=working&days=1&province={}"
    assert api.get(query.format("01"), "designer.01").get_json()["due_at"].startswith("2026-09-03T17:00")
    r = office.post("/calendar", {"scope": "01", "day": "2026-08-31", "kind": "work", "note": "tỉnh quyết định"},
                    referrer="/calendar?scope=01&year=2026", follow=True)
    assert r.status_code == 200
    assert api.get(query.format("01"), "designer.01").get_json()["due_at"].startswith("2026-08-31T17:00")
    assert api.get(query.format("19"), "designer.01").get_json()["due_at"].startswith("2026-09-03T17:00")

    office = BackOffice(app.test_client())
    office.login("admin.VN")
    page = office.text(office.get("/calendar?scope=VN&year=2026"))
    assert "chưa xác nhận" in page and "9441/TB-BNV" in page and f"/calendar/{day_id}/confirm" in page
    r = office.post(f"/calendar/{day_id}/confirm", {"scope": "VN"}, referrer="/calendar?scope=VN&year=2026",
                    follow=True)
    assert r.status_code == 200 and "Đã xác nhận ngày 31/08/2026" in office.text(r)
    assert _day_id(app, "VN", date(2026, 8, 31))[1] is True
    assert f"/calendar/{day_id}/confirm" not in office.text(office.get("/calendar?scope=VN&year=2026"))
    assert office.post("/calendar/999999/confirm", {"scope": "VN"}, referrer="/calendar").status_code == 404
    # confirming changes no due date: 31/8 stays off nationally
    assert api.get(query.format("19"), "designer.01").get_json()["due_at"].startswith("2026-09-03T17:00")
