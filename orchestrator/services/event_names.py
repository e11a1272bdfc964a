"""Event names an integrator's API key may be limited to (`ApiKey.events`, issue 21): the lifecycle's
built-in events and the messages stored diagrams wait for. Apart from `events` so that `auth`
checks a new key's list without importing the engine's side."""
from __future__ import annotations

from sqlalchemy import select

from ..i18n import vi
from ..models import ProcedureVersion
from .errors import Invalid

# The lifecycle's own events (`lifecycle.EVENTS`): any other name is a message a diagram waits for.
BUILT_IN = ("supplement_submitted", "payment_received", "withdrawn")
ALL = "*"  # an API key's `events` entry: every event


def known_names(session) -> list[str]:
    """What an API key's `events` may list: the built-in events and every message name a stored
    procedure version waits for (`model["message_waits"]`)."""
    names = dict.fromkeys(BUILT_IN)
    for model in session.scalars(select(ProcedureVersion.model)):
        for wait in (model or {}).get("message_waits") or ():
            if isinstance(wait, dict) and isinstance(wait.get("name"), str):
                names.setdefault(wait["name"])
    return list(names)


def check_key_events(session, names) -> list[str]:
    """The `events` of a new API key: none (or "*") is every event; else known names only (400
    naming the unknown ones)."""
    names = [n.strip() for n in (names or []) if isinstance(n, str) and n.strip()]
    if not names or ALL in names:
        return [ALL]
    known = set(known_names(session))
    bad = [n for n in names if n not in known]
    if bad:
        raise Invalid(vi("Sự kiện không có: %(events)s.", events=", ".join(bad)),
                      fields={"event": vi("một hoặc nhiều trong: %(choices)s", choices=", ".join(sorted(known)))})
    return list(dict.fromkeys(names))
