"""Money, times and sync for integrators (issue 20, point 6 and the paging half of 11): the fee as
a typed `payment`, every time answered with +07:00, naive times refused, `updated_at` as a sync
watermark, opaque cursors on GET /dossiers and GET /tasks, page/per_page deprecated."""
from __future__ import annotations

import re

from .lifecycle_helpers import BRANCH_OFFICER, RECEPTION, accepted, action, event, start_online

ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def times(value, path="$"):
    """Every ISO 8601 time in an answer, with where it is."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from times(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            yield from times(inner, f"{path}[{n}]")
    elif isinstance(value, str) and ISO_TIME.match(value):
        yield path, value


def test_payment_is_typed_null_before_status_6_and_paid_after(api, api_key):
    key = api_key()
    code = accepted(api, key)["code"]
    assert api.get(f"/dossiers/{code}", key).get_json()["payment"] is None
    r = action(api, BRANCH_OFFICER, code, "request-payment", amount=100000)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 6 and body["paused"][-1]["amount"] == 100000  # kept for compatibility
    payment = body["payment"]
    assert payment == {"amount": 100000, "currency": "VND", "requested_at": payment["requested_at"],
                       "paid_at": None, "receipt_number": None}
    assert payment["requested_at"].endswith("+07:00")
    listed = api.get("/dossiers", key).get_json()["items"]
    assert next(d for d in listed if d["code"] == code)["payment"]["amount"] == 100000
    r = event(api, key, code, "payment_received", {"receipt_number": "BL-001"})
    assert r.status_code == 200, r.get_json()
    paid = api.get(f"/dossiers/{code}", key).get_json()["payment"]
    assert paid["amount"] == 100000 and paid["receipt_number"] == "BL-001"
    assert paid["paid_at"].endswith("+07:00") and paid["paid_at"] >= paid["requested_at"]


def test_every_time_in_the_main_answers_has_the_vietnam_offset(api, api_key):
    key = api_key()
    supplement = start_online(api, key)["code"]
    assert action(api, RECEPTION, supplement, "request-supplement", items=["Bản sao sổ đỏ"]).status_code == 200
    code = accepted(api, key)["code"]
    assert action(api, BRANCH_OFFICER, code, "request-payment", amount=5000).status_code == 200
    assert event(api, key, code, "payment_received", {"receipt_number": "BL-2"}).status_code == 200
    detail = api.get(f"/dossiers/{code}", key).get_json()
    inbox = api.get("/tasks?limit=50", BRANCH_OFFICER).get_json()
    answers = [detail, api.get(f"/dossiers/{supplement}", key).get_json(),
               api.get("/dossiers", key).get_json(), api.get("/dossiers", BRANCH_OFFICER).get_json(), inbox,
               api.get(f"/tasks/{inbox['items'][0]['id']}", BRANCH_OFFICER).get_json(),
               api.get(f"/public/dossiers/{code}").get_json()]
    found = [t for answer in answers for t in times(answer)]
    # the pauses (supplement and payment), the payment and updated_at are among them
    paths = {p.rsplit(".", 1)[-1] for p, _ in found}
    assert {"from", "to", "requested_at", "paid_at", "updated_at", "due_at", "received_at"} <= paths
    assert [(p, v) for p, v in found if not v.endswith("+07:00")] == []


def test_a_time_without_offset_is_refused_naming_the_field(api, api_key):
    key = api_key()
    for field in ("updated_since", "received_from", "received_to"):
        r = api.get("/dossiers", key, query_string={field: "2026-11-30T10:00:00"})
        assert r.status_code == 400 and field in r.get_json()["error"]["fields"], r.get_json()
        assert api.get("/dossiers", key, query_string={field: "2026-11-30T10:00:00+07:00"}).status_code == 200
        assert api.get("/dossiers", key, query_string={field: "2026-11-30T03:00:00Z"}).status_code == 200
    r = api.get("/calendar/due", RECEPTION, query_string={"from": "2026-11-20T10:00:00", "kind": "working", "days": 3})
    assert r.status_code == 400 and "from" in r.get_json()["error"]["fields"]


def test_updated_at_moves_with_a_step_and_updated_since_finds_exactly_the_changed(api, api_key):
    key = api_key()
    changed, untouched = start_online(api, key), start_online(api, key)
    before = changed["updated_at"]
    listed = {d["code"]: d["updated_at"] for d in api.get("/dossiers", key).get_json()["items"]}
    assert listed[changed["code"]] == before and listed[untouched["code"]] == untouched["updated_at"]
    after = accepted_from(api, changed)
    assert after["updated_at"] > before and api.get(f"/dossiers/{changed['code']}", key).get_json()["updated_at"] \
        == after["updated_at"]
    synced = api.get("/dossiers", key, query_string={"updated_since": after["updated_at"]}).get_json()["items"]
    assert [d["code"] for d in synced] == [changed["code"]]
    assert changed["code"] in {d["code"] for d in api.get("/dossiers", key, query_string={
        "updated_since": before}).get_json()["items"]}


def accepted_from(api, body: dict) -> dict:
    task = next(t for t in body["current_tasks"] if t["step_id"] == "Task_Reception")
    from .test_land_e2e import STEP_DATA

    r = api.post(f"/tasks/{task['id']}/complete", RECEPTION, json={"data": STEP_DATA["Task_Reception"]})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_dossier_cursor_is_opaque_round_trips_and_refuses_tampering(api, api_key):
    key = api_key()
    codes = [start_online(api, key)["code"] for _ in range(3)]
    first = api.get("/dossiers?limit=2", key).get_json()
    cursor = first["next_cursor"]
    assert [d["code"] for d in first["items"]] == codes[:2]
    assert not cursor.isdigit() and re.fullmatch(r"[A-Za-z0-9_.-]+", cursor)
    rest = api.get("/dossiers", key, query_string={"limit": 2, "cursor": cursor}).get_json()
    assert [d["code"] for d in rest["items"]] == codes[2:] and rest["next_cursor"] is None
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for bad, sort in ((tampered, "id"), ("7", "id"), (cursor, "code")):
        r = api.get("/dossiers", key, query_string={"limit": 2, "cursor": bad, "sort": sort})
        assert r.status_code == 400 and "cursor" in r.get_json()["error"]["fields"], (bad, r.get_json())
    by_code = api.get("/dossiers?limit=2&sort=-code", key).get_json()
    again = api.get("/dossiers", key, query_string={"limit": 2, "sort": "-code", "cursor": by_code["next_cursor"]})
    assert [d["code"] for d in by_code["items"] + again.get_json()["items"]] == sorted(codes, reverse=True)


def test_tasks_page_by_cursor_without_repeats_and_page_per_page_is_deprecated(api, api_key):
    key = api_key()
    for _ in range(3):
        start_online(api, key)
    old = api.get("/tasks?per_page=200", RECEPTION)
    assert old.status_code == 200 and old.headers.get("Deprecation", "").startswith("@")
    everything = [t["id"] for t in old.get_json()["items"]]
    assert len(everything) >= 3 == len(set(everything[:3]))
    second_page = api.get("/tasks?page=2&per_page=1", RECEPTION)
    assert second_page.headers.get("Deprecation")
    assert [t["id"] for t in second_page.get_json()["items"]] == everything[1:2]

    seen, cursor = [], None
    while True:
        r = api.get("/tasks", RECEPTION, query_string={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200 and "Deprecation" not in r.headers, r.get_json()
        body = r.get_json()
        seen += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert not cursor.isdigit()
    assert seen == everything and len(set(seen)) == len(seen)
    available = api.get("/tasks?limit=1", RECEPTION).get_json()["next_cursor"]
    for query in ({"cursor": "nope"}, {"cursor": available, "view": "mine"}, {"page": 1, "limit": 5}):
        r = api.get("/tasks", RECEPTION, query_string=query)
        assert r.status_code == 400 and "cursor" in r.get_json()["error"]["fields"], (query, r.get_json())


def test_the_document_marks_page_and_per_page_deprecated_and_declares_the_new_fields(api):
    spec = api.get("/openapi.json").get_json()
    params = {p["name"]: p for p in spec["paths"]["/api/v1/tasks"]["get"]["parameters"]}
    assert params["page"].get("deprecated") is True and params["per_page"].get("deprecated") is True
    assert "cursor" in params and "limit" in params and not params["cursor"].get("deprecated")
    schemas = spec["components"]["schemas"]
    dossier = next(s for name, s in schemas.items()
                   if name.startswith("Dossier") and "payment" in s.get("properties", {}))
    assert "updated_at" in dossier["properties"]
    assert "next_cursor" in next(s for n, s in schemas.items() if n.startswith("TaskList"))["properties"]
