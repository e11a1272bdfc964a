"""Designer pages for DMN decision tables: a version's tables as grids (on the version page) and
a draft's rules edited as a grid (add, remove, edit; cells are text, checked by the sandbox)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.models.procedures import DRAFT
from orchestrator.services import access, decisions, designer
from orchestrator.services.errors import Invalid

from .blueprint import bp
from .views_auth import current_actor, role_required

designer_required = role_required("designer")
MAX_ROWS = 500


@bp.app_template_global("decision_tables")
def decision_tables(version) -> list[dict]:
    """The version page's grids (`admin/_decision_tables.html`)."""
    return decisions.tables(version)


def _rows(form, table: dict) -> list[dict]:
    """The grid as posted (what is saved, and shown again when refused): removed rows left out,
    the blank row added when filled in."""
    try:
        count = min(int(form.get("count", "0") or 0), MAX_ROWS)
    except ValueError:
        raise Invalid(_("Biểu mẫu không hợp lệ."), fields={"count": _("số nguyên")}) from None
    n_in, n_out = len(table["inputs"]), len(table["outputs"])
    rules = []
    for r in range(1, count + 2):
        if form.get(f"remove_{r}"):
            continue
        rule = {"id": form.get(f"id_{r}") or None,
                "inputs": [form.get(f"in_{r}_{c}", "") for c in range(1, n_in + 1)],
                "outputs": [form.get(f"out_{r}_{c}", "") for c in range(1, n_out + 1)],
                "annotation": form.get(f"note_{r}", "")}
        if r == count + 1 and not any(v.strip() for v in rule["inputs"] + rule["outputs"] + [rule["annotation"]]):
            continue  # the blank row, left blank
        rules.append(rule)
    return rules


@bp.route("/procedures/<code>/v/<int:number>/decisions/<decision_id>", methods=["GET", "POST"])
@designer_required
def decision(code: str, number: int, decision_id: str):
    actor = current_actor()
    version = designer.get_for_view(db.session, actor, code, number)
    table = decisions.table(version, decision_id)
    can_edit = access.may_edit_design(actor, version.scope) and version.state == DRAFT
    rows = table["rules"]
    errors: dict = {}
    message = None
    if request.method == "POST":
        rows = _rows(request.form, table)
        try:
            version = decisions.save_rules(db.session, actor, code, number, decision_id, rows)
        except Invalid as exc:
            db.session.rollback()
            if not exc.fields or not any(k.startswith("rule.") for k in exc.fields):
                raise
            errors, message = exc.fields, exc.message
        else:
            db.session.commit()
            flash(_("Đã lưu bảng quyết định %(d)s.", d=decision_id), "ok")
            return redirect(url_for("admin.version", code=code, number=number) + f"#decision-{decision_id}", 303)
    return render_template("admin/decision.html", version=version, table=table, rows=rows, can_edit=can_edit,
                           errors=errors, message=message), (400 if errors else 200)
