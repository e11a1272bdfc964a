"""The citizens' tracking page: status by dossier code; details only with a second factor.

Anyone with the code sees the status and dates (as the public API does). The details (the
procedure, the steps and status changes, what to supplement, what to pay) need the last four
digits of the applicant's phone number, compared in constant time. Wrong digits are counted per
(dossier code, client address) with growing backoff (services/throttle.py): only that pair waits,
told for how long, so nobody can lock a citizen out of their own dossier; the edges also limit
status lookups per address and per code prefix (`code_prefix`), so a unit's sequential codes
cannot be walked quickly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Dossier, Unit
from ..i18n import vi
from . import access, pauses, public_steps, throttle
from .dossiers import get_public


@dataclass
class Tracking:
    dossier: Dossier
    detailed: bool
    wrong_factor: bool
    steps: list[str]
    moves: list[AuditEvent]
    waiting_for: dict | None
    supplement: dict | None = None  # issue 18: what to bring while the dossier waits in status 5
    apology: dict | None = None     # the apology letter: the new date, the unit at fault (and, with details, why)
    retry_after: int | None = None  # too many wrong digits from this address: seconds before the next try
    blocked: bool = False           # the digits were not even checked (this address still waits)
    notice: str | None = None       # what the citizen is told about waiting, in Vietnamese
    agency: dict | None = None      # issue 22: the receiving unit, its address and phone (who to ask)
    progress: list = None           # issue 22: public_steps.PublicStep, done then current (with details)


def code_prefix(code: str) -> str:
    """The unit-and-day part of a dossier code ("00070-261201" of "00070-261201-0007"): status
    lookups are limited per prefix, so walking one unit's sequential codes is slow."""
    code = (code or "").strip()[:80]
    head, sep, _tail = code.rpartition("-")
    return head if sep else code


def _supplement(session: Session, entry: dict | None) -> dict | None:
    """The open supplement request as the citizen reads it: the items, when and by which unit it
    was asked; `bring_by` stays None (no general rule sets a time limit for the citizen), the
    legal period counts again from the day the supplement arrives."""
    if not entry or entry.get("kind") != pauses.SUPPLEMENT:
        return None
    unit = session.get(Unit, entry["unit"]) if entry.get("unit") else None
    return {"items": list(entry.get("items") or []), "requested_at": pauses.started(entry),
            "unit": unit.name if unit is not None else None, "reason": entry.get("reason"),
            "bring_by": entry.get("bring_by")}


def _agency(session: Session, dossier: Dossier) -> dict | None:
    """The unit that received the dossier, as citizens reach it: its name, address and phone."""
    unit = session.get(Unit, dossier.received_by_unit) if dossier.received_by_unit else None
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name, "address": unit.address, "phone": unit.phone}


def _apology(session: Session, dossier: Dossier, detailed: bool) -> dict | None:
    """The apology as the citizen reads it: when, the new appointment and the unit at fault that
    apologised (as the letter names it); the reason only with the second factor, like the details."""
    if dossier.apologized_at is None:
        return None
    event = session.scalars(select(AuditEvent).where(AuditEvent.dossier_id == dossier.id,
                                                     AuditEvent.action == "apologized")
                            .order_by(AuditEvent.id.desc()).limit(1)).first()
    data = (event.data or {}) if event is not None else {}
    unit_code = data.get("unit") or dossier.received_by_unit
    unit = data.get("unit_name") or getattr(session.get(Unit, unit_code), "name", unit_code)
    new_due = data.get("new_due_at")
    return {"at": dossier.apologized_at, "unit": unit,
            "new_due_at": datetime.fromisoformat(new_due) if new_due else dossier.due_at,
            "reason": dossier.apology_reason if detailed else None}


def track(session: Session, code: str, phone_suffix: str | None, client: str | None = None) -> Tracking:
    """The status, and the details with the right phone digits. Wrong digits count against
    (code, client) only; the caller commits so the count is kept."""
    dossier = get_public(session, (code or "").strip()[:80])
    detailed, blocked, retry_after, notice = False, False, None, None
    if phone_suffix:
        key = throttle.key("track", dossier.code, client or "")
        retry_after = throttle.wait_seconds(session, key) or None
        if retry_after:
            blocked = True
        elif access.citizen_sees_details(dossier, phone_suffix):
            detailed = True
            throttle.clear(session, key)
        else:
            retry_after = throttle.fail(session, key) or None
        if retry_after:
            notice = vi("Bạn đã nhập sai số điện thoại quá nhiều lần. Vui lòng đợi %(seconds)s giây rồi thử lại.",
                        seconds=retry_after)
    steps, moves, waiting, progress = [], [], None, []
    if detailed:
        waiting = pauses.current(dossier)
        progress = public_steps.steps(session, dossier, waiting)
        # the current steps by their public names, never the diagram's internal ones
        steps = [p.label for p in progress if p.state == public_steps.CURRENT]
        moves = list(session.scalars(select(AuditEvent).where(AuditEvent.dossier_id == dossier.id,
                                                              AuditEvent.to_status.is_not(None))
                                     .order_by(AuditEvent.id)).all())
    return Tracking(dossier, detailed, bool(phone_suffix) and not detailed and not blocked, steps, moves, waiting,
                    _supplement(session, waiting), _apology(session, dossier, detailed), retry_after, blocked,
                    notice, _agency(session, dossier), progress)
