"""The dossier list (Tra cứu hồ sơ): officers and supervisors search the dossiers they may see by
code, applicant's name, ID number or phone, filter, sort and page. A thin view over
`dossiers.list_visible`, the function behind the API's `GET /dossiers` (docs/domain.md, search).

What the query string holds is read leniently: a bad page, sort or status is ignored, a bad date or
a query too long is a message on the page; never a 500.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import STATUS_NAMES, Dossier
from orchestrator.services import access
from orchestrator.services import dossiers as dossier_service
from orchestrator.services.errors import Invalid
from orchestrator.timezone import TZ

from .blueprint import bp
from .views_auth import current_actor, role_required
from .views_statistics import day_arg

officer_required = role_required(*access.WORKSPACE_ROLES)

PER_PAGE = 50
SORTS = {"-received": _l("Ngày nhận (mới nhất trước)"), "received": _l("Ngày nhận (cũ nhất trước)"),
         "due": _l("Hạn xử lý (sớm nhất trước)"), "-due": _l("Hạn xử lý (muộn nhất trước)"),
         "code": _l("Mã hồ sơ (tăng dần)"), "-code": _l("Mã hồ sơ (giảm dần)")}
DEFAULT_SORT = "-received"
FILTERS = ("q", "status", "procedure", "unit", "from", "to", "overdue", "sort",
           "province", "commune", "outcome", "late", "open", "period")  # the last ones: statistics' links


def _day(name: str, errors: list[str]) -> date | None:
    """A bad date is ignored with a message: the list still answers (statistics refuse it)."""
    try:
        return day_arg(name)
    except Invalid:
        errors.append(_("Ngày không hợp lệ: %(v)s (dạng YYYY-MM-DD); bộ lọc ngày này được bỏ qua.",
                        v=request.args.get(name, "").strip()[:40]))
        return None


def _start_of(day: date | None) -> datetime | None:
    """00:00 of a Vietnam day: the period is read in Vietnam's calendar days, both ends included."""
    return datetime.combine(day, time(0), TZ) if day else None


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), dossier_service.MAX_OFFSET // PER_PAGE + 1))
    except (TypeError, ValueError):
        return 1


def _exact_code(actor, q: str):
    """The dossier whose code is `q` exactly, when the actor sees it (a code is unique)."""
    if not q or " " in q or len(q) > 60:
        return None
    dossier = db.session.scalar(select(Dossier).where(Dossier.code.in_({q, q.upper()})))
    if dossier is not None and access.sees_dossier(db.session, actor, dossier):
        return dossier
    return None


def _statistics_filters(args, start: date | None, end: date | None) -> dict:
    """The filters behind a figure of the statistics page (issue 22), with the same meaning as its
    count: `outcome` (resolved, early, on_time, late; `late=1` alike) or `period=finished` read
    `from`/`to` as the day the dossier ended, otherwise as the day it was received; `open=1`: not
    finished; `province`, `commune`: the dossier's."""
    outcome = "late" if args.get("late") == "1" else args.get("outcome", "").strip()
    outcome = outcome if outcome in dossier_service.OUTCOMES else None
    by_finish = outcome is not None or args.get("period") == "finished"
    lo, hi = _start_of(start), _start_of(end + timedelta(days=1) if end else None)
    province = args.get("province", "").strip()[:10]
    return {"province_code": province if province and province != "VN" else None,
            "commune_code": args.get("commune", "").strip()[:40] or None, "outcome": outcome,
            "open_only": args.get("open") == "1",
            "received_from": None if by_finish else lo, "received_to": None if by_finish else hi,
            "finished_from": lo if by_finish else None, "finished_to": hi if by_finish else None}


@bp.get("/dossiers")
@officer_required
def dossiers():
    actor = current_actor()
    args = request.args
    q = args.get("q", "").strip()
    found = _exact_code(actor, q)
    if found is not None:
        return redirect(url_for("admin.dossier", code=found.code))
    errors: list[str] = []
    status = args.get("status", "").strip()
    status = int(status) if status.isdigit() and int(status) in STATUS_NAMES else None
    sort = args.get("sort") if args.get("sort") in SORTS else DEFAULT_SORT
    start, end = _day("from", errors), _day("to", errors)
    if start and end and end < start:
        errors.append(_("Khoảng thời gian không hợp lệ: ngày kết thúc trước ngày bắt đầu."))
        start = end = None
    page_number = _page_number()
    filters = {"q": q, "status": status, "procedure": args.get("procedure", "").strip()[:200] or None,
               "unit": args.get("unit", "").strip()[:200] or None, "overdue": args.get("overdue") == "1",
               **_statistics_filters(args, start, end)}
    try:
        page = dossier_service.list_visible(db.session, actor, **filters, sort=sort,
                                            offset=(page_number - 1) * PER_PAGE, limit=PER_PAGE, count=True)
    except Invalid as exc:  # a query too long or with too many words: said on the page
        errors.append(exc.message)
        page = dossier_service.DossierPage([], total=0)
    kept = {k: v for k, v in args.items() if k in FILTERS and v}
    return render_template(
        "admin/dossiers.html", page=page, page_number=page_number, errors=errors, kept=kept, q=q, status=status,
        sort=sort, sorts=SORTS, statuses=STATUS_NAMES, start=start, end=end, filters=filters,
        procedures=dossier_service.procedure_choices(db.session),
        last_page=max(1, -(-(page.total or 0) // PER_PAGE)), filtered=any(k != "sort" for k in kept))
