"""The dossier list (Tra cứu hồ sơ): officers and supervisors search the dossiers they may see by
code, applicant's name, ID number or phone, filter, sort and page. A thin view over
`dossiers.list_visible`, the function behind the API's `GET /dossiers` (docs/domain.md, search).

What the query string holds is read strictly (admin/params.py): a bad page, sort, status, date or
filter is a 400 page naming the parameter; a search too long is a message on the page; never a 500.
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
from .params import choice_arg, date_arg, flag_arg, int_arg, text_arg
from .views_auth import current_actor, role_required

officer_required = role_required(*access.WORKSPACE_ROLES)

PER_PAGE = 50
SORTS = {"-received": _l("Ngày nhận (mới nhất trước)"), "received": _l("Ngày nhận (cũ nhất trước)"),
         "due": _l("Hạn xử lý (sớm nhất trước)"), "-due": _l("Hạn xử lý (muộn nhất trước)"),
         "code": _l("Mã hồ sơ (tăng dần)"), "-code": _l("Mã hồ sơ (giảm dần)")}
DEFAULT_SORT = "-received"
FILTERS = ("q", "status", "procedure", "unit", "from", "to", "overdue", "sort",
           "province", "commune", "outcome", "late", "open", "period",
           "work", "work_unit", "work_step")  # from "province" on: statistics' links


def _start_of(day: date | None) -> datetime | None:
    """00:00 of a Vietnam day: the period is read in Vietnam's calendar days, both ends included."""
    return datetime.combine(day, time(0), TZ) if day else None


def _page_number() -> int:
    return int_arg("page", 1, 1, dossier_service.MAX_OFFSET // PER_PAGE + 1)


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
    finished; `province`, `commune`: the dossier's. `outcome=withdrawn_or_stopped`: ended withdrawn
    or stopped in the period. The dossiers with a step (work item) `work` (open, overdue, done,
    done_late: `from`/`to` then bound the day it was completed) at unit `work_unit`, named
    `work_step`: the per-unit and bottleneck figures."""
    outcome = choice_arg("outcome", dossier_service.OUTCOMES + (dossier_service.WITHDRAWN_OR_STOPPED,)) or None
    outcome = "late" if flag_arg("late") else outcome
    work = choice_arg("work", dossier_service.WORK) or None
    by_work = work in ("done", "done_late")
    by_finish = outcome is not None or choice_arg("period", ("received", "finished")) == "finished"
    by_receipt = not by_finish and not by_work
    lo, hi = _start_of(start), _start_of(end + timedelta(days=1) if end else None)
    province = text_arg("province", 10)
    return {"province_code": province if province and province != "VN" else None,
            "commune_code": text_arg("commune", 40) or None, "outcome": outcome,
            "open_only": flag_arg("open"),
            "received_from": lo if by_receipt else None, "received_to": hi if by_receipt else None,
            "finished_from": lo if by_finish else None, "finished_to": hi if by_finish else None,
            "work": work, "work_unit": text_arg("work_unit", 40) or None,
            "work_step": text_arg("work_step", 300) or None,
            "work_from": lo if by_work else None, "work_to": hi if by_work else None}


@bp.get("/dossiers")
@officer_required
def dossiers():
    actor = current_actor()
    args = request.args
    q = text_arg("q", 1000)  # a longer search or too many words: said on the page by the service
    found = _exact_code(actor, q)
    if found is not None:
        return redirect(url_for("admin.dossier", code=found.code))
    errors: list[str] = []
    status = choice_arg("status", [str(k) for k in STATUS_NAMES])
    status = int(status) if status else None
    sort = choice_arg("sort", tuple(SORTS), DEFAULT_SORT)
    start, end = date_arg("from"), date_arg("to")
    if start and end and end < start:
        raise Invalid(_("Khoảng thời gian không hợp lệ: ngày kết thúc trước ngày bắt đầu."),
                      fields={"to": _("một ngày (YYYY-MM-DD) không trước ngày bắt đầu (from)")})
    page_number = _page_number()
    filters = {"q": q, "status": status, "procedure": text_arg("procedure", 200) or None,
               "unit": text_arg("unit", 200) or None, "overdue": flag_arg("overdue"),
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
