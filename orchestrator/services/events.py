"""Messages a diagram waits for (e.g. the tax authority's notice), delivered by integrators.

A message is addressed by its name as the diagram writes it (`bpmn:message/@name`): any text of
1..200 characters without control characters, spaces and Vietnamese included
(`EVENT_NAME`). Both dialects: the engine wraps the data the way Camunda's message
definition expects; any failure of the engine while delivering becomes the dossier's incident.
"""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from ..engine import EngineIncident
from ..models import Dossier, Procedure, ProcedureVersion
from ..models.procedures import NATIONAL
from . import audit, outbox, procedures, steps
from .errors import Conflict, Invalid, NotFound

NAME_MAX = 200
# Any name a diagram's bpmn:message may carry (spaces, Vietnamese): 1..200 characters, no control
# characters (Unicode Cc: C0, DEL, C1). Built-in names are plain ASCII and match too.
EVENT_NAME = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,200}\Z")


def check_name(name, field: str = "name") -> str:
    """The name of an event or a message as sent; 400 naming `field` (the path's `name` or the
    body's `message`) when it is empty, longer than 200 characters or has a control character."""
    if not isinstance(name, str) or not EVENT_NAME.match(name):
        raise Invalid("Tên sự kiện không hợp lệ.",
                      fields={field: f"1 đến {NAME_MAX} ký tự, không có ký tự điều khiển"})
    return name


def deliver_message(session: Session, actor_name: str, dossier: Dossier, name: str, data: dict) -> Dossier:
    """Deliver a BPMN message to a dossier on its locked row; 409 when it does not wait for it."""
    dossier = steps.locked_dossier(session, dossier.id)
    run = steps.restore(session, dossier)
    waiting = run.waiting_messages()
    if name not in waiting:
        raise Conflict(f"Hồ sơ không chờ sự kiện '{name}'"
                       + (f" (đang chờ: {', '.join(waiting)})." if waiting else "."), code="not_waiting",
                       extra={"waiting_for": waiting})
    data = dict(data or {})
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


def waiting_for(version: ProcedureVersion) -> list[str]:
    """The names of the messages a procedure version's diagram waits for (computed at upload)."""
    return list((version.model or {}).get("messages") or [])


def procedure_in_force(session: Session, code: str, province_code: str | None = None) -> ProcedureVersion:
    """The version in force for a province (its variant, else the national template; without a
    province, the national template): what integrators read to learn which messages to send.
    404 when the procedure does not exist or no version is in force there."""
    procedure = session.get(Procedure, code) if isinstance(code, str) and len(code) <= 40 else None
    if procedure is None:
        raise NotFound(f"Không có thủ tục {code}.")
    version = procedures.in_force(session, code, province_code or NATIONAL)
    if version is None:
        where = f"tỉnh {province_code}" if province_code else "cấp quốc gia"
        raise NotFound(f"Thủ tục {code} chưa có phiên bản đang áp dụng ({where}).", code="not_in_force")
    return version
