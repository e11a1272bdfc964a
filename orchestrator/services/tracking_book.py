"""The dossier tracking book (Sổ theo dõi hồ sơ, form 06 of Circular 01/2018/TT-VPCP, kept in the
Circular 03/2025 set; docs/domain.md): one row per dossier a unit's desk received in a period.

A dossier is in its receiving unit's book once the desk has handled it: received (status 2
onwards), refused at the desk ("Từ chối tiếp nhận"), sent back for a supplement at the desk,
withdrawn or stopped. One awaiting reception (status 1) is not. Its day in the book is the day it
was received, or, never received, the day it reached the desk (submitted). On time, early or
late is `on_time`'s rule against the legal due date, as in the statistics.

Two statements whatever the number of dossiers: the dossiers (with their procedure's name) and
the history events the columns and notes need; then the units' names (one more).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Dossier, Procedure
from ..models.dossiers import STATUS_NAMES, DossierStatus
from ..models.types import utcnow
from ..timezone import TZ
from . import access
from . import on_time as timing
from . import versions
from .auth import Actor
from ..i18n import vi
from .errors import Invalid
from .statistics import check_days
from .units import names as unit_names

MAX_DAYS = 366
_S = DossierStatus
OUTCOME_LABELS = {timing.EARLY: "Trước hạn", timing.ON_TIME: "Đúng hạn", timing.LATE: "Quá hạn"}
# The history the book reads: status changes, step completions (who handles it), the apology.
_EVENTS = ("complete", "apologized")


@dataclass
class BookRow:
    number: int                      # STT
    code: str                        # mã hồ sơ
    procedure_code: str
    procedure_name: str              # tên thủ tục hành chính
    applicant_name: str              # tên tổ chức, cá nhân
    applicant_address: str
    applicant_phone: str
    handling_unit: str               # cơ quan chủ trì giải quyết (code)
    handling_unit_name: str
    received_at: datetime            # nhận hồ sơ (received; never received: reached the desk)
    due_at: datetime | None          # hẹn trả kết quả (the legal date; an apology's new date is a note)
    transferred_at: datetime | None  # chuyển hồ sơ đến cơ quan giải quyết (processing began)
    decided_at: datetime | None      # nhận kết quả từ cơ quan giải quyết (decided)
    returned_at: datetime | None     # trả kết quả
    outcome: str | None              # early / on_time / late, once returned
    status: int
    count: int = 1                   # số lượng hồ sơ
    notes: list[str] = field(default_factory=list)  # ghi chú

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, "")

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]


def default_period(today: date | None = None) -> tuple[date, date]:
    """This month, to today."""
    today = today or utcnow().astimezone(TZ).date()
    return today.replace(day=1), today


def period(start: date | None, end: date | None) -> tuple[date, date]:
    """The period asked for: none given, this month to today; only `from`, to today; only `to`,
    from the first of its month. from <= to, at most a year."""
    check_days(from_=start, to=end)
    first, today = default_period()
    if start is None and end is None:
        start, end = first, today
    elif end is None:
        end = max(start, today)
    elif start is None:
        start = end.replace(day=1)
    if start > end:
        raise Invalid(vi("Ngày bắt đầu phải trước hoặc bằng ngày kết thúc."),
                      fields={"from": vi("sau ngày kết thúc (to)")})
    if (end - start).days >= MAX_DAYS:
        raise Invalid(vi("Khoảng thời gian tối đa %(days)s ngày.", days=MAX_DAYS),
                      fields={"from": vi("quá %(days)s ngày trước to", days=MAX_DAYS)})
    return start, end


def _vn(at: datetime | None) -> str:
    return at.astimezone(TZ).strftime("%d/%m/%Y") if at else ""


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def book(session: Session, actor: Actor, unit_code: str, date_from: date | None,
         date_to: date | None) -> list[BookRow]:
    """The unit's book for the period (Vietnam days, both ends included), by reception time."""
    unit = access.may_read_book(session, actor, unit_code)
    start, end = period(date_from, date_to)
    lo = datetime.combine(start, time(0), TZ)
    hi = datetime.combine(end + timedelta(days=1), time(0), TZ)
    booked = func.coalesce(Dossier.received_at, Dossier.submitted_at)
    in_book = and_(
        Dossier.received_by_unit == unit.code,
        Dossier.status != int(_S.AWAITING_RECEPTION),
        or_(and_(Dossier.received_at >= lo, Dossier.received_at < hi),
            and_(Dossier.received_at.is_(None), Dossier.submitted_at >= lo, Dossier.submitted_at < hi)),
    )
    dossiers = session.execute(
        select(Dossier.id, Dossier.code, Dossier.procedure_code, Dossier.procedure_version_id, Dossier.applicant,
               Dossier.status, Dossier.received_at, Dossier.submitted_at, Dossier.legal_due_at, Dossier.due_at,
               Dossier.finished_at, Dossier.apologized_at, Procedure.name)
        .outerjoin(Procedure, Procedure.code == Dossier.procedure_code)
        .where(in_book).order_by(booked, Dossier.id)
    ).all()
    if not dossiers:
        return []
    events: dict[int, list] = {}
    for e in session.execute(
        select(AuditEvent.dossier_id, AuditEvent.at, AuditEvent.action, AuditEvent.from_status,
               AuditEvent.to_status, AuditEvent.step_id, AuditEvent.unit_code, AuditEvent.note)
        .where(AuditEvent.dossier_id.in_(select(Dossier.id).where(in_book)),
               or_(AuditEvent.to_status.is_not(None), AuditEvent.action.in_(_EVENTS)))
        .order_by(AuditEvent.dossier_id, AuditEvent.id)
    ):
        events.setdefault(e.dossier_id, []).append(e)

    rows = [_row(session, i, d, unit.code, events.get(d.id, [])) for i, d in enumerate(dossiers, start=1)]
    names = unit_names(session, {r.handling_unit for r in rows})
    for r in rows:
        r.handling_unit_name = names.get(r.handling_unit, r.handling_unit)
    return rows


def _decision_steps(session: Session, version_id: int) -> set[str]:
    """Steps carrying the `decision` milestone (cached per version by `versions`)."""
    return {sid for sid, s in versions.runtime(session, version_id).steps.items() if s.get("milestone") == "decision"}


def _row(session: Session, number: int, d, desk: str, history: list) -> BookRow:
    applicant = d.applicant if isinstance(d.applicant, dict) else {}
    transferred = decided = None
    notes: list[str] = []
    deciding, elsewhere = None, None
    decision_steps = None
    for e in history:
        if e.action == "complete":
            if e.unit_code and e.unit_code != desk:
                elsewhere = e.unit_code
            if decision_steps is None:
                decision_steps = _decision_steps(session, d.procedure_version_id)
            if e.step_id in decision_steps:
                deciding = e.unit_code
            continue
        if e.action == "apologized":
            notes.append(f"Xin lỗi, hẹn lại ngày trả kết quả {_vn(d.due_at)} (gửi ngày {_vn(e.at)})")
            continue
        to = e.to_status
        reason = f": {e.note}" if _text(e.note) else ""
        if to == _S.PROCESSING and transferred is None:
            transferred = e.at
        elif to == _S.DECIDED and decided is None:
            decided = e.at
        elif to == _S.SUPPLEMENT_REQUESTED:
            notes.append(f"Yêu cầu bổ sung hồ sơ ngày {_vn(e.at)}")
        elif to == _S.PAYMENT_REQUESTED:
            notes.append(f"Yêu cầu thực hiện nghĩa vụ tài chính ngày {_vn(e.at)}")
        elif to == _S.REFUSED:
            what = "Từ chối tiếp nhận" if e.from_status == _S.AWAITING_RECEPTION else "Từ chối giải quyết"
            notes.append(f"{what} ngày {_vn(e.at)}{reason}")
        elif to == _S.WITHDRAWN:
            notes.append(f"Công dân rút hồ sơ ngày {_vn(e.at)}")
        elif to == _S.STOPPED:
            notes.append(f"Dừng xử lý ngày {_vn(e.at)}{reason}")
    due = d.legal_due_at or d.due_at
    returned = d.finished_at if d.status == _S.RETURNED else None
    return BookRow(
        number=number, code=d.code, procedure_code=d.procedure_code, procedure_name=d.name or d.procedure_code,
        applicant_name=_text(applicant.get("full_name") or applicant.get("name")),
        applicant_address=_text(applicant.get("address")), applicant_phone=_text(applicant.get("phone")),
        handling_unit=deciding or elsewhere or desk, handling_unit_name="",
        received_at=d.received_at or d.submitted_at, due_at=due, transferred_at=transferred, decided_at=decided,
        returned_at=returned, outcome=timing.outcome(returned, due) if returned else None, status=d.status,
        notes=notes,
    )


# The book as a spreadsheet (CSV from the back office and the API): the form's columns, the
# address and phone apart, with the outcome and status an integrator filters on.
COLUMNS = ("STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Số lượng hồ sơ", "Tên tổ chức, cá nhân", "Địa chỉ",
           "Số điện thoại", "Cơ quan chủ trì giải quyết", "Nhận hồ sơ", "Hẹn trả kết quả",
           "Chuyển hồ sơ đến cơ quan giải quyết", "Nhận kết quả từ cơ quan giải quyết", "Trả kết quả",
           "Kết quả đúng hạn", "Trạng thái", "Ghi chú")


def _when(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%d/%m/%Y %H:%M") if value else ""


def _safe(value) -> str:
    """A spreadsheet must not run a cell as a formula (names and addresses come from applicants)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def cells(row: BookRow) -> list[str]:
    """One row of the spreadsheet, in `COLUMNS` order (times in Vietnam, dd/mm/yyyy hh:mm)."""
    return [_safe(v) for v in (
        row.number, row.code, row.procedure_name, row.count, row.applicant_name, row.applicant_address,
        row.applicant_phone, row.handling_unit_name, _when(row.received_at), _when(row.due_at),
        _when(row.transferred_at), _when(row.decided_at), _when(row.returned_at), row.outcome_label,
        row.status_name, "; ".join(row.notes))]


def file_name(unit_code: str, start: date, end: date) -> str:
    """A download's name from safe characters only: the unit code and the dates."""
    safe_unit = re.sub(r"[^A-Za-z0-9.]", "_", unit_code)[:40]
    return f"so-theo-doi-ho-so-{safe_unit}-{start.isoformat()}-{end.isoformat()}.csv"
