"""The back office for administrators (issue 4): users, calendar, units; scoped by province."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from .admin_client import BackOffice, user_id


@pytest.fixture
def office(client):
    return BackOffice(client)


def _count(app, model, *where) -> int:
    from orchestrator.extensions import db

    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
        return n


def test_admin_of_a_province_manages_only_its_users(office, app, api):
    from orchestrator.models import RoleAssignment

    office.login("admin.01")
    page = office.text(office.get("/users"))
    assert "reception.00070" in page and "designer.01" in page
    assert "reception.05443" not in page and "designer.19" not in page and "designer.VN" not in page
    assert "reception.00070" in office.text(office.get("/users?q=00070"))
    assert "designer.01" not in office.text(office.get("/users?q=00070"))
    other = user_id(app, "reception.05443")
    assert office.get(f"/users/{other}").status_code == 404
    assert office.post(f"/users/{other}/active", {"active": "0"}).status_code == 404
    assert office.post(f"/users/{other}/roles", {"role": "leader", "unit_code": "00070"}).status_code == 404
    mine = user_id(app, "reception.00070")
    before = _count(app, RoleAssignment)
    r = office.post(f"/users/{mine}/roles", {"role": "leader", "unit_code": "05443"}, referrer=f"/users/{mine}")
    assert r.status_code == 403 and _count(app, RoleAssignment) == before
    r = office.post(f"/users/{mine}/roles", {"role": "leader", "unit_code": "00454"}, referrer=f"/users/{mine}")
    assert r.status_code == 303 and _count(app, RoleAssignment) == before + 1
    # create, then deactivate: the API refuses the account at once
    r = office.post("/users", {"username": "specialist2.00070", "password": "short", "role": "specialist",
                               "unit_code": "00070"}, referrer="/users", follow=True)
    assert "ít nhất 8 ký tự" in office.text(r)
    r = office.post("/users", {"username": "specialist2.00070", "password": "long-enough-1", "full_name": "Cán bộ",
                               "role": "specialist", "unit_code": "00070"}, referrer="/users")
    assert r.status_code == 303
    new = user_id(app, "specialist2.00070")
    assert api.client.post("/api/v1/auth/token", json={"username": "specialist2.00070",
                                                       "password": "long-enough-1"}).status_code == 200
    assert office.post(f"/users/{new}/active", {"active": "0"}, referrer=f"/users/{new}").status_code == 303
    assert api.client.post("/api/v1/auth/token", json={"username": "specialist2.00070",
                                                       "password": "long-enough-1"}).status_code == 401
    assert "đã khóa" in office.text(office.get("/users?active=0"))
    assert "user.deactivate" in office.text(office.get("/audit"))


def test_national_admin_sees_everyone(office):
    office.login("admin.VN")
    page = office.text(office.get("/users"))
    assert "reception.05443" in page and "reception.00070" in page


def test_make_up_saturday_changes_the_api_due_date(office, app, api):
    from orchestrator.models import CalendarDay

    query = "/calendar/due?from=2027-03-05T08:00:00%2B07:00&kind=working&days=1&province=01"
    assert api.get(query, "designer.01").get_json()["due_at"].startswith("2027-03-08T17:00")
    office.login("admin.01")
    page = office.text(office.get("/calendar?scope=01&year=2027"))
    assert "Khai báo ngày" in page and "Tết" in page
    before = _count(app, CalendarDay)
    r = office.post("/calendar", {"scope": "19", "day": "2027-03-06", "kind": "work"}, referrer="/calendar")
    assert r.status_code == 403 and _count(app, CalendarDay) == before
    r = office.post("/calendar", {"scope": "01", "day": "not-a-date", "kind": "work"}, referrer="/calendar", follow=True)
    assert "Ngày không hợp lệ" in office.text(r) and _count(app, CalendarDay) == before
    r = office.post("/calendar", {"scope": "01", "day": "2027-03-06", "kind": "work", "note": "Làm bù"},
                    referrer="/calendar?scope=01&year=2027", follow=True)
    assert "06/03/2027" in office.text(r)
    assert api.get(query, "designer.01").get_json()["due_at"].startswith("2027-03-06T17:00")
    # Thái Nguyên is unaffected
    assert api.get(query.replace("province=01", "province=19"), "designer.01").get_json()["due_at"].startswith(
        "2027-03-08T17:00")
    from orchestrator.extensions import db

    with app.app_context():
        day_id = db.session.scalar(select(CalendarDay.id).where(CalendarDay.scope == "01"))
        db.session.remove()
    office.post(f"/calendar/{day_id}/delete", {"scope": "01", "year": "2027"}, referrer="/calendar")
    assert api.get(query, "designer.01").get_json()["due_at"].startswith("2027-03-08T17:00")


def test_units_validity_dates(office, app):
    from orchestrator.extensions import db
    from orchestrator.models import Unit

    office.login("admin.01")
    assert "00070" in office.text(office.get("/units?q=00070"))
    assert "<code>05443</code>" not in office.text(office.get("/units?q=05443"))
    assert office.post("/units/05443", {"valid_to": "2026-01-01"}).status_code == 404
    r = office.post("/units/00070", {"valid_from": "2025-07-01", "valid_to": "2025-01-01"}, referrer="/units", follow=True)
    assert "phải sau ngày bắt đầu" in office.text(r)
    assert office.post("/units/00070", {"valid_from": "2025-07-01", "valid_to": "2030-12-31"},
                       referrer="/units").status_code == 303
    with app.app_context():
        unit = db.session.get(Unit, "00070")
        assert str(unit.valid_to) == "2030-12-31"
        db.session.remove()


def test_designer_is_not_an_administrator_and_admin_is_not_a_designer(office):
    office.login("admin.01")
    assert office.get("/procedures").status_code == 403
    assert "không có vai trò" in office.text(office.get("/procedures"))
