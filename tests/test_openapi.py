"""The OpenAPI document describes the API that runs: it is valid OpenAPI 3.1 (what client
generators need), names every operation, declares nulls and headers, and real answers match it;
schemathesis generates requests from it and checks that no answer is a 5xx or breaks the schema."""
from __future__ import annotations

import io
import re

import jsonschema
import pytest
import schemathesis
from openapi_spec_validator import validate as validate_openapi
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from orchestrator.extensions import db
from orchestrator.services.auth import create_user

from .test_dossiers_api import BIRTH


def test_document_lists_every_route_with_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in [("/api/v1/dossiers", "post"), ("/api/v1/dossiers/{code}", "get"),
                         ("/api/v1/tasks/{task_id}/complete", "post"), ("/api/v1/procedures", "post"),
                         ("/api/v1/procedures/{code}/versions/{number}/publish", "post"),
                         ("/api/v1/calendar/due", "get"), ("/api/v1/units", "get"),
                         ("/api/v1/public/dossiers/{code}", "get"), ("/api/v1/auth/token", "post")]:
        operation = paths[path][method]
        assert operation["responses"], (path, method)
        assert any(code.startswith("4") for code in operation["responses"]), (path, method)
    assert client.get("/api/v1/docs").status_code == 200


RESOURCE_TAGS = {"auth", "dossiers", "events", "tasks", "procedures", "documents", "integrations", "reference",
                 "statistics", "operations", "notifications", "connectors", "tracking-book"}
VERBS = {"get", "list", "start", "create", "update", "upload", "download", "set", "claim", "unclaim", "assign",
         "complete", "send", "perform", "retry", "requeue", "publish", "mark", "issue", "rotate", "revoke",
         "subscribe", "unsubscribe", "enable", "disable", "declare", "compute", "redeliver", "delete",
         "preview", "withdraw"}
ONLINE = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070",
          "applicant": {"full_name": "Lê Thị Hoa"}, "data": {}}
IN_PERSON = {**ONLINE, "channel": 1, "data": BIRTH}


def operations(doc):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def answer_schema(doc, path, method, status):
    """A validator of the documented JSON answer, resolving `#/components/...` in the document."""
    schema = doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]},
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def assert_matches(validator, body):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, errors


def test_document_is_valid_openapi_3_1_with_multipart_bodies(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    validate_openapi(doc)  # raises on any error: openapi-python-client refused the old document
    assert not [(path, p["name"]) for path, _m, op in operations(doc) for p in op.get("parameters", [])
                if p.get("in") == "formData"]
    for path, fields in (("/api/v1/procedures", {"file", "code", "scope", "dmn"}),
                         ("/api/v1/dossiers/{code}/attachments", {"file", "kind"})):
        body = doc["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert fields <= set(body["properties"]) and "file" in body["required"], (path, body)


def test_every_operation_has_an_operation_id_and_one_resource_tag(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    ids = [op.get("operationId") for _p, _m, op in operations(doc)]
    assert len(ids) == len(set(ids)) and len(ids) > 50, "unique, one per operation"
    for path, method, op in operations(doc):
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", op.get("operationId") or ""), (path, method)
        assert op["operationId"].split("_")[0] in VERBS, (path, method, op["operationId"])
        assert len(op["tags"]) == 1 and op["tags"][0] in RESOURCE_TAGS, (path, method, op["tags"])
    ops = {(p, m): op["operationId"] for p, m, op in operations(doc)}
    assert ops["/api/v1/dossiers", "post"] == "start_dossier"
    assert ops["/api/v1/dossiers/{code}", "get"] == "get_dossier"
    assert ops["/api/v1/tasks/{task_id}/complete", "post"] == "complete_task"
    assert {t["name"] for t in doc["tags"]} == RESOURCE_TAGS
    assert doc["info"]["title"] == "Orchestrator API" and doc["info"]["title"].isascii()
    assert doc["info"]["x-package-name"] == "orchestrator-api-client"
    assert "thủ tục hành chính" in doc["info"]["description"]


def test_fields_that_can_be_null_are_declared_nullable(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]

    def nullable(schema, field):
        return "null" in schemas[schema]["properties"][field]["type"]

    for field in ("received_at", "legal_due_at", "due_at", "finished_at", "apologized_at", "incident_message"):
        assert nullable("DossierDetail", field) and nullable("DossierBrief", field), field
    for field in ("received_at", "due_at", "finished_at"):
        assert nullable("PublicDossier", field), field
    assert nullable("CurrentTask", "due_at") and nullable("CurrentTask", "assignee")
    assert nullable("WorkItem", "due_at") and nullable("WorkItem", "assignee")
    assert not nullable("DossierDetail", "code") and not nullable("DossierDetail", "submitted_at")


def test_every_property_has_a_type_so_clients_get_typed_fields(client):
    """A property without a type becomes `Any` in a generated client (computed fields were untyped)."""
    doc = client.get("/api/v1/openapi.json").get_json()
    untyped = []

    def walk(schema, where):
        for name, prop in schema.get("properties", {}).items():
            if not {"type", "$ref", "allOf", "anyOf", "oneOf", "enum"} & set(prop):
                untyped.append(f"{where}.{name}")
            walk(prop, f"{where}.{name}")
            walk(prop.get("items") or {}, f"{where}.{name}[]")

    for name, schema in doc["components"]["schemas"].items():
        walk(schema, name)
    assert not untyped, untyped
    lanes = doc["components"]["schemas"]["Version"]["properties"]["lanes"]
    assert lanes["items"]["properties"]["mapped_to"]["type"] == ["string", "null"]


def test_examples_show_the_main_path_and_match_their_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    checked = []

    def check(where, media):
        examples = ([media["example"]] if "example" in media else []) + \
            [e["value"] for e in media.get("examples", {}).values()]
        for example in examples:
            validator = jsonschema.Draft202012Validator({**media["schema"], "components": doc["components"]},
                                                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
            assert_matches(validator, example)
            checked.append(where)

    for path, method, op in operations(doc):
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            check((op["operationId"], "request"), op["requestBody"]["content"]["application/json"])
        for status, answer in op["responses"].items():
            if "application/json" in answer.get("content", {}):
                check((op["operationId"], status), answer["content"]["application/json"])
    for name, answer in doc["components"]["responses"].items():
        check((name,), answer["content"]["application/json"])
    for event, hook in doc["webhooks"].items():
        check((event,), hook["post"]["requestBody"]["content"]["application/json"])
    for expected in [("start_dossier", "request"), ("start_dossier", "201"), ("get_dossier", "200"),
                     ("list_dossiers", "200"), ("send_event", "request"), ("subscribe_webhook", "request"),
                     ("E400",), ("E409",), ("dossier.created",), ("dossier.event",)]:
        assert expected in checked, expected
    validate_openapi(doc)


def test_answers_may_gain_fields_and_requests_refuse_unknown_ones(client, api):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    answered = {ref.rsplit("/", 1)[-1] for _p, _m, op in operations(doc)
                for ref in re.findall(r'"\$ref": "(#/components/schemas/[A-Za-z]+)"', str(op.get("responses"))
                                      .replace("'", '"'))}
    assert {"DossierDetail", "DossierList", "OfficeHoursAnswer"} <= answered
    for name in answered:
        assert schemas[name].get("additionalProperties", True) is not False, name
    assert not [n for n in ("DossierDetail", "CurrentTask", "History", "DossierBrief", "Error", "ErrorBody",
                            "CalendarDayAnswer") if schemas[n].get("additionalProperties") is False]
    assert schemas["DossierStart"]["additionalProperties"] is False
    r = api.post("/dossiers", "reception.00070", json={**ONLINE, "colour": "blue"})
    assert r.status_code == 400 and "colour" in r.get_json()["error"]["fields"]


def test_online_start_answer_matches_the_document_with_its_nulls_and_headers(client, api, api_key):
    doc = client.get("/api/v1/openapi.json").get_json()
    start = doc["paths"]["/api/v1/dossiers"]["post"]
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in start["parameters"]
    assert doc["components"]["parameters"]["IdempotencyKey"]["in"] == "header"
    assert set(start["responses"]["201"]["headers"]) == {"Location", "Idempotent-Replayed"}
    key = api_key()
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "k-1"}
    r = client.post("/api/v1/dossiers", json=ONLINE, headers=headers)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["received_at"] is None and body["due_at"] is None and body["legal_due_at"] is None
    assert_matches(answer_schema(doc, "/api/v1/dossiers", "post", "201"), body)
    assert r.headers["Location"] == f"/api/v1/dossiers/{body['code']}"
    assert api.get(f"/dossiers/{body['code']}", key).status_code == 200
    again = client.post("/api/v1/dossiers", json=ONLINE, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == r.headers["Location"]
    assert_matches(answer_schema(doc, "/api/v1/dossiers/{code}", "get", "200"),
                   api.get(f"/dossiers/{body['code']}", key).get_json())
    assert_matches(answer_schema(doc, "/api/v1/dossiers", "get", "200"), api.get("/dossiers", key).get_json())
    assert_matches(answer_schema(doc, "/api/v1/public/dossiers/{code}", "get", "200"),
                   client.get(f"/api/v1/public/dossiers/{body['code']}").get_json())


def test_in_person_answers_and_tasks_match_the_document(client, api):
    doc = client.get("/api/v1/openapi.json").get_json()
    r = api.post("/dossiers", "reception.00070", json=IN_PERSON)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["current_tasks"] and body["finished_at"] is None
    assert_matches(answer_schema(doc, "/api/v1/dossiers", "post", "201"), body)
    tasks = api.get("/tasks?view=unit", "specialist.00070")
    assert tasks.status_code == 200
    assert_matches(answer_schema(doc, "/api/v1/tasks", "get", "200"), tasks.get_json())


def test_created_resources_answer_with_their_location(client, api):
    code = api.post("/dossiers", "reception.00070", json=IN_PERSON).get_json()["code"]
    up = api.post(f"/dossiers/{code}/attachments", "reception.00070", content_type="multipart/form-data",
                  data={"kind": "applicant", "file": (io.BytesIO(b"%PDF-1.4 x"), "don.pdf")})
    assert up.status_code == 201, up.get_json()
    assert up.headers["Location"] == f"/api/v1/attachments/{up.get_json()['id']}"
    assert api.get(up.headers["Location"].removeprefix("/api/v1"), "reception.00070").data == b"%PDF-1.4 x"
    doc = client.get("/api/v1/openapi.json").get_json()
    located = [(p, op["operationId"]) for p, _m, op in operations(doc) if "Location" in
               op["responses"].get("201", {}).get("headers", {})]
    assert len(located) >= 5, located


@pytest.fixture
def api_schema(app):
    with app.app_context():
        create_user(db.session, "fuzzer", "fuzzer-password", [("reception", "00070"), ("designer", "VN"),
                                                               ("admin", "VN"), ("leader", "00070")])
        db.session.commit()
    app.config["RATELIMIT_ENABLED"] = False
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def fuzz_token(api_schema, client):
    return client.post("/api/v1/auth/token", json={"username": "fuzzer", "password": "fuzzer-password"}) \
        .get_json()["token"]


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_answers_match_the_schema(case, fuzz_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"},
                           checks=[not_a_server_error, response_schema_conformance, status_code_conformance,
                                   content_type_conformance])
