"""Issue 20 (point 9): the API's errors speak Vietnamese by default and English with
`Accept-Language: en`, marshmallow's per-field messages, the limiter's 429, malformed JSON,
unknown routes and methods, oversized bodies and a missing bearer included."""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate

from api import messages

EN = {"Accept-Language": "en-GB,en;q=0.9"}
START = {"procedure_code": "1.001193", "province_code": "01", "commune_code": "00070"}


def _error(response) -> dict:
    return response.get_json()["error"]


def _post(api, key, body, headers=None):
    return api.client.post("/api/v1/dossiers", json=body, headers={"Authorization": f"Bearer {key}", **(headers or {})})


def test_body_errors_name_each_field_in_vietnamese_by_default_and_english_on_request(api, api_key):
    key = api_key()
    body = {**START, "channel": "two", "applicant": {"full_name": "A", "id_number": "12"}, "colour": "red"}
    vi = _error(_post(api, key, body))
    assert vi["message"] == "Dữ liệu gửi lên không hợp lệ."
    assert vi["fields"] == {"channel": "Phải là số nguyên.", "colour": "Trường không được chấp nhận.",
                            "applicant.id_number": "9 đến 12 chữ số"}
    en = _error(_post(api, key, body, EN))
    assert en["message"] == "The data sent is not valid."
    assert en["fields"] == {"channel": "Not a valid integer.", "colour": "Unknown field.",
                            "applicant.id_number": "9 to 12 digits"}

    vi = _error(_post(api, key, {"procedure_code": "x" * 41, "channel": 7}))
    assert vi["fields"]["province_code"] == "Thiếu dữ liệu bắt buộc."
    assert vi["fields"]["procedure_code"] == "Độ dài phải từ 1 đến 40."
    assert vi["fields"]["channel"] == "Phải là một trong: 1, 2, 3."
    en = _error(_post(api, key, {"procedure_code": "x" * 41, "channel": 7}, EN))
    assert en["fields"]["province_code"] == "Missing data for required field."
    assert en["fields"]["channel"] == "Must be one of: 1, 2, 3."


def test_query_errors_follow_the_header_too(api, api_key):
    key = api_key()
    r = api.client.get("/api/v1/dossiers?limit=many&status=11", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 400
    assert _error(r)["fields"] == {"limit": "Phải là số nguyên.", "status": "Phải từ 1 đến 10."}
    r = api.client.get("/api/v1/dossiers?limit=many", headers={"Authorization": f"Bearer {key}", **EN})
    assert _error(r)["fields"] == {"limit": "Not a valid integer."}


def test_malformed_json_is_named_as_such(api, api_key):
    headers = {"Authorization": f"Bearer {api_key()}", "Content-Type": "application/json"}
    for path in ("/api/v1/dossiers", "/api/v1/auth/token"):
        r = api.client.post(path, data='{"procedure_code": ', headers=headers)
        assert r.status_code == 400 and _error(r)["message"] == "Nội dung JSON không hợp lệ.", r.get_json()
        r = api.client.post(path, data='{"procedure_code": ', headers={**headers, **EN})
        assert r.status_code == 400 and _error(r)["message"] == "The JSON body is not valid."
        assert "browser" not in r.get_data(as_text=True)


def test_unknown_routes_methods_oversized_bodies_and_missing_bearer(app, api):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    cases = [
        (lambda h: api.client.get("/api/v1/nowhere", headers=h), 404,
         "Không có đường dẫn này trong API.", "No such path in the API."),
        (lambda h: api.client.delete("/api/v1/dossiers", headers=h), 405,
         "Phương thức không được hỗ trợ cho đường dẫn này.", "Method not allowed on this path."),
        (lambda h: api.client.post("/api/v1/dossiers", data=big, headers={**h, "Content-Type": "application/json"}),
         413, "Dữ liệu gửi lên quá lớn.", "The data sent is too large."),
        (lambda h: api.client.get("/api/v1/dossiers", headers=h), 401,
         "Thiếu thông tin xác thực (Authorization: Bearer ...).", "Missing credentials (Authorization: Bearer ...)."),
    ]
    for send, status, vi, en in cases:
        r = send({})
        assert r.status_code == status and _error(r)["message"] == vi, r.get_json()
        r = send(EN)
        assert r.status_code == status and _error(r)["message"] == en, r.get_json()
        assert send({"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}).get_json()["error"]["message"] == vi


def test_rate_limit_says_how_many_and_how_long_to_wait(app, client):
    app.config["RATELIMIT_TOKEN"] = "2 per minute"
    for _ in range(2):
        client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
    r = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
    assert r.status_code == 429
    wait = int(r.headers["Retry-After"])
    found = re.fullmatch(r"Quá nhiều yêu cầu: tối đa 2 mỗi phút; thử lại sau (\d+) giây\.", _error(r)["message"])
    assert found and abs(int(found.group(1)) - wait) <= 1, _error(r)["message"]
    r = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}, headers=EN)
    assert re.fullmatch(r"Too many requests: at most 2 per minute; retry in \d+ seconds\.", _error(r)["message"])


def test_every_marshmallow_message_a_request_can_meet_has_vietnamese():
    """Loads that fail in every way the API's schemas can (types, validators, unknown fields): none
    of marshmallow's English messages reaches a Vietnamese reader untranslated."""

    class Probe(Schema):
        required = fields.String(required=True)
        not_null = fields.String(allow_none=False)
        integer, number, boolean = fields.Integer(), fields.Float(), fields.Boolean()
        strict = fields.Integer(strict=True)
        text, date, moment = fields.String(), fields.Date(), fields.AwareDateTime()
        items, mapping, email, url = fields.List(fields.String()), fields.Dict(), fields.Email(), fields.Url()
        ranged = fields.Integer(validate=validate.Range(min=1, max=10))
        at_least = fields.Integer(validate=validate.Range(min=1))
        short = fields.String(validate=validate.Length(max=2))
        long = fields.String(validate=validate.Length(min=3))
        between = fields.String(validate=validate.Length(min=1, max=2))
        exact = fields.String(validate=validate.Length(equal=2))
        choice = fields.String(validate=validate.OneOf(["a", "b"]))
        pattern = fields.String(validate=validate.Regexp(r"^a$"))
        nested = fields.Nested(lambda: Schema.from_dict({"x": fields.Integer()})())

    bad = {"not_null": None, "integer": "x", "number": "x", "boolean": "x", "strict": "1", "text": 1, "date": "x",
           "moment": "2026-01-01T10:00:00", "items": "x", "mapping": "x", "email": "x", "url": "x", "ranged": 0,
           "at_least": 0, "short": "abc", "long": "a", "between": "abc", "exact": "a", "choice": "c", "pattern": "b",
           "nested": "x", "unknown": 1}
    try:
        Probe().load(bad)
    except ValidationError as exc:
        errors = exc.messages
    assert set(errors) == set(bad) | {"required"}

    def texts(value):
        return [value] if isinstance(value, str) else [
            t for v in (value.values() if isinstance(value, dict) else value) for t in texts(v)]

    flat = texts(errors)
    untranslated = [m for m in flat if messages.field_message(m, "vi") == m]
    assert untranslated == []
    assert all(messages.field_message(m, "en") == m for m in flat), "English readers get marshmallow's own text"


def _schema_messages() -> set[str]:
    """The Vietnamese messages the API's schemas word themselves (validators' `error=`,
    `ValidationError(...)`, `default_error_messages`), read from the source."""
    import ast
    from pathlib import Path

    found: set[str] = set()
    for path in (Path(__file__).resolve().parents[1] / "api" / "schemas").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                texts = [node.args[0]] if name == "ValidationError" and node.args else []
                texts += [k.value for k in node.keywords if k.arg == "error"]
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "default_error_messages"
                                                      for t in node.targets) and isinstance(node.value, ast.Dict):
                texts = list(node.value.values)
            else:
                continue
            found |= {t.value for t in texts if isinstance(t, ast.Constant) and isinstance(t.value, str)}
    return found


def test_every_message_the_schemas_word_in_vietnamese_has_english():
    worded = _schema_messages()
    assert "9 đến 12 chữ số" in worded
    assert sorted(m for m in worded if m not in messages.SCHEMA_MESSAGES) == []
