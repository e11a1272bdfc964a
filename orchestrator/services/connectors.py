"""Connectors: the named HTTP calls service tasks make.

Administrators register them (per province or VN, like other administered objects; the rules are
`access.admin_scopes` / `access.may_administer`). Secret header values are encrypted at rest
(Fernet, with a key derived from SECRET_KEY by HKDF) and never shown back, logged or written to
the history. A service task's call is queued as a job by the step that reached it
(`enqueue_started`); the worker makes the HTTP call outside any transaction
(`services/connector_calls.py`). The URL rules are the webhooks' (`outbox.parse_webhook_url`,
`resolve_target`, the pinned adapter): private and loopback addresses only where the connector
allows them.
"""
from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine import Problem, parse_trusted
from ..engine.service_tasks import ServiceCall, declared_calls, expression_problems, started_calls
from ..i18n import vi
from ..models import Connector, Dossier, Unit
from ..models.procedures import NATIONAL
from ..models.types import utcnow
from ..settings import Settings, settings_of
from . import access, audit, jobs, outbox
from .auth import Actor
from .errors import Conflict, Invalid, NotFound

KIND = "connector_call"
METHODS = ("GET", "POST", "PUT")
MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 30.0
MAX_ATTEMPTS = 10
MAX_RESPONSE_BYTES = 256_000
"""Largest answer read from a provider; a longer one fails the call."""
NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,59}$")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,59}$")
HEADER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,59}$")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,59})\}")
RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "idempotency-key", "content-type"}
MAX_HEADERS, MAX_FIELDS = 20, 50
SYSTEM_ACTOR = "system:connector"


# -- secrets ----------------------------------------------------------------------------------

def _fernet(settings: Settings):
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if not settings.secret_key:
        raise Conflict(vi("Chưa cấu hình SECRET_KEY: không lưu được giá trị bí mật."), code="no_secret_key")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"orchestrator/connectors",
               info=b"connector secret headers").derive(settings.secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(settings: Settings, value: str) -> str:
    return _fernet(settings).encrypt(value.encode("utf-8")).decode("ascii")


def _decrypt(settings: Settings, token: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(settings).decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise CallFailed("không giải mã được giá trị bí mật (SECRET_KEY đã đổi?)", permanent=True) from None


# -- what an administrator enters -------------------------------------------------------------

@dataclass
class Definition:
    """A connector's fields as entered (text from a form or JSON), before checks."""

    name: str = ""
    scope: str = ""
    description: str | None = None
    method: str = "GET"
    url_template: str = ""
    headers: dict = field(default_factory=dict)
    secret_headers: dict = field(default_factory=dict)  # name -> new value; "" keeps the stored one
    inputs: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)
    timeout_seconds: object = 10
    max_attempts: object = 5
    allow_private: bool = False
    active: bool = True


def parse_lines(text: str, separator: str, secret: bool = False) -> dict:
    """`Name: value` (headers) or `name = path` (outputs), one a line, as a dict. A secret line
    at fault is not quoted back."""
    out = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        if separator not in line:
            if secret:
                raise Invalid(vi("Dòng số %(number)s thiếu '%(separator)s'.", number=n, separator=separator))
            raise Invalid(vi("Dòng '%(line)s' thiếu '%(separator)s'.", line=line.strip()[:60], separator=separator))
        key, value = line.split(separator, 1)
        out[key.strip()] = value.strip()
    return out


def _checked(d: Definition) -> dict:
    """The columns of a valid definition; Invalid naming the field otherwise."""
    errors = {}
    name = (d.name or "").strip()
    if not NAME_RE.match(name):
        errors["name"] = vi("2-60 ký tự: chữ thường, số, '_', '-', '.'; bắt đầu bằng chữ")
    method = (d.method or "").strip().upper()
    if method not in METHODS:
        errors["method"] = vi("một trong %(choices)s", choices=", ".join(METHODS))
    try:
        timeout = float(d.timeout_seconds)
        if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            raise ValueError
    except (TypeError, ValueError):
        errors["timeout_seconds"] = vi("số giây từ %(low)s đến %(high)s", low=f"{MIN_TIMEOUT:g}", high=f"{MAX_TIMEOUT:g}")
        timeout = None
    try:
        attempts = int(d.max_attempts)
        if not 1 <= attempts <= MAX_ATTEMPTS:
            raise ValueError
    except (TypeError, ValueError):
        errors["max_attempts"] = vi("số lần từ 1 đến %(high)s", high=MAX_ATTEMPTS)
        attempts = None
    inputs = [i.strip() for i in (d.inputs or []) if isinstance(i, str) and i.strip()]
    if len(inputs) > MAX_FIELDS or not all(FIELD_RE.match(i) for i in inputs):
        errors["inputs"] = vi("tên trường: chữ, số, '_' (tối đa 50)")
    outputs = d.outputs if isinstance(d.outputs, dict) else {}
    if (len(outputs) > MAX_FIELDS or not all(isinstance(k, str) and FIELD_RE.match(k) for k in outputs)
            or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in outputs.values())):
        errors["outputs"] = vi("mỗi dòng 'tên = /con/tro/json' hoặc 'tên = a.b.c' (tối đa 50)")
    for key in ("headers", "secret_headers"):
        values = getattr(d, key) if isinstance(getattr(d, key), dict) else {}
        if len(values) > MAX_HEADERS or not all(
                isinstance(k, str) and HEADER_RE.match(k) and k.lower() not in RESERVED_HEADERS
                and isinstance(v, str) and len(v) <= 1000 and not any(c in v for c in "\r\n\0")
                for k, v in values.items()):
            errors[key] = vi("mỗi dòng 'Tên: giá trị'; không dùng Host, Content-Type, Content-Length, Idempotency-Key")
    url = (d.url_template or "").strip()
    placeholders = PLACEHOLDER_RE.findall(url)
    host_part = url.split("://", 1)[-1].split("/", 1)[0]
    allow_private = bool(d.allow_private)
    try:
        if "{" in host_part or "}" in host_part:
            raise outbox.WebhookRefused(vi("không đặt tham số trong tên máy chủ"))
        rendered = PLACEHOLDER_RE.sub("x", url)
        if "{" in rendered or "}" in rendered:
            raise outbox.WebhookRefused(vi("tham số viết {ten_truong}"))
        outbox.parse_webhook_url(rendered, allow_http=allow_private)
    except outbox.WebhookRefused as exc:
        errors["url_template"] = vi("URL không dùng được: %(reason)s", reason=exc.args[0] if exc.args else str(exc))
    missing = sorted(set(placeholders) - set(inputs))
    if missing and "inputs" not in errors:
        errors["inputs"] = vi("URL dùng tham số chưa khai báo: %(names)s", names=", ".join(missing))
    if errors:
        detail = None  # "field: reason; field: reason", each part rendered in the reader's language
        for key, why in errors.items():
            part = vi("%(field)s: %(reason)s", field=key, reason=why)
            detail = part if detail is None else vi("%(before)s; %(after)s", before=detail, after=part)
        raise Invalid(vi("Kết nối chưa hợp lệ: %(errors)s", errors=detail), fields=errors)
    return {"name": name, "method": method, "url_template": url, "headers": dict(d.headers or {}),
            "inputs": inputs, "outputs": dict(outputs), "timeout_seconds": timeout, "max_attempts": attempts,
            "allow_private": allow_private, "active": bool(d.active),
            "description": (d.description or "").strip()[:300] or None}


# -- administration -----------------------------------------------------------------------------

def list_connectors(session: Session, actor: Actor) -> list[Connector]:
    scopes = access.admin_scopes(actor)
    query = select(Connector).where(access.scope_filter(scopes, Connector.scope)).order_by(Connector.scope,
                                                                                         Connector.name)
    return list(session.scalars(query).all())


def get_connector(session: Session, actor: Actor, connector_id: int) -> Connector:
    scopes = access.admin_scopes(actor)
    connector = session.get(Connector, connector_id)
    if connector is None or not access.in_scope(scopes, connector.scope):
        raise NotFound(vi("Không tìm thấy kết nối."))
    return connector


def create(session: Session, actor: Actor, definition: Definition) -> Connector:
    scope = (definition.scope or "").strip()
    if not scope:
        raise Invalid(vi("Chọn phạm vi của kết nối (mã tỉnh hoặc VN)."), fields={"scope": vi("bắt buộc")})
    access.may_administer(actor, scope)
    province = session.get(Unit, scope) if scope != "VN" else None
    if scope != "VN" and (province is None or province.level != "province"):
        raise Invalid(vi("Phạm vi '%(scope)s' không phải mã tỉnh hay VN.", scope=scope),
                      fields={"scope": vi("mã tỉnh (2 chữ số) hoặc VN")})
    columns = _checked(definition)
    if session.scalar(select(Connector.id).where(Connector.scope == scope, Connector.name == columns["name"])):
        raise Conflict(vi("Đã có kết nối '%(name)s' trong phạm vi %(scope)s.", name=columns["name"], scope=scope),
                       code="connector_exists", fields={"name": vi("đã dùng")})
    connector = Connector(scope=scope, secret_headers={}, updated_by=actor.name, **columns)
    _store_secrets(session, connector, definition.secret_headers)
    session.add(connector)
    session.flush()
    audit.record(session, "connector.create", actor.name, note=f"{scope}/{connector.name}")
    return connector


def update(session: Session, actor: Actor, connector_id: int, definition: Definition) -> Connector:
    """Edit a connector; its name and scope stay (diagrams name it). A secret header left empty
    keeps its stored value; one not given again is removed."""
    connector = get_connector(session, actor, connector_id)
    access.may_administer(actor, connector.scope)
    definition.name = connector.name
    columns = _checked(definition)
    for key, value in columns.items():
        setattr(connector, key, value)
    _store_secrets(session, connector, definition.secret_headers)
    connector.updated_by, connector.updated_at = actor.name, utcnow()
    audit.record(session, "connector.update", actor.name, note=f"{connector.scope}/{connector.name}")
    return connector


def set_active(session: Session, actor: Actor, connector_id: int, active: bool) -> Connector:
    connector = get_connector(session, actor, connector_id)
    access.may_administer(actor, connector.scope)
    connector.active, connector.updated_by, connector.updated_at = bool(active), actor.name, utcnow()
    audit.record(session, "connector.enable" if active else "connector.disable", actor.name,
                 note=f"{connector.scope}/{connector.name}")
    return connector


def _store_secrets(session: Session, connector: Connector, given: dict) -> None:
    settings = settings_of(session)
    stored = dict(connector.secret_headers or {})
    kept = {}
    for name, value in (given or {}).items():
        if value:
            kept[name] = _encrypt(settings, value)
        elif name in stored:
            kept[name] = stored[name]
        else:
            raise Invalid(vi("Tiêu đề bí mật '%(name)s' cần giá trị.", name=name), fields={"secret_headers": name})
    connector.secret_headers = kept


def secret_names(connector: Connector) -> list[str]:
    """What is shown of the secrets: their header names, never their values."""
    return sorted(connector.secret_headers or {})


def resolve(session: Session, name: str, province_code: str | None) -> Connector | None:
    """The connector a dossier of this province calls by `name`: the province's, else VN's."""
    rows = session.scalars(select(Connector).where(Connector.name == name,
                                                   Connector.scope.in_([province_code or "VN", "VN"]))).all()
    return next((c for c in rows if c.scope != "VN"), None) or next(iter(rows), None)


CITIZEN_LOOKUP = "citizen_lookup"


def load_example(session: Session, url: str | None = None) -> Connector | None:
    """The example connector (seed): a citizen-ID lookup in the population database, national,
    disabled unless a URL is configured (CITIZEN_LOOKUP_URL); None when it exists already."""
    if session.scalar(select(Connector.id).where(Connector.scope == "VN", Connector.name == CITIZEN_LOOKUP)):
        return None
    connector = Connector(
        scope="VN", name=CITIZEN_LOOKUP, description="Tra cứu công dân theo số định danh (CSDL quốc gia về dân cư)",
        method="GET", url_template=url or "https://dancu.example.gov.vn/api/citizens/{citizen_id}",
        headers={}, secret_headers={}, inputs=["citizen_id"],
        outputs={"full_name": "/data/hoTen", "date_of_birth": "/data/ngaySinh",
                 "permanent_address": "/data/noiThuongTru"},
        timeout_seconds=10.0, max_attempts=5, allow_private=False, active=bool(url), updated_by="seed")
    session.add(connector)
    session.flush()
    return connector


# -- diagrams -----------------------------------------------------------------------------------

def _province(scope: str) -> str | None:
    """A version's scope as a province code; None for a national procedure (VN's connectors)."""
    return None if scope in ("VN", NATIONAL) else scope


def diagram_problems(session: Session, xml: str | bytes, scope: str) -> list[Problem]:
    """Upload and publish: every service task names a registered connector of the version's scope
    (or VN's) and maps each input it requires; at the element and its line otherwise."""
    root = parse_trusted(xml) if not isinstance(xml, etree._Element) else xml
    calls = declared_calls(root)
    if not calls:
        return []
    problems = expression_problems(calls)
    for call in calls:
        if not call.connector:
            problems.append(Problem(vi("%(element_id)s: tác vụ dịch vụ phải nêu kết nối (spiffworkflow:"
                                       "serviceTaskOperator id, camunda:topic hoặc thuộc tính connector).",
                                       element_id=call.element_id),
                                    call.element_id, call.line, code="connector_missing"))
            continue
        connector = resolve(session, call.connector, _province(scope))
        if connector is None:
            problems.append(Problem(vi("%(element_id)s: không có kết nối '%(connector)s' cho phạm vi %(scope)s "
                                       "(quản trị viên khai báo ở mục Kết nối).", element_id=call.element_id,
                                       connector=call.connector, scope=scope), call.element_id, call.line,
                                    code="unknown_connector"))
            continue
        missing = [i for i in connector.inputs if i not in call.inputs]
        if missing:
            problems.append(Problem(vi("%(element_id)s: kết nối '%(connector)s' cần tham số %(names)s.",
                                       element_id=call.element_id, connector=call.connector,
                                       names=", ".join(missing)), call.element_id, call.line, code="connector_input"))
    return problems


def sample_outputs(session: Session, xml: str, scope: str) -> dict:
    """connector name -> outputs with empty values: what the dry run completes calls with."""
    out = {}
    for call in declared_calls(parse_trusted(xml)):
        connector = resolve(session, call.connector or "", _province(scope))
        if connector is not None:
            out[call.connector] = {name: None for name in connector.outputs}
    return out


# -- queueing ------------------------------------------------------------------------------------

def idempotency_key(dossier: Dossier, task_id: str) -> str:
    """The same for every attempt of one call (the dossier and the task instance, never the
    attempt): a provider drops duplicates by it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"orchestrator:dossier:{dossier.code}:task:{task_id}"))


def enqueue_started(session: Session, dossier: Dossier, run) -> list[ServiceCall]:
    """One job per service task the engine started in this step (none: nothing read)."""
    calls = started_calls(run)
    for call in calls:
        connector = resolve(session, call.connector, dossier.province_code)
        attempts = connector.max_attempts if connector is not None else 1
        jobs.enqueue(session, KIND, dossier_id=dossier.id, max_attempts=attempts, flush=False,
                     payload={"task_id": call.task_id, "element_id": call.element_id, "connector": call.connector,
                              "inputs": call.inputs, "result_variable": call.result_variable})
    return calls


# -- the call ----------------------------------------------------------------------------------

class CallFailed(Exception):
    """A call that did not give usable outputs; `permanent`: retrying will not help."""

    def __init__(self, message: str, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.message, self.permanent, self.status = message, permanent, status


@dataclass(frozen=True)
class Request:
    """Everything the call needs, read in the job's transaction: no database during the call."""

    connector: str
    method: str
    url: str
    headers: dict = field(repr=False)
    body: bytes | None
    timeout: float
    allow_private: bool
    outputs: dict


@dataclass(frozen=True)
class Result:
    status: int | None
    outputs: dict | None
    error: str | None
    permanent: bool
    duration_ms: int


def build_request(session: Session, settings: Settings, dossier: Dossier, payload: dict) -> Request:
    """The request of one queued call; CallFailed when the connector is gone, disabled or the
    inputs do not fit it (permanent: the technician fixes it, then retries)."""
    connector = resolve(session, payload.get("connector") or "", dossier.province_code)
    if connector is None:
        raise CallFailed(f"không có kết nối '{payload.get('connector')}'", permanent=True)
    if not connector.active:
        raise CallFailed(f"kết nối '{connector.name}' đang tắt", permanent=True)
    inputs = payload.get("inputs") or {}
    missing = [i for i in connector.inputs if inputs.get(i) in (None, "")]
    if missing:
        raise CallFailed(f"thiếu tham số {', '.join(missing)}", permanent=True)

    def value(match: re.Match) -> str:
        return quote(str(inputs.get(match.group(1), "")), safe="")

    url = PLACEHOLDER_RE.sub(value, connector.url_template)
    headers = {**connector.headers, "Idempotency-Key": idempotency_key(dossier, payload["task_id"]),
               "Accept": "application/json"}
    for name, token in (connector.secret_headers or {}).items():
        headers[name] = _decrypt(settings, token)
    body = None
    if connector.method != "GET":
        body = json.dumps({k: inputs.get(k) for k in inputs}, ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
    return Request(connector.name, connector.method, url, headers, body, connector.timeout_seconds,
                   connector.allow_private, dict(connector.outputs))


def perform(request: Request) -> Result:
    """Make the call (no database, no lock): the URL checked as a webhook's, the host resolved and
    checked now, the connection to that address; the answer read up to MAX_RESPONSE_BYTES."""
    started = time.monotonic()

    def done(status, outputs=None, error=None, permanent=False) -> Result:
        return Result(status, outputs, error, permanent, round((time.monotonic() - started) * 1000))

    try:
        target = outbox.parse_webhook_url(request.url, allow_http=request.allow_private)
        address = outbox.resolve_target(target, request.allow_private)
    except outbox.WebhookRefused as exc:
        return done(None, error=f"địa chỉ bị từ chối: {exc}", permanent=True)
    import requests
    import urllib3

    try:
        with outbox.pinned_session(target, address) as http:
            with http.request(request.method, target.url, data=request.body, headers=request.headers,
                              timeout=request.timeout, allow_redirects=False, stream=True) as response:
                status = response.status_code
                raw = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
    except outbox.WebhookRefused as exc:
        return done(None, error=f"địa chỉ bị từ chối: {exc}", permanent=True)
    except (requests.Timeout, urllib3.exceptions.TimeoutError):
        return done(None, error=f"quá thời gian chờ ({request.timeout:g} giây)")
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:  # the body's read too
        return done(None, error=f"lỗi kết nối: {exc.__class__.__name__}")
    if not 200 <= status < 300:
        return done(status, error=f"HTTP {status}", permanent=400 <= status < 500 and status not in (408, 425, 429))
    if len(raw) > MAX_RESPONSE_BYTES:
        return done(status, error=f"câu trả lời dài quá {MAX_RESPONSE_BYTES:,} byte", permanent=True)
    try:
        answer = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        return done(status, error="câu trả lời không phải JSON", permanent=True)
    return done(status, outputs={name: extract(answer, path) for name, path in request.outputs.items()})


def extract(document, path: str):
    """A field of the answer: a JSON pointer (`/data/hoTen`) or a dotted path (`data.hoTen`,
    `items.0.id`); None when absent."""
    if path.startswith("/"):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
    else:
        parts = path.split(".")
    value = document
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
