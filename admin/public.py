"""The site's home page `/` and the citizens' public tracking page `/tra-cuu` (no login, rate-limited
like the public API)."""
from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy import select

from orchestrator.extensions import db, limiter
from orchestrator.i18n import vi
from orchestrator.models import STATUS_NAMES, DossierStatus, Procedure
from orchestrator.services import feedback, procedures, tracking, units
from orchestrator.services.errors import NotFound, ServiceError

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
    return _page(code, result, message, status, headers)


def _page(code, result, message=None, status=200, headers=None, form_error=None, form=None, notice=None):
    """The tracking page, with the satisfaction form for a returned dossier not yet rated and the
    feedback form for any dossier shown (issue 24)."""
    rated = None
    if result is not None and result.dossier.status == DossierStatus.RETURNED:
        rated = feedback.rating_of(db.session, result.dossier)
    return render_template("public/tracking.html", code=code, result=result, message=message,
                           statuses=STATUS_NAMES, rated=rated, returned=DossierStatus.RETURNED,
                           form_error=form_error, form=form or {}, notice=notice or request.args.get("sent"),
                           csrf_token=generate_csrf), status, headers or {}


def _submit(which: str, action, error_page=None, done_url=None):
    """A citizen's form (rating or feedback): CSRF-checked, the service's refusal shown on the page
    with its status (never a 500); wrong phone digits are committed (the tracking page's backoff).
    `error_page(message, status, form, headers)` and `done_url` serve a form shown elsewhere."""
    from .setup import csrf

    code = request.form.get("code", "").strip()[:80]
    form = {k: v[:5000] for k, v in request.form.items() if k != "csrf_token"}
    try:
        csrf.protect()
    except CSRFError:
        message = "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Hãy tải lại trang."
        if error_page is not None:
            return error_page(message, 400, form, None)
        return _form_error(code, which, message, 400, form)
    try:
        action()
    except ServiceError as exc:
        db.session.commit()  # a wrong guess is counted even though the form is refused
        headers = {"Retry-After": str(exc.retry_after)} if getattr(exc, "retry_after", None) else None
        message = exc.args[0] if exc.args else str(exc)
        if error_page is not None:
            return error_page(message, exc.status, form, headers)
        return _form_error(code, which, message, exc.status, form, headers)
    db.session.commit()
    if done_url is not None:
        return redirect(done_url)
    return redirect(url_for("public.track", code=code, sent=which, _anchor=which) if code
                    else url_for("public.track", sent=which))


def _form_error(code, which, message, status, form, headers=None):
    result = None
    if code:
        try:
            result = tracking.track(db.session, code, None)
        except NotFound:
            result = None
    return _page(code, result, None, status, headers, form_error=(which, message), form=form)


@public_bp.post("/tra-cuu/danh-gia")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
def rate():
    """A returned dossier rated 1-5 with an optional comment, once (code + 4 phone digits)."""
    f = request.form
    return _submit("rating", lambda: feedback.rate(db.session, f.get("code", ""), f.get("phone", ""), f.get("score"),
                                                   f.get("comment"), request.remote_addr))


@public_bp.get("/tra-cuu/phan-anh")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
def feedback_form():
    """Feedback or a petition about a procedure, without a dossier: the province first (a plain
    GET form, no script), then the procedures in force there."""
    return _procedure_page(request.args.get("province", ""))


def _procedure_page(province_code, message=None, status=200, headers=None, form=None):
    """The page of `feedback_form`; an unknown province is named beside the picker (404, never 500)."""
    province_code = (province_code or "").strip()[:2]
    provinces = units.provinces(db.session)
    names = dict(provinces)
    offered = []
    if province_code and province_code not in names:
        if message is None:
            message, status = vi("Không có tỉnh, thành phố mã %(code)s.", code=province_code), 404
        province_code = ""
    if province_code:
        versions = procedures.offered(db.session, province_code)
        by_code = dict(db.session.execute(select(Procedure.code, Procedure.name).where(
            Procedure.code.in_({v.procedure_code for v in versions}))).all()) if versions else {}
        offered = [(v.procedure_code, by_code.get(v.procedure_code, v.procedure_code)) for v in versions]
    return render_template("public/feedback.html", provinces=provinces, province=province_code,
                           province_name=names.get(province_code), offered=offered, message=message,
                           form=form or {}, sent=request.args.get("sent") == "feedback",
                           csrf_token=generate_csrf), status, headers or {}


@public_bp.post("/tra-cuu/phan-anh")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
def send_feedback():
    """Feedback or a petition about a dossier (code + 4 phone digits) or a procedure of a province
    (the procedure page's form: refusals shown there)."""
    f = request.form
    code = f.get("code", "").strip() or None
    province = f.get("province_code", "").strip()[:2]
    on_page = {} if code else {
        "error_page": lambda message, status, form, headers: _procedure_page(province, message, status, headers, form),
        "done_url": url_for("public.feedback_form", province=province, sent="feedback", _anchor="sent-feedback")}
    return _submit("feedback", lambda: feedback.send_feedback(
        db.session, kind=f.get("kind", ""), text=f.get("text", ""), code=code,
        phone_digits=f.get("phone", ""), procedure_code=f.get("procedure_code"), province_code=f.get("province_code"),
        email=f.get("email"), contact_phone=f.get("contact_phone"), client=request.remote_addr), **on_page)


@public_bp.errorhandler(429)
def _too_many(exc):
    return render_template("public/tracking.html", code="", result=None, statuses=STATUS_NAMES, form={},
                           message="Bạn tra cứu quá nhiều lần; hãy thử lại sau.", csrf_token=generate_csrf), 429
