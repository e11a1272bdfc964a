"""Officers' workspace: inbox (with a leader's unit view and reassignment), the task page
(dossier, documents, earlier data, diagram, history, the step's form), the dossier page with
its lifecycle actions and events, printable documents and attachments.

Thin views over the services the JSON API uses (`inbox`, `tasks`, `lifecycle`, `documents`,
`attachments`); a refused action comes back to its page with the reason (setup.refuse).
"""
from __future__ import annotations

from datetime import date

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.models import STATUS_NAMES, DossierStatus
from orchestrator.models.dossiers import COMPLETED, FINAL_STATUSES, OPEN
from orchestrator.services import access, attachments, documents, events, inbox as inbox_service, lifecycle, tasks, versions
from orchestrator.services import dossiers as dossier_service
from orchestrator.services import delivery_log, history_text
from orchestrator.services import forms
from orchestrator.services.errors import Conflict, Forbidden, Invalid
from orchestrator.services.units import names as unit_names

from .blueprint import bp
from .diagram import render_svg
from .formdata import errors_by_field, fields_of, parse, readable
from .i18n import said, select_locale
from .params import choice_arg, int_arg, text_arg
from .labels import action_done, event_done, role_label, status_label
from .views_auth import current_actor, role_required

officer_required = role_required(*access.WORKSPACE_ROLES)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@bp.get("/inbox")
@officer_required
def inbox():
    """The inbox: tabs with counts, search, filters, sort; bulk claim and a leader's bulk
    reassignment post to `views_inbox`, and `static/inbox.js` polls `views_inbox.stamp`."""
    actor, session = current_actor(), db.session
    # strict (admin/params.py): a bad value is a 400 page naming it; a search too long is said below
    view = choice_arg("view", inbox_service.VIEWS, "available")
    due = choice_arg("due", inbox_service.DUE_FILTERS) or None
    sort = choice_arg("sort", inbox_service.SORTS, "due")
    status = choice_arg("status", [str(k) for k in STATUS_NAMES])
    status = int(status) if status else None
    page = int_arg("page", 1, 1, 100000)
    q = text_arg("q", 1000)
    filters = dict(procedure_code=text_arg("procedure", 40) or None, status=status,
                   due=due, received_by_unit=text_arg("unit", 40) or None, page=page, sort=sort)
    try:
        result = inbox_service.search(session, actor, view, q=q or None, **filters)
    except Invalid as exc:  # a search too long: said on the page, the list without it
        flash(said(exc.message), "error")
        q, result = "", inbox_service.search(session, actor, view, **filters)
    colleagues = (tasks.holders(session, {(w.unit_code, w.role) for w in result.items})
                  if view == "unit" else {})
    led = sorted(access.led_units(actor))
    return render_template("admin/inbox.html", result=result, view=view, due=due, status=status, sort=sort, q=q,
                           procedure=filters["procedure_code"] or "", unit=filters["received_by_unit"] or "",
                           statuses=STATUS_NAMES, colleagues=colleagues, is_leader=bool(led), led_units=led,
                           people=_people(session, led) if view == "unit" else [],
                           labels=inbox_service.labels(session, result.items),
                           procedures=inbox_service.procedure_options(session),
                           tab_counts=inbox_service.tab_counts(session, actor),
                           refresh_ms=int(current_app.config.get("INBOX_REFRESH_SECONDS", 30) * 1000))


def _people(session, units: list[str]) -> list[tuple[str, str]]:
    """(username, "Full name (roles)") of the officers of the units a leader leads: whom a bulk
    reassignment may give steps to (each step still checks the role)."""
    roles: dict[tuple[str, str], list[str]] = {}
    held = tasks.holders(session, {(u, r) for u in units for r in access.OFFICER_ROLES})
    for (unit_code, role), users in sorted(held.items()):
        for username, full_name in users:
            roles.setdefault((username, full_name or username), []).append(f"{role_label(role)} {unit_code}")
    return [(u, f"{n} — {', '.join(r)}") for (u, n), r in sorted(roles.items())]


def _back_to_task(task_id: str):
    return redirect(request.form.get("next") or url_for("admin.task", task_id=task_id))


@bp.post("/tasks/<task_id>/claim")
@officer_required
def claim(task_id: str):
    tasks.claim(db.session, current_actor(), task_id)
    db.session.commit()
    flash(_("Đã nhận việc."), "ok")
    return _back_to_task(task_id)


@bp.post("/tasks/<task_id>/unclaim")
@officer_required
def unclaim(task_id: str):
    tasks.unclaim(db.session, current_actor(), task_id)
    db.session.commit()
    flash(_("Đã trả lại việc."), "ok")
    return redirect(request.form.get("next") or url_for("admin.inbox"))


@bp.post("/tasks/<task_id>/assign")
@officer_required
def assign(task_id: str):
    item = tasks.assign(db.session, current_actor(), task_id, request.form.get("username", ""))
    db.session.commit()
    flash(_("Đã giao việc cho %(u)s.", u=item.assignee.username), "ok")
    return redirect(request.form.get("next") or url_for("admin.inbox", view="unit"))


def _dossier_context(dossier) -> dict:
    session = db.session
    items = dossier_service.work_items(session, dossier)
    current = [w for w in items if w.state == OPEN]
    done = sorted({w.step_id for w in items if w.state == COMPLETED})
    highlight = sorted({w.step_id for w in current})
    version = versions.of(dossier)
    history, lang = dossier_service.history(session, dossier), select_locale()
    return {
        "dossier": dossier, "current": current, "history": history,
        "bpmn_xml": version.xml, "svg": render_svg(version.xml, highlight=set(highlight), done=set(done)),
        "highlight": highlight, "done": done, "statuses": STATUS_NAMES, "Status": DossierStatus,
        "final_statuses": FINAL_STATUSES, "withdrawable": lifecycle.WITHDRAWABLE,
        "units": unit_names(session, {dossier.received_by_unit, dossier.commune_code} | {w.unit_code for w in items}),
        "documents": [(k, documents.TITLES[k]) for k in documents.available(dossier)],
        "attachments": attachments.list_for(session, dossier),
        "returnable": [s for s in done if version.steps.get(s, {}).get("milestone") != "reception"],
        "step_names": {sid: s.get("name", sid) for sid, s in version.steps.items()},
        "shown_data": readable(version.step_forms.values(), dossier.data, lang),
        "history_texts": history_text.texts(session, history, version, lang),
        "waiting_for": [m for m in events.waiting_for(session, dossier) if m not in lifecycle.EVENTS],
    }


def _render_task(item, values: dict, errors: dict, status: int = 200, message: str | None = None):
    """The task page. Its form is editable only by who may complete it now: an officer of the
    step's role and unit, when nobody else holds it; others read it (fields disabled) with the
    holder named, and may ask to take it over (its officers) or reassign it (a leader of the unit)."""
    actor, dossier = current_actor(), item.dossier
    ctx = _dossier_context(dossier)
    form = tasks.form_of(item)
    lang = select_locale()
    fields = fields_of(form, values, lang)
    try:
        access.may_act_on_step(actor, item)
        may_act = True
    except Forbidden:
        may_act = False
    is_open = item.state == OPEN
    try:  # the return form only for who may send the dossier back (`access.may_rewind`)
        access.may_rewind(actor, ctx["current"])
    except Forbidden:
        ctx["returnable"] = []
    held_by_other = is_open and item.assignee_id is not None and item.assignee_id != actor.user_id
    leads = is_open and item.unit_code in access.led_units(actor)
    colleagues = tasks.holders(db.session, {(item.unit_code, item.role)})[(item.unit_code, item.role)] if leads else []
    shown, other = errors_by_field(errors, fields, lang)
    g.field_errors = shown
    return render_template("admin/task.html", item=item, form=form, fields=fields, errors=shown, other_errors=other,
                           error_message=message, editable=is_open and may_act and not held_by_other,
                           held_by_other=held_by_other, may_ask=held_by_other and may_act, leads=leads,
                           colleagues=colleagues, lock_version=dossier.lock_version, **ctx), status


@bp.get("/tasks/<task_id>")
@officer_required
def task(task_id: str):
    item = tasks.get_visible(db.session, current_actor(), task_id)
    return _render_task(item, tasks.prefill(item, item.dossier.data), {})


@bp.post("/tasks/<task_id>/complete")
@officer_required
def complete(task_id: str):
    """A refusal the officer can act on (the form's errors, a colleague holding the step, the dossier
    changed) comes back to the page with every value typed and a summary of what to fix."""
    actor = current_actor()
    item = tasks.get_visible(db.session, actor, task_id)
    form = tasks.form_of(item)
    data = parse(form, request.form)
    try:
        dossier = tasks.complete(db.session, actor, task_id, data, _int(request.form.get("lock_version"))).dossier
    except (Invalid, Conflict) as exc:
        db.session.rollback()
        item = tasks.get_visible(db.session, actor, task_id)
        typed = {**{k: v for k, v in request.form.items() if k not in data}, **data}
        if exc.code == "invalid_form":
            errors = forms.field_errors(form, data, select_locale())
            message = _("Bước chưa được hoàn thành: hãy sửa các mục dưới đây.")
        elif exc.code == "held_by_other":
            errors = {}
            message = _("Bước chưa được hoàn thành: công việc đang do %(name)s xử lý. Dữ liệu bạn nhập vẫn còn "
                        "trên trang.", name=exc.extra.get("holder_name") or exc.extra.get("holder"))
        else:
            errors, message = exc.fields, exc.message
        return _render_task(item, typed, errors, exc.status, message)
    db.session.commit()
    flash(_("Đã hoàn thành bước “%(s)s”. Hồ sơ: %(st)s.", s=item.step_name, st=status_label(dossier.status)), "ok")
    return redirect(url_for("admin.dossier", code=dossier.code))


@bp.post("/tasks/<task_id>/takeover-request")
@officer_required
def takeover_request(task_id: str):
    item = tasks.ask_to_take_over(db.session, current_actor(), task_id)
    holder = item.assignee.full_name or item.assignee.username
    db.session.commit()
    flash(_("Đã gửi đề nghị chuyển giao cho %(name)s.", name=holder), "ok")
    return redirect(url_for("admin.task", task_id=task_id))


@bp.get("/dossiers/<code>")
@officer_required
def dossier(code: str):
    actor = current_actor()
    d = dossier_service.get_visible(db.session, actor, code)
    delivery = delivery_log.entries(db.session, d) if delivery_log.may_read(db.session, actor, d) else None
    return render_template("admin/dossier.html", may_act=access.takes_part(db.session, actor, d),
                           today=date.today().isoformat(), delivery=delivery, **_dossier_context(d))


@bp.get("/dossiers/<code>/messages")
@role_required("admin")
def dossier_messages(code: str):
    """The delivery log for administrators, who do not open the officers' dossier page."""
    d, entries = delivery_log.for_dossier(db.session, current_actor(), code)
    return render_template("admin/dossier_messages.html", dossier=d, entries=entries)


def _action_body(form) -> dict:
    body: dict = {}
    for name in ("reason", "step_id", "note", "method"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    if "items" in form:
        body["items"] = [line.strip() for line in form["items"].splitlines() if line.strip()]
    if form.get("amount", "").strip():
        amount = _int(form["amount"].replace(".", "").replace(",", ""))
        if amount is None:
            raise Invalid(_("Số tiền không hợp lệ."), fields={"amount": _("số nguyên VND")})
        body["amount"] = amount
    if form.get("new_due_at"):
        try:
            body["new_due_at"] = date.fromisoformat(form["new_due_at"])
        except ValueError:
            raise Invalid(_("Ngày hẹn mới không hợp lệ."), fields={"new_due_at": "YYYY-MM-DD"}) from None
    if form.get("result_number"):
        body["data"] = {"result_number": form["result_number"].strip()}
    ids = [_int(v) for v in form.getlist("attachment_ids")]
    if ids:
        body["attachment_ids"] = [i for i in ids if i is not None]
    return body


@bp.post("/dossiers/<code>/actions/<action>")
@officer_required
def dossier_action(code: str, action: str):
    d = lifecycle.perform(db.session, current_actor(), code, action, _action_body(request.form)).dossier
    db.session.commit()
    flash(_("%(a)s. Trạng thái: %(s)s.", a=action_done(action), s=status_label(d.status)), "ok")
    return redirect(url_for("admin.dossier", code=d.code))


@bp.post("/dossiers/<code>/events/<name>")
@officer_required
def dossier_event(code: str, name: str):
    data = {k: v.strip() for k, v in request.form.items()
            if k in ("note", "reason", "receipt_number", "tax_notice_number") and v.strip()}
    if request.form.get("tax_amount", "").strip():  # the tax authority's notice: the amount it states
        amount = _int(request.form["tax_amount"].replace(".", "").replace(",", ""))
        if amount is None or amount < 0:
            raise Invalid(_("Số tiền không hợp lệ."), fields={"tax_amount": _("số nguyên VND")})
        data["tax_amount"] = amount
    d = lifecycle.send_event(db.session, current_actor(), code, name, data).dossier
    db.session.commit()
    flash(_("%(a)s. Trạng thái: %(s)s.", a=event_done(name), s=status_label(d.status)), "ok")
    return redirect(url_for("admin.dossier", code=d.code))


@bp.get("/dossiers/<code>/documents/<kind>")
@officer_required
def document(code: str, kind: str):
    d = dossier_service.get_visible(db.session, current_actor(), code)
    body, mimetype, headers = documents.rendered(
        db.session, d, kind, choice_arg("format", ("html", "pdf"), "html"),
        current_app.config["DOCUMENT_FONT_DIR"], pdf_url=url_for("admin.document", code=code, kind=kind, format="pdf"),
        script_url=url_for("admin.static", filename="forms.js"))
    return Response(body, mimetype=mimetype, headers=headers)


@bp.post("/dossiers/<code>/attachments")
@officer_required
def upload_attachment(code: str):
    file = request.files.get("file")
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    attachments.upload_to(db.session, current_actor(), code, request.form.get("kind", "applicant"),
                          file.filename if file else "", file.stream.read(limit + 1) if file else b"",
                          attachments.storage_from_config(current_app.config, db.session), limit)
    db.session.commit()
    flash(_("Đã tải tệp lên."), "ok")
    return redirect(request.form.get("next") or url_for("admin.dossier", code=code))


@bp.get("/attachments/<int(max=2147483647):attachment_id>")
@officer_required
def download_attachment(attachment_id: int):
    row, data = attachments.fetch(db.session, current_actor(), attachment_id,
                                  attachments.all_storages(current_app.config, db.session))
    return Response(data, mimetype=row.content_type, headers=attachments.download_headers(row))
