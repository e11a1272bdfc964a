"""A dossier's paused intervals (status 5 supplement, status 6 financial obligation).

`dossier.paused` is a JSON list of `{"kind", "stage", "from", "to", ...}` with ISO 8601 UTC
times; the open interval has `"to": null`. The list is rebuilt on each change (never mutated in
place) so SQLAlchemy sees the new value. Kept as a leaf module: `tasks` (reception outcome in
the form) and `lifecycle` (actions and events) both record pauses through it.
"""
from __future__ import annotations

from datetime import datetime

from ..models import Dossier
from .errors import Conflict

SUPPLEMENT, PAYMENT = "supplement", "payment"
RECEPTION, PROCESSING = "reception", "processing"


def entries(dossier: Dossier) -> list[dict]:
    return list(dossier.paused or [])


def open_pause(dossier: Dossier, kind: str, at: datetime, **extra) -> dict:
    entry = {"kind": kind, "from": at.isoformat(), "to": None, **extra}
    dossier.paused = [*entries(dossier), entry]
    return entry


def current(dossier: Dossier) -> dict | None:
    for entry in reversed(entries(dossier)):
        if entry.get("to") is None:
            return entry
    return None


def close_pause(dossier: Dossier, at: datetime, **extra) -> dict | None:
    """Close the open interval (if any) and return it as closed."""
    items = [dict(e) for e in entries(dossier)]
    for entry in reversed(items):
        if entry.get("to") is None:
            entry.update(extra, to=at.isoformat())
            dossier.paused = items
            return entry
    return None


def started(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["from"])


def has(dossier: Dossier, kind: str, stage: str | None = None) -> bool:
    return any(e.get("kind") == kind and (stage is None or e.get("stage") == stage) for e in entries(dossier))


def ensure_first_supplement(dossier: Dossier, stage: str, unit: str | None = None) -> None:
    """A supplement request lists everything at once (Decree 118 Art. 17): at reception once;
    during processing once per deciding unit (issue 18: in the land flow the commune and the land
    registration office branch may each ask once)."""
    if stage == RECEPTION and has(dossier, SUPPLEMENT, RECEPTION):
        raise Conflict("Hồ sơ đã được yêu cầu bổ sung khi tiếp nhận một lần; không được yêu cầu lần thứ hai.",
                       code="supplement_already_requested")
    if stage == PROCESSING and any(e.get("kind") == SUPPLEMENT and e.get("stage") == PROCESSING
                                   and e.get("unit") in (unit, None) for e in entries(dossier)):
        raise Conflict(f"Đơn vị {unit} đã yêu cầu bổ sung hồ sơ này một lần trong quá trình giải quyết; "
                       "không được yêu cầu lần thứ hai.", code="supplement_already_requested",
                       extra={"unit": unit})
