"""Supervisors' page: on-time rate by week (a chart), by procedure and by unit, and where work waits."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, render_template
from flask_babel import gettext as _

from orchestrator.extensions import db
from orchestrator.downloads import content_disposition
from orchestrator.services import access, statistics
from orchestrator.services import units as unit_service

from .blueprint import bp
from .charts import weekly_bars
from .params import date_arg, text_arg
from .views_auth import current_actor, role_required


def _report():
    """The report asked for; a bad province, commune or date is a 400 page naming it (admin/params.py)."""
    return statistics.report(db.session, current_actor(), text_arg("province", 10) or None, date_arg("from"),
                             date_arg("to"), text_arg("commune", 40) or None)


@bp.get("/statistics")
@role_required(*access.STATISTICS_ROLES)
def statistics_page():
    actor = current_actor()
    report = _report()
    scopes = access.statistics_scopes(actor)
    provinces = unit_service.provinces(db.session, None if "VN" in scopes else scopes)
    return render_template("admin/statistics.html", report=report, chart=weekly_bars(report.weeks),
                           provinces=provinces, national="VN" in scopes,
                           communes=statistics.communes(db.session, report.scope))


def _cell(value) -> str:
    """A spreadsheet must not run a cell as a formula (names come from the database)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _rate(outcomes) -> str:
    return "" if outcomes.on_time_rate is None else f"{outcomes.on_time_rate * 100:.1f}"


@bp.get("/statistics/<table>.csv")
@role_required(*access.STATISTICS_ROLES)
def statistics_csv(table: str):
    """The page's tables as CSV (UTF-8 with BOM, so spreadsheets read the Vietnamese names)."""
    if table not in ("procedures", "units", "weeks"):
        abort(404)
    report = _report()  # bad values: the error page, 400
    if table == "procedures":
        header = [_("Mã thủ tục"), _("Thủ tục"), _("Tiếp nhận"), _("Đã trả"), _("Trước hạn"), _("Đúng hạn"),
                  _("Quá hạn"), _("Tỷ lệ đúng hạn (%)"), _("Đang giải quyết"), _("Quá hạn hiện tại")]
        rows = [[p.code, p.name, p.received, p.outcomes.resolved, p.outcomes.early, p.outcomes.on_time,
                 p.outcomes.late, _rate(p.outcomes), p.open, p.open_overdue] for p in report.procedures]
    elif table == "units":
        header = [_("Mã đơn vị"), _("Đơn vị"), _("Bước đã xong trong kỳ"), _("trong đó trễ hạn bước"),
                  _("Giờ trung bình mỗi bước"), _("Đang xử lý"), _("Quá hạn hiện tại")]
        rows = [[u.code, u.name, u.steps_done, u.steps_late, u.hours_per_step, u.open, u.open_overdue]
                for u in report.units]
    else:
        header = [_("Tuần bắt đầu"), _("Đã trả"), _("Trước hạn"), _("Đúng hạn"), _("Quá hạn"), _("Tỷ lệ đúng hạn (%)")]
        rows = [[w.start.isoformat(), w.outcomes.resolved, w.outcomes.early, w.outcomes.on_time, w.outcomes.late,
                 _rate(w.outcomes)] for w in report.weeks]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    name = f"thong-ke-{table}-{report.scope}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": content_disposition("attachment", name)})
