"""Events into a dossier and officers' actions on it (the legal lifecycle, docs/domain.md).

`POST /dossiers/{code}/events/{name}`: built-in `supplement_submitted`, `payment_received`,
`withdrawn`; any other name goes to `lifecycle.handle_message_event` (messages a diagram waits
for, named as the diagram names them: URL-encoded in the path, or in the body's `message` field
with `/events/message`). `POST /dossiers/{code}/actions/{action}`: `request-supplement`,
`request-payment`, `refuse`, `apologize`, `stop`, `return-to-step`, `return-result`. Both answer the dossier as
`GET /dossiers/{code}` does, or 409 with the reason the law or the state forbids it.
"""
from __future__ import annotations

from orchestrator.extensions import db
from orchestrator.services import events, lifecycle
from orchestrator.services.errors import Invalid, NotFound

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .http import committed, history_choice, idempotency
from .schemas.dossiers import DossierDetailSchema
from .schemas.lifecycle import ActionSchema, EventSchema

DOSSIER_CODE_MAX = 80  # dossier.code is at most 80 characters: a longer one names no dossier


@bp.post("/dossiers/<code>/events/<name>")
@authenticated
@history_choice
@bp.arguments(EventSchema)
@bp.response(200, DossierDetailSchema)
@documented(400, 401, 403, 404, 409)
def send_event(args, code: str, name: str):
    """An event the dossier receives: integrators with `events:send` for its province, or an
    officer of a unit taking part (e.g. the reception officer recording a supplement).

    `name` is a built-in event or the name of a message the diagram waits for, URL-encoded
    (spaces, Vietnamese: any text of 1..200 characters without control characters), or
    `message` with the name in the body's `message` field."""
    path = f"/dossiers/{code}/events/{name}"
    field = "name"
    if args.get("message") is not None and args["message"] != name:
        if name != "message":
            raise Invalid("Trường 'message' chỉ dùng với /events/message.",
                          fields={"message": "chỉ dùng với POST /dossiers/{code}/events/message"})
        name, field = args["message"], "message"
    events.check_name(name, field)  # before the idempotency record: its path is bounded
    if len(code) > DOSSIER_CODE_MAX:
        raise NotFound(f"Không tìm thấy hồ sơ {code}.")
    record, replay = idempotency("POST", path, 200)
    if replay is not None:
        return replay
    step = lifecycle.send_event(db.session, current_actor(), code, name, args["data"], field=field)
    if record is not None:
        record.resource = step.dossier.code
    return committed(step)


@bp.post("/dossiers/<code>/actions/<action>")
@authenticated
@history_choice
@bp.arguments(ActionSchema)
@bp.response(200, DossierDetailSchema)
@documented(400, 401, 403, 404, 409)
def perform_action(args, code: str, action: str):
    """An officer's action on the whole dossier; 409 with the reason when not allowed now."""
    record, replay = idempotency("POST", f"/dossiers/{code}/actions/{action}", 200)
    if replay is not None:
        return replay
    step = lifecycle.perform(db.session, current_actor(), code, action, args)
    if record is not None:
        record.resource = step.dossier.code
    return committed(step)
