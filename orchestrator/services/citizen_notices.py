"""What a citizen is told about their dossier (issue 24, docs/notifications.md "Events and consent").

Consent first: a dossier carries the channels the citizen chose and the contacts they gave
(`Dossier.notify`, checked by `consent` at intake, API and desk alike); without them nothing is
sent. `notice` renders the province's template of an event for each chosen channel and queues it
in the outbox (`messages.queue_message`) in the caller's transaction: a step that rolls back tells
nobody. The context is the least the message needs (code, procedure, unit, dates, amounts, items,
reasons, the tracking link): never an ID number, an address or a date of birth.

Where each event is told (one call site each, in the service layer, so API and back office send):
dossier received in `steps.accept`; supplement requested, payment requested, result ready /
returned, refused / stopped in `steps.set_status` (`status_changed`); the apology with the new
date in `lifecycle.apologize`.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import Dossier, Procedure, Unit
from ..models.dossiers import DossierStatus
from ..models.messages import CHANNELS, EMAIL, SMS, ZALO
from ..settings import settings_of
from ..timezone import TZ
from . import message_templates, messages, pauses
from .errors import Invalid, Rejected

__all__ = ["CHANNELS", "consent", "notice", "status_changed"]

CONTACT = {EMAIL: "email", SMS: "phone", ZALO: "phone"}
# part of the citizen's message: Vietnamese, never translated
PAYMENT_HOW = "Thanh toán trực tuyến qua Cổng Dịch vụ công hoặc nộp tại Bộ phận Một cửa."


def consent(notify: dict | None) -> dict | None:
    """The citizen's choice as the dossier stores it: the channels (known, once each) and only the
    contacts they need, normalised; None when no channel is chosen. A malformed contact is 400, a
    channel chosen without its contact 422, each naming the field (`notify.email`, `notify.phone`)."""
    if not notify:
        return None
    if not isinstance(notify, dict):
        raise Invalid(vi("Lựa chọn nhận thông báo không hợp lệ."), fields={"notify": vi("đối tượng")})
    chosen = notify.get("channels") or []
    if not isinstance(chosen, list) or any(c not in CHANNELS for c in chosen):
        raise Invalid(vi("Kênh nhận thông báo không hợp lệ."),
                      fields={"notify.channels": " | ".join(CHANNELS)})
    chosen = [c for c in CHANNELS if c in chosen]
    email = (notify.get("email") or "").strip() if isinstance(notify.get("email"), str) else ""
    phone = messages.normalise(SMS, notify.get("phone")) if isinstance(notify.get("phone"), str) else ""
    if email and not messages.valid_email(email):
        raise Invalid(vi("Địa chỉ thư điện tử không hợp lệ."), fields={"notify.email": vi("địa chỉ thư điện tử")})
    if phone and not messages.valid_phone(phone):
        raise Invalid(vi("Số điện thoại không hợp lệ."),
                      fields={"notify.phone": vi("số điện thoại Việt Nam (0xxxxxxxxx hoặc +84...)")})
    missing = {f"notify.{CONTACT[c]}": vi("cần khi chọn kênh %(channel)s", channel=c) for c in chosen
               if not (email if CONTACT[c] == "email" else phone)}
    if missing:
        raise Rejected(vi("Đã chọn kênh nhận thông báo nhưng chưa có địa chỉ liên lạc."), fields=missing,
                       code="notify_contact_missing")
    if not chosen:
        return None
    out: dict = {"channels": chosen}
    if EMAIL in chosen:
        out["email"] = email.lower()
    if SMS in chosen or ZALO in chosen:
        out["phone"] = phone
    return out


def _date(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%d/%m/%Y") if value is not None else ""


def _amount(value) -> str:
    return f"{int(value):,} đồng".replace(",", ".") if isinstance(value, int) else ""


def tracking_url(session: Session, dossier: Dossier) -> str:
    """The public tracking page of the dossier (PUBLIC_BASE_URL; unset, the path alone)."""
    base = settings_of(session).public_base_url or ""
    return f"{base}/tra-cuu?code={quote(dossier.code)}"


def notice(session: Session, dossier: Dossier, event: str, **context) -> list:
    """Queue the event's message on every channel the citizen chose, to the contact they gave, in
    the caller's transaction; nothing without consent. Returns the queued `CitizenMessage` rows."""
    chosen = dossier.notify or {}
    if not chosen.get("channels"):
        return []
    procedure = session.get(Procedure, dossier.procedure_code)
    unit = session.get(Unit, dossier.received_by_unit)
    base = {"code": dossier.code, "procedure_name": procedure.name if procedure is not None else dossier.procedure_code,
            "unit_name": unit.name if unit is not None else "", "tracking_url": tracking_url(session, dossier)}
    allowed = set(message_templates.EVENTS[event][2])
    values = {k: v for k, v in {**base, **context}.items() if k in allowed}  # nothing a template may not show
    queued = []
    for channel in chosen["channels"]:
        contact = chosen.get(CONTACT.get(channel, ""))
        if channel not in CHANNELS or not contact:
            continue
        text = message_templates.render(session, province_code=dossier.province_code, event=event,
                                        channel=channel, context=values)
        queued.append(messages.queue_message(session, dossier=dossier, channel=channel, recipient=contact,
                                             event=event, subject=text.subject or "", body=text.body,
                                             params=text.params, template_id=text.zns_template_id))
    return queued


def received(session: Session, dossier: Dossier) -> None:
    """Reception accepted (`steps.accept`): the code, the due date, the tracking link."""
    notice(session, dossier, "dossier.received", due_date=_date(dossier.due_at))


def delayed(session: Session, dossier: Dossier, reason: str | None) -> None:
    """The apology and extension letter (`lifecycle.apologize`): the new date and the reason."""
    notice(session, dossier, "dossier.delayed", new_due_date=_date(dossier.due_at), reason=reason or "")


def status_changed(session: Session, dossier: Dossier, new: DossierStatus, note: str | None) -> None:
    """The events a status change is (`steps.set_status`): what to bring, what to pay, the result,
    the refusal or stop with its reason. Other statuses tell the citizen nothing."""
    if not (dossier.notify or {}).get("channels"):
        return
    entry = pauses.current(dossier) or {}
    unit = session.get(Unit, dossier.received_by_unit)
    place = unit.name if unit is not None else ""
    if new == DossierStatus.SUPPLEMENT_REQUESTED:
        notice(session, dossier, "supplement.requested", items=[str(i) for i in entry.get("items") or []],
               place=place, due_date=entry.get("due_date") or "")
    elif new == DossierStatus.PAYMENT_REQUESTED:
        notice(session, dossier, "payment.requested", amount=_amount(entry.get("amount")),
               payment_instructions=PAYMENT_HOW)
    elif new in (DossierStatus.DECIDED, DossierStatus.RETURNED):
        notice(session, dossier, "result.ready", place=place, returned=new == DossierStatus.RETURNED)
    elif new in (DossierStatus.REFUSED, DossierStatus.STOPPED):
        notice(session, dossier, "dossier.refused", reason=note or "")
