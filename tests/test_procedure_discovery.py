"""Issue 20 (points 7, 8): an integrator discovers what to send from the API alone: the start data
of a procedure as a JSON Schema, the channels by name, the events and messages it may wait for;
a refused event says what the dossier waits for, in a body valid against the declared schema."""
from __future__ import annotations

import io
import re

from jsonschema import Draft202012Validator

from .diagrams import message_diagram

APPLICANT = {"full_name": "Trần Thị B", "id_number": "001190000123"}


def _sample(prop: dict):
    """A valid value for one property of a JSON Schema, read from the schema only."""
    if "enum" in prop:
        return prop["enum"][0]
    if prop.get("type") == "integer":
        return prop.get("minimum", 1)
    if prop.get("format") == "date":
        return "2026-11-20"
    digits = re.fullmatch(r"\^\[0-9\]\{(\d+)\}\$", prop.get("pattern", ""))
    if digits:
        return "0" * (int(digits.group(1)) - 1) + "1"
    return "Nguyễn Văn An"[: prop.get("maxLength", 200)]


def _data_from(schema: dict) -> dict:
    return {name: _sample(schema["properties"][name]) for name in schema["required"]}


def test_an_integrator_starts_a_dossier_with_data_built_from_the_start_schema(app, api, api_key):
    key = api_key(permissions=("dossiers:create",), name="new portal")  # no other permission needed to read it
    r = api.get("/procedures/1.001193?province=01", key)
    assert r.status_code == 200, r.get_json()
    schema = r.get_json()["start_schema"]
    Draft202012Validator.check_schema(schema)
    assert "reception_result" not in schema["properties"], "the desk's outcome is not the integrator's to send"
    assert {"child_full_name", "child_date_of_birth", "requester_id_number"} <= set(schema["required"])
    assert schema["properties"]["child_full_name"]["x-title-en"] == "Child's full name"
    data = _data_from(schema)
    checker = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert list(checker.iter_errors(data)) == []
    assert list(checker.iter_errors({**data, "child_sex": "x"})), "the schema refuses a value off its enum"

    start = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "channel": 2,
             "applicant": APPLICANT}
    r = api.post("/dossiers", key, json={**start, "data": data})
    assert r.status_code == 201, r.get_json()
    # the reception officer accepts it as sent (the form opens with the dossier's data): the schema
    # asked for everything acceptance needs
    done = _accept(api, r.get_json())
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] in (2, 4)

    lacking = {k: v for k, v in data.items() if k != "child_place_of_birth"}
    refused = _accept(api, api.post("/dossiers", key, json={**start, "data": lacking}).get_json())
    assert refused.status_code == 400 and "child_place_of_birth" in refused.get_json()["error"]["fields"]


def _accept(api, dossier: dict):
    [reception] = dossier["current_tasks"]
    prefill = api.get(f"/tasks/{reception['id']}", "reception.00070").get_json()["prefill"]
    return api.post(f"/tasks/{reception['id']}/complete", "reception.00070",
                    json={"data": {**prefill, "reception_result": "accept"}})


def test_channels_are_named_in_the_procedure_and_in_the_start_schema(api, api_key):
    body = api.get("/procedures/1.001193", api_key()).get_json()
    channels = {c["value"]: c for c in body["channels"]}
    assert {v: c["name"] for v, c in channels.items()} == {1: "in_person", 2: "online", 3: "post", 4: "schedule"}
    assert channels[2]["label"].startswith("Trực tuyến") and channels[1]["label"].startswith("Trực tiếp")
    assert "postal" in channels[3]["label_en"]
    doc = api.get("/openapi.json").get_json()
    channel = _resolve(doc, doc["components"]["schemas"]["DossierStart"])["properties"]["channel"]
    assert channel["enum"] == [1, 2, 3]
    assert "2: Online" in channel["description"] and "1: In person" in channel["description"]


def test_a_province_reads_its_own_version_in_force(api, api_key):
    national = api.get("/procedures/1.001612", api_key()).get_json()
    hanoi = api.get("/procedures/1.001612?province=01", api_key()).get_json()
    assert national["scope"] == "national" and hanoi["scope"] == "01"
    assert hanoi["start_schema"]["type"] == "object"
    assert api.get("/procedures/1.001612?province=1", api_key()).status_code == 400


def _resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        target = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _declared_error(doc: dict, path: str, status: str) -> dict:
    """The declared body of an error answer, as a JSON Schema with the document's components."""
    response = _resolve(doc, doc["paths"][path]["post"]["responses"][status])
    return {**response["content"]["application/json"]["schema"], "components": doc["components"]}


def test_not_waiting_lists_what_the_dossier_waits_for_in_the_declared_body(app, api, api_key):
    form = {"code": "9.200020", "name": "Chờ thuế", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(message_diagram()), "m.bpmn")}
    assert api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data").status_code == 201
    assert api.post("/procedures/9.200020/versions/1/publish", "designer.01").status_code == 200
    key = api_key()
    procedure = api.get("/procedures/9.200020?province=01", key).get_json()
    assert procedure["messages"] == ["tax_notice"]
    assert procedure["events"] == ["supplement_submitted", "payment_received", "withdrawn", "tax_notice"]

    doc = api.get("/openapi.json").get_json()
    error_schema = _declared_error(doc, "/api/v1/dossiers/{code}/events/{name}", "409")
    body_schema = _resolve(doc, _resolve(doc, error_schema)["properties"]["error"])
    assert body_schema["properties"]["waiting_for"]["items"]["type"] == "string"
    declared = Draft202012Validator(error_schema)
    body = api.post("/dossiers", key, json={"procedure_code": "9.200020", "province_code": "01",
                                            "commune_code": "00070", "applicant": APPLICANT}).get_json()
    code = body["code"]
    early = api.post(f"/dossiers/{code}/events/thông báo lạ", key, json={"data": {}})
    assert early.status_code == 409 and early.get_json()["error"]["waiting_for"] == []  # an unknown event, no wait yet
    assert list(declared.iter_errors(early.get_json())) == []

    [work] = body["current_tasks"]
    assert api.post(f"/tasks/{work['id']}/complete", "specialist.00070",
                    json={"data": {"decision": "approve"}}).status_code == 200
    for name in ("payment", "payment_received"):  # a message it does not wait for, a built-in event out of place
        r = api.post(f"/dossiers/{code}/events/{name}", key, json={"data": {}})
        assert r.status_code == 409, r.get_json()
        error = r.get_json()["error"]
        assert error["code"] == "not_waiting" and error["waiting_for"] == ["tax_notice"] and error["event"] == name
        assert list(declared.iter_errors(r.get_json())) == []
    assert api.post(f"/dossiers/{code}/events/tax_notice", key, json={"data": {"tax_amount": 5}}).status_code == 200
