"""Printable documents of a dossier (the forms of Circular 03/2025/TT-VPCP), HTML and PDF.

Templates are Jinja2 files in `orchestrator/templates/documents/` (autoescaped: applicants'
names are data, not markup). PDF goes through xhtml2pdf under a resource policy that reads
only the font directory and never the network, with DejaVu fonts embedded (Debian's
fonts-dejavu-core) because the PDF base fonts have no Vietnamese glyphs.

Which documents exist follows the dossier's history: a receipt once accepted, a supplement
request once one was made, a refusal for status 3, an apology letter once sent, a stop notice
for status 8; the process control slip always.
"""
from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, lazyload

from ..models import Attachment, AuditEvent, Dossier, Unit, User, WorkItem
from ..models.attachments import APPLICANT_DOCUMENT
from ..models.dossiers import CANCELLED, COMPLETED, DossierStatus
from ..models.types import utcnow
from ..timezone import TZ
from . import on_time, pauses, units
from ..downloads import content_disposition
from ..i18n import vi
from .errors import NotFound

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "documents"
DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONT_FILES = {"regular": "DejaVuSerif.ttf", "bold": "DejaVuSerif-Bold.ttf", "italic": "DejaVuSerif-Italic.ttf"}
TITLES = {
    "receipt": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "supplement": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "refusal": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "apology": "Phiếu xin lỗi và đề nghị gia hạn thời gian giải quyết",
    "stop": "Thông báo dừng giải quyết hồ sơ",
    "control": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
}
KINDS = tuple(TITLES)

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))


def _fmt(value: datetime | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    return value.astimezone(TZ).strftime("%H:%M ngày %d/%m/%Y" if with_time else "%d/%m/%Y")


def available(dossier: Dossier) -> list[str]:
    """The documents this dossier has, in the order they happen."""
    out = []
    if dossier.received_at is not None:
        out.append("receipt")
    if pauses.has(dossier, pauses.SUPPLEMENT):
        out.append("supplement")
    if dossier.status == DossierStatus.REFUSED:
        out.append("refusal")
    if dossier.apologized_at is not None:
        out.append("apology")
    if dossier.status == DossierStatus.STOPPED:
        out.append("stop")
    out.append("control")
    return out


def _last_event(session: Session, dossier: Dossier, *actions: str) -> AuditEvent | None:
    return session.scalars(select(AuditEvent).where(AuditEvent.dossier_id == dossier.id,
                                                    AuditEvent.action.in_(actions))
                           .order_by(AuditEvent.id.desc()).limit(1)).first()


def _people(session: Session, usernames) -> dict[str, Officer]:
    """{username: how documents name them} in one query (columns only: no roles loaded)."""
    wanted = {u for u in usernames if u}
    rows = session.execute(select(User.username, User.full_name, User.title).where(User.username.in_(wanted))) \
        if wanted else ()
    return {u: Officer(name or u, title or "") for u, name, title in rows}


@dataclass(frozen=True)
class Officer:
    """How a document names an officer: full name and title (chức vụ) when set; a username only
    when the account is gone (the history keeps usernames)."""
    name: str
    title: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.title})" if self.title else self.name


def _officer(session: Session, username: str | None) -> Officer | None:
    """The signer of forms 01 (receipt), 02 (supplement) and 03 (refusal): the officer who acted."""
    if not username:
        return None
    return _people(session, [username]).get(username) or Officer(username)


def _issued_by(session: Session, ctx: dict, event: AuditEvent | None) -> dict:
    """The apology letter and the stop notice are issued in the name of the unit at fault and
    signed by its leader, as the action recorded them (`lifecycle.signed_by`): the same document
    later, whatever happens to the unit or the user. Recorded before issue 18: the receiving unit,
    signature unnamed. `receiving`: the unit that received the dossier, named in the text."""
    data = (event.data or {}) if event is not None else {}
    out = {"receiving": ctx["unit"], "signer": None}
    if data.get("unit"):
        parent = session.get(Unit, data["parent_code"]) if data.get("parent_code") else None
        out["unit"] = {"name": data.get("unit_name") or data["unit"], "parent_name": parent.name if parent else ""}
        out["signer"] = {"name": data.get("leader_name") or data.get("leader") or "",
                         "title": data.get("leader_title") or ""}
    return out


@dataclass
class ControlRow:
    """One step of the control slip (form 05): who held the dossier, where, from when to when."""
    step_id: str
    step_name: str
    unit_name: str
    role: str
    officer: Officer | None
    from_: str
    to: str | None
    due: str | None
    outcome: str
    outcome_label: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


ROLE_NAMES = {"reception": "Bộ phận tiếp nhận và trả kết quả", "specialist": "Chuyên viên", "leader": "Lãnh đạo"}
OUTCOME_LABELS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn", "open": "Đang xử lý",
                  "open_late": "Đang xử lý, đã quá hạn", "cancelled": "Không thực hiện"}


def step_outcome(done_at: datetime, due_at: datetime | None) -> str:
    """early (done on a day before the due day, in Vietnam), on_time (on the due day), late (`on_time`)."""
    return on_time.outcome(done_at, due_at)


def control_rows(session: Session, dossier: Dossier) -> list[ControlRow]:
    """Every step of the dossier in the order it opened (the in-person reception done at the desk,
    steps at the province too): the unit, the officer who finished it (else who holds it), received
    and finished times, on time or late by the step's due date (`on_time`). Three statements
    whatever the count: the items with their holders' usernames, the units' names, the officers."""
    holders = aliased(User)
    items = session.execute(select(WorkItem, holders.username).outerjoin(holders, holders.id == WorkItem.assignee_id)
                            .where(WorkItem.dossier_id == dossier.id).order_by(WorkItem.created_at, WorkItem.id)
                            .options(lazyload(WorkItem.assignee))).all()
    names = units.names(session, {w.unit_code for w, _holder in items})
    people = _people(session, {w.completed_by or holder for w, holder in items})
    now = utcnow()
    rows = []
    for w, holder in items:
        if w.state == CANCELLED:
            outcome = "cancelled"
        elif w.state == COMPLETED:
            outcome = step_outcome(w.completed_at, w.due_at)
        else:
            outcome = "open_late" if on_time.is_overdue(w.due_at, now) else "open"
        who = w.completed_by or holder  # who finished the step, else who holds it now
        officer = (people.get(who) or Officer(who)) if who else None
        finished = _fmt(w.completed_at) if w.state == COMPLETED else None
        rows.append(ControlRow(w.step_id, w.step_name, names.get(w.unit_code, w.unit_code), w.role, officer,
                               _fmt(w.created_at), finished, _fmt(w.due_at) or None,
                               outcome, OUTCOME_LABELS[outcome]))
    return rows


def _fonts(font_dir: str) -> dict | None:
    paths = {k: os.path.join(font_dir, f) for k, f in FONT_FILES.items()}
    if all(os.path.isfile(p) for p in paths.values()):
        return paths
    log.warning("DejaVu fonts missing in %s: PDF documents will lack Vietnamese glyphs "
                "(install fonts-dejavu-core)", font_dir)
    return None


def render_html(session: Session, dossier: Dossier, kind: str, *, screen: bool = False, pdf_url: str = "",
                font_dir: str = DEFAULT_FONT_DIR, script_url: str = "") -> str:
    """The document as a complete HTML page (404 when this dossier has no such document).
    `script_url`: the static script behind the page's print button (no inline script: CSP)."""
    if kind not in KINDS or kind not in available(dossier):
        if kind == "receipt":  # guided to supplement or refused at the desk: never received
            raise NotFound(vi("Hồ sơ %(code)s chưa được tiếp nhận (trạng thái %(status)s: %(status_name)s) nên "
                              "không có giấy tiếp nhận hồ sơ và hẹn trả kết quả.", code=dossier.code,
                              status=dossier.status, status_name=dossier.status_name),
                           code="no_such_document")
        raise NotFound(vi("Hồ sơ %(code)s không có văn bản '%(kind)s'.", code=dossier.code, kind=kind),
                       code="no_such_document")
    unit = session.get(Unit, dossier.received_by_unit)
    parent = session.get(Unit, unit.parent_code) if unit and unit.parent_code else None
    province = session.get(Unit, dossier.province_code)
    v = dossier.version
    deadline = {"same-day": "trong ngày", "working": f"{v.deadline_days} ngày làm việc",
                "calendar": f"{v.deadline_days} ngày"}.get(v.deadline_kind, "") if v.deadline_kind else ""
    ctx = {
        "title": TITLES[kind], "dossier": dossier, "procedure": v.procedure, "screen": screen, "pdf_url": pdf_url,
        "script_url": script_url,
        "unit": {"name": unit.name if unit else dossier.received_by_unit, "parent_name": parent.name if parent else ""},
        "place": province.name.replace("Thành phố ", "").replace("Tỉnh ", "") if province else "",
        "today": utcnow().astimezone(TZ).date(), "received_at": _fmt(dossier.received_at),
        "due_at": _fmt(dossier.due_at), "legal_due_at": _fmt(dossier.legal_due_at), "deadline": deadline,
        "fonts": _fonts(font_dir) if not screen else None,
    }
    if kind == "receipt":
        accepted = _last_event(session, dossier, "accepted", "created")
        ctx["officer"] = _officer(session, accepted.actor if accepted else dossier.created_by)
        ctx["documents"] = list(v.documents or [])  # the version's list (thành phần hồ sơ)
        ctx["attachments"] = session.scalars(select(Attachment).where(
            Attachment.dossier_id == dossier.id, Attachment.kind == APPLICANT_DOCUMENT).order_by(Attachment.id)).all()
    elif kind == "supplement":
        entry = [e for e in pauses.entries(dossier) if e.get("kind") == pauses.SUPPLEMENT][-1]
        ctx.update(items=entry.get("items") or [], reason=entry.get("reason"),
                   requested_at=_fmt(pauses.started(entry)), officer=_officer(session, entry.get("by")))
    elif kind == "refusal":
        event = _last_event(session, dossier, "refused")
        ctx.update(reason=event.note if event else "", officer=_officer(session, event.actor if event else None))
    elif kind == "apology":
        event = _last_event(session, dossier, "apologized")
        ctx.update(reason=dossier.apology_reason, **_issued_by(session, ctx, event))
    elif kind == "stop":
        event = _last_event(session, dossier, "stopped")
        ctx.update(reason=event.note if event else "", stopped_at=_fmt(event.at if event else None, False),
                   **_issued_by(session, ctx, event))
    else:
        labels = {pauses.SUPPLEMENT: "Chờ bổ sung hồ sơ", pauses.PAYMENT: "Chờ thực hiện nghĩa vụ tài chính"}
        ctx["rows"] = control_rows(session, dossier)
        ctx["pauses"] = [{"label": labels.get(e.get("kind"), e.get("note") or e.get("kind")), "from_": _fmt(pauses.started(e)),
                          "to": _fmt(datetime.fromisoformat(e["to"])) if e.get("to") else None}
                         for e in pauses.entries(dossier)]
    return _env.get_template(f"{kind}.html").render(**ctx)


def rendered(session: Session, dossier: Dossier, kind: str, fmt: str, font_dir: str = DEFAULT_FONT_DIR,
             pdf_url: str = "", script_url: str = "") -> tuple[str | bytes, str, dict[str, str]]:
    """(body, media type, headers) of a document as the API and the back office serve it:
    a PDF inline under the dossier's code, or the on-screen HTML page."""
    html = render_html(session, dossier, kind, screen=fmt == "html", pdf_url=pdf_url, font_dir=font_dir,
                       script_url=script_url)
    if fmt == "pdf":
        return (render_pdf(html, font_dir), "application/pdf",
                {"Content-Disposition": content_disposition("inline", f"{dossier.code}-{kind}.pdf")})
    return html, "text/html", {}


def render_pdf(html: str, font_dir: str = DEFAULT_FONT_DIR) -> bytes:
    """HTML to PDF; local reads confined to the font directory, no network."""
    from xhtml2pdf import pisa
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    policy = ResourceAccessPolicy(allow_remote=False, base_dir=font_dir if os.path.isdir(font_dir) else None)
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", resource_policy=policy)
    if result.err:
        raise RuntimeError(f"PDF rendering failed ({result.err} errors)")
    return out.getvalue()
