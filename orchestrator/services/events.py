"""Messages a diagram waits for (e.g. the tax authority's notice), delivered by integrators."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..engine import EngineIncident
from ..models import Dossier
from . import audit, outbox, steps
from .errors import Conflict


def deliver_message(session: Session, actor_name: str, dossier: Dossier, name: str, data: dict) -> Dossier:
    """Deliver a BPMN message to a dossier on its locked row; 409 when it does not wait for it."""
    dossier = steps.locked_dossier(session, dossier.id)
    run = steps.restore(session, dossier)
    waiting = run.waiting_messages()
    if name not in waiting:
        raise Conflict(f"Hồ sơ không chờ sự kiện '{name}'"
                       + (f" (đang chờ: {', '.join(waiting)})." if waiting else "."), code="not_waiting",
                       extra={"waiting_for": waiting})
    incident = None
    try:
        run.deliver_message(name, data)
    except EngineIncident as exc:
        incident = exc
    dossier.data = {**dossier.data, **data}
    audit.record(session, "event", actor_name, dossier=dossier, note=name, data=data or None)
    outbox.emit(session, dossier, "dossier.event", {"name": name})
    steps.save_step(session, dossier, run, actor_name, incident)
    return dossier
