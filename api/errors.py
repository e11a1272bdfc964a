"""Every 4xx/5xx as `{"error": {code, message, fields, problems}}`, never a traceback."""
from __future__ import annotations

import logging
import time

from flask import current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from orchestrator.extensions import db
from orchestrator.services.errors import ServiceError

from .blueprint import bp
from .messages import HTTP_MESSAGES, edge_message, field_message, in_language, language, rate_limited

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   problems: list | None = None, extra: dict | None = None, headers: dict | None = None):
    lang = language()  # the edge's messages follow Accept-Language (api/messages.py)
    message = edge_message(in_language(message, lang), lang)
    fields = {k: field_message(v, lang) if isinstance(v, str) else v
              for k, v in in_language(fields or {}, lang).items()}
    body = {"error": {"code": code, "message": message, "fields": fields,
                      "problems": in_language(problems or [], lang), **in_language(extra or {}, lang)}}
    response = jsonify(body)
    response.status_code = status
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "_"] = "; ".join(field_message(m, language()) for m in messages)
        else:
            for i, m in enumerate(messages):
                out.update(_flatten(m, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "_"] = str(messages)
    return out


@bp.before_request
def _refuse_nul_characters():
    """No text in this domain contains NUL, and PostgreSQL cannot store it: refuse it up front."""
    texts = [request.path, *request.args.values()]
    if request.mimetype == "multipart/form-data":
        texts += request.form.values()  # files are checked by their own parsers (XML refuses NUL)
        body = b""
    else:
        body = request.get_data(cache=True)
    if b"\x00" in body or b"\\u0000" in body or any("\x00" in t for t in texts):
        return error_response(400, "invalid", "Dữ liệu chứa ký tự NUL không hợp lệ.", {"_": "ký tự NUL"})
    return None


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    db.session.rollback()
    retry_after = getattr(exc, "retry_after", None)  # TooManyAttempts: a 429 says when to come back
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.problems, exc.extra,
                          headers={"Retry-After": str(retry_after)} if retry_after else None)


@bp.errorhandler(ValidationError)
def _validation_error(exc: ValidationError):
    db.session.rollback()
    return error_response(400, "invalid", "Dữ liệu gửi lên không hợp lệ.", _flatten(exc.messages))


def documented(*codes: int):
    """Declare the error answers of a route in the OpenAPI document (bodies as in docs/api.md)."""
    def decorate(view):
        for code in reversed(codes):
            view = bp.alt_response(code, response=f"E{code}")(view)
        return view

    return decorate


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    db.session.rollback()
    data = getattr(exc, "data", None)
    if exc.code == 422 and isinstance(data, dict) and "messages" in data:
        # webargs' validation failure: per-field messages under each location (json, query, form, files)
        fields: dict[str, str] = {}
        for _location, per_field in data["messages"].items():
            fields.update(_flatten(per_field))
        return error_response(400, "invalid", "Dữ liệu gửi lên không hợp lệ.", fields)
    headers = {"Retry-After": exc.retry_after} if getattr(exc, "retry_after", None) else None
    if exc.code == 429 and exc.response is not None and "Retry-After" in exc.response.headers:
        headers = {"Retry-After": exc.response.headers["Retry-After"]}
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code, _described(exc), headers=headers)


def _described(exc: HTTPException) -> str:
    """Werkzeug's and the limiter's English descriptions as the API's own messages."""
    if exc.code == 429 and getattr(exc, "limit", None) is not None:
        item = exc.limit.limit  # e.g. "60 per 1 minute"
        current = current_app.extensions["rate_limits"].current_limit
        wait = current.reset_at - time.time() if current is not None else None
        return rate_limited(item.amount, item.multiples, item.GRANULARITY.name, wait, language())
    if exc.description != type(exc).description:
        return exc.description or exc.name  # a message of ours
    if exc.code == 400 and (request.is_json or "json" in (getattr(exc, "data", None) or {}).get("messages", {})):
        return "Nội dung JSON không hợp lệ."  # a body that does not parse (Flask's or webargs' refusal)
    return HTTP_MESSAGES.get(exc.code, exc.description or exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    db.session.rollback()
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    if current_app.config.get("PROPAGATE_UNEXPECTED"):
        raise exc
    return error_response(500, "internal", "Lỗi hệ thống; sự cố đã được ghi lại.")


@bp.app_errorhandler(404)
def _not_found(exc):
    if request.path.startswith("/api/"):
        return error_response(404, "not_found", "Không có đường dẫn này trong API.")
    return _elsewhere(exc)


@bp.app_errorhandler(405)
def _method_not_allowed(exc):
    if request.path.startswith("/api/"):
        return error_response(405, "method_not_allowed", "Phương thức không được hỗ trợ cho đường dẫn này.")
    return _elsewhere(exc)


@bp.app_errorhandler(413)
def _too_large(exc):
    if request.path.startswith("/api/"):
        return error_response(413, "too_large", "Dữ liệu gửi lên quá lớn.")
    return _elsewhere(exc)


def _elsewhere(exc):
    """Outside /api/: the site's HTML error page when the back office has set one up."""
    page = current_app.extensions.get("html_error_page")
    return page(exc) if page else exc
