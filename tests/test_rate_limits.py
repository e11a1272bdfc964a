"""Rate limits on the public and token routes: 429 with Retry-After, counted in a shared store."""
from __future__ import annotations

import uuid

import pytest
import redis

from orchestrator import create_app


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
