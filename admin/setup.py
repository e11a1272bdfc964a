"""Extensions, error pages and template helpers of the back office, set up on its blueprint."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlparse

from flask import (current_app, flash, g, redirect, render_template, request, send_from_directory, session,
                   url_for)
from flask_babel import Babel, gettext as _
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from orchestrator.extensions import db
from orchestrator.services.errors import ServiceError
from orchestrator.timezone import TZ

from .blueprint import bp
from .i18n import LANGUAGES, TRANSLATIONS, compile_catalogs, finalize, said, select_locale

log = logging.getLogger(__name__)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
REPO_ROOT = Path(__file__).resolve().parents[1]


@bp.record_once
def _init_app(state) -> None:
    app = state.app
    # CSRF is checked by this blueprint only (before_request below): the JSON API authenticates
    # every call with a bearer token and must not demand a form token.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BPMN_JS_DIST", str(REPO_ROOT / "node_modules" / "bpmn-js" / "dist"))
    app.config.setdefault("ADMIN_ASSETS_DIR", str(REPO_ROOT / "build" / "admin-assets"))
    compile_catalogs()
    # services' sentences printed by any template come out in the page's language (admin/i18n.py)
    app.jinja_options = {**app.jinja_options, "finalize": finalize}
    if "jinja_env" in app.__dict__:
        app.jinja_env.finalize = finalize
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "admin.login"
    login_manager.login_message = None
    # Error pages of the whole site outside /api/ (unknown addresses, wrong methods, failures):
    # the back office's page in the visitor's language; the API keeps its JSON (api/errors.py
    # calls `html_error_page` for what is not under /api/).
    app.extensions["html_error_page"] = site_error_page
    app.register_error_handler(HTTPException, _site_http_error)
    app.register_error_handler(500, site_error_page)


@bp.before_request
def _protect() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def bpmn_js_available() -> bool:
    dist = Path(current_app.config["BPMN_JS_DIST"])
    return (dist / "bpmn-viewer.production.min.js").is_file()


@bp.get("/vendor/bpmn-js/<path:filename>")
def vendor(filename: str):
    """bpmn-js as installed by `npm ci` (never copied into the repository); `bundle/...`: what
    `make venv` bundled from node_modules into build/admin-assets (the modeler with its panel)."""
    if filename.startswith("bundle/"):
        return send_from_directory(current_app.config["ADMIN_ASSETS_DIR"], filename[len("bundle/"):], max_age=3600)
    return send_from_directory(current_app.config["BPMN_JS_DIST"], filename, max_age=86400)


def modeler_bundle_available() -> bool:
    return (Path(current_app.config["ADMIN_ASSETS_DIR"]) / "modeler.bundle.js").is_file()


@bp.app_context_processor
def _helpers():
    """What every back-office page may use (who is logged in and their roles: `views_auth`)."""
    if not request.blueprint == "admin":
        return {}
    errors = g.get("field_errors") or session.pop("_field_errors", None) or {}
    values = g.get("form_values") or session.pop("_form_values", None) or {}
    g.field_errors, g.form_values = errors, values
    return {
        "tz": TZ,
        "languages": LANGUAGES,
        "lang": select_locale(),
        "csrf_token": generate_csrf,
        "field_error": lambda name: errors.get(name),
        "value_of": lambda name, default="": values.get(name, default),
        "bpmn_js": bpmn_js_available(),
        "modeler_bundle": modeler_bundle_available,
        "tojson_attr": lambda v: json.dumps(v, ensure_ascii=False),
    }


def _back_target() -> str | None:
    """Where to send the user back after a refused form: the page it came from, same site only."""
    ref = request.referrer
    if not ref:
        return None
    parsed = urlparse(ref)
    if parsed.netloc and parsed.netloc != request.host:
        return None
    if not parsed.path.startswith(bp.url_prefix or "/admin"):
        return None
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


def _keep_input() -> None:
    values = {k: v for k, v in request.form.items()
              if k not in ("csrf_token", "password", "xml", "secret_headers") and len(v) < 2000}
    session["_form_values"] = dict(list(values.items())[:40])


def refuse(message: str, status: int, fields: dict | None = None, problems: list | None = None):
    """A refused action: back to the form with the message (and the fields' errors), or an error page."""
    db.session.rollback()
    message, fields, problems = said(message), said(fields), said(problems)
    target = _back_target() if request.method == "POST" and status not in (403, 404) else None
    if target:
        details = "; ".join(f"{k}: {v}" for k, v in list((fields or {}).items())[:6])
        flash((f"{message} ({details})" if details else message)[:800], "error")
        for p in (problems or [])[:8]:
            where = " ".join(x for x in (p.get("element_id") or "", f"(dòng {p['line']})" if p.get("line") else "") if x)
            flash(f"{where}: {p.get('message')}" if where else p.get("message", ""), "error")
        session["_field_errors"] = {str(k): str(v)[:300] for k, v in list((fields or {}).items())[:20]}
        _keep_input()
        return redirect(target, 303)
    return render_template("admin/error.html", message=message, fields=fields or {}, problems=problems or [],
                           status=status), status


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    return refuse(exc.message, exc.status, exc.fields, exc.problems)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return refuse(_("Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ (CSRF). Hãy tải lại trang và thử lại."), 400)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    # Read (and drop) what the browser is still sending, so it gets this page instead of a reset.
    stream = request.environ.get("wsgi.input")
    remaining = min(request.content_length or 0, 64 * 1024 * 1024)
    try:
        while stream is not None and remaining > 0:
            chunk = stream.read(min(remaining, 1024 * 1024))
            if not chunk:
                break
            remaining -= len(chunk)
    except Exception:  # noqa: BLE001 - the client went away; nothing to do
        pass
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    message = _("Tệp quá lớn: tối đa %(mb)s MB. Không có gì được lưu.", mb=round(limit / 1024 / 1024, 1))
    db.session.rollback()
    target = _back_target()
    if target:
        flash(message, "error")
        return redirect(target, 303)
    return render_template("admin/error.html", message=message, fields={}, problems=[], status=413), 413


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    messages = {404: _("Không tìm thấy trang."), 405: _("Phương thức không được hỗ trợ."),
                403: _("Bạn không có quyền truy cập trang này.")}
    return refuse(messages.get(exc.code, exc.description or exc.name), exc.code or 500)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    if current_app.config.get("PROPAGATE_UNEXPECTED"):
        raise exc
    db.session.rollback()
    return render_template("admin/error.html", message=_("Lỗi hệ thống; sự cố đã được ghi lại."), fields={},
                           problems=[], status=500), 500


def site_error_page(exc):
    """An error outside the back office's and the API's own views, as the back office shows it:
    never Werkzeug's English text."""
    status = exc.code if isinstance(exc, HTTPException) and exc.code else 500
    if status >= 500:
        original = getattr(exc, "original_exception", None)
        if original is not None:
            log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    messages = {404: _("Không tìm thấy trang."), 405: _("Phương thức không được hỗ trợ."),
                403: _("Bạn không có quyền truy cập trang này."), 400: _("Yêu cầu không hợp lệ."),
                413: _("Dữ liệu gửi lên quá lớn.")}
    db.session.rollback()
    message = messages.get(status) or (_("Lỗi hệ thống; sự cố đã được ghi lại.") if status >= 500
                                       else _("Yêu cầu không hợp lệ."))
    headers = {"Allow": ", ".join(exc.valid_methods)} if status == 405 and getattr(exc, "valid_methods", None) else {}
    return render_template("admin/error.html", message=message, fields={}, problems=[], status=status,
                           languages=LANGUAGES, lang=select_locale(), csrf_token=generate_csrf), status, headers


def _site_http_error(exc: HTTPException):
    if request.path.startswith("/api/") or exc.code is None or exc.code < 400:
        return exc  # the API's blueprint and api/errors.py answer in JSON; redirects stay redirects
    return site_error_page(exc)


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_back_target() or url_for("admin.home"))


@bp.app_template_filter("vn_datetime")
def vn_datetime(value) -> str:
    """Times are stored in UTC; people read them in Asia/Ho_Chi_Minh."""
    if not value:
        return ""
    return value.astimezone(TZ).strftime("%d/%m/%Y %H:%M")


@bp.app_template_filter("vn_time_date")
def vn_time_date(value) -> str:
    """"HH:MM dd/mm/yyyy" in Vietnam's time (the statistics' "as of")."""
    if not value:
        return ""
    return value.astimezone(TZ).strftime("%H:%M %d/%m/%Y")
