"""Administrator pages for connectors: the HTTP calls service tasks make. Secret
header values are entered here and never shown again."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.services import connectors as service

from .blueprint import bp
from .views_auth import current_actor, role_required

admin_required = role_required("admin")


def _definition(form) -> service.Definition:
    """The form's text fields as a definition (lines `Name: value`, `name = path`)."""
    return service.Definition(
        name=form.get("name", ""), scope=form.get("scope", "").strip(), description=form.get("description"),
        method=form.get("method", "GET"), url_template=form.get("url_template", ""),
        headers=service.parse_lines(form.get("headers", ""), ":"),
        secret_headers=service.parse_lines(form.get("secret_headers", ""), ":", secret=True),
        inputs=[i.strip() for i in form.get("inputs", "").split(",") if i.strip()],
        outputs=service.parse_lines(form.get("outputs", ""), "="),
        timeout_seconds=form.get("timeout_seconds", "10"), max_attempts=form.get("max_attempts", "5"),
        allow_private=form.get("allow_private") == "1", active=form.get("active", "1") == "1")


@bp.get("/connectors")
@admin_required
def connectors():
    actor = current_actor()
    return render_template("admin/connectors.html", rows=service.list_connectors(db.session, actor),
                           methods=service.METHODS, connector=None)


@bp.post("/connectors")
@admin_required
def connector_create():
    connector = service.create(db.session, current_actor(), _definition(request.form))
    db.session.commit()
    flash(_("Đã tạo kết nối %(n)s.", n=connector.name), "ok")
    return redirect(url_for("admin.connector", connector_id=connector.id), 303)


@bp.get("/connectors/<int:connector_id>")
@admin_required
def connector(connector_id: int):
    row = service.get_connector(db.session, current_actor(), connector_id)
    return render_template("admin/connector.html", c=row, methods=service.METHODS,
                           secret_names=service.secret_names(row))


@bp.post("/connectors/<int:connector_id>")
@admin_required
def connector_update(connector_id: int):
    row = service.update(db.session, current_actor(), connector_id, _definition(request.form))
    db.session.commit()
    flash(_("Đã lưu kết nối %(n)s.", n=row.name), "ok")
    return redirect(url_for("admin.connector", connector_id=row.id), 303)


@bp.post("/connectors/<int:connector_id>/active")
@admin_required
def connector_active(connector_id: int):
    active = request.form.get("active") == "1"
    row = service.set_active(db.session, current_actor(), connector_id, active)
    db.session.commit()
    flash(_("Đã bật kết nối.") if active else _("Đã tắt kết nối."), "ok")
    return redirect(url_for("admin.connector", connector_id=row.id), 303)
