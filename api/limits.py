"""The API's rate limits per caller (docs/api.md, "Rate limits").

An integrator's API key, or a user's token, has one budget for the whole API: a portal proxying
many citizens from one address does not share a bucket with everyone else behind that address,
and one key does not get more by calling from several addresses. Requests without valid
credentials are counted per client address (X-Forwarded-For is read only behind TRUSTED_PROXIES),
a ceiling against floods of unauthenticated calls. The token and public routes keep their own
per-address limits."""
from __future__ import annotations

from flask import Flask, current_app, g
from flask_limiter.util import get_remote_address

SCOPE = "api"  # one bucket per caller across every authenticated operation


def caller_key() -> str:
    actor = g.get("actor")
    if actor is None:
        return f"ip:{get_remote_address()}"
    return f"key:{actor.key_id}" if actor.key_id is not None else f"user:{actor.user_id}"


def caller_limit() -> str:
    actor, config = g.get("actor"), current_app.config
    if actor is None:
        return config["RATELIMIT_UNAUTHENTICATED"]
    return config["RATELIMIT_API_KEY"] if actor.is_integrator else config["RATELIMIT_API_USER"]


def upload_limit() -> str:
    """Files one API key may upload (RATELIMIT_UPLOADS), on top of its budget for the whole API."""
    return current_app.config["RATELIMIT_UPLOADS"]


def not_an_integrator() -> bool:
    """Users upload at a desk or in a step: the upload limit counts API keys only."""
    actor = g.get("actor")
    return actor is None or not actor.is_integrator


RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}


def document_rate_limits(app: Flask, spec) -> None:
    """Declare 429 (the error body and Retry-After) on every operation whose view is rate-limited
    (`RateLimits.limit` marks it with `_rate_rules`), so generated clients know to back off."""
    from flask_smorest.spec.plugins import FlaskPlugin

    response = spec.components.responses.get("E429")
    if response is not None:
        response.setdefault("headers", {}).setdefault("Retry-After", RETRY_AFTER)
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if not rule.endpoint.startswith("api.") or not getattr(view, "_rate_rules", None):
            continue
        operations = spec._paths.get(FlaskPlugin.flaskpath2openapi(rule.rule), {})
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = operations.get(method.lower())
            if operation is not None:
                operation.setdefault("responses", {}).setdefault("429", spec.components.get_ref("response", "E429"))
