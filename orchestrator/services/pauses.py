"""A dossier's paused intervals (status 5 supplement, status 6 financial obligation; and, with
the status unchanged, the waits a version does not count in its period: `services.periods`).

`dossier.paused` is a JSON list of `{"kind", "stage", "from", "to", ...}` with ISO 8601 UTC
times; the open interval has `"to": null`. The list is rebuilt on each change (never mutated in
place) so SQLAlchemy sees the new value. Kept as a leaf module: `tasks` (reception outcome in
the form) and `lifecycle` (actions and events) both record pauses through it.
"""
from __future__ import annotations

from datetime import datetime

from ..models import Dossier
from ..i18n import vi
from .errors import Conflict

SUPPLEMENT, PAYMENT = "supplement", "payment"
RECEPTION, PROCESSING = "reception", "processing"
# Issue 18: the workflow waits where the version's period does not count (public posting, the tax
# authority's notice and the payment); the status stays 4. `current`/`close_pause` leave them alone.
WAIT = "wait"
STATUS_KINDS = (SUPPLEMENT, PAYMENT)


def entries(dossier: Dossier) -> list[dict]:
    return list(dossier.paused or [])


def open_pause(dossier: Dossier, kind: str, at: datetime, **extra) -> dict:
    entry = {"kind": kind, "from": at.isoformat(), "to": None, **extra}
    dossier.paused = [*entries(dossier), entry]
    return entry


def current(dossier: Dossier) -> dict | None:
    """The open pause of status 5 or 6 (a wait of the workflow is not one)."""
    for entry in reversed(entries(dossier)):
        if entry.get("to") is None and entry.get("kind") in STATUS_KINDS:
            return entry
    return None


def close_pause(dossier: Dossier, at: datetime, **extra) -> dict | None:
    """Close the open interval of status 5 or 6 (if any) and return it as closed."""
    return _close_where(dossier, at, lambda e: e.get("kind") in STATUS_KINDS, extra)


def open_wait(dossier: Dossier, reason: str) -> dict | None:
    """The open wait of the workflow named `reason` (see `services.periods`), if any."""
    return next((e for e in entries(dossier) if e.get("kind") == WAIT and e.get("reason") == reason
                 and e.get("to") is None), None)


def close_wait(dossier: Dossier, reason: str, at: datetime, **extra) -> dict | None:
    return _close_where(dossier, at, lambda e: e.get("kind") == WAIT and e.get("reason") == reason, extra)


def _close_where(dossier: Dossier, at: datetime, match, extra: dict) -> dict | None:
    items = [dict(e) for e in entries(dossier)]
    for entry in reversed(items):
        if entry.get("to") is None and match(entry):
            entry.update(extra, to=at.isoformat())
            dossier.paused = items
            return entry
    return None


def started(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["from"])


def payment(dossier: Dossier) -> dict | None:
    """The latest financial obligation asked of the dossier (status 6), or None when none was:
    its amount (whole VND), when it was asked and when it was paid (None while waiting, or when
    the dossier closed without it) with the receipt's number. What the API shows as `payment`."""
    entry = next((e for e in reversed(entries(dossier)) if e.get("kind") == PAYMENT), None)
    if entry is None:
        return None
    paid = entry.get("to") is not None and "closed_by" not in entry
    return {"amount": entry.get("amount"), "currency": "VND", "requested_at": started(entry),
            "paid_at": datetime.fromisoformat(entry["to"]) if paid else None,
            "receipt_number": entry.get("receipt_number") if paid else None}


def has(dossier: Dossier, kind: str, stage: str | None = None) -> bool:
    return any(e.get("kind") == kind and (stage is None or e.get("stage") == stage) for e in entries(dossier))


def ensure_first_supplement(dossier: Dossier, stage: str, unit: str | None = None) -> None:
    """A supplement request lists everything at once (Decree 118 Art. 17): at reception once;
    during processing once per deciding unit (issue 18: in the land flow the commune and the land
    registration office branch may each ask once)."""
    if stage == RECEPTION and has(dossier, SUPPLEMENT, RECEPTION):
        raise Conflict(vi("Hồ sơ đã được yêu cầu bổ sung khi tiếp nhận một lần; không được yêu cầu lần thứ hai."),
                       code="supplement_already_requested")
    if stage == PROCESSING and any(e.get("kind") == SUPPLEMENT and e.get("stage") == PROCESSING
                                   and e.get("unit") in (unit, None) for e in entries(dossier)):
        raise Conflict(vi("Đơn vị %(unit)s đã yêu cầu bổ sung hồ sơ này một lần trong quá trình giải quyết; "
                          "không được yêu cầu lần thứ hai.", unit=unit), code="supplement_already_requested",
                       extra={"unit": unit})
