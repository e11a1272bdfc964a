"""Integrators: keys scoped, rotated and revoked; idempotent starts; signed webhooks delivered at
least once with retries; the national portal synchronised first in first out per dossier."""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from datetime import timedelta

import pytest

from orchestrator.extensions import db
from orchestrator.models import ApiKey, Dossier, Job
from orchestrator.models.types import utcnow
from orchestrator.worker import Worker

from .http_sink import Sink
from .test_dossiers_api import APPLICANT, BIRTH

START = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "applicant": APPLICANT,
         "data": BIRTH}


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


def new_key(api, who="admin.VN", **body):
    payload = {"name": "Cổng DVC", "provinces": ["01"],
               "permissions": ["dossiers:create", "dossiers:read", "events:send"], **body}
    r = api.post("/admin/integrators/keys", who, json=payload)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def drain(app, rounds=3):
    worker = Worker(app, name="w-test")
    for _ in range(rounds):
        worker.run_until_idle()


def test_key_issued_once_stored_hashed_scoped_rotated_and_revoked(app, api):
    issued = new_key(api)
    secret = issued["key"]
    assert secret.startswith("ok_")
    with app.app_context():
        stored = db.session.get(ApiKey, issued["id"])
        assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in str(vars(stored))
    listed = api.get("/admin/integrators", "admin.VN").get_json()["items"]
    assert secret not in str(listed) and listed[0]["keys"][0]["prefix"] == issued["prefix"]
    # Scope: Hà Nội only.
    assert api.post("/dossiers", secret, json=START).status_code == 201
    assert api.post("/dossiers", secret, json={**START, "province_code": "19", "commune_code": "05443"}).status_code == 403
    tn = api.post("/dossiers", "reception.05443", json={**START, "province_code": "19", "commune_code": "05443"})
    assert api.get(f"/dossiers/{tn.get_json()['code']}", secret).status_code == 404
    assert api.get("/admin/integrators", "admin.VN").get_json()["items"][0]["keys"][0]["last_used_at"]
    # Rotation with an overlap: both keys work; without overlap the old one stops.
    rotated = api.post(f"/admin/keys/{issued['id']}/rotate", "admin.VN", json={"overlap_hours": 1}).get_json()
    assert api.get("/units?level=province", secret).status_code == 200
    assert api.get("/units?level=province", rotated["key"]).status_code == 200
    again = api.post(f"/admin/keys/{rotated['id']}/rotate", "admin.VN", json={"overlap_hours": 0}).get_json()
    assert api.get("/units?level=province", rotated["key"]).status_code == 401
    assert api.get("/units?level=province", again["key"]).status_code == 200
    assert api.post(f"/admin/keys/{again['id']}/revoke", "admin.VN").status_code == 200
    assert api.get("/units?level=province", again["key"]).status_code == 401
    # Expired keys stop too.
    expiring = new_key(api, name="Ví dụ", expires_at=(utcnow() + timedelta(hours=1)).isoformat())
    with app.app_context():
        db.session.get(ApiKey, expiring["id"]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert api.get("/units", expiring["key"]).status_code == 401


def test_province_admin_issues_keys_only_for_its_province(api):
    assert api.post("/admin/integrators/keys", "admin.01", json={
        "name": "TN app", "provinces": ["19"], "permissions": ["dossiers:read"]}).status_code == 403
    assert new_key(api, who="admin.01")["provinces"] == ["01"]
    assert api.post("/admin/integrators/keys", "reception.00070", json={
        "name": "x", "provinces": ["01"], "permissions": ["dossiers:read"]}).status_code == 403
    r = api.post("/admin/integrators/keys", "admin.VN", json={"name": "x", "provinces": [], "permissions": ["all"]})
    assert r.status_code == 400 and "provinces" in r.get_json()["error"]["fields"]


def test_idempotent_start(app, api, api_key):
    key = api_key()
    headers = {"Idempotency-Key": "portal-req-0001"}
    first = api.client.post("/api/v1/dossiers", json=START, headers={**api.headers(key), **headers})
    again = api.client.post("/api/v1/dossiers", json=START, headers={**api.headers(key), **headers})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["code"] == again.get_json()["code"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = api.client.post("/api/v1/dossiers", json={**START, "data": {}}, headers={**api.headers(key), **headers})
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    # Another integrator may use the same key string for its own request.
    third = api.client.post("/api/v1/dossiers", json=START,
                            headers={**api.headers(api_key(name="app")), **headers})
    assert third.status_code == 201 and third.get_json()["code"] != first.get_json()["code"]
    with app.app_context():
        assert db.session.query(Dossier).count() == 2
    # A failed request is not remembered: the same key can be used once the body is right.
    bad = api.client.post("/api/v1/dossiers", json={**START, "commune_code": "99999"},
                          headers={**api.headers(key), "Idempotency-Key": "k2"})
    assert bad.status_code == 400
    assert api.client.post("/api/v1/dossiers", json=START,
                           headers={**api.headers(key), "Idempotency-Key": "k2"}).status_code == 201


@pytest.mark.postgres
def test_idempotent_start_under_concurrency(app, api, api_key):
    key = api_key()
    results = []
    barrier = threading.Barrier(8)

    def go():
        client = app.test_client()
        barrier.wait()
        r = client.post("/api/v1/dossiers", json=START, headers={"Authorization": f"Bearer {key}",
                                                                 "Idempotency-Key": "same"})
        results.append((r.status_code, r.get_json().get("code")))

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert {s for s, _ in results} == {201} and len({c for _, c in results}) == 1
    with app.app_context():
        assert db.session.query(Dossier).count() == 1


def verify(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does: recompute the signature over timestamp and body, and refuse old ones."""
    timestamp = headers.get("X-Webhook-Timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Webhook-Signature", ""))


def test_webhook_signed_retried_with_backoff_and_visible(app, api, api_key):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    sink = Sink(fail_first=2)
    try:
        key = api_key()
        r = api.post("/webhooks", key, json={"url": sink.url, "event_types": ["dossier.created",
                                                                         "dossier.status_changed"]})
        assert r.status_code == 201, r.get_json()
        secret = r.get_json()["secret"]
        assert "secret" not in api.get("/webhooks", key).get_json()["items"][0]
        code = api.post("/dossiers", "reception.00070", json=START).get_json()["code"]
        worker = Worker(app, name="w1")
        for _ in range(6):
            worker.run_until_idle()
            with app.app_context():  # skip the backoff waits
                db.session.query(Job).filter(Job.state == "queued").update({"run_at": utcnow()})
                db.session.commit()
        assert sink.attempts >= 3
        bodies = [m["json"] for m in sink.received]
        events = sorted((b["type"], b["data"].get("to_status")) for b in bodies if b["dossier"]["code"] == code)
        assert events == [("dossier.created", None), ("dossier.status_changed", 4)]
        for message in sink.received:
            assert verify(secret, message["headers"], message["body"])
            assert message["headers"]["X-Webhook-Id"] == message["json"]["delivery_id"]
            assert "full_name" not in message["body"].decode()
        assert not verify(secret, {**sink.received[0]["headers"], "X-Webhook-Timestamp": "1000000000"},
                          sink.received[0]["body"])
        assert not verify("wrong-secret-0000", sink.received[0]["headers"], sink.received[0]["body"])
        assert not verify(secret, sink.received[0]["headers"], sink.received[0]["body"] + b" ")
        with app.app_context():
            from orchestrator.models import Integrator
            integrator_id = db.session.query(Integrator).one().id
        deliveries = api.get(f"/admin/integrators/{integrator_id}/deliveries", "admin.VN").get_json()["items"]
        assert all(d["state"] == "delivered" for d in deliveries)
        retried = [d for d in deliveries if d["attempts"] > 1]
        assert retried and "HTTP 503" in retried[0]["last_error"]
    finally:
        sink.close()


def test_webhook_targets_inside_the_network_refused_by_default(api, api_key):
    key = api_key()
    for url in ("http://127.0.0.1:9/x", "https://10.0.0.5/hook", "ftp://example.org/x", "not a url"):
        r = api.post("/webhooks", key, json={"url": url, "event_types": ["dossier.created"]})
        assert r.status_code == 422 and "url" in r.get_json()["error"]["fields"], url
    # A public address (an IP literal: no DNS needed here) with a bad event type: 400 for that field only.
    r = api.post("/webhooks", key, json={"url": "https://8.8.8.8/x", "event_types": ["nope"]})
    assert r.status_code == 400 and set(r.get_json()["error"]["fields"]) == {"event_types"}
    assert api.post("/webhooks", "reception.00070", json={"url": "https://example.org/x",
                                                          "event_types": ["dossier.created"]}).status_code == 403


def test_portal_sync_payload_first_in_first_out_per_dossier(app, api):
    sink = Sink(fail_first=1)
    app.config["PORTAL_SYNC_URL"] = sink.url
    try:
        code = api.post("/dossiers", "reception.00070", json=START).get_json()["code"]
        worker = Worker(app, name="w1")
        for _ in range(5):
            worker.run_until_idle()
            with app.app_context():
                db.session.query(Job).filter(Job.state == "queued").update({"run_at": utcnow()})
                db.session.commit()
        records = [m["json"] for m in sink.received]
        # The first delivery failed; the later record waited behind it (same dossier), then both went in order.
        assert sink.attempts == 3 and [r["TrangThaiHoSo"] for r in records] == ["2", "4"], records
        last = records[-1]
        assert last["MaHoSo"] == code and last["MaTTHC"] == "1.001193" and last["NgayHenTra"]
        assert last["NoiNopHoSo"] == "Phường Hoàn Kiếm" and last["DonViXuLy"] == "Phường Hoàn Kiếm"
        assert [h["TrangThai"] for h in last["QuaTrinhXuLy"]] == ["2", "4"]
    finally:
        sink.close()
