"""Security review, issue 21, finding 11: start, form and event data were unbounded. Nesting of 900
levels was stored and then every completion of the dossier failed with RecursionError (500); 5,000
levels answered 500 while parsing; 500,000 keys took seconds. Data is now bounded in one place
(orchestrator/services/limits.py) and refused with 400 naming `data` and the limit, nothing saved."""
from __future__ import annotations

import json
import time

from orchestrator.extensions import db
from orchestrator.models import Dossier, WorkItem

from ..test_dossiers_api import APPLICANT, BIRTH
from ..test_plain_language import RECORD

START = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "applicant": APPLICANT}


def nested(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


def deep_body(levels: int, **outside) -> bytes:
    """A JSON body whose `data` nests `levels` objects, written as text (json.dumps itself recurses)."""
    head = json.dumps(outside)[:-1] + (", " if outside else "")
    return (head + '"data": ' + '{"x": ' * (levels - 1) + '{"leaf": 1}' + "}" * levels + "}").encode()


def post_raw(api, path, who, body: bytes):
    return api.client.post(f"/api/v1{path}", data=body, headers={**api.headers(who), "Content-Type": "application/json"})


def refused(r, code: str, limit: str):
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:500])
    error = r.get_json()["error"]
    assert error["code"] == code, error
    assert limit in error["fields"]["data"], error
    return error


def dossier_count(app) -> int:
    with app.app_context():
        return db.session.query(Dossier).count()


def test_start_data_900_levels_deep_is_refused_and_nothing_is_created(app, api, api_key):
    # Before the fix: 201, and every later completion of the dossier answered 500 (RecursionError).
    key = api_key()
    before = dossier_count(app)
    r = api.post("/dossiers", key, json={**START, "data": {**BIRTH, "extra": nested(900)}})
    refused(r, "data_too_deep", "20")
    assert dossier_count(app) == before
    # with data in bounds, the same start works and the dossier completes its step
    r = api.post("/dossiers", "reception.00070", json={**START, "data": {**BIRTH, "extra": nested(5)}})
    assert r.status_code == 201, r.get_json()
    [task] = r.get_json()["current_tasks"]
    assert api.post(f"/tasks/{task['id']}/claim", "specialist.00070").status_code == 200
    r = api.post(f"/tasks/{task['id']}/complete", "specialist.00070", json={"data": RECORD})
    assert r.status_code == 200, r.get_json()


def test_5000_levels_answer_400_not_500(app, api, api_key):
    # Before the fix: 500 (Python's json recursion while the body was parsed).
    key = api_key()
    before = dossier_count(app)
    r = post_raw(api, "/dossiers", key, deep_body(5000, **START))
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    error = r.get_json()["error"]
    assert "20" in json.dumps(error, ensure_ascii=False), error  # the limit is named
    assert dossier_count(app) == before


def test_500000_keys_are_refused_fast(app, api, api_key):
    # Before the fix: accepted after about 9 s; the count now stops at the limit.
    key = api_key()
    before = dossier_count(app)
    data = {f"k{i}": i for i in range(500_000)}
    body = json.dumps({**START, "data": data}).encode()
    app.config["MAX_CONTENT_LENGTH"] = len(body) + 1024  # the size cap alone is not what refuses it
    t0 = time.perf_counter()
    r = post_raw(api, "/dossiers", key, body)
    elapsed = time.perf_counter() - t0
    refused(r, "data_too_large", "2000")
    assert elapsed < 3, elapsed
    assert dossier_count(app) == before


def test_long_string_and_encoded_size_are_bounded(app, api, api_key):
    # Before the fix: both were accepted and stored.
    key = api_key()
    refused(api.post("/dossiers", key, json={**START, "data": {**BIRTH, "note": "a" * 10_001}}),
            "data_too_large", "10000")
    big = {f"n{i}": "ă" * 9000 for i in range(40)}  # 40 strings in bounds, 360,000 characters in all
    refused(api.post("/dossiers", key, json={**START, "data": {**BIRTH, **big}}), "data_too_large", "262144")


def test_form_data_too_deep_is_refused_and_the_step_still_completes(app, api):
    # Before the fix: the deep form data reached the engine: 500, and the dossier could not move on.
    r = api.post("/dossiers", "reception.00070", json={**START, "data": BIRTH})
    [task] = r.get_json()["current_tasks"]
    assert api.post(f"/tasks/{task['id']}/claim", "specialist.00070").status_code == 200
    r = api.post(f"/tasks/{task['id']}/complete", "specialist.00070",
                 json={"data": {**RECORD, "check_note": "ok", "extra": nested(900)}})
    refused(r, "data_too_deep", "20")
    r = post_raw(api, f"/tasks/{task['id']}/complete", "specialist.00070", deep_body(5000))
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    with app.app_context():
        assert db.session.get(WorkItem, task["id"]).state == "open"  # nothing saved
    r = api.post(f"/tasks/{task['id']}/complete", "specialist.00070", json={"data": RECORD})
    assert r.status_code == 200, r.get_json()


def test_event_data_too_deep_or_too_large_is_refused(app, api, api_key):
    # Before the fix: the event's data went to the engine and the dossier's data as sent.
    key = api_key()
    code = api.post("/dossiers", key, json={**START, "data": BIRTH}).get_json()["code"]
    path = f"/dossiers/{code}/events/withdrawn"
    refused(api.post(path, key, json={"data": nested(900)}), "data_too_deep", "20")
    refused(api.post(path, key, json={"data": {f"k{i}": i for i in range(5000)}}), "data_too_large", "2000")
    r = post_raw(api, path, key, deep_body(5000))
    assert r.status_code == 400, (r.status_code, r.get_data(as_text=True)[:300])
    with app.app_context():
        assert db.session.query(Dossier).filter_by(code=code).one().status == 1  # not withdrawn
    r = api.post(path, key, json={"data": {"reason": "Không cần nữa"}})
    assert r.status_code == 200, r.get_json()
