"""A province's own office hours and same-day cut-off (docs/domain.md "Deadlines"): they move the
due time of the legal deadline, step deadlines in office hours and the same-day rule of that
province only; administrators set them for their own scope, through the API or the back office.

Times are Asia/Ho_Chi_Minh. Wednesday 25/11/2026 is a plain working day (24/11, Culture Day, is
the day before); Thursday 26/11 is the next one.
"""
from __future__ import annotations

import io
from datetime import datetime, time, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrator.engine import edit
from orchestrator.extensions import db
from orchestrator.models import AuditEvent
from orchestrator.services.calendar import TZ, OfficeHours, WorkingCalendar
from orchestrator.services.deadlines import calendar_for

from .admin_client import BackOffice
from .test_dossiers_api import start

HANOI_HOURS = {"morning_start": "07:00", "morning_end": "11:00", "afternoon_start": "13:30",
               "afternoon_end": "17:30", "same_day_cutoff": "16:00"}


def at(hh: int, mm: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


@pytest.fixture
def clock(monkeypatch):
    """The service clock (what `utcnow()` answers when a dossier is started) set to a local time."""
    def set_to(local: datetime) -> None:
        fixed = local.astimezone(timezone.utc)
        monkeypatch.setattr("orchestrator.services.dossiers.utcnow", lambda: fixed)
        monkeypatch.setattr("orchestrator.services.steps.utcnow", lambda: fixed)
    return set_to


def set_hours(api, who: str, province: str, **changes):
    return api.put("/calendar/office-hours", who, json={"scope": province, **HANOI_HOURS, **changes})


# -- the calendar itself -------------------------------------------------------------------------


def test_calendar_uses_its_hours_for_due_time_same_day_and_office_hours() -> None:
    own = WorkingCalendar(hours=OfficeHours(time(7), time(11), time(13, 30), time(17, 30), time(16)))
    national = WorkingCalendar()
    assert own.due_at(at(15, 30), "same-day") == at(17, 30)            # before 16:00: today, 17:30
    assert national.due_at(at(15, 30), "same-day") == at(17, 0, day=26)  # at/after 15:00: next day
    assert own.due_at(at(16, 0), "same-day") == at(17, 30, day=26)       # the cut-off itself is "after"
    assert own.due_at(at(9), "working", 1) == at(17, 30, day=26)
    # 10:30 + 2 office hours: 10:30–11:00, then 13:30–15:00 (national: 10:30–11:30, 13:00–14:00)
    assert own.add_office_hours(at(10, 30), 2) == at(15, 0)
    assert national.add_office_hours(at(10, 30), 2) == at(14, 0)
    assert own.office_hours_between(at(10, 30), at(15, 0)) == 2
    assert own.office_hours_between(at(11), at(13, 30)) == 0  # the lunch break of that province


@pytest.mark.parametrize("changes, field", [
    ({"morning_end": time(7, 0)}, "morning_end"),                  # not after morning_start
    ({"afternoon_start": time(11, 0)}, "afternoon_start"),         # before morning_end
    ({"afternoon_end": time(13, 0)}, "afternoon_end"),             # not after afternoon_start
    ({"same_day_cutoff": time(12, 0)}, "same_day_cutoff"),         # in the lunch break
    ({"same_day_cutoff": time(18, 0)}, "same_day_cutoff"),         # after closing
    ({"morning_start": time(7, 30, 15)}, "morning_start"),         # not a whole minute
])
def test_inconsistent_hours_are_refused_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        OfficeHours(**changes)


# -- through the services ------------------------------------------------------------------------


def test_a_provinces_cut_off_decides_same_day_dossiers_there_only(app, api, clock) -> None:
    assert set_hours(api, "admin.01", "01").status_code == 200
    clock(at(15, 30))
    # Hà Nội (cut-off 16:00): a birth registration received at 15:30 is due today, at its closing time
    r = start(api, "reception.00070")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["received_at"].startswith("2026-11-25T15:30")
    assert r.get_json()["due_at"] == "2026-11-25T17:30:00+07:00"
    # Bắc Ninh keeps the national 15:00: the same dossier at the same time is due the next working day
    r = start(api, "reception.05443", province="19", commune="05443")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["due_at"] == "2026-11-26T17:00:00+07:00"
    # and at 16:00 Hà Nội's dossier goes to the next working day too
    clock(at(16, 0))
    assert start(api, "reception.00070").get_json()["due_at"] == "2026-11-26T17:30:00+07:00"


def test_a_provinces_hours_move_a_step_deadline_in_office_hours(app, api, clock) -> None:
    birth = (Path(__file__).resolve().parents[1] / "bpmn" / "national" / "1.001193.bpmn").read_bytes()
    xml = edit.set_step_deadline(birth, "Process_DangKyKhaiSinh", "Task_Record", "spiff", hours=2)
    form = {"code": "9.300001", "name": "Khai sinh (bước ghi sổ 2 giờ)", "scope": "01",
            "deadline_kind": "same-day", "file": (io.BytesIO(xml), "ks.bpmn")}
    r = api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    assert api.post("/procedures/9.300001/versions/1/publish", "designer.01").status_code == 200

    clock(at(10, 30))
    national = start(api, "reception.00070", procedure="9.300001").get_json()
    [record] = national["current_tasks"]
    assert record["step_id"] == "Task_Record"
    assert record["due_at"] == "2026-11-25T14:00:00+07:00"  # 10:30–11:30, 13:00–14:00
    assert national["due_at"] == "2026-11-25T17:00:00+07:00"

    assert set_hours(api, "admin.01", "01").status_code == 200
    own = start(api, "reception.00070", procedure="9.300001").get_json()
    [record] = own["current_tasks"]
    assert record["due_at"] == "2026-11-25T15:00:00+07:00"  # 10:30–11:00, 13:30–15:00
    assert own["due_at"] == "2026-11-25T17:30:00+07:00"      # the legal deadline at Hà Nội's closing time


def test_province_falls_back_to_the_countrys_hours_then_the_defaults(app, api) -> None:
    r = api.get("/calendar/office-hours?province=01", "specialist.00070")
    assert r.status_code == 200
    assert r.get_json() == {"scope": "01", "morning_start": "07:30", "morning_end": "11:30",
                            "afternoon_start": "13:00", "afternoon_end": "17:00", "same_day_cutoff": "15:00",
                            "source": "default"}
    assert set_hours(api, "admin.VN", "VN", same_day_cutoff="15:30").status_code == 200
    body = api.get("/calendar/office-hours?province=19", "specialist.00070").get_json()
    assert (body["source"], body["same_day_cutoff"], body["morning_start"]) == ("VN", "15:30", "07:00")
    assert set_hours(api, "admin.01", "01", morning_start="08:00").status_code == 200
    body = api.get("/calendar/office-hours?province=01", "specialist.00070").get_json()
    assert (body["source"], body["morning_start"], body["same_day_cutoff"]) == ("01", "08:00", "16:00")
    assert api.get("/calendar/office-hours?province=19", "specialist.00070").get_json()["source"] == "VN"
    with app.app_context():
        assert calendar_for(db.session, "01").hours.morning_start == time(8, 0)
        assert calendar_for(db.session, "19").hours.same_day_cutoff == time(15, 30)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.office_hours")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.actor, e.unit_code) for e in events] == [("admin.VN", "VN"), ("admin.01", "01")]
        assert "cut-off 16:00" in events[-1].note
    assert api.get("/calendar/office-hours?province=99", "specialist.00070").status_code == 400
    assert api.get("/calendar/office-hours?province=01").status_code == 401


# -- the API -------------------------------------------------------------------------------------


def test_invalid_hours_are_refused_over_the_api_naming_the_field(app, api) -> None:
    r = set_hours(api, "admin.01", "01", afternoon_start="10:30")
    assert r.status_code == 400
    assert "afternoon_start" in r.get_json()["error"]["fields"]
    r = set_hours(api, "admin.01", "01", same_day_cutoff="12:00")
    assert r.status_code == 400 and "same_day_cutoff" in r.get_json()["error"]["fields"]
    r = set_hours(api, "admin.01", "01", morning_start="7h30")
    assert r.status_code == 400 and "morning_start" in r.get_json()["error"]["fields"]
    r = api.put("/calendar/office-hours", "admin.01", json={"scope": "01", "morning_start": "07:30"})
    assert r.status_code == 400 and "morning_end" in r.get_json()["error"]["fields"]  # all five are required
    assert api.get("/calendar/office-hours?province=01", "admin.01").get_json()["source"] == "default"


def test_only_the_provinces_administrators_set_its_hours(app, api) -> None:
    assert set_hours(api, "designer.01", "01").status_code == 403
    assert set_hours(api, "reception.00070", "01").status_code == 403
    assert set_hours(api, "admin.19", "01").status_code == 403   # another province's administrator
    assert set_hours(api, "admin.01", "VN").status_code == 403   # nor the country's
    assert set_hours(api, None, "01").status_code == 401
    assert api.get("/calendar/office-hours?province=01", "admin.01").get_json()["source"] == "default"
    assert set_hours(api, "admin.VN", "01").status_code == 200  # the country's administrators may


def test_calendar_days_show_confirmed_until_an_administrator_confirms(app, api) -> None:
    def aug_31() -> dict:
        body = api.get("/calendar/days?scope=VN&year=2026", "specialist.00070").get_json()
        assert body["office_hours"]["scope"] == "VN" and body["office_hours"]["afternoon_end"] == "17:00"
        return next(d for d in body["items"] if d["date"] == "2026-08-31")

    day = aug_31()
    assert day["confirmed"] is False and day["kind"] == "off"  # shipped as reported, not yet confirmed
    office = BackOffice(app.test_client())
    office.login("admin.VN")
    r = office.post(f"/calendar/{day['id']}/confirm", {"scope": "VN"}, referrer="/calendar?scope=VN&year=2026")
    assert r.status_code == 303
    assert aug_31()["confirmed"] is True
    jan_2 = next(d for d in api.get("/calendar/days?scope=VN&year=2026", "admin.01").get_json()["items"]
                 if d["date"] == "2026-01-02")
    assert jan_2["confirmed"] is True


# -- the back office -----------------------------------------------------------------------------


def test_administrator_sets_its_provinces_hours_on_the_calendar_page(app, client, api) -> None:
    office = BackOffice(client)
    office.login("admin.01")
    page = office.text(office.get("/calendar?scope=01&year=2026"))
    assert "Giờ làm việc" in page and 'name="same_day_cutoff"' in page and 'value="15:00"' in page
    assert "mặc định toàn quốc" in page

    # an inconsistent form: refused with a message naming the field, nothing saved
    bad = {"scope": "01", **HANOI_HOURS, "same_day_cutoff": "18:00"}
    r = office.post("/calendar/office-hours", bad, referrer="/calendar?scope=01&year=2026", follow=True)
    text = office.text(r)
    assert r.status_code == 200 and "Giờ làm việc không hợp lệ" in text and "phải nằm trong giờ làm việc" in text
    assert api.get("/calendar/office-hours?province=01", "admin.01").get_json()["source"] == "default"

    r = office.post("/calendar/office-hours", {"scope": "01", "year": "2026", **HANOI_HOURS},
                    referrer="/calendar?scope=01&year=2026", follow=True)
    text = office.text(r)
    assert r.status_code == 200 and "Đã lưu giờ làm việc." in text
    assert 'value="16:00"' in text and 'value="17:30"' in text and "riêng của phạm vi này" in text
    assert api.get("/calendar/office-hours?province=01", "admin.01").get_json()["same_day_cutoff"] == "16:00"
    # the legal due time follows at once (the cached calendar was forgotten)
    due = api.get("/calendar/due?from=2026-11-25T15:30:00%2B07:00&kind=same-day&province=01", "admin.01")
    assert due.get_json()["due_at"] == "2026-11-25T17:30:00+07:00"

    # another province's administrator cannot set Hà Nội's hours from the page either
    other = BackOffice(app.test_client())
    other.login("admin.19")
    r = other.post("/calendar/office-hours", {"scope": "01", **HANOI_HOURS, "same_day_cutoff": "15:00"},
                   referrer="/calendar?scope=19")
    assert r.status_code == 403
    assert api.get("/calendar/office-hours?province=01", "admin.01").get_json()["same_day_cutoff"] == "16:00"
