"""Users' API tokens as their owners and administrators see them: listed, revoked one by one, or
all at once ("log out everywhere"). Apart from services/auth.py, which checks them, because the
rules (services/access.py) build on auth's Actor."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import User, UserToken
from ..models.types import utcnow
from . import access, audit
from .auth import Actor, revoke_credentials
from .errors import NotFound


def _token_owner(session: Session, actor: Actor, user_id: int | None, username: str | None = None) -> User:
    """The user whose tokens are asked for: the caller's own, or one they may manage (else 404)."""
    access.must_be_user(actor)
    if username:
        user = session.scalar(select(User).where(User.username == username))
    else:
        user = session.get(User, actor.user_id if user_id is None else user_id)
    if user is None or not access.may_manage_tokens(session, actor, user):
        raise NotFound(vi("Không tìm thấy người dùng."))
    return user


def list_tokens(session: Session, actor: Actor, user_id: int | None = None,
                username: str | None = None) -> list[UserToken]:
    """The tokens of a user (the caller's own unless `user_id` or `username` names another) that
    have not expired, newest first (revoked ones say when)."""
    user = _token_owner(session, actor, user_id, username)
    return list(session.scalars(select(UserToken).where(UserToken.user_id == user.id,
                                                        UserToken.expires_at > utcnow())
                                .order_by(UserToken.id.desc()).limit(200)))


def revoke_token(session: Session, actor: Actor, token_id: int, user_id: int | None = None) -> UserToken:
    """Revoke one token (of `user_id` when the page names one): its owner, or an administrator
    who manages the owner; others 404."""
    access.must_be_user(actor)
    token = session.get(UserToken, token_id)
    if token is not None and user_id is not None and token.user_id != user_id:
        token = None
    user = session.get(User, token.user_id) if token is not None else None
    if user is None or not access.may_manage_tokens(session, actor, user):
        raise NotFound(vi("Không tìm thấy mã truy cập."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, "token.revoke", actor.name, note=f"{user.username}: #{token.id}")
        session.flush()
    return token


def revoke_all(session: Session, actor: Actor, user_id: int) -> User:
    """Log a user out everywhere: every session and token of theirs ends."""
    user = _token_owner(session, actor, user_id)
    revoke_credentials(session, user)
    audit.record(session, "token.revoke_all", actor.name, note=user.username)
    return user
