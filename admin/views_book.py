"""The dossier tracking book (Sổ theo dõi hồ sơ) of a receiving unit: on screen, as CSV and as a
printable A4 landscape page. A thin view over `tracking_book.book` (docs/domain.md)."""
from __future__ import annotations

import csv
import io

from flask import Response, render_template
from flask_babel import gettext as _

from orchestrator.downloads import content_disposition
from orchestrator.extensions import db
from orchestrator.models.types import utcnow
from orchestrator.services import access, tracking_book
from orchestrator.services.errors import Invalid
from orchestrator.services.units import names as unit_names
from orchestrator.timezone import TZ

from .params import date_arg, text_arg
from .blueprint import bp
from .views_auth import current_actor, role_required

book_required = role_required(*access.WORKSPACE_ROLES, "admin")


def _units(actor) -> list[str]:
    """The units offered in the picker: the actor's own officer units."""
    return sorted(actor.units(*access.OFFICER_ROLES))


def _ask():
    """(unit code, rows, start, end, error): a bad period gives the message and no rows, never a 500."""
    actor = current_actor()
    units = _units(actor)
    unit = text_arg("unit", 40) or (units[0] if units else "")
    start, end = tracking_book.default_period()
    if not unit:
        return unit, [], start, end, None
    try:
        start, end = tracking_book.period(date_arg("from"), date_arg("to"))
    except Invalid as exc:
        access.may_read_book(db.session, actor, unit)  # a refused unit stays 403/404, whatever the dates
        return unit, [], start, end, exc.message
    return unit, tracking_book.book(db.session, actor, unit, start, end), start, end, None


def _context(unit, rows, start, end, error) -> dict:
    actor = current_actor()
    names = unit_names(db.session, {unit, *_units(actor)})
    return {"unit": unit, "unit_name": names.get(unit, unit), "rows": rows, "start": start, "end": end,
            "error": error, "units": [(code, names.get(code, code)) for code in _units(actor)],
            "area_reader": access.holds_any(actor, access.AREA_ROLES),
            "today": utcnow().astimezone(TZ).date()}


@bp.get("/tracking-book")
@book_required
def tracking_book_page():
    return render_template("admin/tracking_book.html", **_context(*_ask()))


@bp.get("/tracking-book/print")
@book_required
def tracking_book_print():
    return render_template("admin/tracking_book_print.html", **_context(*_ask()))


@bp.get("/tracking-book.csv")
@book_required
def tracking_book_csv():
    """The book as CSV: UTF-8 with a BOM, so spreadsheets read the Vietnamese names. Bad dates: the
    error page (400)."""
    actor = current_actor()
    units = _units(actor)
    unit = text_arg("unit", 40) or (units[0] if units else "")
    start, end = tracking_book.period(date_arg("from"), date_arg("to"))
    rows = tracking_book.book(db.session, actor, unit, start, end)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_(c) for c in tracking_book.COLUMNS])
    writer.writerows(tracking_book.cells(r) for r in rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": content_disposition("attachment", tracking_book.file_name(unit, start, end))})
