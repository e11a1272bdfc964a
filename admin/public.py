"""The site's home page `/` and the citizens' public tracking page `/tra-cuu` (no login, rate-limited
like the public API)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_wtf.csrf import generate_csrf

from orchestrator.extensions import db, limiter
from orchestrator.models import STATUS_NAMES
from orchestrator.services import tracking
from orchestrator.services.errors import NotFound

public_bp = Blueprint("public", __name__, template_folder="templates")


def _code_prefix_key() -> str:
    """One bucket per code prefix (a unit's day), shared with GET /api/v1/public/dossiers/{code}."""
    return f"code-prefix:{tracking.code_prefix(request.args.get('code', ''))}"


@public_bp.get("/")
def home():
    """Where a person lands: the back office, the citizens' tracking page and the API's docs. A
    client asking for JSON (and not HTML) gets the former machine-readable answer."""
    accepts = request.accept_mimetypes
    if accepts["application/json"] > accepts["text/html"]:
        return jsonify({"name": "orchestrator", "api": "/api/v1", "admin": "/admin"})
    from .i18n import LANGUAGES, select_locale

    return render_template("public/home.html", languages=LANGUAGES, lang=select_locale(), csrf_token=generate_csrf)


@public_bp.get("/tra-cuu")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC_PREFIX"], key_func=_code_prefix_key,
               scope="public-code-prefix", shared=True, exempt_when=lambda: not request.args.get("code", "").strip())
def track():
    code, phone = request.args.get("code", "").strip(), request.args.get("phone", "").strip()
    result, message, status, headers = None, None, 200, {}
    if code:
        try:
            result = tracking.track(db.session, code, phone or None, request.remote_addr)
            db.session.commit()  # wrong phone digits are counted (services/throttle.py)
        except NotFound:
            message, status = "Không tìm thấy hồ sơ với mã này.", 404
        if result is not None and result.retry_after:
            message, headers = result.notice, {"Retry-After": str(result.retry_after)}
            status = 429 if result.blocked else 200
    return render_template("public/tracking.html", code=code, result=result, message=message,
                           statuses=STATUS_NAMES), status, headers


@public_bp.errorhandler(429)
def _too_many(exc):
    return render_template("public/tracking.html", code="", result=None, statuses=STATUS_NAMES,
                           message="Bạn tra cứu quá nhiều lần; hãy thử lại sau."), 429
