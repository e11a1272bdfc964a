"""Supplements during processing (issue 18): no time window unless the procedure version sets one;
one request per deciding unit (in the land flow the commune and the land registration office
branch may each ask once); the citizen's tracking page lists what to bring (both backends)."""
from __future__ import annotations

from .admin_client import BackOffice
from .lifecycle_helpers import BRANCH_OFFICER, RECEPTION, accepted, action, event, shift_reception, snapshot

COMMUNE_SPECIALIST = "specialist.00454"
LAND = "1.013978"


def test_without_a_window_a_request_on_day_ten_is_accepted(app, api, api_key):
    code = accepted(api, api_key())["code"]
    shift_reception(app, code, 10)
    r = action(api, BRANCH_OFFICER, code, "request-supplement", items=["Bản vẽ sơ đồ tài sản"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 5 and body["paused"][-1]["unit"] == "01.VPDKDD.CN11"


def test_a_window_set_on_the_version_refuses_later_requests(app, api, api_key, client):
    office = BackOffice(client)
    office.login("designer.VN")
    assert office.post(f"/procedures/{LAND}/v/1/copy").status_code in (302, 303)
    versions = api.get(f"/procedures/{LAND}/versions", "designer.VN").get_json()["items"]
    draft = max(v["version"] for v in versions)
    path = f"/procedures/{LAND}/versions/{draft}/supplement-window"
    bad = api.put(path, "designer.VN", json={"supplement_window_days": 0})
    assert bad.status_code in (400, 422) and "supplement_window_days" in str(bad.get_json())
    assert api.put(path, "designer.01", json={"supplement_window_days": 3}).status_code in (403, 404)
    # the back office sets it with the deadline and fee form; the API reads it back
    v = api.get(f"/procedures/{LAND}/versions/{draft}", "designer.VN").get_json()
    assert v["supplement_window_days"] is None  # copied from v1: off
    form = {"deadline_days": str(v["deadline_days"]), "deadline_kind": v["deadline_kind"],
            "fee_kind": v["fee_rule"]["kind"], "fee_amount": str(v["fee_rule"].get("amount", "")),
            "supplement_window_days": "5"}
    assert office.post(f"/procedures/{LAND}/v/{draft}/meta", form).status_code in (302, 303)
    assert api.get(f"/procedures/{LAND}/versions/{draft}", "designer.VN").get_json()["supplement_window_days"] == 5
    assert 'name="supplement_window_days"' in office.text(office.get(f"/procedures/{LAND}/v/{draft}"))
    r = api.put(path, "designer.VN", json={"supplement_window_days": 3})
    assert r.status_code == 200 and r.get_json()["supplement_window_days"] == 3
    assert api.post(f"/procedures/{LAND}/versions/{draft}/publish", "designer.VN").status_code == 200
    assert api.put(path, "designer.VN", json={"supplement_window_days": None}).status_code == 409  # published

    code = accepted(api, api_key())["code"]
    shift_reception(app, code, 4)
    before = snapshot(app, code)
    r = action(api, BRANCH_OFFICER, code, "request-supplement", items=["Bản vẽ"])
    err = r.get_json()["error"]
    assert r.status_code == 409 and err["code"] == "supplement_too_late"
    assert err["window_days"] == 3 and err["elapsed_working_days"] == 4 and "3 ngày làm việc" in err["message"]
    assert snapshot(app, code) == before
    code = accepted(api, api_key())["code"]
    shift_reception(app, code, 2)  # within the window
    assert action(api, BRANCH_OFFICER, code, "request-supplement", items=["Bản vẽ"]).status_code == 200


def test_each_deciding_unit_may_ask_once_and_the_tracking_page_lists_the_items(app, api, api_key, client):
    key = api_key()
    code = accepted(api, key)["code"]
    # the commune asks first
    r = action(api, COMMUNE_SPECIALIST, code, "request-supplement", items=["Giấy xác nhận của tổ dân phố"],
               reason="thiếu xác nhận")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["paused"][-1]["unit"] == "00454"
    page = client.get(f"/tra-cuu?code={code}&phone=5678").get_data(as_text=True)
    assert 'id="supplement"' in page and "Giấy xác nhận của tổ dân phố" in page and "thiếu xác nhận" in page
    assert "tính lại từ ngày nhận đủ" in page
    assert client.get(f"/tra-cuu?code={code}").get_data(as_text=True).count("Giấy xác nhận") == 0  # no 2nd factor
    assert event(api, key, code, "supplement_submitted", {"note": "đã nộp"}).get_json()["status"] == 4

    # a second request by the same unit is refused and changes nothing
    before = snapshot(app, code)
    r = action(api, COMMUNE_SPECIALIST, code, "request-supplement", items=["Giấy tờ khác"])
    err = r.get_json()["error"]
    assert r.status_code == 409 and err["code"] == "supplement_already_requested" and err["unit"] == "00454"
    assert snapshot(app, code) == before

    # the land office branch holds its own step: it may still ask once
    r = action(api, BRANCH_OFFICER, code, "request-supplement", items=["Mảnh trích đo địa chính"])
    assert r.status_code == 200, r.get_json()
    page = client.get(f"/tra-cuu?code={code}&phone=5678").get_data(as_text=True)
    assert "Mảnh trích đo địa chính" in page and "Giấy xác nhận" not in page.split('id="supplement"')[1]
    assert event(api, key, code, "supplement_submitted").get_json()["status"] == 4
    r = action(api, BRANCH_OFFICER, code, "request-supplement", items=["lần hai"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "supplement_already_requested"
    # an officer of a unit taking part but holding no open step cannot ask
    r = action(api, "leader.00454", code, "request-supplement", items=["x"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] in ("supplement_no_open_step",
                                                                      "supplement_already_requested")
