"""Bearer authentication for the API and the token route."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request

from orchestrator.extensions import db, limiter
from orchestrator.services import auth as auth_service
from orchestrator.services import tokens as tokens_service
from orchestrator.services.auth import Actor
from orchestrator.services.errors import Unauthenticated

from .blueprint import bp
from .errors import documented
from .limits import SCOPE, caller_key, caller_limit
from .schemas.auth import TokenQuerySchema, TokenRequestSchema, TokenSchema, UserTokenListSchema


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


@bp.get("/auth/tokens")
@authenticated
@bp.arguments(TokenQuerySchema, location="query")
@bp.response(200, UserTokenListSchema)
@documented(400, 401, 403, 404)
def list_tokens(args):
    """My tokens not yet expired (`?user=` another user's, for administrators who manage that
    user; 404 otherwise). Never the token or its hash."""
    actor = current_actor()
    tokens = tokens_service.list_tokens(db.session, actor, username=args.get("user"))
    return {"items": [{"id": t.id, "created_at": t.created_at, "expires_at": t.expires_at,
                       "revoked_at": t.revoked_at, "current": t.id == actor.token_id} for t in tokens]}


@bp.delete("/auth/tokens/<int:token_id>")
@authenticated
@bp.response(204)
@documented(401, 403, 404)
def revoke_token(token_id: int):
    """Revoke a token: its owner, or an administrator who manages the owner (404 for anyone else)."""
    tokens_service.revoke_token(db.session, current_actor(), token_id)
    db.session.commit()
    return ""
