"""Events leaving the system, queued in the transaction of the change that caused them:
webhooks to subscribed integrators and the national portal synchronisation."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
import socket
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import (ApiKey, AuditEvent, Dossier, Integrator, Job, Unit, WebhookDelivery, WebhookSubscription,
                      WorkItem)
from ..models.dossiers import COMPLETED, OPEN, STATUS_NAMES
from ..models.types import utcnow
from ..settings import Settings, settings_of
from ..timezone import TZ
from . import jobs, versions
from .cache import TTLCache, db_key

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
    """(subscription id, event types) of active subscriptions whose own key is allowed in the
    province and still valid. Cached ten seconds across processes (this process forgets at once on
    a change); expiry is checked on each event."""
    rows = _subs.get(db_key(session), lambda: _all_subscriptions(session))
    now = utcnow()
    return [(sub_id, types) for sub_id, types, provinces, expires_at in rows
            if (event_type in types or "*" in types) and ("VN" in provinces or province_code in provinces)
            and (expires_at is None or expires_at > now)]


def _all_subscriptions(session: Session) -> list[tuple]:
    """One row per subscription with the provinces of the key that owns it, never the union of the
    integrator's keys: a key issued elsewhere under the same integrator gains nothing here."""
    rows = session.execute(
        select(WebhookSubscription.id, WebhookSubscription.event_types, ApiKey.provinces, ApiKey.expires_at)
        .join(ApiKey, ApiKey.id == WebhookSubscription.api_key_id)
        .join(Integrator, Integrator.id == ApiKey.integrator_id)
        .where(WebhookSubscription.active.is_(True), Integrator.active.is_(True), ApiKey.revoked_at.is_(None))
    ).all()
    return [(sub_id, tuple(types), tuple(provinces), expires_at) for sub_id, types, provinces, expires_at in rows]


def _next_sequence(session: Session, sub_id: int, dossier_code: str) -> int:
    """The next number of this dossier's deliveries to this subscription: 1, 2, 3 ... without
    gaps. The dossier's changes are made under its row lock (one at a time), so max + 1 is safe."""
    last = session.scalar(select(func.max(WebhookDelivery.sequence))
                          .where(WebhookDelivery.subscription_id == sub_id,
                                 WebhookDelivery.dossier_code == dossier_code))
    return (last or 0) + 1


def fifo_key(sub_id: int, dossier_id: int) -> str:
    """Deliveries of one dossier to one subscription leave one at a time, in order, retries
    included (a later change waits while an earlier one is retried); other dossiers do not wait."""
    return f"webhook:{sub_id}:{dossier_id}"


def emit(session: Session, dossier: Dossier, event_type: str, data: dict | None = None) -> None:
    """Queue one delivery per interested subscription (at-least-once, each with a stable id),
    with the dossier as it is now and its sequence number, first in first out per dossier."""
    subs = _subscriptions(session, dossier.province_code, event_type)
    if not subs:
        return
    session.flush()  # the dossier's id, and the deliveries queued before this one
    body = {"type": event_type, "occurred_at": utcnow().astimezone(TZ).isoformat(),
            "dossier": dossier_summary(dossier), "data": data or {}}
    for sub_id, _types in subs:
        sequence = _next_sequence(session, sub_id, dossier.code)
        delivery = WebhookDelivery(id=str(uuid.uuid4()), subscription_id=sub_id, event_type=event_type,
                                   dossier_code=dossier.code, sequence=sequence, payload={})
        delivery.payload = {**body, "delivery_id": delivery.id, "sequence": sequence}
        session.add(delivery)
        job = jobs.enqueue(session, WEBHOOK, dossier_id=dossier.id, payload={"delivery_id": delivery.id},
                           max_attempts=12, fifo_key=fifo_key(sub_id, dossier.id))
        delivery.job_id = job.id


def redeliver(session: Session, delivery: WebhookDelivery) -> Job:
    """Queue one more attempt of a delivery: the same id and body, signed afresh at sending, behind
    the dossier's deliveries still queued for that subscription."""
    dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == delivery.dossier_code))
    job = jobs.enqueue(session, WEBHOOK, dossier_id=dossier_id, payload={"delivery_id": delivery.id},
                       max_attempts=12, fifo_key=fifo_key(delivery.subscription_id, dossier_id) if dossier_id else None)
    delivery.job_id = job.id
    return job


def status_changed(session: Session, dossier: Dossier, old: int | None, new: int) -> None:
    emit(session, dossier, "dossier.status_changed", {"from_status": old, "to_status": new})
    portal_sync(session, dossier)


# National public service portal ------------------------------------------------------------

def _portal_time(value: datetime | None) -> str | None:
    """The portal's date-time format (yyyyMMddHHmmss, Vietnamese time)."""
    return value.astimezone(TZ).strftime("%Y%m%d%H%M%S") if value else None


def handling_unit(session: Session, dossier: Dossier) -> str | None:
    """The portal's `DonViXuLy`: the unit that decided (the unit of the last completed step carrying
    the `decision` milestone), else the unit of the newest open step, else the receiving unit —
    not always the commune, since a department or the land office may decide."""
    decision_steps = {sid for sid, s in versions.of(dossier).steps.items() if s.get("milestone") == "decision"}
    items = session.execute(select(WorkItem.step_id, WorkItem.state, WorkItem.unit_code)
                            .where(WorkItem.dossier_id == dossier.id, WorkItem.state.in_((OPEN, COMPLETED)))
                            .order_by(WorkItem.created_at, WorkItem.id)).all()
    decided = [unit for step_id, state, unit in items if state == COMPLETED and step_id in decision_steps]
    current = [unit for _step_id, state, unit in items if state == OPEN]
    return (decided or current or [None])[-1] or dossier.received_by_unit or dossier.commune_code


def portal_payload(session: Session, dossier: Dossier) -> dict:
    """The synchronisation record of Circular 04/2025's data exchange (field names as the portal's)."""
    history = session.scalars(select(AuditEvent).where(AuditEvent.dossier_id == dossier.id,
                                                       AuditEvent.to_status.is_not(None))
                              .order_by(AuditEvent.id)).all()
    handling = handling_unit(session, dossier)
    deciding = session.scalar(select(Unit.name).where(Unit.code == handling)) or handling
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
    """Queue the dossier's record for the portal (when PORTAL_SYNC_URL is set), first in first out
    per dossier."""
    if not settings_of(session).portal_sync_url:
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


class WebhookRefused(ValueError):
    """A webhook target we do not call (its URL, or the address its host resolves to); at delivery
    the job records the reason as its error and is retried by the usual rules."""


@dataclass(frozen=True)
class WebhookTarget:
    scheme: str
    host: str  # as urllib3 reads it: lower case, IDNA, IPv6 in brackets
    port: int
    url: str  # rebuilt from the parts, so what is sent is what was checked


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")  # what inet_aton reads as a number


def parse_webhook_url(url: str, allow_http: bool = False) -> WebhookTarget:
    """Read a webhook URL with urllib3's parser, the one requests connects with, so the host
    checked is the host called. Refused: anything but http(s) (http only where private targets are
    allowed), user information, backslashes, whitespace and control characters, an empty host,
    and numbers written as a host in any form but the dotted quad (`127.1`, `0x7f.1`, `2130706433`)."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import Url, parse_url

    if len(url) > 500:
        raise WebhookRefused(vi("tối đa 500 ký tự"))
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        raise WebhookRefused(vi("không được có khoảng trắng hay ký tự điều khiển"))
    if "\\" in url:
        raise WebhookRefused(vi("không được có dấu gạch chéo ngược (\\)"))
    try:
        parsed = parse_url(url)
    except LocationParseError:
        raise WebhookRefused(vi("không phải một URL tuyệt đối hợp lệ")) from None
    if parsed.scheme not in ("https", "http"):
        raise WebhookRefused(vi("cần một URL tuyệt đối http(s)"))
    if parsed.scheme == "http" and not allow_http:
        raise WebhookRefused(vi("cần https"))
    if parsed.auth is not None or "@" in re.split(r"[/?#]", url.split("//", 1)[-1], maxsplit=1)[0]:
        raise WebhookRefused(vi("không được có thông tin người dùng (user@)"))
    host = parsed.host or ""
    if not host:
        raise WebhookRefused(vi("thiếu tên máy chủ"))
    if host.startswith("["):
        try:
            if "%" in host:  # a zone (interface) id: an address of this machine's links
                raise ValueError
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise WebhookRefused(vi("địa chỉ IPv6 không hợp lệ")) from None
    else:
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
            if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
                raise WebhookRefused(vi("tên máy chủ không hợp lệ")) from None
            if all(_NUMERIC_LABEL.match(label) for label in labels) or labels[-1].isdigit():
                raise WebhookRefused(vi("địa chỉ IP phải viết dạng a.b.c.d")) from None
    port = parsed.port if parsed.port is not None else (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise WebhookRefused(vi("cổng ngoài khoảng cho phép"))
    rebuilt = Url(scheme=parsed.scheme, host=host, port=parsed.port, path=parsed.path or "/",
                  query=parsed.query).url
    if len(rebuilt) > 500:
        raise WebhookRefused(vi("tối đa 500 ký tự"))
    return WebhookTarget(parsed.scheme, host, port, rebuilt)


def _refused_address(address: str) -> str | None:
    """Why an address is not a public one, or None (SSRF: nothing inside our network)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{reason}"):
            return reason.replace("_", "-")
    if not ip.is_global:
        return "not global"
    return None


def resolve_target(target: WebhookTarget, allow_private: bool) -> str:
    """Resolve the host now and return the address to connect to. Every address it resolves to
    must be public unless the deployment allows private targets (WEBHOOK_ALLOW_PRIVATE)."""
    name = target.host.strip("[]")
    try:
        infos = socket.getaddrinfo(name, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookRefused(vi("không phân giải được %(host)s: %(error)s", host=target.host, error=str(exc))) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise WebhookRefused(vi("không phân giải được %(host)s", host=target.host))
    if not allow_private:
        for address in addresses:
            reason = _refused_address(address)
            if reason:
                raise WebhookRefused(vi(
                    "%(host)s trỏ tới %(address)s (%(reason)s): không được dùng địa chỉ nội bộ hay loopback",
                    host=target.host, address=address, reason=reason))
    return addresses[0]


@cache
def _pinned_adapter_class():
    """A requests adapter whose connections go to one address checked beforehand, while the URL's
    host name stays in the Host header, the TLS SNI and the certificate check (so a DNS answer
    that changes between the check and the connection cannot redirect the delivery). Built on
    first use, as requests is imported here."""
    from requests.adapters import HTTPAdapter
    from urllib3 import PoolManager
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
    from urllib3.util import connection

    class Pinned:
        def __init__(self, *args, pinned_address: str, **kwargs):
            self.pinned_address = pinned_address
            super().__init__(*args, **kwargs)

        def _new_conn(self) -> socket.socket:
            try:
                return connection.create_connection((self.pinned_address, self.port), self.timeout,
                                                    source_address=self.source_address,
                                                    socket_options=self.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"connection to {self.host} ({self.pinned_address}) "
                                                f"timed out (timeout={self.timeout})") from exc
            except OSError as exc:
                raise NewConnectionError(self, f"cannot connect to {self.host} ({self.pinned_address}): "
                                               f"{exc}") from exc

    class PinnedHTTPConnection(Pinned, HTTPConnection):
        pass

    class PinnedHTTPSConnection(Pinned, HTTPSConnection):
        pass

    class PinnedPoolManager(PoolManager):
        def __init__(self, host: str, address: str, **kwargs):
            super().__init__(**kwargs)
            self.pinned_host, self.pinned_address = host, address

        def _new_pool(self, scheme, host, port, request_context=None):
            if host.lower().strip("[]") != self.pinned_host.strip("[]"):  # requests passes IPv6 bare
                raise WebhookRefused(f"{host} is not the host checked ({self.pinned_host})")
            pool = super()._new_pool(scheme, host, port, request_context)
            pool.ConnectionCls = PinnedHTTPSConnection if scheme == "https" else PinnedHTTPConnection
            pool.conn_kw = {**pool.conn_kw, "pinned_address": self.pinned_address}
            return pool

    class PinnedAdapter(HTTPAdapter):
        def __init__(self, host: str, address: str):
            self.pinned_host, self.pinned_address = host, address
            super().__init__(max_retries=0)

        def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
            self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
            self.poolmanager = PinnedPoolManager(self.pinned_host, self.pinned_address, num_pools=connections,
                                                 maxsize=maxsize, block=block, **pool_kwargs)

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            raise WebhookRefused("webhooks are not sent through a proxy")

    return PinnedAdapter


def pinned_session(target: WebhookTarget, address: str):
    """A requests session whose connections go to `address` only (checked by `resolve_target`),
    with no proxy from the environment: what connectors call through as well."""
    import requests

    http = requests.Session()
    http.trust_env = False
    adapter = _pinned_adapter_class()(target.host, address)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def _post_pinned(target: WebhookTarget, address: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST to the target over a connection to `address`; no redirects, no proxy from the
    environment (it would resolve the host itself), the body of the answer not read."""
    import requests

    with requests.Session() as http:
        http.trust_env = False
        adapter = _pinned_adapter_class()(target.host, address)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        with http.post(target.url, data=body, headers={"Content-Type": "application/json", **headers},
                       timeout=timeout, allow_redirects=False, stream=True, verify=verify) as response:
            return response.status_code


def _post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST to the national portal: PORTAL_SYNC_URL is the operator's configuration, trusted as
    such (it may well be an internal address), unlike the URLs integrators give."""
    import requests

    response = requests.post(url, data=body, headers={"Content-Type": "application/json", **headers},
                             timeout=timeout, allow_redirects=False)
    return response.status_code


def deliver_webhook(session: Session, job: Job, settings: Settings) -> str:
    """Send one delivery. The subscription's key must still be valid; the URL is read again and
    its host resolved and checked now, and the connection goes to the address checked."""
    delivery = session.get(WebhookDelivery, job.payload["delivery_id"])
    if delivery is None:
        return "gone"
    sub = session.get(WebhookSubscription, delivery.subscription_id)
    if sub is None or not sub.active:
        return "unsubscribed"
    key = session.get(ApiKey, sub.api_key_id)
    now = utcnow()
    if (key is None or key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now)
            or not key.integrator.active):
        return "key no longer valid"
    allow_private = settings.webhook_allow_private
    target = parse_webhook_url(sub.url, allow_http=allow_private)
    address = resolve_target(target, allow_private)
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    timestamp = str(int(now.timestamp()))
    status = _post_pinned(target, address, body,
                          {"X-Webhook-Id": delivery.id, "X-Webhook-Event": delivery.event_type,
                           "X-Webhook-Timestamp": timestamp,
                           "X-Webhook-Signature": sign(sub.secret, timestamp, body)},
                          settings.webhook_timeout)
    delivery.last_status_code = status
    if not 200 <= status < 300:
        raise RuntimeError(f"HTTP {status} from {target.url}")
    delivery.delivered_at = utcnow()
    return "delivered"


def deliver_portal(session: Session, job: Job, settings: Settings) -> str:
    url = settings.portal_sync_url
    if not url:
        return "disabled"
    body = json.dumps(job.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"X-Sync-Id": str(job.id)}
    token = settings.portal_sync_token
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status = _post(url, body, headers, settings.webhook_timeout)
    if not 200 <= status < 300:
        raise RuntimeError(f"HTTP {status} from the portal")
    return "synced"
