"""Message events a diagram waits for (e.g. the tax authority's notice)."""
from __future__ import annotations

import io
from urllib.parse import quote

import pytest

from orchestrator.extensions import db
from orchestrator.models import Dossier
from orchestrator.services import events
from orchestrator.services.steps import Step
from orchestrator.services.errors import Conflict

from .diagrams import camunda_message_diagram, message_diagram, named_messages_diagram


def test_message_event_moves_the_dossier_on(app, api, api_key):
    form = {"code": "9.200001", "name": "Chờ thuế", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(message_diagram()), "m.bpmn")}
    assert api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data").status_code == 201
    assert api.post("/procedures/9.200001/versions/1/publish", "designer.01").status_code == 200
    body = api.post("/dossiers", api_key(), json={"procedure_code": "9.200001", "province_code": "01",
                                                  "commune_code": "00070", "applicant": {"full_name": "A"},
                                                  "data": {}}).get_json()
    [work] = body["current_tasks"]
    with app.app_context():
        dossier = db.session.query(Dossier).filter_by(code=body["code"]).one()
        with pytest.raises(Conflict):  # not waiting yet: the officer has not sent the file to the tax office
            events.deliver_message(Step.lock(db.session, dossier.id, "integrator:tax"), "tax_notice", {"tax_amount": 1})
        db.session.rollback()
    r = api.post(f"/tasks/{work['id']}/complete", "specialist.00070", json={"data": {"decision": "approve"}})
    assert r.status_code == 200 and r.get_json()["current_tasks"] == []
    with app.app_context():
        dossier = db.session.query(Dossier).filter_by(code=body["code"]).one()
        with pytest.raises(Conflict) as excinfo:
            events.deliver_message(Step.lock(db.session, dossier.id, "integrator:tax"), "payment", {})
        assert excinfo.value.extra["waiting_for"] == ["tax_notice"]
        db.session.rollback()
        events.deliver_message(Step.lock(db.session, dossier.id, "integrator:tax"), "tax_notice", {"tax_amount": 1250000})
        db.session.commit()
    after = api.get(f"/dossiers/{body['code']}", "leader.00070").get_json()
    assert [t["step_id"] for t in after["current_tasks"]] == ["Task_Sign"]
    assert after["data"]["tax_amount"] == 1250000
    assert any(h["action"] == "event" and h["note"] == "tax_notice" for h in after["history"])
    task = api.get(f"/tasks/{after['current_tasks'][0]['id']}", "leader.00070").get_json()
    assert task["dossier"]["data"]["tax_amount"] == 1250000


def test_throwing_messages_is_accepted(api):
    """Issue 17: a thrown message goes to what waits for it in the same dossier (tests/test_events_gateways.py)."""
    xml = message_diagram().replace(b"intermediateCatchEvent", b"intermediateThrowEvent")
    form = {"code": "9.200002", "name": "x", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(xml), "m.bpmn")}
    r = api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()


def test_events_over_http_idempotent_and_message_delivery(app, api, api_key):
    form = {"code": "9.200003", "name": "Chờ thuế", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(message_diagram()), "m.bpmn")}
    assert api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data").status_code == 201
    assert api.post("/procedures/9.200003/versions/1/publish", "designer.01").status_code == 200
    key = api_key(permissions=["dossiers:create", "dossiers:read", "events:send"])
    body = api.post("/dossiers", key, json={"procedure_code": "9.200003", "province_code": "01",
                                            "commune_code": "00070", "applicant": {"full_name": "A"},
                                            "data": {}}).get_json()
    code = body["code"]
    r = api.post(f"/dossiers/{code}/events/tax_notice", key, json={"data": {"tax_amount": 5}})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_waiting"
    [work] = body["current_tasks"]
    assert api.post(f"/tasks/{work['id']}/complete", "specialist.00070",
                    json={"data": {"decision": "approve"}}).status_code == 200
    headers = {**api.headers(key), "Idempotency-Key": "tax-2026-0001"}
    first = api.client.post(f"/api/v1/dossiers/{code}/events/tax_notice", json={"data": {"tax_amount": 5}},
                            headers=headers)
    assert first.status_code == 200, first.get_json()
    assert [t["step_id"] for t in first.get_json()["current_tasks"]] == ["Task_Sign"]
    again = api.client.post(f"/api/v1/dossiers/{code}/events/tax_notice", json={"data": {"tax_amount": 5}},
                            headers=headers)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    events = [h for h in again.get_json()["history"] if h["action"] == "event"]
    assert len(events) == 1, "the retried event took effect once"
    other = api.client.post(f"/api/v1/dossiers/{code}/events/tax_notice", json={"data": {"tax_amount": 6}},
                            headers=headers)
    assert other.status_code == 422


def _publish(api, code: str, xml: bytes, name: str = "Chờ thuế") -> None:
    form = {"code": code, "name": name, "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(xml), "m.bpmn")}
    r = api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    r = api.post(f"/procedures/{code}/versions/1/publish", "designer.01")
    assert r.status_code == 200, r.get_json()


def _start_and_work(api, key, code: str) -> str:
    """A dossier of `code` whose first step (commune/specialist) is done: it now waits for a message."""
    r = api.post("/dossiers", key, json={"procedure_code": code, "province_code": "01", "commune_code": "00070",
                                         "applicant": {"full_name": "A"}, "data": {}})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    [work] = body["current_tasks"]
    r = api.post(f"/tasks/{work['id']}/complete", "specialist.00070", json={"data": {"decision": "approve"}})
    assert r.status_code == 200 and r.get_json()["current_tasks"] == [], r.get_json()
    return body["code"]


def _event(api, key, dossier: str, name: str, body: dict, headers: dict | None = None):
    """POST /dossiers/{code}/events/{name} with the name URL-encoded as a client library would."""
    return api.client.post(f"/api/v1/dossiers/{dossier}/events/{quote(name, safe='')}", json=body,
                           headers={**api.headers(key), **(headers or {})})


def test_messages_named_with_spaces_and_in_vietnamese(api, api_key):
    _publish(api, "9.200010", named_messages_diagram("tax notice", "Thuế đã có"))
    key = api_key()
    # by URL-encoded path (%20), then by the body's `message` field
    code = _start_and_work(api, key, "9.200010")
    r = _event(api, key, code, "Thuế đã có", {"data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == ["tax notice"]
    r = api.post(f"/dossiers/{code}/events/tax%20notice", key, json={"data": {"notice_no": "TB-1"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["current_tasks"] == []
    r = api.post(f"/dossiers/{code}/events/message", key,
                 json={"message": "Thuế đã có", "data": {"tax_amount": 1250000}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert [t["step_id"] for t in after["current_tasks"]] == ["Task_Sign"]
    assert after["data"]["notice_no"] == "TB-1" and after["data"]["tax_amount"] == 1250000
    assert [h["note"] for h in after["history"] if h["action"] == "event"] == ["tax notice", "Thuế đã có"]

    # the other way round: by the body field, then Vietnamese UTF-8 URL-encoded in the path
    code = _start_and_work(api, key, "9.200010")
    r = api.post(f"/dossiers/{code}/events/message", key, json={"message": "tax notice", "data": {}})
    assert r.status_code == 200, r.get_json()
    assert quote("Thuế đã có", safe="") == "Thu%E1%BA%BF%20%C4%91%C3%A3%20c%C3%B3"
    r = api.post(f"/dossiers/{code}/events/Thu%E1%BA%BF%20%C4%91%C3%A3%20c%C3%B3", key, json={"data": {}})
    assert r.status_code == 200, r.get_json()
    assert [t["step_id"] for t in r.get_json()["current_tasks"]] == ["Task_Sign"]

    # built-in names keep their meaning, by path or by body field
    code = _start_and_work(api, key, "9.200010")
    r = api.post(f"/dossiers/{code}/events/message", key, json={"message": "withdrawn", "data": {"reason": "x"}})
    assert r.status_code == 200 and r.get_json()["status"] == 7, r.get_json()


def test_message_by_body_field_is_idempotent(api, api_key):
    _publish(api, "9.200011", named_messages_diagram("tax notice", "Thuế đã có"))
    key = api_key()
    code = _start_and_work(api, key, "9.200011")
    headers = {"Idempotency-Key": "thue-2026-0001"}
    first = _event(api, key, code, "message", {"message": "tax notice", "data": {"n": 1}}, headers)
    assert first.status_code == 200, first.get_json()
    again = _event(api, key, code, "message", {"message": "tax notice", "data": {"n": 1}}, headers)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert len([h for h in again.get_json()["history"] if h["action"] == "event"]) == 1
    other = _event(api, key, code, "message", {"message": "Thuế đã có", "data": {"n": 1}}, headers)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    # a URL-encoded Vietnamese name with a key of its own
    r = _event(api, key, code, "Thuế đã có", {"data": {}}, {"Idempotency-Key": "thue-2026-0002"})
    assert r.status_code == 200, r.get_json()
    r = _event(api, key, code, "Thuế đã có", {"data": {}}, {"Idempotency-Key": "thue-2026-0002"})
    assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true"


def test_bad_message_names_are_400_naming_the_field(api, api_key):
    _publish(api, "9.200012", named_messages_diagram("tax notice", "Thuế đã có"))
    key = api_key()
    code = _start_and_work(api, key, "9.200012")
    for path in ("tax%0Anotice", "tax%09notice", "tax%7Fnotice", quote("tax\u0085notice", safe=""), "x" * 201):
        r = api.post(f"/dossiers/{code}/events/{path}", key, json={"data": {}})
        assert r.status_code == 400, (path, r.get_json())
        assert "name" in r.get_json()["error"]["fields"], r.get_json()
    for message in ("tax\nnotice", "tax\u0007notice", "x" * 201, ""):
        r = api.post(f"/dossiers/{code}/events/message", key, json={"message": message, "data": {}})
        assert r.status_code == 400, (message, r.get_json())
        assert "message" in r.get_json()["error"]["fields"], r.get_json()
    r = api.post(f"/dossiers/{code}/events/tax%20notice", key, json={"message": "Thuế đã có", "data": {}})
    assert r.status_code == 400 and "message" in r.get_json()["error"]["fields"]
    r = api.post(f"/dossiers/{code}/events/{'x' * 200}", key, json={"data": {}})  # 200 is fine: not awaited
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_waiting"
    r = api.post(f"/dossiers/{code}/events/tax%20notice", key, json={"data": {}})
    assert r.status_code == 200, r.get_json()


def test_camunda_message_wait_publishes_and_runs(api, api_key):
    _publish(api, "9.200013", camunda_message_diagram("Thông báo thuế"), name="Chờ thuế (Camunda)")
    versions = api.get("/procedures/9.200013/versions", "designer.01").get_json()["items"]
    assert versions[0]["dialect"] == "camunda" and versions[0]["messages"] == ["Thông báo thuế"]
    key = api_key()
    code = _start_and_work(api, key, "9.200013")
    r = _event(api, key, code, "Thông báo thuế", {"data": {"tax_amount": 980000}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert not after["incident"] and [t["step_id"] for t in after["current_tasks"]] == ["Task_Sign"]
    assert after["data"]["tax_amount"] == 980000
    task = api.get(f"/tasks/{after['current_tasks'][0]['id']}", "leader.00070").get_json()
    assert task["dossier"]["data"]["tax_amount"] == 980000
    # and by the body field on a second dossier
    code = _start_and_work(api, key, "9.200013")
    r = api.post(f"/dossiers/{code}/events/message", key, json={"message": "Thông báo thuế", "data": {}})
    assert r.status_code == 200 and [t["step_id"] for t in r.get_json()["current_tasks"]] == ["Task_Sign"]


def test_engine_failure_while_delivering_is_an_incident_not_a_500(api, api_key, monkeypatch):
    from orchestrator.engine import runner

    _publish(api, "9.200014", camunda_message_diagram("Thông báo thuế"))
    key = api_key()
    code = _start_and_work(api, key, "9.200014")

    def broken(*_args, **_kwargs):
        raise KeyError("payload")  # what Camunda's definition raised before the payload was wrapped

    monkeypatch.setattr(runner, "BpmnEvent", broken)
    r = _event(api, key, code, "Thông báo thuế", {"data": {}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["incident"] is True and "Wait_Tax" in body["incident_message"]
    assert any(h["action"] == "incident" for h in body["history"])


def test_procedure_lists_the_messages_it_waits_for(api, api_key):
    _publish(api, "9.200015", named_messages_diagram("tax notice", "Thuế đã có"), name="Chờ thuế hai lần")
    r = api.get("/procedures/9.200015?province=01", api_key(permissions=["dossiers:read"]))
    assert r.status_code == 200, r.get_json()
    # (also `events`, `channels`, `start_schema`: tests/test_procedure_discovery.py)
    assert {k: v for k, v in r.get_json().items() if k not in ("events", "channels", "start_schema")} == {
        "code": "9.200015", "name": "Chờ thuế hai lần", "name_en": None, "field": None,
        "version": 1, "scope": "01", "deadline_days": 5, "deadline_kind": "working",
        "messages": ["tax notice", "Thuế đã có"]}
    # only a Hà Nội variant: no national template in force, nor elsewhere
    for path in ("/procedures/9.200015", "/procedures/9.200015?province=19"):
        r = api.get(path, "designer.01")
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_in_force", r.get_json()
    r = api.get("/procedures/9.999999", "designer.01")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert api.get("/procedures/9.200015?province=01").status_code == 401
    assert api.get("/procedures/9.200015?province=X", "designer.01").status_code == 400
    # a shipped national template: no message waits; the version in force for a province
    offered = api.get("/procedures?province=01", "designer.01").get_json()["items"][0]
    r = api.get(f"/procedures/{offered['code']}?province=01", "designer.01").get_json()
    assert (r["version"], r["scope"], r["messages"]) == (offered["version"], offered["scope"], [])
    assert api.get("/procedures/9.200015/versions/1", "designer.01").get_json()["messages"] == \
        ["tax notice", "Thuế đã có"]
