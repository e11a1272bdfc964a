"""Designer pages: catalogue, upload, a version (diagram, routing, forms, conditions, deadlines),
compare, publish and roll back, dry run, the modeler."""
from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import FormDefinition
from orchestrator.models.procedures import DRAFT, NATIONAL
from orchestrator.services import access, decisions, designer, diagrams, procedure_documents, procedures, schedules
from orchestrator.services.errors import Forbidden, Invalid, ServiceError, TooLarge
from orchestrator.services import modeler as modeler_service
from orchestrator.services import units as unit_service

from .params import int_arg
from .blueprint import bp
from .diagram import render_svg
from .i18n import said
from .views_auth import current_actor, role_required

designer_required = role_required("designer")


def _version_url(version, anchor: str = "") -> str:
    return url_for("admin.version", code=version.procedure_code, number=version.version) + (f"#{anchor}" if anchor else "")


@bp.get("/procedures")
@designer_required
def catalogue():
    actor = current_actor()
    scopes = designer.home_scopes(actor)
    provinces = unit_service.provinces(db.session) if "VN" in access.designer_scopes(actor) else []
    scope = request.args.get("scope", "").strip() or scopes[0]  # a bad one: 400 or 404 (designer.catalogue)
    rows = designer.catalogue(db.session, actor, scope)
    return render_template("admin/catalogue.html", rows=rows, scope=scope, scopes=scopes, provinces=provinces,
                           NATIONAL=NATIONAL)


def _upload_scopes(actor) -> list[tuple[str, str]]:
    scopes = access.designer_scopes(actor)
    if "VN" in scopes:
        return [(NATIONAL, _("Mẫu quốc gia"))] + unit_service.provinces(db.session)
    names = unit_service.names(db.session, scopes)
    return [(c, names.get(c, c)) for c in sorted(scopes)]


def _dmn_files(limit: int) -> list[tuple[str, bytes]]:
    """The decision tables (.dmn) sent with the diagram, read no further than the limits."""
    files = [f for f in request.files.getlist("dmn") if f and f.filename][:decisions.MAX_DMN_FILES + 1]
    if len(files) > decisions.MAX_DMN_FILES:
        raise TooLarge(_("Tối đa %(n)s tệp DMN mỗi lần tải lên.", n=decisions.MAX_DMN_FILES))
    out = []
    for f in files:
        data = f.stream.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(_("Tệp DMN %(name)s quá lớn: tối đa %(n)s byte.", name=f.filename, n=limit))
        out.append((f.filename, data))
    return out


@bp.route("/procedures/upload", methods=["GET", "POST"])
@designer_required
def upload():
    actor = current_actor()
    scopes = _upload_scopes(actor)
    ctx = {"scopes": scopes, "problems": [], "message": None, "fields": {}, "svg": None, "xml": None,
           "process_choices": None,
           "form": request.form, "known": None}
    if request.method == "GET":  # issue 22: a new version of a known procedure keeps its deadline and fee
        code = request.args.get("code", "").strip()
        known = procedures.upload_defaults(db.session, code, request.args.get("scope", "").strip()) if code else None
        ctx.update(known=known, form=known["form"] if known else {})
        return render_template("admin/upload.html", **ctx)
    file = request.files.get("file")
    limit = current_app.config["MAX_BPMN_BYTES"]
    data = file.stream.read(limit + 1) if file else b""
    try:
        if not file or not file.filename:
            raise Invalid(_("Chọn một tệp BPMN (.bpmn, .xml)."), fields={"file": _("bắt buộc")})
        if len(data) > limit:
            raise TooLarge(_("Tệp BPMN quá lớn: tối đa %(n)s byte. Không có gì được lưu.", n=limit))
        dmn_files = _dmn_files(limit)
        version = procedures.upload(
            db.session, actor, data, code=request.form.get("code", "").strip(),
            scope=request.form.get("scope", "").strip(), name=request.form.get("name") or None,
            deadline_days=request.form.get("deadline_days"),
            deadline_kind=request.form.get("deadline_kind", "working"),
            process_id=request.form.get("process_id") or None, max_bytes=limit, dmn_files=dmn_files)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        ctx.update(message=exc.message, problems=exc.problems, fields=exc.fields, file_lost=True)
        if exc.problems and exc.status == 422:  # well-formed but refused: show where on the diagram
            readable = diagrams.readable_upload(data, limit)
            if readable is not None:
                if "process_id" in exc.fields:  # offer the pools by their names, not their generated ids
                    ctx["process_choices"] = readable.processes
                ctx["svg"] = render_svg(readable.xml, {p.get("element_id") for p in exc.problems if p.get("element_id")})
                ctx["xml"] = readable.xml
        return render_template("admin/upload.html", **ctx), exc.status
    flash(_("Đã lưu bản nháp phiên bản %(n)s.", n=version.version), "ok")
    return redirect(_version_url(version))


@bp.get("/procedures/<code>")
@designer_required
def procedure(code: str):
    actor = current_actor()
    rows = designer.visible_versions(db.session, actor, code)
    editable = sorted(s for s in access.designer_scopes(actor) if s != "VN")
    withdrawable = [v for v, f in rows if f and v.scope != NATIONAL and access.may_edit_design(actor, v.scope)]
    return render_template("admin/procedure.html", code=code, procedure=rows[0][0].procedure, rows=rows,
                           derive_scopes=editable, has_national=any(v.scope == NATIONAL and f for v, f in rows),
                           withdrawable=withdrawable, upload_scope=(editable or [NATIONAL])[0],
                           can_edit=lambda scope: access.may_edit_design(actor, scope))


@bp.post("/procedures/<code>/derive")
@designer_required
def derive(code: str):
    draft = designer.derive_variant(db.session, current_actor(), code, request.form.get("province", ""))
    db.session.commit()
    flash(_("Đã tạo biến thể của tỉnh (bản nháp phiên bản %(n)s).", n=draft.version), "ok")
    return redirect(_version_url(draft))


def _version_context(version) -> dict:
    actor = current_actor()
    model = version.model
    # steps drawn outside every lane: the `_default` entry routes those without a route
    lanes = designer.lane_routes(version, outside_label=_("Ngoài làn (mặc định)"))
    step_routes = procedures.step_routes(version)
    problem_ids = {p.get("element_id") for p in version.warnings if p.get("element_id")}
    return {
        "version": version, "procedure": version.procedure, "lanes": lanes, "tasks": model["user_tasks"],
        "step_routes": step_routes, "executable": model.get("executable", True),
        "gateways": designer.gateways(version), "can_edit": access.may_edit_design(actor, version.scope),
        "is_draft": version.state == DRAFT, "library": db.session.scalars(select(FormDefinition.key)
                                                                          .order_by(FormDefinition.key)).all(),
        "svg": render_svg(version.bpmn_xml, problem_ids), "problems": version.warnings,
        "in_force": any(f for v, f in procedures.versions(db.session, version.procedure_code) if v.id == version.id),
        "called_by": procedures.callers_of(version),
        "schedule": schedules.summary(db.session, version),
        "documents_text": procedure_documents.as_lines(version.documents),
    }


@bp.get("/procedures/<code>/v/<int:number>")
@designer_required
def version(code: str, number: int):
    v = designer.get_for_view(db.session, current_actor(), code, number)
    return render_template("admin/version.html", **_version_context(v))


def _done(version, message: str, anchor: str = ""):
    db.session.commit()
    flash(message, "ok")
    return redirect(_version_url(version, anchor), 303)


@bp.post("/procedures/<code>/v/<int:number>/lanes/<lane_id>")
@designer_required
def lane_route(code: str, number: int, lane_id: str):
    f = request.form
    try:
        path = designer.route_path(f.get("level", ""), f.get("unit_type", ""), f.get("dept_code", "").strip(),
                                   f.get("role", ""))
    except Invalid as exc:
        raise Invalid(exc.message, fields={f"lane.{lane_id}": "; ".join(said(list(exc.fields.values())))}) from None
    v = designer.set_lane_route(db.session, current_actor(), code, number, lane_id, path)
    return _done(v, _("Đã gán làn %(lane)s → %(path)s.", lane=lane_id, path=path), "routing")


@bp.post("/procedures/<code>/v/<int:number>/lanes")
@designer_required
def lane_add(code: str, number: int):
    v = designer.add_lane(db.session, current_actor(), code, number, request.form.get("name", ""))
    return _done(v, _("Đã thêm làn mới."), "routing")


@bp.post("/procedures/<code>/v/<int:number>/executable")
@designer_required
def mark_executable(code: str, number: int):
    designer.get_for_edit(db.session, current_actor(), code, number)  # another province's draft: 404, as elsewhere
    v = procedures.mark_executable(db.session, current_actor(), code, number)
    return _done(v, _("Đã đánh dấu quy trình thực thi được."), "report")


@bp.post("/procedures/<code>/v/<int:number>/lanes/<lane_id>/delete")
@designer_required
def lane_delete(code: str, number: int, lane_id: str):
    v = designer.delete_lane(db.session, current_actor(), code, number, lane_id)
    return _done(v, _("Đã xóa làn %(lane)s.", lane=lane_id), "routing")


@bp.post("/procedures/<code>/v/<int:number>/tasks/<task_id>/lane")
@designer_required
def task_lane(code: str, number: int, task_id: str):
    v = designer.move_task(db.session, current_actor(), code, number, task_id, request.form.get("lane_id", ""))
    return _done(v, _("Đã chuyển bước sang làn khác."), "steps")


@bp.post("/procedures/<code>/v/<int:number>/tasks/<task_id>/form")
@designer_required
def task_form(code: str, number: int, task_id: str):
    v = designer.set_task_form(db.session, current_actor(), code, number, task_id, request.form.get("form_key", ""))
    return _done(v, _("Đã đổi biểu mẫu của bước."), "steps")


@bp.post("/procedures/<code>/v/<int:number>/tasks/<task_id>/deadline")
@designer_required
def task_deadline(code: str, number: int, task_id: str):
    v = designer.set_step_deadline(db.session, current_actor(), code, number, task_id,
                                   request.form.get("amount", ""), request.form.get("unit", "days"))
    return _done(v, _("Đã đổi thời hạn của bước."), "steps")


@bp.post("/procedures/<code>/v/<int:number>/tasks/<task_id>/public-label")
@designer_required
def task_public_label(code: str, number: int, task_id: str):
    v = designer.set_step_public_label(db.session, current_actor(), code, number, task_id,
                                       request.form.get("public_label", ""))
    return _done(v, _("Đã đổi tên bước hiển thị cho công dân."), "steps")


def _field_type_names() -> dict[str, str]:
    """The form editor's types as a designer reads them (the stored names stay JSON Schema's)."""
    return {"string": _("Văn bản"), "text": _("Văn bản nhiều dòng"), "integer": _("Số nguyên"), "number": _("Số"),
            "boolean": _("Có/Không"), "date": _("Ngày")}


@bp.route("/procedures/<code>/v/<int:number>/tasks/<task_id>/fields", methods=["GET", "POST"])
@designer_required
def task_fields(code: str, number: int, task_id: str):
    actor = current_actor()
    v = designer.get_for_view(db.session, actor, code, number)
    task = next((t for t in v.model["user_tasks"] if t["id"] == task_id), None)
    if task is None:
        raise Invalid(_("Không có bước này."))
    if request.method == "POST":
        f = request.form
        rows = []
        for i in range(min(int(f.get("count", "0") or 0), 200) + 1):
            if f.get(f"remove_{i}"):
                continue
            rows.append({"name": f.get(f"name_{i}", ""), "label": f.get(f"label_{i}", ""),
                         "type": f.get(f"type_{i}", "string"), "required": bool(f.get(f"required_{i}")),
                         "choices": f.get(f"choices_{i}", "")})
        v = designer.save_task_form_fields(db.session, actor, code, number, task_id, rows)
        return _done(v, _("Đã lưu biểu mẫu riêng của bước."), "steps")
    definition = designer.forms_of(db.session, v).get(task["form_key"] or "")
    return render_template("admin/fields.html", version=v, task=task, fields=designer.form_fields(definition),
                           types=designer.FIELD_TYPES, type_names=_field_type_names(),
                           can_edit=access.may_edit_design(actor, v.scope) and v.state == DRAFT)


@bp.post("/procedures/<code>/v/<int:number>/flows/<flow_id>/condition")
@designer_required
def flow_condition(code: str, number: int, flow_id: str):
    v = designer.set_condition(db.session, current_actor(), code, number, flow_id,
                               request.form.get("condition", ""), default=bool(request.form.get("default")))
    return _done(v, _("Đã lưu điều kiện của luồng %(flow)s.", flow=flow_id), "conditions")


@bp.post("/procedures/<code>/v/<int:number>/documents")
@designer_required
def version_documents(code: str, number: int):
    """The receipt's list of documents (thành phần hồ sơ) of a draft: one per line."""
    designer.get_for_edit(db.session, current_actor(), code, number)  # another province's draft: 404, as elsewhere
    items = procedure_documents.parse_lines(request.form.get("documents", ""))
    v = procedure_documents.set_documents(db.session, current_actor(), code, number, items)
    return _done(v, _("Đã lưu thành phần hồ sơ (%(n)s giấy tờ).", n=len(v.documents)), "documents")


@bp.post("/procedures/<code>/v/<int:number>/meta")
@designer_required
def meta(code: str, number: int):
    f = request.form
    v = designer.set_procedure_meta(db.session, current_actor(), code, number, deadline_days=f.get("deadline_days"),
                                    deadline_kind=f.get("deadline_kind", ""), fee_kind=f.get("fee_kind", ""),
                                    fee_amount=f.get("fee_amount"), fee_decision=f.get("fee_decision"),
                                    fee_output=f.get("fee_output"))
    if "supplement_window_days" in f:  # issue 18: empty turns the window off
        procedures.set_supplement_window(db.session, current_actor(), code, number, f.get("supplement_window_days"))
    return _done(v, _("Đã lưu thời hạn và lệ phí."), "meta")


@bp.post("/procedures/<code>/v/<int:number>/schedule")
@designer_required
def schedule(code: str, number: int):
    designer.get_for_edit(db.session, current_actor(), code, number)  # another province's draft: 404, as elsewhere
    units = [u.strip() for u in request.form.get("units", "").replace(";", ",").split(",") if u.strip()]
    v = schedules.set_schedule(db.session, current_actor(), code, number, units)
    message = _("Đã lưu lịch tạo hồ sơ.") if units else _("Đã bỏ đánh dấu tạo hồ sơ theo lịch.")
    return _done(v, message, "schedule")


@bp.get("/procedures/<code>/v/<int:number>/publish")
@designer_required
def publish_confirm(code: str, number: int):
    """Issue 22: publishing (or restoring) asks first, saying which dossiers keep the old version."""
    actor = current_actor()
    designer.get_for_edit(db.session, actor, code, number, draft=False)
    preview = procedures.publish_preview(db.session, actor, code, number)
    return render_template("admin/publish_confirm.html", p=preview, version=preview["version"])


@bp.post("/procedures/<code>/v/<int:number>/publish")
@designer_required
def publish(code: str, number: int):
    if request.form.get("confirm") != "1":  # issue 22: never without the confirmation step
        designer.get_for_edit(db.session, current_actor(), code, number, draft=False)
        flash(_("Hãy đánh dấu xác nhận trước khi công bố."), "warn")
        return redirect(url_for("admin.publish_confirm", code=code, number=number), 303)
    v, notes = designer.publish(db.session, current_actor(), code, number)
    db.session.commit()
    flash(_("Đã công bố phiên bản %(n)s; phiên bản này đang được áp dụng cho hồ sơ mới.", n=v.version), "ok")
    for note in notes:
        flash(_("Tỉnh %(p)s chưa có đơn vị cho làn: %(lanes)s", p=note["province"], lanes=", ".join(note["lanes"])),
              "warn")
    return redirect(_version_url(v), 303)


@bp.post("/procedures/<code>/v/<int:number>/copy")
@designer_required
def copy(code: str, number: int):
    draft = designer.draft_from(db.session, current_actor(), code, number)
    return _done(draft, _("Đã tạo bản nháp mới phiên bản %(n)s.", n=draft.version))


@bp.get("/procedures/<code>/v/<int:number>/compare")
@designer_required
def compare(code: str, number: int):
    other = int_arg("with", None, 1, 1_000_000)  # a bad version number: a 400 page naming `with`
    result = designer.compare(db.session, current_actor(), code, number, other)
    return render_template("admin/compare.html", r=result)


@bp.route("/procedures/<code>/v/<int:number>/dry-run", methods=["GET", "POST"])
@designer_required
def dry_run(code: str, number: int):
    actor = current_actor()
    v = designer.get_for_view(db.session, actor, code, number)
    fields = designer.sample_fields(db.session, v)
    default_commune = {"01": "00070", "19": "05443"}.get(v.scope, "00070")
    commune = request.form.get("commune_code", default_commune).strip()
    report, error, values = None, None, {f["name"]: f["sample"] for f in fields}
    if request.method == "POST":
        raw = {k[2:]: val for k, val in request.form.items() if k.startswith("f.")}
        for name in request.form.getlist("bool"):
            raw.setdefault(name, "")
        try:
            sample = designer.parse_sample(fields, raw)
            values.update(sample)
            report = designer.dry_run(db.session, actor, code, number, commune, sample)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            error = exc
    path_ids = {s.step_id for s in report.steps} if report else set()
    svg = render_svg(v.bpmn_xml, {report.problem_element} if report and report.problem_element else set(), path_ids)
    return render_template("admin/dryrun.html", version=v, fields=fields, values=values, commune=commune,
                           report=report, error=error, svg=svg), (error.status if error else 200)


@bp.route("/procedures/<code>/v/<int:number>/modeler", methods=["GET", "POST"])
@designer_required
def modeler(code: str, number: int):
    """The structure editor. Its script saves with JSON (diagram, revision, step properties) and
    stays on the page, also on a refusal; without script the form posts the XML. Either way the
    save goes into the draft opened (or the one draft made from a published version)."""
    actor = current_actor()
    v = designer.get_for_edit(db.session, actor, code, number, draft=False)
    if request.method == "POST":
        body = request.get_json(silent=True) if request.is_json else None
        source = body if isinstance(body, dict) else request.form
        xml = str(source.get("xml") or "").encode("utf-8")
        limit = current_app.config["MAX_BPMN_BYTES"]
        try:
            if len(xml) > limit:
                raise TooLarge(_("Sơ đồ quá lớn: tối đa %(n)s byte.", n=limit))
            draft, created = modeler_service.save(
                db.session, actor, code, number, xml, base=str(source.get("base") or ""),
                properties=body.get("properties") if isinstance(body, dict) else None, max_bytes=limit)
            message = (_("Đã tạo bản nháp phiên bản %(n)s từ sơ đồ; các lần lưu sau ghi vào bản nháp này.", n=draft.version)
                       if created else _("Đã lưu vào bản nháp phiên bản %(n)s.", n=draft.version))
            db.session.commit()
        except ServiceError as exc:  # stay on the modeler with the drawing and the problems
            db.session.rollback()
            if body is not None:
                return jsonify({"error": {"code": exc.code, "message": said(exc.message), "fields": said(exc.fields),
                                          "problems": said(exc.problems)}}), exc.status
            return render_template("admin/modeler.html", version=v, xml=xml.decode("utf-8", "replace"),
                                   message=exc.message, problems=exc.problems,
                                   data=modeler_service.page_data(db.session, v)), exc.status
        if body is not None:
            return jsonify({"message": message, "created": created, "number": draft.version,
                            "url": url_for("admin.modeler", code=code, number=draft.version),
                            "version_url": _version_url(draft), "data": modeler_service.page_data(db.session, draft)})
        flash(message, "ok")
        return redirect(url_for("admin.modeler", code=code, number=draft.version), 303)
    return render_template("admin/modeler.html", version=v, xml=v.bpmn_xml, message=None, problems=[],
                           data=modeler_service.page_data(db.session, v))


@bp.post("/procedures/<code>/v/<int:number>/delete")
@designer_required
def delete_draft(code: str, number: int):
    """Issue 22: a draft nobody needs goes; a published version is refused (409)."""
    actor = current_actor()
    designer.get_for_edit(db.session, actor, code, number, draft=False)  # another province's: 404/403 as elsewhere
    procedures.delete_draft(db.session, actor, code, number)
    db.session.commit()
    flash(_("Đã xóa bản nháp phiên bản %(n)s.", n=number), "ok")
    return redirect(url_for("admin.procedure", code=code), 303)


@bp.route("/procedures/<code>/withdraw/<province>", methods=["GET", "POST"])
@designer_required
def withdraw_variant(code: str, province: str):
    """Issue 22: a province goes back to the national template, after a confirmation page saying
    which dossiers keep which version."""
    actor = current_actor()
    if not access.may_edit_design(actor, province) or province == NATIONAL:
        raise Forbidden(_("Chỉ rút biến thể của tỉnh bạn thiết kế."))
    if request.method == "POST":
        if request.form.get("confirm") != "1":
            flash(_("Hãy đánh dấu xác nhận trước khi rút biến thể."), "warn")
            return redirect(url_for("admin.withdraw_variant", code=code, province=province), 303)
        done = procedures.withdraw_variant(db.session, actor, code, province)
        db.session.commit()
        flash(_("Đã rút biến thể của tỉnh %(p)s: hồ sơ mới dùng mẫu quốc gia phiên bản %(n)s.", p=province,
                n=done["national"].version), "ok")
        return redirect(url_for("admin.procedure", code=code), 303)
    preview = procedures.withdraw_preview(db.session, actor, code, province)
    return render_template("admin/withdraw_confirm.html", p=preview, code=code, province=province)
