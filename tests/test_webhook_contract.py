"""The webhook contract (docs/api.md, "Webhooks"): a real receiver on 127.0.0.1 gets, for each
dossier, every change in order (FIFO per subscription and dossier, retries included) with the
dossier as of that change and a gap-free `sequence`; `dossier.event` for every event sent; each
integrator reads its own delivery log and asks for a delivery again."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from orchestrator.extensions import db
from orchestrator.models import Job
from orchestrator.models.types import utcnow
from orchestrator.worker import Worker

from .http_sink import Sink
from .lifecycle_helpers import BRANCH_OFFICER, RECEPTION, accepted, action, complete, event, paid_at_once, start_online
from .test_dossiers_api import start as start_birth
from .test_integrations import verify


@pytest.fixture
def sink(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    s = Sink()
    yield s
    s.close()


def subscribe(api, key, url, types=("*",)) -> dict:
    r = api.post("/webhooks", key, json={"url": url, "event_types": list(types)})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def deliver_all(app, rounds=8):
    """Run the worker until nothing is left, skipping the retries' backoff waits."""
    worker = Worker(app, name="w-webhooks")
    for _ in range(rounds):
        worker.run_until_idle()
        with app.app_context():
            db.session.query(Job).filter(Job.state == "queued").update({"run_at": utcnow()})
            db.session.commit()


def _ok(r):
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def of(sink, code) -> list[dict]:
    return [m["json"] for m in sink.received if m["json"]["dossier"]["code"] == code]


def test_a_dossier_s_changes_arrive_in_order_with_sequence_snapshot_and_events(app, api, api_key, sink):
    key = api_key()
    secret = subscribe(api, key, sink.url)["secret"]
    code = accepted(api, key)["code"]                                                     # created, 1 -> 2 -> 4
    _ok(action(api, BRANCH_OFFICER, code, "request-payment", amount=100000))             # 4 -> 6
    body = _ok(event(api, key, code, "payment_received", {"receipt_number": "BL-1"}))    # 6 -> 4
    body = complete(api, "specialist.00454", body, "Task_CommuneVerification")
    body = complete(api, BRANCH_OFFICER, body, "Task_FileCheck")
    body = paid_at_once(api, key, body)
    body = complete(api, BRANCH_OFFICER, body, "Task_Draft")
    body = complete(api, "leader.00454", body, "Task_Sign")                             # 4 -> 9
    body = complete(api, BRANCH_OFFICER, body, "Task_UpdateCadastre")
    returned = _ok(action(api, RECEPTION, code, "return-result", method="in_person",
                          data={"result_number": "KQ-1"}))                               # 9 -> 10
    withdrawn_code = start_online(api, key)["code"]
    _ok(event(api, key, withdrawn_code, "withdrawn", {"reason": "rút"}))                 # 1 -> 7
    deliver_all(app)

    got = of(sink, code)
    assert [b["sequence"] for b in got] == list(range(1, len(got) + 1))
    assert got[0]["type"] == "dossier.created"
    history = _ok(api.get(f"/dossiers/{code}", key))["history"]
    moves = [h["to_status"] for h in history if h.get("to_status") is not None]
    assert moves[0] == got[0]["dossier"]["status"] == 1  # the creation, then every move in order
    assert [b["data"]["to_status"] for b in got if b["type"] == "dossier.status_changed"] == moves[1:]
    assert moves[-1] == 10 and 6 in moves
    # Each body shows the dossier as of its change: the status it moved to.
    for b in got:
        if b["type"] == "dossier.status_changed":
            assert b["dossier"]["status"] == b["data"]["to_status"]
    events = [b["data"]["name"] for b in got if b["type"] == "dossier.event"]
    assert events.count("payment_received") == 2  # the fee asked for, then the diagram's own wait
    last = got[-1]
    assert last["data"]["to_status"] == 10
    assert last["dossier"]["finished_at"] and last["dossier"]["finished_at"] == returned["finished_at"]
    assert [b["data"]["name"] for b in of(sink, withdrawn_code) if b["type"] == "dossier.event"] == ["withdrawn"]
    assert [b["sequence"] for b in of(sink, withdrawn_code)] == list(range(1, len(of(sink, withdrawn_code)) + 1))
    # Every body is what the OpenAPI document's `webhooks` declare (nulls included).
    doc = api.get("/openapi.json").get_json()
    assert set(doc["webhooks"]) == {"dossier.created", "dossier.status_changed", "dossier.event", "dossier.incident"}
    body_schema = Draft202012Validator({"$ref": "#/components/schemas/WebhookBody", "components": doc["components"]})
    for m in sink.received:
        assert verify(secret, m["headers"], m["body"])
        assert m["headers"]["X-Webhook-Event"] == m["json"]["type"]
        assert not list(body_schema.iter_errors(m["json"])), m["json"]
    assert any(m["json"]["dossier"]["finished_at"] is None for m in sink.received)


def test_a_failing_receiver_that_recovers_gets_the_changes_still_in_order(app, api, api_key, sink):
    sink.fail_first = 3
    key = api_key()
    subscribe(api, key, sink.url)
    code = accepted(api, key)["code"]                                      # created, 1 -> 2 -> 4: the first fail
    other = start_birth(api, "reception.00070").get_json()["code"]
    _ok(action(api, BRANCH_OFFICER, code, "request-payment", amount=50000))
    _ok(event(api, key, code, "payment_received"))
    deliver_all(app, rounds=12)
    assert sink.attempts > len(sink.received)  # some attempts were refused, then retried
    for dossier in (code, other):
        got = of(sink, dossier)
        assert [b["sequence"] for b in got] == list(range(1, len(got) + 1)), [(b["type"], b["sequence"]) for b in got]
    assert [b["type"] for b in of(sink, code)][-1] == "dossier.event"
    assert len({m["json"]["delivery_id"] for m in sink.received}) == len(sink.received)  # each delivered once


def test_an_integrator_reads_its_own_delivery_log_and_redelivers(app, api, api_key, sink):
    mine, theirs = api_key(name="portal"), api_key(name="other-app")
    secret = subscribe(api, mine, sink.url, ["dossier.created", "dossier.status_changed"])["secret"]
    subscribe(api, theirs, sink.url, ["dossier.created"])
    code = start_birth(api, "reception.00070").get_json()["code"]
    deliver_all(app)

    log = _ok(api.get(f"/integrations/deliveries?dossier={code}", mine))
    assert [d["sequence"] for d in log["items"]] == sorted((d["sequence"] for d in log["items"]), reverse=True)
    assert {d["event_type"] for d in log["items"]} == {"dossier.created", "dossier.status_changed"}
    assert all(d["dossier_code"] == code and d["state"] == "delivered" for d in log["items"])
    their_log = _ok(api.get("/integrations/deliveries", theirs))["items"]
    assert [d["event_type"] for d in their_log] == ["dossier.created"]
    assert not {d["id"] for d in their_log} & {d["id"] for d in log["items"]}
    # Pages by cursor, filter by state; bad filters name the field.
    first = _ok(api.get(f"/integrations/deliveries?dossier={code}&limit=1", mine))
    second = _ok(api.get(f"/integrations/deliveries?dossier={code}&limit=1&cursor={first['next_cursor']}", mine))
    assert first["items"][0]["id"] != second["items"][0]["id"]
    assert _ok(api.get("/integrations/deliveries?status=dead", mine))["items"] == []
    bad = api.get("/integrations/deliveries?status=lost", mine)
    assert bad.status_code == 400 and "status" in str(bad.get_json()["error"])
    assert api.get("/integrations/deliveries?cursor=forged", mine).status_code == 400
    assert api.get("/integrations/deliveries", "reception.00070").status_code == 403

    # Redelivery: the same id and body, signed afresh; another integrator's delivery is not found.
    created = next(d for d in log["items"] if d["event_type"] == "dossier.created")
    original = next(m for m in sink.received if m["json"]["delivery_id"] == created["id"])
    assert api.post(f"/integrations/deliveries/{their_log[0]['id']}/redeliver", mine).status_code == 404
    assert api.post(f"/integrations/deliveries/{created['id']}/redeliver", theirs).status_code == 404
    assert api.post("/integrations/deliveries/nope/redeliver", mine).status_code == 404
    r = api.post(f"/integrations/deliveries/{created['id']}/redeliver", mine)
    assert r.status_code == 202 and r.get_json()["delivery_id"] == created["id"]
    deliver_all(app)
    again = [m for m in sink.received if m["json"]["delivery_id"] == created["id"]]
    assert len(again) == 2 and again[1]["body"] == original["body"]
    assert verify(secret, again[1]["headers"], again[1]["body"])
    log = _ok(api.get(f"/integrations/deliveries?dossier={code}", mine))["items"]
    assert next(d for d in log if d["id"] == created["id"])["state"] == "delivered"
