"""Units, the due-date computation, declared days, tokens and the error format."""
from __future__ import annotations

import io

from .diagrams import HEADER


def test_units_listing_and_search(api):
    r = api.get("/units?level=province&per_page=100", "reception.00070")
    assert r.status_code == 200 and r.get_json()["total"] == 34
    assert api.get("/units?level=commune", "reception.00070").get_json()["total"] == 3321
    assert api.get("/units?level=commune&parent=01", "reception.00070").get_json()["total"] == 126
    assert api.get("/units?level=commune&parent=19", "reception.00070").get_json()["total"] == 92
    items = api.get("/units?q=hoàn kiếm&level=commune", "reception.00070").get_json()["items"]
    assert [u["code"] for u in items] == ["00070"]
    branches = api.get("/units?parent=01.VPDKDD", "reception.00070").get_json()["items"]
    assert branches and all(u["level"] == "department" for u in branches)
    assert api.get("/units?level=village", "reception.00070").status_code == 400
    huge = api.get(f"/units?page={10 ** 18}", "reception.00070")  # an offset no database takes
    assert huge.status_code == 400 and "page" in huge.get_json()["error"]["fields"]
    assert api.get("/units").status_code == 401


def test_due_date_rules_over_http(api):
    def due(**q):
        r = api.get("/calendar/due", "reception.00070", query_string=q)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["due_at"]

    # Friday 2026-11-20 10:00, 3 working days: Mon 23, Tue 24 is Vietnam Culture Day, Wed 25, Thu 26.
    assert due(**{"from": "2026-11-20T10:00:00+07:00", "kind": "working", "days": 3}) == "2026-11-26T17:00:00+07:00"
    # Same-day: before 15:00 the same day, after 15:00 the next working day.
    assert due(**{"from": "2026-11-26T14:59:00+07:00", "kind": "same-day"}) == "2026-11-26T17:00:00+07:00"
    assert due(**{"from": "2026-11-27T15:30:00+07:00", "kind": "same-day"}) == "2026-11-30T17:00:00+07:00"
    # Calendar days ending on a Sunday end on Monday (Civil Code Art. 148).
    assert due(**{"from": "2026-11-20T09:00:00+07:00", "kind": "calendar", "days": 9}) == "2026-11-30T17:00:00+07:00"
    r = api.get("/calendar/due", "reception.00070", query_string={"from": "yesterday", "kind": "working", "days": -1})
    assert r.status_code == 400 and {"from", "days"} <= set(r.get_json()["error"]["fields"])
    assert api.get("/calendar/due", "reception.00070",
                   query_string={"from": "2026-11-20T09:00:00+07:00", "kind": "working"}).status_code == 400


def test_administrator_declares_days_off_and_make_up_days(api):
    q = {"from": "2026-12-03T09:00:00+07:00", "kind": "working", "days": 1, "province": "01"}
    assert api.get("/calendar/due", "reception.00070", query_string=q).get_json()["due_at"].startswith("2026-12-04")
    r = api.post("/calendar/days", "reception.00070", json={"date": "2026-12-04", "kind": "off", "scope": "01"})
    assert r.status_code == 403
    r = api.post("/calendar/days", "admin.01", json={"date": "2026-12-04", "kind": "off", "scope": "01",
                                                    "note": "Nghỉ bù"})
    assert r.status_code == 201, r.get_json()
    assert api.get("/calendar/due", "reception.00070", query_string=q).get_json()["due_at"].startswith("2026-12-07")
    # A make-up Saturday counts as a working day; Thái Nguyên is not affected by Hà Nội's day off.
    assert api.post("/calendar/days", "admin.VN", json={"date": "2026-12-05", "kind": "work"}).status_code == 201
    assert api.get("/calendar/due", "reception.00070", query_string=q).get_json()["due_at"].startswith("2026-12-05")
    q["province"] = "19"
    assert api.get("/calendar/due", "reception.00070", query_string=q).get_json()["due_at"].startswith("2026-12-04")
    assert api.post("/calendar/days", "admin.19", json={"date": "2026-12-04", "kind": "off", "scope": "01"}).status_code == 403
    assert api.post("/calendar/days", "admin.01", json={"date": "someday", "kind": "maybe"}).status_code == 400
    days = api.get("/calendar/days?scope=01&year=2026", "admin.01").get_json()["items"]
    assert [{k: v for k, v in d.items() if k != "id"} for d in days] == [
        {"date": "2026-12-04", "kind": "off", "scope": "01", "note": "Nghỉ bù", "confirmed": True}]


def test_tokens_and_error_format(api, client):
    r = client.post("/api/v1/auth/token", json={"username": "reception.00070", "password": "wrong"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthenticated"
    r = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={})
    assert r.status_code == 400 and {"username", "password"} <= set(r.get_json()["error"]["fields"])
    r = client.get("/api/v1/tasks", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and set(r.get_json()["error"]) >= {"code", "message", "fields", "problems"}
    assert client.delete("/api/v1/dossiers").status_code == 405


def test_reserved_engine_ids_are_refused(api):
    xml = (HEADER + '<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="Start"/></bpmn:process>'
           '</bpmn:definitions>').encode()
    r = api.post("/procedures", "designer.VN", content_type="multipart/form-data",
                 data={"code": "9.000009", "name": "x", "scope": "national", "deadline_kind": "same-day",
                       "file": (io.BytesIO(xml), "x.bpmn")})
    assert r.status_code == 422
    assert r.get_json()["error"]["problems"][0]["element_id"] == "Start"
