"""Who is calling: users with opaque tokens, integrators with API keys. Secrets stored hashed."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import ApiKey, Integrator, RoleAssignment, Unit, User, UserToken
from ..models.types import utcnow
from ..models.users import ROLES
from ..i18n import vi
from ..settings import settings_of
from .cache import TTLCache, db_key
from . import throttle
from .errors import Invalid, Unauthenticated
from .event_names import check_key_events

PERMISSIONS = ("dossiers:create", "dossiers:read", "events:send", "procedures:write")
API_KEY_PREFIX = "ok_"


@dataclass(frozen=True)
class Assignment:
    role: str
    unit_code: str
    level: str
    province_code: str | None


@dataclass(frozen=True)
class Actor:
    """The caller of a use case; services authorise against it, never against Flask globals."""

    kind: str  # "user" or "integrator"
    name: str
    user_id: int | None = None
    assignments: tuple[Assignment, ...] = ()
    provinces: tuple[str, ...] = ()
    permissions: frozenset[str] = field(default_factory=frozenset)
    # The calling API key and its integrator: names repeat across scopes, these do not.
    key_id: int | None = None
    integrator_id: int | None = None
    # The event names the key may send (`ApiKey.events`); None: every event (users, keys with "*").
    events: frozenset[str] | None = None
    # The user token of this call (API only): the token listing marks it "current".
    token_id: int | None = None

    @property
    def is_integrator(self) -> bool:
        return self.kind == "integrator"

    def units(self, *roles: str) -> set[str]:
        return {a.unit_code for a in self.assignments if not roles or a.role in roles}

    def has_role(self, role: str, unit_code: str | None = None) -> bool:
        return any(a.role == role and (unit_code is None or a.unit_code == unit_code) for a in self.assignments)

    def scopes(self, role: str) -> set[str]:
        """Province codes (or 'VN' for the whole country) where the actor holds this role."""
        return {"VN" if a.level == "national" else (a.province_code or "") for a in self.assignments
                if a.role == role}

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def province_allowed(self, province_code: str) -> bool:
        return "VN" in self.provinces or province_code in self.provinces

    def may_send(self, event: str) -> bool:
        return self.events is None or event in self.events


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def actor_for_user(session: Session, user: User) -> Actor:
    return _actor_of(session, user.id, user.username)


def create_user(session: Session, username: str, password: str, pairs: list[tuple[str, str]],
                full_name: str | None = None) -> User:
    """Create a user, or add (role, unit) pairs to an existing one."""
    if not username or not username.strip():
        raise Invalid(vi("Thiếu tên đăng nhập."), fields={"username": vi("bắt buộc")})
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        if not password or len(password) < 8:
            raise Invalid(vi("Mật khẩu phải có ít nhất 8 ký tự."),
                          fields={"password": vi("quá ngắn (tối thiểu 8 ký tự)")})
        user = User(username=username, password_hash=hash_password(session, password), full_name=full_name)
        session.add(user)
    existing = {(a.role, a.unit_code) for a in user.assignments}
    for role, unit_code in pairs:
        if role not in ROLES:
            raise Invalid(vi("Vai trò không hợp lệ: %(role)s", role=role),
                          fields={"role": vi("một trong: %(choices)s", choices=", ".join(ROLES))})
        if session.get(Unit, unit_code) is None:
            raise Invalid(vi("Không có đơn vị mã %(unit)s", unit=unit_code),
                          fields={"unit": vi("mã đơn vị không tồn tại")})
        if (role, unit_code) not in existing:
            user.assignments.append(RoleAssignment(role=role, unit_code=unit_code))
            existing.add((role, unit_code))
    session.flush()
    forget_actor(user.id)
    return user


LOGIN_IP_FREE_FAILURES = 20  # an office behind one address shares this budget


def check_password(session: Session, username: str, password: str, client: str | None = None) -> User:
    """The active user with this username and password, else 401: the one password check of the
    API's token route and the back office's login. A hash is always checked (a dummy one for an
    unknown username), so the time taken does not reveal which usernames exist. Failures are
    counted per username (known or not) and per client address with growing backoff
    (services/throttle.py): while either backs off, 429 saying how long to wait, the right password
    included; the caller commits after a failure so the count is kept. A success clears the
    username's count."""
    user_key = throttle.key("login:user", (username or "").strip().lower())
    ip_key = throttle.key("login:ip", client) if client else None
    keys = [k for k in (user_key, ip_key) if k]
    throttle.check(session, *keys)
    user = session.scalar(select(User).where(User.username == username)) if username else None
    ok = check_password_hash(user.password_hash if user else _dummy_hash(session), password or "")
    if not user or not ok or not user.active:
        throttle.fail(session, user_key)
        if ip_key:
            throttle.fail(session, ip_key, free=LOGIN_IP_FREE_FAILURES)
        raise Unauthenticated(vi("Sai tên đăng nhập hoặc mật khẩu."))
    throttle.clear(session, user_key)
    return user


def issue_token(session: Session, username: str, password: str, hours: int,
                client: str | None = None) -> tuple[str, datetime]:
    user = check_password(session, username, password, client)
    token = secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=hours)
    session.add(UserToken(user_id=user.id, token_hash=_digest(token), expires_at=expires,
                          generation=user.credential_generation or 0))
    return token, expires


def revoke_credentials(session: Session, user: User) -> None:
    """End every session and token of the user: the next generation makes the ones stamped with
    the old one fail their check (authenticate, the back office's user loader), and the tokens are
    marked revoked so listings say so. Used on a password reset, a deactivation, a role removed,
    a logout and "log out everywhere"."""
    user.credential_generation = (user.credential_generation or 0) + 1
    session.execute(update(UserToken).where(UserToken.user_id == user.id, UserToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow()))
    session.flush()
    forget_actor(user.id)


def hash_password(session: Session, password: str) -> str:
    """A new password's hash, with the configured method (werkzeug's scrypt unless
    PASSWORD_HASH_METHOD says otherwise); a stored hash names its method, so old ones still verify."""
    return generate_password_hash(password, method=settings_of(session).password_hash_method)


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash(session: Session) -> str:
    """What an unknown username's password is checked against: a hash of the configured method, so
    an unknown name costs what a known one does."""
    method = settings_of(session).password_hash_method
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_hex(8), method=method)
    return _DUMMY_HASHES[method]


def scope_for(provinces: list[str]) -> str:
    """The scope an integrator gets when none is named: its key's one province, else national."""
    codes = set(provinces)
    return codes.pop() if len(codes) == 1 and "VN" not in codes else "VN"


def create_api_key(session: Session, integrator_name: str, provinces: list[str], permissions: list[str],
                   expires_at: datetime | None = None, scope: str | None = None,
                   events: list[str] | None = None) -> tuple[ApiKey, str]:
    """A new key for the integrator of that name in that scope (created if needed); the secret is
    returned once, never stored. Names are looked up within the scope only, so a name another
    province uses never reaches that province's integrator; the key's provinces stay in the scope.
    `events`: the event names it may send (known names, `event_names.check_key_events`); none: all."""
    events = check_key_events(session, events)
    bad = [p for p in permissions if p not in PERMISSIONS]
    if bad or not permissions:
        raise Invalid(vi("Quyền không hợp lệ: %(permissions)s", permissions=", ".join(bad) or vi("(trống)")),
                      fields={"permission": vi("một hoặc nhiều trong: %(choices)s", choices=", ".join(PERMISSIONS))})
    if not provinces:
        raise Invalid(vi("Cần ít nhất một tỉnh (hoặc VN)."), fields={"province": vi("ít nhất một mã tỉnh hoặc VN")})
    for code in provinces:
        unit = session.get(Unit, code)
        if unit is None or unit.level not in ("province", "national"):
            raise Invalid(vi("Không có tỉnh mã %(code)s", code=code), fields={"province": vi("mã tỉnh không tồn tại")})
    scope = scope or scope_for(provinces)
    unit = session.get(Unit, scope)
    if unit is None or unit.level not in ("province", "national"):
        raise Invalid(vi("Phạm vi không hợp lệ: %(scope)s", scope=scope),
                      fields={"scope": vi("mã tỉnh (2 chữ số) hoặc VN")})
    if scope != "VN" and set(provinces) != {scope}:
        raise Invalid(vi("Khóa của hệ thống thuộc tỉnh %(scope)s chỉ dùng cho tỉnh %(scope)s.", scope=scope),
                      fields={"province": vi("chỉ %(scope)s cho hệ thống tích hợp thuộc phạm vi %(scope)s",
                                              scope=scope)})
    integrator = session.scalar(select(Integrator).where(Integrator.scope == scope,
                                                         Integrator.name == integrator_name))
    if integrator is None:
        integrator = Integrator(scope=scope, name=integrator_name)
        try:
            with session.begin_nested():  # another request may register the same name meanwhile
                session.add(integrator)
                session.flush()
        except IntegrityError:
            integrator = session.scalar(select(Integrator).where(Integrator.scope == scope,
                                                                 Integrator.name == integrator_name))
    prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(integrator_id=integrator.id, prefix=prefix, key_hash=_digest(secret), provinces=list(provinces),
                 permissions=list(permissions), events=events, expires_at=expires_at)
    session.add(key)
    session.flush()
    return key, secret


def key_events(key: ApiKey) -> frozenset[str] | None:
    """The events a key may send, None for all ("*", or a key from before issue 21)."""
    names = key.events
    return None if not names or "*" in names else frozenset(names)


_TOKEN = (select(UserToken.id.label("token_id"), UserToken.revoked_at, UserToken.expires_at, UserToken.generation,
                 User.id, User.username, User.active, User.credential_generation)
          .join(User, User.id == UserToken.user_id).where(UserToken.token_hash == bindparam("digest")))


def authenticate(session: Session, bearer: str | None) -> Actor:
    """Resolve `Authorization: Bearer ...` to an actor; 401 for anything missing, unknown or expired."""
    if not bearer:
        raise Unauthenticated(vi("Thiếu thông tin xác thực (Authorization: Bearer ...)."))
    now = utcnow()
    digest = _digest(bearer)
    if bearer.startswith(API_KEY_PREFIX):
        key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        if (key is None or key.revoked_at or (key.expires_at and key.expires_at <= now)
                or not key.integrator.active or not hmac.compare_digest(key.key_hash, digest)):
            raise Unauthenticated(vi("Khóa API không hợp lệ, đã thu hồi hoặc hết hạn."))
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            key.last_used_at = now  # coarse, so hot keys do not write on every call
        return Actor("integrator", f"integrator:{key.integrator.name}", provinces=tuple(key.provinces),
                     permissions=frozenset(key.permissions), key_id=key.id, integrator_id=key.integrator_id,
                     events=key_events(key))
    row = session.execute(_TOKEN, {"digest": digest}).first()
    if (row is None or row.revoked_at or row.expires_at <= now
            or (row.generation or 0) != (row.credential_generation or 0)):
        raise Unauthenticated(vi("Mã truy cập không hợp lệ hoặc đã hết hạn."))
    if not row.active:
        raise Unauthenticated(vi("Tài khoản đã bị khóa."))
    # The token, its generation and the account are checked on every call; the roles are cached briefly.
    actor = _actors.get((db_key(session), row.id), lambda: _actor_of(session, row.id, row.username))
    return replace(actor, token_id=row.token_id)


_actors = TTLCache(max_size=10_000, ttl=30)


def forget_actor(user_id: int | None = None) -> None:
    """Roles changed in this process: drop the cached actors (other processes within 30 s)."""
    _actors.clear()


def _actor_of(session: Session, user_id: int, username: str) -> Actor:
    rows = session.execute(
        select(RoleAssignment.role, Unit.code, Unit.level, Unit.province_code)
        .join(Unit, Unit.code == RoleAssignment.unit_code)
        .where(RoleAssignment.user_id == user_id)
    ).all()
    return Actor("user", username, user_id=user_id,
                 assignments=tuple(Assignment(r, u, lv, p) for r, u, lv, p in rows))
