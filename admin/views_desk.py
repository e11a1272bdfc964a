"""The one-stop desk: "Tiếp nhận hồ sơ mới", a walk-in dossier recorded in one page.

Pick the procedure (searched by name or code, folded), type the applicant and the procedure's
reception form, attach the scans, choose the outcome (accept, guide to supplement, refuse);
`dossiers.start` records it all in one step, the files are stored in the same transaction, and
the result page prints the right document (form 01, 02 or 03). A refusal comes back to the page
with what was typed and each error next to its field; nothing is stored.
"""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.id_numbers import FORMAT, PROVINCE, REQUIRED, id_number_problem, normalise
from orchestrator.models import STATUS_NAMES, DossierStatus, Unit
from orchestrator.services import access, attachments, desk as desk_service, documents, search
from orchestrator.services import dossiers as dossier_service
from orchestrator.services.errors import Conflict, Forbidden, Invalid, Rejected, ServiceError, TooLarge
from orchestrator.services.units import names as unit_names

from .params import text_arg
from .blueprint import bp
from .formdata import fields_of, parse
from .i18n import said, select_locale
from .views_auth import current_actor, current_actor_or_none, role_required

desk_required = role_required(access.DESK_ROLE)
MAX_FILES = 20
IN_PERSON = 1
# The document each outcome prints (Circular 03/2025 forms 01, 02, 03).
DOCUMENT_OF = {DossierStatus.REFUSED: "refusal", DossierStatus.SUPPLEMENT_REQUESTED: "supplement"}


@bp.app_context_processor
def _desk_nav():
    if request.blueprint != "admin":
        return {}
    actor = current_actor_or_none()
    return {"is_desk": bool(actor and access.desk_units(actor))}


def _units(actor) -> list[Unit]:
    codes = access.desk_units(actor)
    return sorted((u for u in (db.session.get(Unit, c) for c in codes) if u is not None), key=lambda u: u.code)


def _chosen(units: list[Unit], code: str | None) -> Unit:
    if not units:
        raise Forbidden(_("Tài khoản của bạn không có vai trò cần cho trang này."))
    unit = next((u for u in units if u.code == code), None) if code else units[0]
    if unit is None:
        raise Forbidden(_("Bạn không tiếp nhận hồ sơ tại đơn vị này."))
    return unit


def _render(units, unit, *, procedure=None, version=None, form=None, values=None, posted=None, errors=None,
            offered=(), q="", status=200):
    errors = errors or {}
    g.field_errors = errors
    fields = [f for f in fields_of(form, values or {}, select_locale()) if f.name not in desk_service.OUTCOME_FIELDS]
    return render_template("admin/desk.html", units=units, unit=unit, procedure=procedure, version=version,
                           fields=fields, posted=posted or {}, errors=errors, offered=offered, q=q,
                           max_files=MAX_FILES,
                           max_mb=current_app.config["ATTACHMENT_MAX_BYTES"] // (1024 * 1024)), status


@bp.get("/desk")
@desk_required
def desk():
    actor = current_actor()
    units = _units(actor)
    unit = _chosen(units, text_arg("unit", 40) or None)  # strict: admin/params.py
    code = text_arg("procedure", 40)
    if not code:  # step 1: the picker (a GET form without JavaScript; desk.js filters as one types)
        q = text_arg("q", 1000)
        try:
            offered = desk_service.offered(db.session, unit.province_code, q)
        except Invalid:
            message = _("Từ khóa tối đa %(c)s ký tự, %(w)s từ.", c=search.MAX_CHARS, w=search.MAX_WORDS)
            return _render(units, unit, q=q, errors={"q": message}, status=400)
        return _render(units, unit, offered=offered, q=q)
    version, form = desk_service.reception_form(db.session, code, unit.province_code)
    return _render(units, unit, procedure=code, version=version, form=form)


def _applicant(posted) -> tuple[dict, dict]:
    """The applicant as the dossier stores it, and the errors by field; the receipt prints the
    address, the dossier search reads the name, ID number and phone."""
    applicant = {k: posted.get(f"applicant-{k}", "").strip() for k in ("full_name", "id_number", "phone",
                                                                       "address", "email")}
    applicant["id_number"] = normalise(applicant["id_number"])
    errors = {}
    if not applicant["full_name"]:
        errors["applicant-full_name"] = _("Nhập họ, chữ đệm và tên người nộp hồ sơ.")
    elif len(applicant["full_name"]) > 200:
        errors["applicant-full_name"] = _("Họ tên tối đa 200 ký tự.")
    problem = id_number_problem(applicant["id_number"])
    if problem:
        errors["applicant-id_number"] = {
            REQUIRED: _("Nhập số định danh cá nhân (số CCCD) của người nộp hồ sơ."),
            FORMAT: _("Số định danh cá nhân gồm đúng 12 chữ số."),
            PROVINCE: _("Ba chữ số đầu của số định danh cá nhân không phải mã tỉnh nơi đăng ký khai sinh (001–096)."),
        }[problem]
    if not applicant["address"]:
        errors["applicant-address"] = _("Nhập địa chỉ của người nộp hồ sơ (in trên giấy tiếp nhận).")
    elif len(applicant["address"]) > 500:
        errors["applicant-address"] = _("Địa chỉ tối đa 500 ký tự.")
    if applicant["phone"] and not (8 <= len(applicant["phone"]) <= 15
                                   and all(c.isdigit() or c in "+ .-" for c in applicant["phone"])):
        errors["applicant-phone"] = _("Số điện thoại không hợp lệ.")
    if applicant["email"] and ("@" not in applicant["email"] or len(applicant["email"]) > 200):
        errors["applicant-email"] = _("Địa chỉ thư điện tử không hợp lệ.")
    return {k: v for k, v in applicant.items() if v}, errors


def _notify(posted, applicant: dict) -> dict | None:
    """The citizen's choice of channels (the checkboxes) and contacts; a contact left empty is the
    one the applicant gave above (the service checks them: `citizen_notices.consent`)."""
    channels = [c for c in posted.getlist("notify-channels") if c]
    if not channels:
        return None
    return {"channels": channels, "email": posted.get("notify-email", "").strip() or applicant.get("email", ""),
            "phone": posted.get("notify-phone", "").strip() or applicant.get("phone", "")}


def _outcome(posted) -> dict:
    result = posted.get("reception_result") or "accept"
    reception = {"reception_result": result}
    if result == "supplement":
        reception["missing_items"] = [line.strip() for line in posted.get("missing_items", "").splitlines()
                                      if line.strip()]
    elif result == "refuse":
        reception["refusal_reason"] = posted.get("refusal_reason", "")
    return reception


def _files(limit: int) -> tuple[list[tuple[str, bytes]], str | None]:
    """The scans chosen, read and checked before anything is stored (same rules as an upload)."""
    chosen = [f for f in request.files.getlist("desk-files") if f and f.filename]
    if len(chosen) > MAX_FILES:
        return [], _("Tối đa %(n)s tệp mỗi lần.", n=MAX_FILES)
    out = []
    for f in chosen:
        data = f.stream.read(limit + 1)
        try:
            attachments.check_file(f.filename, data, limit)
        except ServiceError as exc:
            return [], f"{f.filename}: {said(exc.message)}"
        out.append((f.filename, data))
    return out, None


@bp.post("/desk")
@desk_required
def desk_receive():
    actor = current_actor()
    posted = request.form
    units = _units(actor)
    unit = _chosen(units, posted.get("desk-unit"))
    code = posted.get("desk-procedure", "").strip()
    version, form = desk_service.reception_form(db.session, code, unit.province_code)
    values = parse(form, posted)
    data = {k: v for k, v in values.items() if k not in desk_service.OUTCOME_FIELDS}
    reception = _outcome(posted)
    applicant, errors = _applicant(posted)
    commune = unit.code if unit.level == "commune" else posted.get("desk-commune", "").strip()
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    files, file_error = _files(limit)
    if file_error:
        errors["desk-files"] = file_error
    kept = {**values, **{k: v for k, v in posted.items() if k not in values}}

    def again(message: str, fields: dict):
        db.session.rollback()
        return _render(units, unit, procedure=code, version=version, form=form, values=kept, posted=posted,
                       errors={"": message, **fields}, status=400)

    if errors:
        return again(_("Hồ sơ chưa được ghi: sửa các mục được đánh dấu."), errors)
    try:
        step = dossier_service.start(db.session, actor, procedure_code=code, province_code=unit.province_code,
                                     commune_code=commune, channel=IN_PERSON, applicant=applicant, data=data,
                                     received_by_unit=unit.code, reception=reception,
                                     notify=_notify(posted, applicant))
        dossier = step.dossier
        if dossier.status == DossierStatus.REFUSED:  # a refused file goes back to the citizen, unstored
            if files:
                flash(_("Hồ sơ bị từ chối tiếp nhận: các tệp đính kèm không được lưu."), "warn")
        else:
            storage = attachments.storage_from_config(current_app.config, db.session)
            for name, content in files:
                attachments.upload(db.session, actor, dossier, attachments.APPLICANT_DOCUMENT, name, content,
                                   storage, limit)
    except (Invalid, Conflict, TooLarge, Rejected) as exc:
        fields = {_field_name(k): v for k, v in exc.fields.items()}
        return again(exc.message, fields)
    db.session.commit()
    return redirect(url_for("admin.desk_result", code=dossier.code), 303)


def _field_name(key: str) -> str:
    """The page's name of a field the service names: the form's own (`reception.x` → `x`), the
    place (the desk's commune), the files."""
    key = key.removeprefix("reception.")
    return {"commune_code": "desk-commune", "file": "desk-files", "notify.channels": "notify-channels",
            "notify.email": "notify-email", "notify.phone": "notify-phone"}.get(key, key)


@bp.get("/desk/<code>")
@desk_required
def desk_result(code: str):
    actor = current_actor()
    dossier = dossier_service.get_visible(db.session, actor, code)
    available = documents.available(dossier)
    kind = DOCUMENT_OF.get(dossier.status, "receipt")
    return render_template("admin/desk_result.html", dossier=dossier, kind=kind if kind in available else None,
                           statuses=STATUS_NAMES,
                           attachments=attachments.list_for(db.session, dossier),
                           units=unit_names(db.session, {dossier.received_by_unit, dossier.commune_code}))
