"""Bearer authentication for the API and the token route."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request

from orchestrator.extensions import db, limiter
from orchestrator.services import auth as auth_service
from orchestrator.services.auth import Actor
from orchestrator.services.errors import Unauthenticated

from .blueprint import bp
from .errors import documented
from .limits import SCOPE, caller_key, caller_limit
from .schemas.auth import TokenRequestSchema, TokenSchema


def current_actor() -> Actor:
    return g.actor


def authenticated(view):
    """Who calls, then the caller's rate limit (api/limits.py: per API key or user, per address
    without valid credentials, so failed attempts are counted too), then the view."""
    @limiter.limit(caller_limit, key_func=caller_key, scope=SCOPE, shared=True)
    def checked(*args, **kwargs):
        failure = g.pop("auth_failure", None)
        if failure is not None:
            raise failure
        return view(*args, **kwargs)

    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        try:
            g.actor = auth_service.authenticate(db.session, value.strip() if scheme.lower() == "bearer" else None)
        except Unauthenticated as exc:
            g.actor, g.auth_failure = None, exc
        return checked(*args, **kwargs)

    wrapper._rate_rules = checked._rate_rules  # documented as rate-limited (429) in the OpenAPI document
    return wrapper


@bp.post("/auth/token")
@limiter.limit(lambda: current_app.config["RATELIMIT_TOKEN"])
@bp.arguments(TokenRequestSchema)
@bp.response(200, TokenSchema)
@bp.doc(security=[])
@documented(400, 401, 429)
def issue_token(args):
    """Exchange a username and password for an opaque token (users)."""
    try:
        token, expires = auth_service.issue_token(db.session, args["username"], args["password"],
                                                  current_app.config["USER_TOKEN_HOURS"], request.remote_addr)
    except Unauthenticated:
        db.session.commit()  # keep the failure's count (services/throttle.py), then answer 401
        raise
    db.session.commit()
    return {"token": token, "expires_at": expires}
