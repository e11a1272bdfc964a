"""Messages a diagram waits for (e.g. the tax authority's notice), delivered by integrators.

A message is addressed by its name as the diagram writes it (`bpmn:message/@name`): any text of
1..200 characters without control characters, spaces and Vietnamese included
(`EVENT_NAME`). Both dialects: the engine wraps the data the way Camunda's message
definition expects; any failure of the engine while delivering becomes the dossier's incident.
"""
from __future__ import annotations

import re

from ..models import DossierState
from . import audit, event_names, outbox, steps
from ..i18n import vi
from .errors import Conflict, Invalid

NAME_MAX = 200
# Any name a diagram's bpmn:message may carry (spaces, Vietnamese): 1..200 characters, no control
# characters (Unicode Cc: C0, DEL, C1). Built-in names are plain ASCII and match too.
EVENT_NAME = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,200}\Z")


# The built-in event names and what an API key's `events` may list live in `event_names` (no
# dependency on the engine, so `auth` checks a new key's list with it).
BUILT_IN, ALL, known_names, check_key_events = (event_names.BUILT_IN, event_names.ALL, event_names.known_names,
                                                event_names.check_key_events)


def check_name(name, field: str = "name") -> str:
    """The name of an event or a message as sent; 400 naming `field` (the path's `name` or the
    body's `message`) when it is empty, longer than 200 characters or has a control character."""
    if not isinstance(name, str) or not EVENT_NAME.match(name):
        raise Invalid(vi("Tên sự kiện không hợp lệ."),
                      fields={field: vi("1 đến %(max)s ký tự, không có ký tự điều khiển", max=NAME_MAX)})
    return name


def waiting_for(session, dossier) -> list[str]:
    """The messages a dossier's workflow waits for now (read, no lock): what the back office
    offers to record (a tax notice)."""
    state = session.get(DossierState, dossier.id)
    if state is None or dossier.finished_at is not None:
        return []
    return steps.workflow_of(dossier, state).waiting_messages()


def listing_waits(refusal: Conflict, step: steps.Step, name: str) -> Conflict:
    """A built-in event refused as `not_waiting` says, as a refused message does, what the
    dossier waits for instead (`waiting_for`: its diagram's messages, none once finished)."""
    if refusal.code == "not_waiting":
        waiting = [] if step.dossier.finished_at is not None else step.run.waiting_messages()
        refusal.extra.setdefault("waiting_for", waiting)
        refusal.extra.setdefault("event", name)
    return refusal


def deliver_message(step: steps.Step, name: str, data: dict) -> steps.Step:
    """Deliver a BPMN message to the dossier a step holds locked; 409 when it does not wait for it."""
    session, dossier = step.session, step.dossier
    waiting = step.run.waiting_messages()
    if name not in waiting:
        raise Conflict(vi("Hồ sơ không chờ sự kiện '%(event)s' (đang chờ: %(waiting)s).", event=name,
                          waiting=", ".join(waiting)) if waiting
                       else vi("Hồ sơ không chờ sự kiện '%(event)s'.", event=name), code="not_waiting",
                       extra={"waiting_for": waiting, "event": name})
    data = dict(data or {})
    step.engine(lambda run: run.deliver_message(name, data))
    dossier.data = {**dossier.data, **data}
    audit.record(session, "event", step.actor, dossier=dossier, note=name, data=data or None)
    outbox.emit(session, dossier, "dossier.event", {"name": name})
    step.save()
    return step
