"""The officers' daily email digest (issue 24, point 5): the bell's `notification` rows, by each
officer's choice, also go by email once a day.

An officer turns it on on the account page with an address (`set_preferences`); rows from then on
(`User.digest_since`) that no digest has carried (`Notification.digested_at` NULL) are gathered by
the recurring `officer_digest` job (`run`), daily at 07:00 Vietnam time: one email per officer with
new rows, queued through the outbox (`messages.queue_message`, dossier None) in the same
transaction that marks the rows digested, so a digest is queued once and nothing is lost. An
officer who did not opt in, or has nothing new, gets nothing. The job queues its next run itself
(as `stat_fold` does); `ensure_job` starts it at worker start.

Each row's line is its kind's officer event template (`message_templates.render`, `KIND_EVENTS`),
for the province of the row's dossier (else of the officer's unit), so administrators word it; a
template that cannot be rendered never stops a digest: the line is then the bell's message."""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, time, timedelta

from jinja2.exceptions import TemplateError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import Dossier, Job, Notification, Procedure, Unit, User
from ..models.jobs import QUEUED, RUNNING
from ..models.types import utcnow
from ..settings import settings_of
from ..timezone import TZ
from . import jobs, message_templates, messages
from .auth import Actor
from .errors import Invalid, NotFound, ServiceError
from .message_templates import EVENTS

KIND = "officer_digest"
EVENT = "officer.digest"
AT = time(7, 0)                 # Vietnam time
MAX_ROWS = 200                  # per officer and email; the rest waits for the next day's
# the bell's kinds, in the digest's order, with their headings
SECTIONS = {
    "assigned": EVENTS["task.assigned"][1],
    "returned": EVENTS["task.returned"][1],
    "due_soon": EVENTS["task.due_tomorrow"][1],
    "overdue": EVENTS["task.overdue"][1],
    "supplement_received": EVENTS["supplement.received"][1],
    "takeover_request": vi("Đề nghị chuyển giao việc"),
}


# the bell's kind -> the officer event whose template words its line (takeover_request: the bell's message)
KIND_EVENTS = {
    "assigned": "task.assigned",
    "returned": "task.returned",
    "due_soon": "task.due_tomorrow",
    "overdue": "task.overdue",
    "supplement_received": "supplement.received",
}
_STEP = re.compile(r"«([^»]+)»")
_REASON = re.compile(r"»\s*:\s*(.+)$", re.DOTALL)  # "... bước «X»: lý do" (services/lifecycle.py)


def set_preferences(session: Session, actor: Actor, *, enabled: bool, email: str | None) -> User:
    """The caller's own choice (users only). Turning it on needs a valid address; turning it on
    again keeps the rows already pending; turning it off keeps the address for next time."""
    user = session.get(User, actor.user_id) if actor.user_id and not actor.is_integrator else None
    if user is None:
        raise NotFound(vi("Không tìm thấy tài khoản."))
    email = (email or "").strip()
    if email and not messages.valid_email(email):
        raise Invalid(vi("Địa chỉ email không hợp lệ."), fields={"digest_email": vi("không hợp lệ")})
    if enabled and not email:
        raise Invalid(vi("Cần địa chỉ email để nhận bản tổng hợp hằng ngày."),
                      fields={"digest_email": vi("bắt buộc")})
    if enabled and not user.digest_enabled:
        user.digest_since = utcnow()
    user.digest_enabled, user.digest_email = bool(enabled), email or None
    return user


def next_run_at(now: datetime | None = None) -> datetime:
    """The next 07:00 in Vietnam after `now`."""
    local = (now or utcnow()).astimezone(TZ)
    at = datetime.combine(local.date(), AT, tzinfo=TZ)
    return at if at > local else datetime.combine(local.date() + timedelta(days=1), AT, tzinfo=TZ)


def ensure_job(session: Session) -> None:
    """Queue the next digest run unless one is queued or running (at worker start)."""
    if session.scalar(select(Job.id).where(Job.kind == KIND, Job.state.in_([QUEUED, RUNNING])).limit(1)) is None:
        jobs.enqueue(session, KIND, run_at=next_run_at(), max_attempts=1_000_000)


def run(session: Session, job: Job) -> str:
    """The `officer_digest` job: send the digests, then queue tomorrow's run (unless queued)."""
    sent = send_digests(session)
    if session.scalar(select(Job.id).where(Job.kind == KIND, Job.state == QUEUED, Job.id != job.id).limit(1)) is None:
        jobs.enqueue(session, KIND, run_at=next_run_at(), max_attempts=1_000_000)
    return f"{sent} digest(s)"


def send_digests(session: Session, now: datetime | None = None) -> int:
    """One email per opted-in active officer with new rows, queued and the rows marked digested
    in the caller's transaction (never committed here); how many were queued."""
    now = now or utcnow()
    officers = session.scalars(select(User).where(User.digest_enabled.is_(True), User.active.is_(True),
                                                  User.digest_email.is_not(None)).order_by(User.id)).all()
    base = (settings_of(session).public_base_url or "").rstrip("/")
    count = 0
    for user in officers:
        cond = [Notification.user_id == user.id, Notification.digested_at.is_(None)]
        if user.digest_since is not None:
            cond.append(Notification.created_at >= user.digest_since)
        rows = session.execute(select(Notification, Dossier).outerjoin(Dossier, Dossier.id == Notification.dossier_id)
                               .where(*cond).order_by(Notification.id).limit(MAX_ROWS)
                               .with_for_update(of=Notification)).all()
        if not rows:
            continue
        home = _home_province(session, user)
        subject, body = compose(user, [(n, line_of(session, user, n, d, base, home)) for n, d in rows], now, base)
        messages.queue_message(session, dossier=None, channel="email", recipient=user.digest_email, event=EVENT,
                               subject=subject, body=body)
        session.execute(update(Notification).where(Notification.id.in_([n.id for n, _ in rows]))
                        .values(digested_at=now).execution_options(synchronize_session=False))
        count += 1
    return count


def _home_province(session: Session, user: User) -> str | None:
    """The province of the officer's (first) unit: whose templates word rows without a dossier."""
    codes = sorted(a.unit_code for a in user.assignments)
    unit = session.get(Unit, codes[0]) if codes else None
    return unit.province_code if unit is not None else None


def line_of(session: Session, user: User, notification: Notification, dossier: Dossier | None,
            base_url: str = "", home_province: str | None = None) -> str:
    """One row's line: its event's email body rendered for the dossier's province (else the
    officer's), with the values the event allows built from what is stored; the bell's message
    when the kind has no event or the template fails."""
    event = KIND_EVENTS.get(notification.kind)
    if event is None:
        return notification.message
    steps = _STEP.findall(notification.message)
    reason = _REASON.search(notification.message)
    values: dict[str, object] = {
        "officer_name": user.full_name or user.username,
        "step_name": "», «".join(dict.fromkeys(steps)),  # the template puts the outer « »
        "reason": reason.group(1).strip() if reason else notification.message,
        "message": notification.message,
        "code": "", "procedure_name": "", "due_date": "", "task_url": "",
    }
    if dossier is not None:
        procedure = session.get(Procedure, dossier.procedure_code)
        values.update(code=dossier.code, procedure_name=procedure.name if procedure else dossier.procedure_code,
                      due_date=dossier.due_at.astimezone(TZ).strftime("%d/%m/%Y") if dossier.due_at else "",
                      task_url=f"{base_url}/admin/dossiers/{dossier.code}" if base_url else "")
    allowed = set(EVENTS[event][2])
    context = {k: v for k, v in values.items() if k in allowed}
    try:
        text = message_templates.render(session, province_code=dossier.province_code if dossier else home_province,
                                        event=event, channel="email", context=context).body
    except (TemplateError, ServiceError, ValueError, TypeError, ArithmeticError, RecursionError):
        return notification.message
    text = " ".join(text.split())  # one line, whatever the template's line breaks
    return text or notification.message


def compose(user: User, rows: list, now: datetime, base_url: str = "") -> tuple[str, str]:
    """The digest's subject and plain-text body, in Vietnamese: the rows' lines (`line_of`) under
    their headings."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for notification, line in rows:
        by_kind[notification.kind].append(f"- {line}")
    day = now.astimezone(TZ).strftime("%d/%m/%Y")
    subject = f"Tổng hợp công việc ngày {day}: {len(rows)} thông báo mới"
    parts = [f"Kính gửi {user.full_name or user.username},", "",
             "Các thông báo công việc mới của Ông/Bà kể từ bản tổng hợp trước:"]
    for kind in [*SECTIONS, *sorted(set(by_kind) - set(SECTIONS))]:
        if by_kind.get(kind):
            parts += ["", f"{SECTIONS.get(kind, kind)} ({len(by_kind[kind])}):", *by_kind[kind]]
    if base_url:
        parts += ["", f"Xem chi tiết: {base_url}/admin/notifications"]
    parts += ["", ("Thư này được gửi tự động theo lựa chọn nhận bản tổng hợp hằng ngày của Ông/Bà;"
                   " có thể tắt tại trang Tài khoản của tôi.")]
    return subject, "\n".join(parts)
