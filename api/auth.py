"""Bearer authentication for the API and the token route."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request

from orchestrator.extensions import db, limiter
from orchestrator.services import auth as auth_service
from orchestrator.services.auth import Actor

from .blueprint import bp
from .errors import documented
from .schemas.auth import TokenRequestSchema, TokenSchema


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


@bp.post("/auth/token")
@limiter.limit(lambda: current_app.config["RATELIMIT_TOKEN"])
@bp.arguments(TokenRequestSchema)
@bp.response(200, TokenSchema)
@bp.doc(security=[])
@documented(400, 401, 429)
def issue_token(args):
    """Exchange a username and password for an opaque token (users)."""
    token, expires = auth_service.issue_token(db.session, args["username"], args["password"],
                                              current_app.config["USER_TOKEN_HOURS"])
    db.session.commit()
    return {"token": token, "expires_at": expires}
