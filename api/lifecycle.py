"""Events into a dossier and officers' actions on it (the legal lifecycle, DOMAIN.md).

`POST /dossiers/{code}/events/{name}`: built-in `supplement_submitted`, `payment_received`,
`withdrawn`; any other name goes to `lifecycle.handle_message_event` (messages a diagram waits
for). `POST /dossiers/{code}/actions/{action}`: `request-supplement`, `request-payment`,
`refuse`, `apologize`, `stop`, `return-to-step`, `return-result`. Both answer the dossier as
`GET /dossiers/{code}` does, or 409 with the reason the law or the state forbids it.
"""
from __future__ import annotations

from flask import current_app

from orchestrator.extensions import db
from orchestrator.services import lifecycle

from . import bp
from .auth import authenticated, current_actor
from .dossiers import committed, idempotency
from .errors import documented
from .schemas import ActionSchema, DossierDetailSchema, EventSchema


@bp.post("/dossiers/<code>/events/<name>")
@authenticated
@bp.arguments(EventSchema)
@bp.response(200, DossierDetailSchema)
@documented(400, 401, 403, 404, 409)
def send_event(args, code: str, name: str):
    """An event the dossier receives: integrators with `events:send` for its province, or an
    officer of a unit taking part (e.g. the reception officer recording a supplement)."""
    record, replay = idempotency("POST", f"/dossiers/{code}/events/{name}", 200)
    if replay is not None:
        return replay
    dossier = lifecycle.send_event(db.session, current_actor(), code, name, args["data"])
    if record is not None:
        record.resource = dossier.code
    return committed(dossier)


@bp.post("/dossiers/<code>/actions/<action>")
@authenticated
@bp.arguments(ActionSchema)
@bp.response(200, DossierDetailSchema)
@documented(400, 401, 403, 404, 409)
def perform_action(args, code: str, action: str):
    """An officer's action on the whole dossier; 409 with the reason when not allowed now."""
    record, replay = idempotency("POST", f"/dossiers/{code}/actions/{action}", 200)
    if replay is not None:
        return replay
    dossier = lifecycle.perform(db.session, current_actor(), code, action, args,
                                supplement_window_days=current_app.config["SUPPLEMENT_WINDOW_DAYS"])
    if record is not None:
        record.resource = dossier.code
    return committed(dossier)
