"""The citizens' public tracking page `/tra-cuu` (no login), rate-limited like the public API."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from orchestrator.extensions import db, limiter
from orchestrator.models import STATUS_NAMES
from orchestrator.services import tracking
from orchestrator.services.errors import NotFound

public_bp = Blueprint("public", __name__, template_folder="templates")


def _detail_key() -> str:
    return f"tra-cuu:{request.args.get('code', '').strip()[:80]}"


@public_bp.get("/tra-cuu")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
@limiter.limit(lambda: current_app.config["RATELIMIT_TRACKING_DETAIL"], key_func=_detail_key,
               exempt_when=lambda: not request.args.get("phone"))
def track():
    code, phone = request.args.get("code", "").strip(), request.args.get("phone", "").strip()
    result, message, status = None, None, 200
    if code:
        try:
            result = tracking.track(db.session, code, phone or None)
        except NotFound:
            message, status = "Không tìm thấy hồ sơ với mã này.", 404
    return render_template("public/tracking.html", code=code, result=result, message=message,
                           statuses=STATUS_NAMES), status


@public_bp.errorhandler(429)
def _too_many(exc):
    return render_template("public/tracking.html", code="", result=None, statuses=STATUS_NAMES,
                           message="Bạn tra cứu quá nhiều lần; hãy thử lại sau."), 429
