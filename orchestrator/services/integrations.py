"""Integrators: their keys (rotation with overlap, revocation, expiry), webhook subscriptions,
and idempotent requests."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import ApiKey, IdempotencyRecord, Integrator, Job, WebhookDelivery, WebhookSubscription
from ..models.types import utcnow
from . import audit
from .auth import Actor, create_api_key
from .errors import Conflict, Forbidden, Invalid, NotFound, Rejected
from .outbox import EVENT_TYPES, forget_subscriptions

# Idempotency -----------------------------------------------------------------------------------


def body_hash(body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > 200 or not key.isprintable():
        raise Invalid("Idempotency-Key không hợp lệ (1 đến 200 ký tự in được).",
                      fields={"Idempotency-Key": "1-200 printable characters"})


def reserve(session: Session, actor: Actor, key: str, method: str, path: str, body: object,
            status_code: int) -> tuple[IdempotencyRecord | None, IdempotencyRecord | None]:
    """(new reservation, None) for a first request; (None, earlier record) for a replay.

    The reservation is written in the request's own transaction, so it commits with the resource
    it creates, or not at all. A concurrent request with the same key waits on the unique index,
    then sees the earlier record.
    """
    check_key(key)
    digest = body_hash(body)
    earlier = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == actor.name,
                                                             IdempotencyRecord.key == key))
    if earlier is None:
        record = IdempotencyRecord(owner=actor.name, key=key, method=method, path=path, body_hash=digest,
                                   status_code=status_code)
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
            return record, None
        except IntegrityError:
            earlier = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == actor.name,
                                                                     IdempotencyRecord.key == key))
    if earlier.body_hash != digest or earlier.method != method or earlier.path != path:
        raise Rejected("Idempotency-Key đã dùng cho một yêu cầu khác.", code="idempotency_key_reused",
                       fields={"Idempotency-Key": "already used with a different request"})
    return None, earlier


# Keys --------------------------------------------------------------------------------------------


def _admin(actor: Actor) -> set[str]:
    scopes = set() if actor.is_integrator else actor.scopes("admin")
    if not scopes:
        raise Forbidden("Cần vai trò quản trị (admin).")
    return scopes


def _check_provinces(actor: Actor, provinces: list[str]) -> None:
    scopes = _admin(actor)
    if "VN" not in scopes and not set(provinces) <= scopes:
        raise Forbidden("Quản trị tỉnh chỉ cấp khóa cho tỉnh của mình.")


def _visible_integrator(session: Session, actor: Actor, integrator_id: int) -> Integrator:
    scopes = _admin(actor)
    integrator = session.get(Integrator, integrator_id)
    if integrator is None:
        raise NotFound("Không có hệ thống tích hợp này.")
    if "VN" not in scopes:
        provinces = {p for k in keys_of(session, integrator) for p in k.provinces}
        if not provinces or not provinces <= scopes:
            raise NotFound("Không có hệ thống tích hợp này.")
    return integrator


def integrators(session: Session, actor: Actor) -> list[Integrator]:
    scopes = _admin(actor)
    rows = session.scalars(select(Integrator).order_by(Integrator.name)).all()
    if "VN" in scopes:
        return list(rows)
    return [i for i in rows if {p for k in keys_of(session, i) for p in k.provinces} <= scopes
            and keys_of(session, i)]


def keys_of(session: Session, integrator: Integrator) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.integrator_id == integrator.id).order_by(ApiKey.id)))


def issue_key(session: Session, actor: Actor, name: str, provinces: list[str], permissions: list[str],
              expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Register an integrator (if new) and give it a key; the secret is shown once."""
    _check_provinces(actor, provinces)
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid("Ngày hết hạn phải ở tương lai.", fields={"expires_at": "must be in the future"})
    key, secret = create_api_key(session, name, provinces, permissions, expires_at)
    audit.record(session, "api_key.create", actor.name, note=f"{name}: {key.prefix}")
    return key, secret


def _key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("Không có khóa này.")
    _visible_integrator(session, actor, key.integrator_id)
    return key


def rotate_key(session: Session, actor: Actor, key_id: int, overlap: timedelta) -> tuple[ApiKey, str]:
    """A new key with the same scope; the old one keeps working for `overlap`, then expires."""
    old = _key(session, actor, key_id)
    if old.revoked_at is not None:
        raise Conflict("Khóa đã bị thu hồi.", code="revoked")
    if overlap < timedelta(0) or overlap > timedelta(days=30):
        raise Invalid("Thời gian chồng lấn từ 0 đến 30 ngày.", fields={"overlap_hours": "0..720"})
    new, secret = create_api_key(session, old.integrator.name, list(old.provinces), list(old.permissions),
                                 old.expires_at if old.expires_at and old.expires_at > utcnow() + overlap else None)
    ends = utcnow() + overlap
    old.expires_at = min(old.expires_at, ends) if old.expires_at else ends
    old.replaced_by_id = new.id
    audit.record(session, "api_key.rotate", actor.name, note=f"{old.prefix} -> {new.prefix}")
    return new, secret


def revoke_key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    key = _key(session, actor, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        forget_subscriptions()
        audit.record(session, "api_key.revoke", actor.name, note=key.prefix)
    return key


# Webhook subscriptions (owned by the integrator, managed with its own key) ---------------------


def _integrator_of(session: Session, actor: Actor) -> Integrator:
    if not actor.is_integrator:
        raise Forbidden("Chỉ hệ thống tích hợp (khóa API) quản lý đăng ký webhook của mình.")
    integrator = session.scalar(select(Integrator).where(Integrator.name == actor.name.split(":", 1)[1]))
    if integrator is None:
        raise Forbidden("Không xác định được hệ thống tích hợp.")
    return integrator


def subscribe(session: Session, actor: Actor, url: str, event_types: list[str], secret: str | None,
              allow_private: bool) -> tuple[WebhookSubscription, str]:
    integrator = _integrator_of(session, actor)
    parsed = urlparse(url or "")
    fields = {}
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        fields["url"] = "an absolute http(s) URL"
    elif parsed.scheme == "http" and not allow_private:
        fields["url"] = "https required"
    elif not allow_private and _private_host(parsed.hostname):
        fields["url"] = "private or loopback addresses are not allowed"
    bad = [t for t in event_types if t not in EVENT_TYPES and t != "*"]
    if bad or not event_types:
        fields["event_types"] = f"one or more of {', '.join(EVENT_TYPES)} or *"
    if secret is not None and len(secret) < 16:
        fields["secret"] = "at least 16 characters"
    if fields:
        raise Invalid("Đăng ký webhook không hợp lệ.", fields=fields)
    secret = secret or secrets.token_urlsafe(32)
    sub = WebhookSubscription(integrator_id=integrator.id, url=url, event_types=list(event_types), secret=secret)
    session.add(sub)
    session.flush()
    forget_subscriptions()
    return sub, secret


def _private_host(host: str) -> bool:
    """Refuse targets inside our network (SSRF), unless the deployment allows them."""
    import ipaddress
    import socket

    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return True
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            return True
    return False


def subscriptions(session: Session, actor: Actor) -> list[WebhookSubscription]:
    integrator = _integrator_of(session, actor)
    return list(session.scalars(select(WebhookSubscription).where(WebhookSubscription.integrator_id == integrator.id)
                                .order_by(WebhookSubscription.id)))


def unsubscribe(session: Session, actor: Actor, sub_id: int) -> WebhookSubscription:
    integrator = _integrator_of(session, actor)
    sub = session.get(WebhookSubscription, sub_id)
    if sub is None or sub.integrator_id != integrator.id:
        raise NotFound("Không có đăng ký webhook này.")
    sub.active = False
    forget_subscriptions()
    return sub


def deliveries(session: Session, actor: Actor, integrator_id: int, limit: int = 200) -> list[tuple]:
    """Recent deliveries with their job's attempts and last error (for administrators)."""
    integrator = _visible_integrator(session, actor, integrator_id)
    return list(session.execute(
        select(WebhookDelivery, Job).join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .outerjoin(Job, Job.id == WebhookDelivery.job_id)
        .where(WebhookSubscription.integrator_id == integrator.id)
        .order_by(WebhookDelivery.created_at.desc()).limit(limit)).all())
