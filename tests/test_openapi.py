"""The OpenAPI document describes the API that runs: schemathesis generates requests from it and
checks that no answer is a 5xx or breaks the documented schema."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from orchestrator.extensions import db
from orchestrator.services.auth import create_user


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
