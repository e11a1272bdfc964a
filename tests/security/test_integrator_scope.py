"""Security review, issue 14 point 2: a province administrator must not take over another
province's integrator by issuing a key under its name. Integrators belong to one scope, names are
unique per scope, and a webhook subscription belongs to the key that created it and gets the
events of that key's provinces only."""
from __future__ import annotations

import re

import pytest

from orchestrator.extensions import db
from orchestrator.models import ApiKey, Job
from orchestrator.models.types import utcnow
from orchestrator.worker import Worker

from ..admin_client import BackOffice
from ..http_sink import Sink
from ..test_dossiers_api import APPLICANT, BIRTH

NAME = "Cổng DVC"
PERMISSIONS = ["dossiers:create", "dossiers:read", "events:send"]
HA_NOI = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "applicant": APPLICANT,
          "data": BIRTH}
THAI_NGUYEN = {**HA_NOI, "province_code": "19", "commune_code": "05443"}


@pytest.fixture
def sinks(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the sinks listen on 127.0.0.1
    pair = Sink(), Sink()
    yield pair
    for sink in pair:
        sink.close()


def issue(api, admin, provinces, name=NAME, **body):
    r = api.post("/admin/integrators/keys", admin, json={"name": name, "provinces": provinces,
                                                         "permissions": PERMISSIONS, **body})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def subscribe(api, key, url):
    r = api.post("/webhooks", key, json={"url": url, "event_types": ["*"]})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def deliver_all(app):
    worker = Worker(app, name="w-scope")
    for _ in range(4):
        worker.run_until_idle()
        with app.app_context():  # no waiting for the backoff
            db.session.query(Job).filter(Job.state == "queued").update({"run_at": utcnow()})
            db.session.commit()


def dossiers_seen(sink) -> set[str]:
    return {m["json"]["dossier"]["code"] for m in sink.received}


def integrator_of(app, key_id: int) -> int:
    with app.app_context():
        return db.session.get(ApiKey, key_id).integrator_id


def test_province_admin_cannot_take_over_another_provinces_integrator(app, api, sinks):
    """The takeover of the review, step by step; every assertion failed before the fix."""
    sink_01, sink_19 = sinks
    # Hà Nội's administrator registers its portal and the portal subscribes a webhook.
    hn = issue(api, "admin.01", ["01"])
    hn_sub = subscribe(api, hn["key"], sink_01.url)
    # Thái Nguyên's administrator issues a key under the same name: a new integrator of its own.
    tn = issue(api, "admin.19", ["19"])
    assert tn["scope"] == "19" and hn["scope"] == "01"
    assert integrator_of(app, tn["id"]) != integrator_of(app, hn["id"])
    # Its key neither lists nor deletes Hà Nội's subscriptions.
    assert hn_sub not in [s["id"] for s in api.get("/webhooks", tn["key"]).get_json()["items"]]
    r = api.client.delete(f"/api/v1/webhooks/{hn_sub}", headers=api.headers(tn["key"]))
    assert r.status_code == 404
    assert [s["active"] for s in api.get("/webhooks", hn["key"]).get_json()["items"]] == [True]
    # Its own subscription receives Thái Nguyên's dossiers only, Hà Nội's only Hà Nội's.
    subscribe(api, tn["key"], sink_19.url)
    hn_code = api.post("/dossiers", "reception.00070", json=HA_NOI).get_json()["code"]
    tn_code = api.post("/dossiers", "reception.05443", json=THAI_NGUYEN).get_json()["code"]
    deliver_all(app)
    assert dossiers_seen(sink_19) == {tn_code}
    assert dossiers_seen(sink_01) == {hn_code}
    # Hà Nội's administrator still sees its integrator with its key, and can revoke it.
    listed = api.get("/admin/integrators", "admin.01").get_json()["items"]
    assert [(i["name"], i["scope"], [k["prefix"] for k in i["keys"]]) for i in listed] == [(NAME, "01", [hn["prefix"]])]
    assert api.post(f"/admin/keys/{hn['id']}/revoke", "admin.01").status_code == 200
    # A revoked key's subscriptions stop delivering.
    later = api.post("/dossiers", "reception.00070", json=HA_NOI).get_json()["code"]
    deliver_all(app)
    assert later not in dossiers_seen(sink_01) and dossiers_seen(sink_01) == {hn_code}


def test_administrators_manage_only_their_own_scope(app, api):
    """Another scope's integrator is not found by id either, and a key stays within its scope."""
    hn = issue(api, "admin.01", ["01"])
    hn_integrator = integrator_of(app, hn["id"])
    for path in (f"/admin/keys/{hn['id']}/revoke", f"/admin/keys/{hn['id']}/rotate"):
        r = api.post(path, "admin.19", json={"overlap_hours": 0} if path.endswith("rotate") else None)
        assert r.status_code == 404, path
    assert api.get(f"/admin/integrators/{hn_integrator}/deliveries", "admin.19").status_code == 404
    assert api.get("/admin/integrators", "admin.19").get_json()["items"] == []
    # Naming Hà Nội's scope, or a province outside one's own, is refused.
    r = api.post("/admin/integrators/keys", "admin.19", json={"name": NAME, "provinces": ["19"], "scope": "01",
                                                              "permissions": PERMISSIONS})
    assert r.status_code == 403
    # The national administrator sees both, and reaches Hà Nội's by its scope.
    tn = issue(api, "admin.19", ["19"])
    listed = api.get("/admin/integrators", "admin.VN").get_json()["items"]
    assert sorted((i["name"], i["scope"]) for i in listed) == [(NAME, "01"), (NAME, "19")]
    again = issue(api, "admin.VN", ["01"])
    assert integrator_of(app, again["id"]) == hn_integrator != integrator_of(app, tn["id"])
    # A key's provinces lie within its integrator's scope; a national integrator may span several.
    r = api.post("/admin/integrators/keys", "admin.VN", json={"name": NAME, "provinces": ["19"], "scope": "01",
                                                              "permissions": PERMISSIONS})
    assert r.status_code == 400 and "province" in r.get_json()["error"]["fields"]
    national = issue(api, "admin.VN", ["01", "19"])
    assert national["scope"] == "VN" and integrator_of(app, national["id"]) not in (hn_integrator,
                                                                                  integrator_of(app, tn["id"]))


def test_back_office_lists_only_the_administrators_scope(app, client, api):
    hn = issue(api, "admin.01", ["01"])
    office = BackOffice(client)
    office.login("admin.19")
    page = office.text(office.get("/operations"))
    assert hn["prefix"] not in page
    assert f"/operations/keys/{hn['id']}/revoke" not in page
    assert office.post(f"/operations/keys/{hn['id']}/revoke").status_code == 404
    # Issuing under the same name from the back office registers Thái Nguyên's own integrator.
    r = office.post("/operations/keys", {"name": NAME, "provinces": "19", "permissions": ["dossiers:read"]})
    page = office.text(r)
    assert r.status_code == 200 and re.search(r"ok_[0-9a-f]{8}_", page) and hn["prefix"] not in page
    with app.app_context():
        keys = db.session.query(ApiKey).order_by(ApiKey.id).all()
        assert len(keys) == 2 and keys[0].integrator_id != keys[1].integrator_id
    office.post("/logout")
    office.token = None
    office.login("admin.01")
    assert hn["prefix"] in office.text(office.get("/operations"))


def test_same_name_in_two_provinces_keeps_idempotency_keys_apart(api):
    """Idempotency keys belong to an integrator, not to a name two provinces may share."""
    hn = issue(api, "admin.01", ["01"])
    tn = issue(api, "admin.19", ["19"])
    headers = {"Idempotency-Key": "req-0001"}
    first = api.client.post("/api/v1/dossiers", json=HA_NOI, headers={**api.headers(hn["key"]), **headers})
    other = api.client.post("/api/v1/dossiers", json=THAI_NGUYEN, headers={**api.headers(tn["key"]), **headers})
    assert first.status_code == other.status_code == 201, other.get_json()
    assert other.headers.get("Idempotent-Replayed") is None
    assert other.get_json()["code"] != first.get_json()["code"]


def test_subscription_follows_its_key_through_rotation(app, api, sinks):
    sink, _ = sinks
    hn = issue(api, "admin.01", ["01"])
    sub = subscribe(api, hn["key"], sink.url)
    rotated = api.post(f"/admin/keys/{hn['id']}/rotate", "admin.01", json={"overlap_hours": 0}).get_json()
    assert [s["id"] for s in api.get("/webhooks", rotated["key"]).get_json()["items"]] == [sub]
    code = api.post("/dossiers", "reception.00070", json=HA_NOI).get_json()["code"]
    deliver_all(app)
    assert dossiers_seen(sink) == {code}
    # A second key of the same integrator does not see (or stop) the first key's subscription.
    second = issue(api, "admin.01", ["01"])
    assert api.get("/webhooks", second["key"]).get_json()["items"] == []
    assert api.client.delete(f"/api/v1/webhooks/{sub}", headers=api.headers(second["key"])).status_code == 404


def test_revoked_key_stops_queued_deliveries(app, api, sinks):
    """Deliveries queued before a revocation are not sent after it."""
    sink, _ = sinks
    hn = issue(api, "admin.01", ["01"])
    subscribe(api, hn["key"], sink.url)
    api.post("/dossiers", "reception.00070", json=HA_NOI)
    assert api.post(f"/admin/keys/{hn['id']}/revoke", "admin.01").status_code == 200
    deliver_all(app)
    assert sink.attempts == 0
