"""Message events a diagram waits for (e.g. the tax authority's notice)."""
from __future__ import annotations

import io

import pytest

from orchestrator.extensions import db
from orchestrator.models import Dossier
from orchestrator.services import events
from orchestrator.services.errors import Conflict

from .diagrams import message_diagram


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
            events.deliver_message(db.session, "integrator:tax", dossier, "tax_notice", {"tax_amount": 1})
        db.session.rollback()
    r = api.post(f"/tasks/{work['id']}/complete", "specialist.00070", json={"data": {"decision": "approve"}})
    assert r.status_code == 200 and r.get_json()["current_tasks"] == []
    with app.app_context():
        dossier = db.session.query(Dossier).filter_by(code=body["code"]).one()
        with pytest.raises(Conflict) as excinfo:
            events.deliver_message(db.session, "integrator:tax", dossier, "payment", {})
        assert excinfo.value.extra["waiting_for"] == ["tax_notice"]
        db.session.rollback()
        events.deliver_message(db.session, "integrator:tax", dossier, "tax_notice", {"tax_amount": 1250000})
        db.session.commit()
    after = api.get(f"/dossiers/{body['code']}", "leader.00070").get_json()
    assert [t["step_id"] for t in after["current_tasks"]] == ["Task_Sign"]
    assert after["data"]["tax_amount"] == 1250000
    assert any(h["action"] == "event" and h["note"] == "tax_notice" for h in after["history"])
    task = api.get(f"/tasks/{after['current_tasks'][0]['id']}", "leader.00070").get_json()
    assert task["dossier"]["data"]["tax_amount"] == 1250000


def test_throwing_messages_is_refused(api):
    xml = message_diagram().replace(b"intermediateCatchEvent", b"intermediateThrowEvent")
    form = {"code": "9.200002", "name": "x", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(xml), "m.bpmn")}
    r = api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["error"]["problems"][0]["element_id"] == "Wait_Tax"


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
