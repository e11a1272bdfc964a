"""Events leaving the system, queued in the transaction of the change that caused them:
webhooks to subscribed integrators and the national portal synchronisation."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiKey, AuditEvent, Dossier, Integrator, Job, Unit, WebhookDelivery, WebhookSubscription
from ..models.dossiers import STATUS_NAMES
from ..models.types import utcnow
from . import jobs
from .cache import TTLCache, db_key

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EVENT_TYPES = ("dossier.created", "dossier.status_changed", "dossier.event", "dossier.incident")
WEBHOOK, PORTAL_SYNC = "webhook", "portal_sync"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(TZ).isoformat() if value else None


def dossier_summary(dossier: Dossier) -> dict:
    """What a webhook tells about a dossier: its progress, never the applicant's personal data."""
    return {"code": dossier.code, "procedure_code": dossier.procedure_code, "province_code": dossier.province_code,
            "commune_code": dossier.commune_code, "status": dossier.status, "status_name": dossier.status_name,
            "received_at": _iso(dossier.received_at), "due_at": _iso(dossier.due_at),
            "finished_at": _iso(dossier.finished_at), "incident": dossier.incident}


_subs = TTLCache(max_size=8, ttl=10)


def forget_subscriptions() -> None:
    _subs.clear()


def _subscriptions(session: Session, province_code: str, event_type: str) -> list[tuple]:
    """(subscription id, event types) of active subscriptions of integrators allowed in the
    province. Cached ten seconds across processes (this process forgets at once on a change)."""
    rows = _subs.get(db_key(session), lambda: _all_subscriptions(session))
    return [(sub_id, types) for sub_id, types, provinces in rows
            if (event_type in types or "*" in types) and ("VN" in provinces or province_code in provinces)]


def _all_subscriptions(session: Session) -> list[tuple]:
    rows = session.execute(
        select(WebhookSubscription, ApiKey.provinces).join(Integrator, Integrator.id == WebhookSubscription.integrator_id)
        .join(ApiKey, ApiKey.integrator_id == Integrator.id)
        .where(WebhookSubscription.active.is_(True), Integrator.active.is_(True), ApiKey.revoked_at.is_(None))
    ).all()
    merged: dict[int, tuple] = {}
    for sub, provinces in rows:
        _, types, known = merged.get(sub.id, (sub.id, tuple(sub.event_types), ()))
        merged[sub.id] = (sub.id, types, tuple(set(known) | set(provinces)))
    return list(merged.values())


def emit(session: Session, dossier: Dossier, event_type: str, data: dict | None = None) -> None:
    """Queue one delivery per interested subscription (at-least-once, each with a stable id)."""
    subs = _subscriptions(session, dossier.province_code, event_type)
    if not subs:
        return
    body = {"type": event_type, "occurred_at": utcnow().astimezone(TZ).isoformat(),
            "dossier": dossier_summary(dossier), "data": data or {}}
    for sub_id, _types in subs:
        delivery = WebhookDelivery(id=str(uuid.uuid4()), subscription_id=sub_id, event_type=event_type,
                                   payload={**body, "delivery_id": None})
        delivery.payload = {**body, "delivery_id": delivery.id}
        session.add(delivery)
        job = jobs.enqueue(session, WEBHOOK, dossier_id=dossier.id, payload={"delivery_id": delivery.id},
                           max_attempts=12)
        delivery.job_id = job.id


def status_changed(session: Session, dossier: Dossier, old: int | None, new: int) -> None:
    emit(session, dossier, "dossier.status_changed", {"from_status": old, "to_status": new})
    portal_sync(session, dossier)


# National public service portal ------------------------------------------------------------

def _portal_time(value: datetime | None) -> str | None:
    """The portal's date-time format (yyyyMMddHHmmss, Vietnamese time)."""
    return value.astimezone(TZ).strftime("%Y%m%d%H%M%S") if value else None


def portal_payload(session: Session, dossier: Dossier) -> dict:
    """The synchronisation record of Circular 04/2025's data exchange (field names as the portal's)."""
    history = session.scalars(select(AuditEvent).where(AuditEvent.dossier_id == dossier.id,
                                                       AuditEvent.to_status.is_not(None))
                              .order_by(AuditEvent.id)).all()
    deciding = session.scalar(select(Unit.name).where(Unit.code == dossier.commune_code))
    received = session.get(Unit, dossier.received_by_unit)
    return {
        "MaHoSo": dossier.code, "MaTTHC": dossier.procedure_code,
        "NgayTiepNhan": _portal_time(dossier.received_at), "NgayHenTra": _portal_time(dossier.due_at),
        "TrangThaiHoSo": str(dossier.status), "TenTrangThaiHoSo": STATUS_NAMES[dossier.status],
        "DonViXuLy": deciding, "NoiNopHoSo": received.name if received else dossier.received_by_unit,
        "KenhThucHien": str(dossier.channel),
        "QuaTrinhXuLy": [{"NguoiXuLy": h.actor, "ThoiDiemXuLy": _portal_time(h.at),
                          "NoiDungXuLy": h.note or h.action, "TrangThai": str(h.to_status)} for h in history],
    }


def portal_sync(session: Session, dossier: Dossier) -> None:
    """Queue the dossier's record for the portal, first in first out per dossier."""
    if not (has_app_context() and current_app.config.get("PORTAL_SYNC_URL")):
        return
    session.flush()
    jobs.enqueue(session, PORTAL_SYNC, dossier_id=dossier.id, payload=portal_payload(session, dossier),
                 fifo_key=f"portal:{dossier.id}", max_attempts=50)


# Delivery (run by the worker) ------------------------------------------------------------------

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `{timestamp}.{body}`: the receiver checks both, so a replay with an old
    timestamp or a changed body fails."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    import requests

    response = requests.post(url, data=body, headers={"Content-Type": "application/json", **headers},
                             timeout=timeout, allow_redirects=False)
    return response.status_code


def deliver_webhook(session: Session, job: Job) -> str:
    delivery = session.get(WebhookDelivery, job.payload["delivery_id"])
    if delivery is None:
        return "gone"
    sub = session.get(WebhookSubscription, delivery.subscription_id)
    if sub is None or not sub.active:
        return "unsubscribed"
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(utcnow().timestamp()))
    status = _post(sub.url, body, {"X-Webhook-Id": delivery.id, "X-Webhook-Event": delivery.event_type,
                                   "X-Webhook-Timestamp": timestamp,
                                   "X-Webhook-Signature": sign(sub.secret, timestamp, body)},
                   current_app.config.get("WEBHOOK_TIMEOUT", 10.0))
    delivery.last_status_code = status
    if not 200 <= status < 300:
        raise RuntimeError(f"HTTP {status} from {sub.url}")
    delivery.delivered_at = utcnow()
    return "delivered"


def deliver_portal(session: Session, job: Job) -> str:
    url = current_app.config.get("PORTAL_SYNC_URL")
    if not url:
        return "disabled"
    body = json.dumps(job.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"X-Sync-Id": str(job.id)}
    token = current_app.config.get("PORTAL_SYNC_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status = _post(url, body, headers, current_app.config.get("WEBHOOK_TIMEOUT", 10.0))
    if not 200 <= status < 300:
        raise RuntimeError(f"HTTP {status} from the portal")
    return "synced"
