"""Bearer authentication for the API and the token route."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request

from orchestrator.extensions import db
from orchestrator.services import auth as auth_service
from orchestrator.services.auth import Actor
from orchestrator.services.errors import Invalid

from . import bp
from .schemas import TokenRequestSchema, VNDateTime


def current_actor() -> Actor:
    return g.actor


def authenticated(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        g.actor = auth_service.authenticate(db.session, value.strip() if scheme.lower() == "bearer" else None)
        return view(*args, **kwargs)

    return wrapper


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("Thân yêu cầu phải là một đối tượng JSON.", fields={"_": "expected a JSON object"})
    return body


@bp.post("/auth/token")
def issue_token():
    args = TokenRequestSchema().load(json_body())
    token, expires = auth_service.issue_token(db.session, args["username"], args["password"],
                                              current_app.config["USER_TOKEN_HOURS"])
    db.session.commit()
    return {"token": token, "expires_at": VNDateTime()._serialize(expires, None, None)}
