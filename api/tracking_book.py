"""The dossier tracking book of a receiving unit, as JSON or CSV (docs/api.md)."""
from __future__ import annotations

import csv
import io

from flask import Response

from orchestrator.extensions import db
from orchestrator.downloads import content_disposition
from orchestrator.services import tracking_book
from orchestrator.services.units import names as unit_names

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .schemas.tracking_book import TrackingBookQuerySchema, TrackingBookSchema


@bp.get("/units/<code>/tracking-book")
@authenticated
@bp.arguments(TrackingBookQuerySchema, location="query")
@bp.response(200, TrackingBookSchema)
@documented(400, 401, 403, 404)
def get_tracking_book(args, code: str):
    """Sổ theo dõi hồ sơ: the dossiers the unit received in the period, by reception time. Its
    officers, supervisors and administrators of its area; not integrator keys. Period: this month
    by default, at most 366 days. `format=csv`: the same rows as a spreadsheet (UTF-8 with BOM)."""
    actor = current_actor()
    rows = tracking_book.book(db.session, actor, code, args.get("from_"), args.get("to"))
    start, end = tracking_book.period(args.get("from_"), args.get("to"))
    if args["format"] == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(tracking_book.COLUMNS)
        writer.writerows(tracking_book.cells(r) for r in rows)
        return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
            "Content-Disposition": content_disposition("attachment", tracking_book.file_name(code, start, end))})
    return {"unit": code, "unit_name": unit_names(db.session, [code]).get(code, code), "from_": start, "to": end,
            "items": rows}
