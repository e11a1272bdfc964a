"""Appending to the history; nothing ever updates or deletes an audit event."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import AuditEvent, Dossier
from ..models.types import utcnow


def record(session: Session, action: str, actor: str, *, dossier: Dossier | None = None,
           from_status: int | None = None, to_status: int | None = None, task_id: str | None = None,
           step_id: str | None = None, unit_code: str | None = None, note: str | None = None,
           data: dict | None = None) -> AuditEvent:
    event = AuditEvent(
        dossier_id=dossier.id if dossier is not None else None, at=utcnow(), actor=actor, action=action,
        from_status=from_status, to_status=to_status, task_id=task_id, step_id=step_id,
        unit_code=unit_code, note=note, data=data,
    )
    session.add(event)
    return event
