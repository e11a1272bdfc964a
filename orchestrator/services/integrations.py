"""Integrators: their keys (rotation with overlap, revocation, expiry), webhook subscriptions,
and idempotent requests."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import ApiKey, IdempotencyRecord, Integrator, Job, WebhookDelivery, WebhookSubscription
from ..models.types import utcnow
from . import access, audit
from .auth import Actor, create_api_key, scope_for
from .errors import Conflict, Forbidden, Invalid, NotFound, Rejected
from .outbox import EVENT_TYPES, WebhookRefused, forget_subscriptions, parse_webhook_url, resolve_target
from .outbox import redeliver as outbox_redeliver

# Idempotency -----------------------------------------------------------------------------------


def body_hash(body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > 200 or not key.isprintable():
        raise Invalid(vi("Idempotency-Key không hợp lệ (1 đến 200 ký tự in được)."),
                      fields={"Idempotency-Key": vi("1 đến 200 ký tự in được")})


def _owner(actor: Actor) -> str:
    """Whose keys these are: an integrator by id (two scopes may use the same name), a user by name."""
    return f"integrator#{actor.integrator_id}" if actor.is_integrator and actor.integrator_id else actor.name


def reserve(session: Session, actor: Actor, key: str, method: str, path: str, body: object,
            status_code: int) -> tuple[IdempotencyRecord | None, IdempotencyRecord | None]:
    """(new reservation, None) for a first request; (None, earlier record) for a replay.

    The reservation is written in the request's own transaction, so it commits with the resource
    it creates, or not at all. A concurrent request with the same key waits on the unique index,
    then sees the earlier record.
    """
    check_key(key)
    digest = body_hash(body)
    owner = _owner(actor)
    earlier = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == owner,
                                                             IdempotencyRecord.key == key))
    if earlier is None:
        record = IdempotencyRecord(owner=owner, key=key, method=method, path=path, body_hash=digest,
                                   status_code=status_code)
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
            return record, None
        except IntegrityError:
            earlier = session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.owner == owner,
                                                                     IdempotencyRecord.key == key))
    if earlier.body_hash != digest or earlier.method != method or earlier.path != path:
        raise Rejected(vi("Idempotency-Key đã dùng cho một yêu cầu khác."), code="idempotency_key_reused",
                       fields={"Idempotency-Key": vi("đã dùng cho một yêu cầu khác")})
    return None, earlier


# Keys --------------------------------------------------------------------------------------------
#
# An integrator belongs to one scope (a province code, or VN). Administrators manage the integrators
# of their scopes only (VN: all): they see them, issue, rotate and revoke their keys; another
# scope's integrator is not found (404), even by name: issuing a key under a name another province
# uses registers a new integrator in the administrator's own scope.


def _visible_integrator(session: Session, actor: Actor, integrator_id: int) -> Integrator:
    scopes = access.admin_scopes(actor)
    integrator = session.get(Integrator, integrator_id)
    if integrator is None or not access.in_scope(scopes, integrator.scope):
        raise NotFound(vi("Không có hệ thống tích hợp này."))
    return integrator


def integrators(session: Session, actor: Actor) -> list[Integrator]:
    """The integrators of the administrator's scopes (every one for a national administrator)."""
    scopes = access.admin_scopes(actor)
    query = (select(Integrator).where(access.scope_filter(scopes, Integrator.scope))
             .order_by(Integrator.name, Integrator.scope))
    return list(session.scalars(query))


def keys_of(session: Session, integrator: Integrator) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).where(ApiKey.integrator_id == integrator.id).order_by(ApiKey.id)))


def issue_key(session: Session, actor: Actor, name: str, provinces: list[str], permissions: list[str],
              expires_at: datetime | None = None, scope: str | None = None,
              events: list[str] | None = None) -> tuple[ApiKey, str]:
    """Give a key to the integrator of that name in `scope` (registered if new); the secret is shown
    once. Without `scope`: the key's one province, else VN. `events`: the events it may send (none: all)."""
    access.admin_scopes(actor)  # not an administrator: 403 before anything else is checked
    name = (name or "").strip()
    if not name:
        raise Invalid(vi("Thiếu tên hệ thống tích hợp."), fields={"name": vi("bắt buộc")})
    scope = scope or scope_for(provinces)
    access.may_issue_key(actor, scope, provinces)
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid(vi("Ngày hết hạn phải ở tương lai."), fields={"expires_at": vi("phải ở tương lai")})
    key, secret = create_api_key(session, name, provinces, permissions, expires_at, scope=scope, events=events)
    audit.record(session, "api_key.create", actor.name, note=f"{name} ({scope}): {key.prefix}")
    return key, secret


def _key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(vi("Không có khóa này."))
    _visible_integrator(session, actor, key.integrator_id)
    return key


def rotate_key(session: Session, actor: Actor, key_id: int, overlap: timedelta) -> tuple[ApiKey, str]:
    """A new key with the same scope; the old one keeps working for `overlap`, then expires. Its
    webhook subscriptions move to the new key, so deliveries go on after the old one stops."""
    old = _key(session, actor, key_id)
    if old.revoked_at is not None:
        raise Conflict(vi("Khóa đã bị thu hồi."), code="revoked")
    if overlap < timedelta(0) or overlap > timedelta(days=30):
        raise Invalid(vi("Thời gian chồng lấn từ 0 đến 30 ngày."), fields={"overlap_hours": "0..720"})
    new, secret = create_api_key(session, old.integrator.name, list(old.provinces), list(old.permissions),
                                 old.expires_at if old.expires_at and old.expires_at > utcnow() + overlap else None,
                                 scope=old.integrator.scope, events=list(old.events or ["*"]))
    ends = utcnow() + overlap
    old.expires_at = min(old.expires_at, ends) if old.expires_at else ends
    old.replaced_by_id = new.id
    session.execute(update(WebhookSubscription).where(WebhookSubscription.api_key_id == old.id)
                    .values(api_key_id=new.id).execution_options(synchronize_session=False))
    forget_subscriptions()
    audit.record(session, "api_key.rotate", actor.name, note=f"{old.prefix} -> {new.prefix}")
    return new, secret


def revoke_key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    """Stop a key at once, and the deliveries to its webhook subscriptions with it."""
    key = _key(session, actor, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        forget_subscriptions()
        audit.record(session, "api_key.revoke", actor.name, note=key.prefix)
    return key


# Webhook subscriptions (each owned by the key that created it) ---------------------------------


def _calling_key(session: Session, actor: Actor) -> ApiKey:
    access.may_manage_webhooks(actor)
    key = session.get(ApiKey, actor.key_id) if actor.key_id is not None else None
    if key is None:
        raise Forbidden(vi("Không xác định được khóa API."))
    return key


def _owned_by(key: ApiKey):
    """A key's own subscriptions; during a rotation's overlap the old key still manages those
    moved to its successor (the same holder)."""
    owners = [key.id] + ([key.replaced_by_id] if key.replaced_by_id else [])
    return WebhookSubscription.api_key_id.in_(owners)


def subscribe(session: Session, actor: Actor, url: str, event_types: list[str], secret: str | None,
              allow_private: bool) -> tuple[WebhookSubscription, str]:
    """Subscribe a URL for the calling key: it will get the events of that key's provinces.

    The URL is read by the parser that connects (urllib3's, as requests) and its host resolved
    now for an early answer; each delivery checks the address again and connects to it only."""
    key = _calling_key(session, actor)
    fields = {}
    try:
        target = parse_webhook_url(url or "", allow_http=allow_private)
        if not allow_private:
            resolve_target(target, allow_private=False)
    except WebhookRefused as exc:
        fields["url"] = exc.args[0] if exc.args else str(exc)
    bad = [t for t in event_types if t not in EVENT_TYPES and t != "*"]
    if bad or not event_types:
        fields["event_types"] = vi("một hoặc nhiều loại trong %(types)s, hoặc *", types=", ".join(EVENT_TYPES))
    if secret is not None and len(secret) < 16:
        fields["secret"] = vi("ít nhất 16 ký tự")
    if "url" in fields:
        raise Rejected(vi("Địa chỉ webhook không được chấp nhận (url)."), code="webhook_url_refused", fields=fields)
    if fields:
        raise Invalid(vi("Đăng ký webhook không hợp lệ."), fields=fields)
    secret = secret or secrets.token_urlsafe(32)
    sub = WebhookSubscription(integrator_id=key.integrator_id, api_key_id=key.id, url=target.url,
                              event_types=list(event_types), secret=secret)
    session.add(sub)
    session.flush()
    forget_subscriptions()
    return sub, secret


def subscriptions(session: Session, actor: Actor) -> list[WebhookSubscription]:
    key = _calling_key(session, actor)
    return list(session.scalars(select(WebhookSubscription).where(_owned_by(key)).order_by(WebhookSubscription.id)))


def unsubscribe(session: Session, actor: Actor, sub_id: int) -> WebhookSubscription:
    key = _calling_key(session, actor)
    sub = session.scalar(select(WebhookSubscription).where(WebhookSubscription.id == sub_id, _owned_by(key)))
    if sub is None:
        raise NotFound(vi("Không có đăng ký webhook này."))
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


# The integrator's own delivery log -------------------------------------------------------------


def _own_deliveries(session: Session, actor: Actor):
    """Deliveries to the subscriptions of the calling key's integrator (any of its keys): another
    integrator's are not found."""
    key = _calling_key(session, actor)
    return (select(WebhookDelivery, Job)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .outerjoin(Job, Job.id == WebhookDelivery.job_id)
            .where(WebhookSubscription.integrator_id == key.integrator_id))


def delivery_state(delivery: WebhookDelivery, job: Job | None) -> str:
    """delivered, or the state of its last job (queued, running, dead)."""
    return "delivered" if delivery.delivered_at else (job.state if job else "unknown")


def my_deliveries(session: Session, actor: Actor, dossier_code: str | None = None, state: str | None = None,
                  after: tuple[datetime, str] | None = None, limit: int = 50) -> tuple[list[tuple], tuple | None]:
    """The calling integrator's deliveries, newest first, optionally of one dossier or in one state
    (`delivered`, `failed`: the last attempt refused, `dead`: given up, `queued`); a page and the
    position after it (None at the end)."""
    query = _own_deliveries(session, actor)
    if dossier_code:
        query = query.where(WebhookDelivery.dossier_code == dossier_code)
    if state == "delivered":
        query = query.where(WebhookDelivery.delivered_at.is_not(None))
    elif state in ("queued", "running", "dead"):
        query = query.where(WebhookDelivery.delivered_at.is_(None), Job.state == state)
    elif state == "failed":
        query = query.where(WebhookDelivery.delivered_at.is_(None), Job.last_error.is_not(None))
    if after is not None:
        at, last_id = after
        query = query.where((WebhookDelivery.created_at < at)
                            | ((WebhookDelivery.created_at == at) & (WebhookDelivery.id < last_id)))
    rows = list(session.execute(query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
                                .limit(limit + 1)).all())
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = (rows[-1][0].created_at, rows[-1][0].id)
    return rows, following


def redeliver(session: Session, actor: Actor, delivery_id: str) -> tuple[WebhookDelivery, Job]:
    """Send one of the calling integrator's deliveries again (same id and body, signed afresh):
    a new job, queued behind that dossier's deliveries to the subscription. 404 for another's."""
    found = session.execute(_own_deliveries(session, actor).where(WebhookDelivery.id == delivery_id)).first()
    if found is None:
        raise NotFound(vi("Không có lần gửi webhook này."))
    delivery = found[0]
    job = outbox_redeliver(session, delivery)
    audit.record(session, "webhook.redeliver", actor.name, note=delivery.id)
    return delivery, job
