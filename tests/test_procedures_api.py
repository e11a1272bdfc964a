"""Uploading, validating, mapping and publishing procedure versions over HTTP."""
from __future__ import annotations

import io

import pytest

from orchestrator.extensions import db
from orchestrator.models import ProcedureVersion

from .diagrams import diagram

CODE = "9.000001"


def upload(api, data: bytes, who="designer.VN", **fields):
    form = {"code": CODE, "name": "Thủ tục thử", "scope": "national", "deadline_days": "5",
            "deadline_kind": "working", **fields, "file": (io.BytesIO(data), "test.bpmn")}
    return api.post("/procedures", who, data=form, content_type="multipart/form-data")


def stored_versions(app, code=CODE) -> int:
    with app.app_context():
        return db.session.query(ProcedureVersion).filter_by(procedure_code=code).count()


def test_upload_map_publish_national_template(app, api):
    r = upload(api, diagram())
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["state"] == "draft" and body["version"] == 1 and body["warnings"] == []
    r = api.post(f"/procedures/{CODE}/versions/1/publish", "designer.VN")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["in_force"] is True and r.get_json()["state"] == "published"
    versions = api.get(f"/procedures/{CODE}/versions", "designer.VN").get_json()["items"]
    assert [(v["version"], v["state"], v["in_force"], v["published_by"]) for v in versions] == \
        [(1, "published", True, "designer.VN")]
    # Published versions are immutable.
    r = api.put(f"/procedures/{CODE}/versions/1/lanes", "designer.VN", json={"Lane_A": "commune/leader"})
    assert r.status_code == 409


@pytest.mark.parametrize("payload, status, needle", [
    (b"<not-xml", 400, "XML"),
    (b"", 400, ""),
    (b"<?xml version='1.0'?><html><body/></html>", 422, "BPMN"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&b;</bpmn:definitions>', 422, "DTD"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>', 422, "DTD"),
], ids=["not-xml", "empty", "not-bpmn", "entity-expansion", "external-entity"])
def test_what_cannot_be_stored_is_refused_and_nothing_is_stored(app, api, payload, status, needle):
    r = upload(api, payload)
    assert r.status_code == status, r.get_json()
    error = r.get_json()["error"]
    assert error["problems"] and needle in " ".join(p["message"] for p in error["problems"])
    assert stored_versions(app) == 0


@pytest.mark.parametrize("script, needle", [
    ("x = __import__('os')", "_"),
    ("x = ().__class__.__mro__", "_"),
    ("x = open('/etc/passwd').read()", "open"),
    ("while True:\n    pass", "while"),
    ("import os", "import"),
])
def test_unsafe_scripts_are_refused_with_element_and_line(app, api, script, needle):
    r = upload(api, diagram(script=script))
    assert r.status_code == 422, r.get_json()
    problems = r.get_json()["error"]["problems"]
    assert any(p["element_id"] == "Task_Script" and p["line"] and needle.lower() in p["message"].lower()
               for p in problems), problems
    assert stored_versions(app) == 0


def test_unsafe_condition_refused_and_every_problem_listed(app, api):
    r = upload(api, diagram(script="import os", condition="__import__('os').system('id')"))
    assert r.status_code == 422
    ids = {p["element_id"] for p in r.get_json()["error"]["problems"]}
    assert {"Task_Script", "F_yes"} <= ids
    assert stored_versions(app) == 0


def test_too_large_is_413(app, api):
    app.config["MAX_BPMN_BYTES"] = 1000
    r = upload(api, diagram())
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"
    assert stored_versions(app) == 0


def test_bad_metadata_named_per_field(app, api):
    r = upload(api, diagram(), code="", scope="99", deadline_kind="weekly")
    assert r.status_code == 400
    assert {"code", "scope", "deadline_kind"} <= set(r.get_json()["error"]["fields"])


def test_unmapped_lanes_draft_then_mapping_then_publish(app, api):
    r = upload(api, diagram(lanes={"Lane_Desk": "Bộ phận Một cửa", "Lane_Boss": "Lãnh đạo"}))
    assert r.status_code == 201
    warnings = r.get_json()["warnings"]
    assert {w["element_id"] for w in warnings} == {"Lane_Desk", "Lane_Boss"}
    r = api.post(f"/procedures/{CODE}/versions/1/publish", "designer.VN")
    assert r.status_code == 422
    assert {p["element_id"] for p in r.get_json()["error"]["problems"]} == {"Lane_Desk", "Lane_Boss"}
    r = api.put(f"/procedures/{CODE}/versions/1/lanes", "designer.VN", json={"Lane_Desk": "commune/reception"})
    assert r.status_code == 200
    assert [w["element_id"] for w in r.get_json()["warnings"]] == ["Lane_Boss"]
    assert api.post(f"/procedures/{CODE}/versions/1/publish", "designer.VN").status_code == 422
    r = api.put(f"/procedures/{CODE}/versions/1/lanes", "designer.VN",
                json={"Lane_Boss": "province/leader", "Lane_Nope": "commune/leader"})
    assert r.status_code == 400 and set(r.get_json()["error"]["fields"]) == {"Lane_Boss", "Lane_Nope"}
    r = api.put(f"/procedures/{CODE}/versions/1/lanes", "designer.VN", json={"Lane_Boss": "commune/leader"})
    assert r.status_code == 200 and r.get_json()["warnings"] == []
    assert api.post(f"/procedures/{CODE}/versions/1/publish", "designer.VN").status_code == 200


def test_province_variant_must_resolve_for_every_commune(app, api):
    lanes = {"Lane_A": "commune/reception", "Lane_B": "province/department:NOPE/specialist"}
    r = upload(api, diagram(lanes=lanes), who="designer.01", scope="01")
    assert r.status_code == 201
    r = api.post(f"/procedures/{CODE}/versions/1/publish", "designer.01")
    assert r.status_code == 422
    assert "department:NOPE" in r.get_json()["error"]["problems"][0]["message"]
    # The same lanes with a department Hà Nội has publish fine.
    lanes["Lane_B"] = "province/department:VPDKDD/specialist"
    assert upload(api, diagram(lanes=lanes), who="designer.01", scope="01").status_code == 201
    assert api.post(f"/procedures/{CODE}/versions/2/publish", "designer.01").status_code == 200


def test_national_publish_lists_provinces_lacking_units(app, api):
    lanes = {"Lane_A": "commune/reception", "Lane_B": "province/department:VPDKDD/specialist"}
    assert upload(api, diagram(lanes=lanes)).status_code == 201
    r = api.post(f"/procedures/{CODE}/versions/1/publish", "designer.VN")
    assert r.status_code == 200
    lacking = {x["province"] for x in r.get_json()["provinces_lacking_units"]}
    assert "04" in lacking and "01" not in lacking and "19" not in lacking


def test_publish_refused_until_the_diagram_really_runs(app, api):
    # Passes the static checks, fails when the engine runs the script on sample data.
    r = upload(api, diagram(script="fee = 1 / 0"))
    assert r.status_code == 201
    r = api.post(f"/procedures/{CODE}/versions/1/publish", "designer.VN")
    assert r.status_code == 422
    problems = r.get_json()["error"]["problems"]
    assert problems[0]["element_id"] == "Task_Script"
    assert stored_versions(app) == 1  # the draft stays, unpublished
    versions = api.get(f"/procedures/{CODE}/versions", "designer.VN").get_json()["items"]
    assert versions[0]["state"] == "draft" and versions[0]["in_force"] is False


def test_designer_scope_and_roles(app, api):
    assert upload(api, diagram(), who="designer.01").status_code == 403  # national template: VN designers only
    assert upload(api, diagram(), who="designer.01", scope="19").status_code == 403
    assert upload(api, diagram(), who="reception.00070", scope="01").status_code == 403
    assert upload(api, diagram(), who=None).status_code == 401


def test_rollback_by_publishing_an_earlier_version(app, api):
    assert upload(api, diagram()).status_code == 201
    # a second, different drawing (an identical one is refused as a duplicate: issue 22)
    second = diagram().replace(b"<bpmn:definitions ", b'<bpmn:definitions exporterVersion="2" ', 1)
    assert upload(api, second).status_code == 201
    assert api.post(f"/procedures/{CODE}/versions/1/publish", "designer.VN").status_code == 200
    assert api.post(f"/procedures/{CODE}/versions/2/publish", "designer.VN").status_code == 200
    in_force = lambda: [v["version"] for v in api.get(f"/procedures/{CODE}/versions", "designer.VN")  # noqa: E731
                        .get_json()["items"] if v["in_force"]]
    assert in_force() == [2]
    assert api.post(f"/procedures/{CODE}/versions/1/publish", "designer.VN").status_code == 200
    assert in_force() == [1]


def test_catalogue_of_a_province_prefers_its_variant(app, api):
    items = {i["code"]: i for i in api.get("/procedures?province=01", "reception.00070").get_json()["items"]}
    assert items["1.001612"]["scope"] == "01"
    assert items["1.001193"]["scope"] == "national"
    items = {i["code"]: i for i in api.get("/procedures?province=04", "designer.VN").get_json()["items"]}
    assert items["1.001612"]["scope"] == "national"
