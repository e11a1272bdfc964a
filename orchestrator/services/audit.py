"""Appending to the history; nothing ever updates or deletes an audit event."""
from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..models import AuditEvent, Dossier
from ..models.types import utcnow

_APPEND = insert(AuditEvent.__table__)


def record(session: Session, action: str, actor: str, *, dossier: Dossier | None = None,
           from_status: int | None = None, to_status: int | None = None, task_id: str | None = None,
           step_id: str | None = None, unit_code: str | None = None, note: str | None = None,
           data: dict | None = None) -> None:
    """One INSERT on the caller's connection, now: events get their ids in the order they happen,
    and a step's events are no ORM objects for its flush to track (they are never changed)."""
    if dossier is not None and dossier.id is None:
        session.flush()  # a dossier just added: its id first
    session.connection().execute(_APPEND, {
        "dossier_id": dossier.id if dossier is not None else None, "at": utcnow(), "actor": actor, "action": action,
        "from_status": from_status, "to_status": to_status, "task_id": task_id, "step_id": step_id,
        "unit_code": unit_code, "note": note, "data": data,
    })
