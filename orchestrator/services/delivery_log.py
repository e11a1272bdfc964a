"""The delivery log of a dossier (issue 24, point 4): what the outbox sent, or tried to send, to its
citizen, for the administrators of its area (`access.may_read_delivery_log`).

Entries are read-only views of `citizen_message` rows: the contact masked (`channels.mask_contact`),
the last error as the outbox stored it (already redacted, never a key), no body, no provider secret."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import Text, vi
from ..models import Dossier
from ..models.messages import DEAD, QUEUED, SENDING, SENT, CitizenMessage
from . import access, message_templates
from .auth import Actor
from .channels import mask_contact
from .errors import Forbidden, NotFound

STATE_LABELS = {QUEUED: vi("Chờ gửi"), SENDING: vi("Đang gửi"), SENT: vi("Đã gửi"), DEAD: vi("Gửi không thành công")}
CHANNEL_LABELS = {"email": "Email", "sms": "SMS", "zalo": "Zalo ZNS"}
LIMIT = 500  # a dossier sends a handful; the cap keeps a runaway loop's log readable


@dataclass(frozen=True)
class Entry:
    id: int
    event: str
    event_label: Text | str
    channel: str
    channel_label: str
    recipient: str          # masked
    state: str
    state_label: Text | str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


def _entry(m: CitizenMessage) -> Entry:
    known = message_templates.EVENTS.get(m.event)
    return Entry(id=m.id, event=m.event, event_label=known[1] if known else m.event, channel=m.channel,
                 channel_label=CHANNEL_LABELS.get(m.channel, m.channel), recipient=mask_contact(m.recipient),
                 state=m.state, state_label=STATE_LABELS.get(m.state, m.state), attempts=m.attempts,
                 last_error=m.last_error, created_at=m.created_at, sent_at=m.sent_at,
                 next_attempt_at=m.next_attempt_at if m.state in (QUEUED, SENDING) else None)


def for_dossier(session: Session, actor: Actor, code: str) -> tuple[Dossier, list[Entry]]:
    """The dossier and its messages, oldest first; 404 for who may not know the dossier, 403 for
    who sees it but is not one of its administrators."""
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None:
        raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=code))
    access.may_read_delivery_log(session, actor, dossier)
    return dossier, entries(session, dossier)


def entries(session: Session, dossier: Dossier) -> list[Entry]:
    """No permission check: for callers that already made `access.may_read_delivery_log`."""
    rows = session.scalars(select(CitizenMessage).where(CitizenMessage.dossier_id == dossier.id)
                           .order_by(CitizenMessage.id).limit(LIMIT)).all()
    return [_entry(m) for m in rows]


def may_read(session: Session, actor: Actor, dossier: Dossier) -> bool:
    """Whether the dossier page shows the log to this viewer (no exception)."""
    try:
        access.may_read_delivery_log(session, actor, dossier)
        return True
    except (Forbidden, NotFound):
        return False
