"""Administrator pages for what runs in the background: integrators and their keys, webhook
deliveries, dead-letter jobs and dossiers in incident."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.services import events, integrations, operations
from orchestrator.services.auth import PERMISSIONS
from orchestrator.services.errors import Invalid
from orchestrator.timezone import TZ

from .blueprint import bp
from .views_auth import current_actor, role_required

admin_required = role_required("admin")


@bp.get("/operations")
@admin_required
def operations_home():
    return _page(new_key=None)


def _page(new_key):
    actor = current_actor()
    rows = [(i, integrations.keys_of(db.session, i)) for i in integrations.integrators(db.session, actor)]
    return render_template("admin/operations.html", integrators=rows, permissions=PERMISSIONS,
                           event_names=events.known_names(db.session),
                           dead=operations.dead_jobs(db.session, actor),
                           incidents=operations.incidents(db.session, actor), new_key=new_key)


@bp.post("/operations/keys")
@admin_required
def operations_issue_key():
    f = request.form
    expires = None
    if f.get("expires_on"):
        try:
            expires = datetime.combine(datetime.strptime(f["expires_on"], "%Y-%m-%d").date(),
                                       datetime.max.time(), TZ)
        except ValueError:
            raise Invalid(_("Ngày hết hạn không hợp lệ."), fields={"expires_on": "YYYY-MM-DD"}) from None
    provinces = [p.strip() for p in f.get("provinces", "").split(",") if p.strip()]
    key, secret = integrations.issue_key(db.session, current_actor(), f.get("name", "").strip(), provinces,
                                         f.getlist("permissions"), expires, f.get("scope", "").strip() or None,
                                         f.getlist("events"))
    db.session.commit()
    return _show_secret(key, secret)


@bp.post("/operations/keys/<int:key_id>/rotate")
@admin_required
def operations_rotate_key(key_id: int):
    try:
        hours = float(request.form.get("overlap_hours", "24"))
    except ValueError:
        raise Invalid(_("Số giờ chồng lấn không hợp lệ."), fields={"overlap_hours": "number"}) from None
    key, secret = integrations.rotate_key(db.session, current_actor(), key_id, timedelta(hours=hours))
    db.session.commit()
    return _show_secret(key, secret)


def _show_secret(key, secret):
    """The only time the secret is shown: on this page, never stored in clear."""
    return _page(new_key=(key, secret))


@bp.post("/operations/keys/<int:key_id>/revoke")
@admin_required
def operations_revoke_key(key_id: int):
    integrations.revoke_key(db.session, current_actor(), key_id)
    db.session.commit()
    flash(_("Đã thu hồi khóa."), "ok")
    return redirect(url_for("admin.operations_home"), 303)


@bp.get("/operations/integrators/<int:integrator_id>")
@admin_required
def operations_deliveries(integrator_id: int):
    rows = integrations.deliveries(db.session, current_actor(), integrator_id)
    return render_template("admin/deliveries.html", rows=rows, integrator_id=integrator_id)


@bp.post("/operations/jobs/<int:job_id>/retry")
@admin_required
def operations_requeue(job_id: int):
    operations.requeue_job(db.session, current_actor(), job_id)
    db.session.commit()
    flash(_("Đã xếp lại công việc nền."), "ok")
    return redirect(url_for("admin.operations_home"), 303)


@bp.post("/operations/incidents/<code>/retry")
@admin_required
def operations_retry_incident(code: str):
    dossier = operations.retry_incident(db.session, current_actor(), code).dossier
    db.session.commit()
    flash(_("Đã chạy lại: hồ sơ %(c)s %(s)s.", c=code,
            s=_("vẫn còn sự cố") if dossier.incident else _("hết sự cố")), "ok" if not dossier.incident else "warn")
    return redirect(url_for("admin.operations_home"), 303)
