"""Security review, issue 21 point 10: an integrator key acted on every dossier of its province. It
withdrew a walk-in dossier and attached 12 files of 10 MB in 1.3 s. A key now acts for the citizen
(withdraw, supplement, attachments) only on the dossiers its integrator submitted, sends only the
events its key lists, a dossier holds a bounded number and size of files, and a key's uploads are
rate-limited. Reading stays province-wide."""
from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from sqlalchemy import select, text

from orchestrator.extensions import db
from orchestrator.models import ApiKey, Attachment, Dossier

from ..test_dossiers_api import start

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4 scan"


def walk_in(api) -> str:
    """A dossier received at the desk of 00070 (no integrator involved)."""
    r = start(api, "reception.00070")
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def online(api, key) -> str:
    r = start(api, key, channel=2)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def withdraw(api, who, code):
    return api.post(f"/dossiers/{code}/events/withdrawn", who, json={"data": {"reason": "không cần nữa"}})


def attach(api, who, code, data=PDF, name="scan.pdf"):
    return api.post(f"/dossiers/{code}/attachments", who, data={"kind": "applicant", "file": (io.BytesIO(data), name)},
                    content_type="multipart/form-data")


def status(api, code) -> int:
    return api.get(f"/dossiers/{code}", "reception.00070").get_json()["status"]


def files(app, code) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count(Attachment.id)).join(Dossier, Dossier.id == Attachment.dossier_id)
                                 .where(Dossier.code == code))


def refused(r, code: str) -> None:
    assert r.status_code == 403, r.get_json()
    assert r.get_json()["error"]["code"] == code, r.get_json()
    assert r.get_json()["error"]["message"]


def test_a_key_cannot_withdraw_a_walk_in_dossier_but_still_reads_it(api, api_key):
    key, code = api_key(), walk_in(api)
    before = status(api, code)
    refused(withdraw(api, key, code), "not_your_dossier")
    assert status(api, code) == before
    assert api.get(f"/dossiers/{code}", key).status_code == 200  # reading stays province-wide
    assert api.get(f"/dossiers/{code}/attachments", key).status_code == 200


def test_a_key_withdraws_its_own_dossier_not_another_integrators(api, api_key):
    mine, theirs = api_key(name="portal"), api_key(name="other portal")
    own, other = online(api, mine), online(api, theirs)
    refused(withdraw(api, mine, other), "not_your_dossier")
    assert status(api, other) == 1
    r = withdraw(api, api_key(name="portal"), own)  # another key of the same integrator
    assert r.status_code == 200 and r.get_json()["status"] == 7, r.get_json()


def test_a_key_cannot_submit_a_supplement_for_a_dossier_it_did_not_create(api, api_key):
    refused(api.post(f"/dossiers/{walk_in(api)}/events/supplement_submitted", api_key(), json={"data": {}}),
            "not_your_dossier")


def test_a_key_attaches_to_its_own_dossier_not_to_a_walk_in(app, api, api_key):
    key = api_key()
    own, desk = online(api, key), walk_in(api)
    refused(attach(api, key, desk), "not_your_dossier")
    assert files(app, desk) == 0
    assert attach(api, key, own).status_code == 201
    assert attach(api, "reception.00070", desk).status_code == 201  # the desk's officer still may


def test_a_key_sends_only_the_events_it_lists(app, api):
    with app.app_context():
        _key, secret = __import__("orchestrator.services.auth", fromlist=["x"]).create_api_key(
            db.session, "payments", ["01"], ["dossiers:read", "dossiers:create", "events:send"],
            events=["payment_received"])
        db.session.commit()
    code = online(api, secret)
    r = withdraw(api, secret, code)
    refused(r, "event_not_allowed")
    assert "withdrawn" in r.get_json()["error"]["message"] and r.get_json()["error"]["event"] == "withdrawn"
    assert status(api, code) == 1
    # the event it lists reaches the dossier (which waits for no payment: 409, not 403), on a dossier
    # it did not create too: a payment provider confirms payments for dossiers others submitted
    for dossier in (code, walk_in(api)):
        r = api.post(f"/dossiers/{dossier}/events/payment_received", secret, json={"data": {}})
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_waiting", r.get_json()


def test_key_events_are_validated_and_listed(app, api):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["create-api-key", "--name", "x", "--province", "01", "--permission", "events:send",
                              "--event", "payment_confirmed"])
    assert bad.exit_code != 0 and "payment_confirmed" in bad.output
    ok = runner.invoke(args=["create-api-key", "--name", "pay", "--province", "01", "--permission", "events:send",
                             "--event", "payment_received"])
    assert ok.exit_code == 0, ok.output
    all_events = runner.invoke(args=["create-api-key", "--name", "portal", "--province", "01",
                                     "--permission", "events:send"])
    assert all_events.exit_code == 0, all_events.output
    with app.app_context():
        assert {k.integrator.name: k.events for k in db.session.scalars(select(ApiKey))} == {
            "pay": ["payment_received"], "portal": ["*"]}
    items = api.get("/admin/integrators", "admin.01").get_json()["items"]
    assert {i["name"]: i["keys"][0]["events"] for i in items} == {"pay": ["payment_received"], "portal": ["*"]}
    r = api.post("/admin/integrators/keys", "admin.01", json={"name": "n", "provinces": ["01"],
                                                              "permissions": ["events:send"], "events": ["nope"]})
    assert r.status_code == 400 and "event" in r.get_json()["error"]["fields"], r.get_json()


def test_the_31st_attachment_is_refused_and_nothing_is_stored(app, api):
    code = walk_in(api)
    for i in range(30):
        assert attach(api, "reception.00070", code, name=f"p{i}.pdf").status_code == 201
    r = attach(api, "reception.00070", code, name="p31.pdf")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "attachment_quota", r.get_json()
    assert "30" in r.get_json()["error"]["message"] and r.get_json()["error"]["max_files"] == 30
    assert files(app, code) == 30


def test_the_byte_quota_is_enforced(app, api, api_key, tmp_path):
    store = tmp_path / "files"
    app.config.update(ATTACHMENT_BYTES_PER_DOSSIER=2 * 1024 * 1024, ATTACHMENT_STORAGE="disk",
                      ATTACHMENT_DIR=str(store))
    key = api_key()
    code = online(api, key)
    big = PDF + b"x" * (1024 * 1024)
    assert attach(api, key, code, big).status_code == 201
    r = attach(api, key, code, big)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "attachment_quota", r.get_json()
    assert "2 MB" in r.get_json()["error"]["message"]
    assert files(app, code) == 1
    assert len([p for p in store.rglob("*") if p.is_file()]) == 1  # no file left on disk


def test_a_keys_uploads_are_rate_limited(app, api, api_key):
    app.config["RATELIMIT_UPLOADS"] = "2 per minute"
    key = api_key()
    code = online(api, key)
    codes = [attach(api, key, code).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    r = attach(api, key, code)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["error"]["code"] == "too_many_requests"
    assert files(app, code) == 2
    assert api.get(f"/dossiers/{code}", key).status_code == 200  # other calls go on
    assert attach(api, "reception.00070", code).status_code == 201  # officers are not counted


def load_migration():
    path = ROOT / "orchestrator/migrations/versions/b212d3e4f5a6_integrator_reach.py"
    spec = importlib.util.spec_from_file_location("integrator_reach_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_backfills_the_creating_integrator(app, api, api_key):
    portal = api_key(name="portal")
    own, desk = online(api, portal), walk_in(api)
    twin_vn, twin_01 = api_key(provinces=("VN",), name="twin"), api_key(name="twin")
    twin = online(api, twin_01)
    with app.app_context():
        expected = db.session.scalar(select(Dossier.created_by_integrator_id).where(Dossier.code == own))
        assert expected is not None
        db.session.execute(text("UPDATE dossier SET created_by_integrator_id = NULL"))  # as before the release
        db.session.commit()
        load_migration().backfill(db.session.connection())
        db.session.commit()
        found = dict(db.session.execute(select(Dossier.code, Dossier.created_by_integrator_id)).all())
    assert found[own] == expected
    assert found[desk] is None
    assert found[twin] is None  # two integrators named "twin" reach province 01: left to nobody
    assert withdraw(api, portal, own).status_code == 200
    refused(withdraw(api, twin_vn, twin), "not_your_dossier")
