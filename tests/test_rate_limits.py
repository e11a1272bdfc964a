"""Rate limits: 429 with Retry-After, counted in a shared store; the API's budget per API key or
user (per address without valid credentials), X-Forwarded-For only behind TRUSTED_PROXIES."""
from __future__ import annotations

import re
import uuid

import pytest
import redis

from orchestrator import create_app

from .conftest import _config

ADDRESS_A, ADDRESS_B = {"REMOTE_ADDR": "10.1.0.1"}, {"REMOTE_ADDR": "10.1.0.2"}


def _list(client, secret=None, environ=None, headers=None):
    auth = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.get("/api/v1/dossiers", headers={**auth, **(headers or {})}, environ_base=environ or ADDRESS_A)


def test_token_route_is_rate_limited(app, client):
    app.config["RATELIMIT_TOKEN"] = "3 per minute"
    codes = [client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    r = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["error"]["code"] == "too_many_requests"


def test_processes_share_the_counts_through_redis(database_uri):
    """Two app instances (as two web processes) with the production store share one budget."""
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    config = {"SQLALCHEMY_DATABASE_URI": database_uri, "TESTING": True,
              "SECRET_KEY": "rate-test-only-5d2a8f3c1e9b4706d8a1c5",
              "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379", "RATELIMIT_KEY_PREFIX": prefix,
              "RATELIMIT_PUBLIC": "4 per minute"}
    first, second = create_app(dict(config)).test_client(), create_app(dict(config)).test_client()
    codes = [c.get("/api/v1/public/dossiers/nope").status_code for c in (first, second, first, second, first)]
    assert codes == [404, 404, 404, 404, 429]


def test_two_keys_from_one_address_have_separate_buckets(app, client, api_key):
    """A portal's key is not throttled because another integrator calls from the same address."""
    app.config["RATELIMIT_API_KEY"] = "3 per minute"
    portal, other = api_key(name="portal"), api_key(name="other")
    assert [_list(client, portal).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _list(client, other).status_code == 200


def test_one_key_from_two_addresses_shares_its_bucket(app, client, api_key):
    app.config["RATELIMIT_API_KEY"] = "3 per minute"
    portal = api_key()
    codes = [_list(client, portal, environ).status_code for environ in (ADDRESS_A, ADDRESS_B, ADDRESS_A, ADDRESS_B)]
    assert codes == [200, 200, 200, 429]


def test_each_user_has_a_bucket_of_its_own(app, api):
    app.config["RATELIMIT_API_USER"] = "2 per minute"
    codes = [api.get("/tasks", "reception.00070").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api.get("/tasks", "specialist.00070").status_code == 200


def test_requests_without_credentials_are_counted_per_address(app, client, api_key):
    """A flood of calls without valid credentials is stopped per address, and does not stop a
    valid key calling from that address."""
    app.config["RATELIMIT_UNAUTHENTICATED"] = "2 per minute"
    codes = [_list(client, secret).status_code for secret in (None, "ok_wrong", None)]
    assert codes == [401, 401, 429]
    assert _list(client, environ=ADDRESS_B).status_code == 401
    assert _list(client, api_key()).status_code == 200


def test_forwarded_for_is_ignored_without_trusted_proxies(app, client):
    app.config["RATELIMIT_UNAUTHENTICATED"] = "2 per minute"
    codes = [_list(client, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 429]  # a spoofed header does not give a fresh bucket


def test_forwarded_for_is_the_client_behind_a_trusted_proxy(database_uri):
    app = create_app({**_config(database_uri), "TRUSTED_PROXIES": "1", "RATELIMIT_UNAUTHENTICATED": "2 per minute"})
    client = app.test_client()
    forwarded = [_list(client, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)]
    assert forwarded == [401, 401, 401]  # three clients behind the proxy, each its own bucket
    same = [_list(client, headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}).status_code for _ in range(3)]
    assert same == [401, 401, 429]  # the proxy's own entry (the last one) is the client


def test_trusted_proxies_must_be_a_number(database_uri):
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
        create_app({**_config(database_uri), "TRUSTED_PROXIES": "yes"})


def test_retry_after_only_on_429(app, client, api_key):
    app.config["RATELIMIT_API_KEY"] = "1 per minute"
    portal = api_key()
    ok = _list(client, portal)
    assert ok.status_code == 200 and "Retry-After" not in ok.headers
    assert ok.headers["X-RateLimit-Limit"] == "1" and ok.headers["X-RateLimit-Remaining"] == "0"
    limited = _list(client, portal)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    public = client.get("/api/v1/public/dossiers/nope")
    assert public.status_code == 404 and "Retry-After" not in public.headers


def test_every_rate_limited_operation_declares_429(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "Retry-After" in spec["components"]["responses"]["E429"]["headers"]
    operations = {(method, path): operation for path, item in spec["paths"].items()
                  for method, operation in item.items() if method in ("get", "post", "put", "patch", "delete")}
    limited = {(m.lower(), re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)) for rule in app.url_map.iter_rules()
               if rule.endpoint.startswith("api.") and getattr(app.view_functions[rule.endpoint], "_rate_rules", None)
               for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert ("post", "/api/v1/dossiers") in limited and ("post", "/api/v1/auth/token") in limited
    assert limited == set(operations)  # every operation of the API is limited (authenticated ones per caller)
    undeclared = sorted(f"{m} {p}" for (m, p), op in operations.items()
                        if op["responses"].get("429", {}).get("$ref") != "#/components/responses/E429")
    assert undeclared == []
