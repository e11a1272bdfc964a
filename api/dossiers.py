"""Dossier routes: start, list, read, public tracking."""
from __future__ import annotations

from flask import current_app, request

from orchestrator.extensions import db, limiter
from orchestrator.services import dossiers as service
from orchestrator.services import delivery_log, history_text, versions
from orchestrator.services.tracking import code_prefix

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .messages import in_language, language
from .http import committed, dossier_body, history_choice, idempotency
from .schemas.common import encode_cursor
from .schemas.delivery_log import DeliveryLogSchema
from .schemas.dossiers import (
    DossierDetailSchema, DossierListSchema, DossierQuerySchema, DossierStartSchema, HistoryPageSchema,
    HistoryQuerySchema, PublicDossierSchema,
)
from .views import HistoryEntry


@bp.post("/dossiers")
@authenticated
@history_choice
@bp.arguments(DossierStartSchema)
@bp.response(201, DossierDetailSchema)
@documented(400, 401, 403, 404, 409, 422)
def start_dossier(args):
    """Start a dossier: integrators (online, status 1) or a reception officer (in person) with the
    desk's outcome in `reception.reception_result`: `accept` (default, status 2, the legal period
    starts), `supplement` (the citizen is guided to complete the file: status 5, not received, form
    02 lists `reception.missing_items`) or `refuse` (status 3, form 03 with `reception.refusal_reason`).
    With an `Idempotency-Key`, the same key and body return the same dossier; another body, 422."""
    actor = current_actor()
    record, replay = idempotency("POST", "/dossiers", 201)
    if replay is not None:
        return replay
    channel = args.get("channel") or (2 if actor.is_integrator else 1)
    step = service.start(db.session, actor, procedure_code=args["procedure_code"],
                         province_code=args["province_code"], commune_code=args["commune_code"],
                         channel=channel, applicant=args["applicant"], data=args["data"],
                         received_by_unit=args.get("received_by_unit"), reception=args["reception"],
                         notify=args.get("notify"))
    if record is not None:
        record.resource = step.dossier.code
    return committed(step, 201)


@bp.get("/dossiers")
@authenticated
@bp.arguments(DossierQuerySchema, location="query")
@bp.response(200, DossierListSchema)
@documented(400, 401)
def list_dossiers(args):
    """The dossiers the caller may see, oldest first (or by `sort`), with cursor pagination."""
    # The cursor is opaque (signed: `schemas.common.Cursor`): {"sort", "after": the last id seen}
    # with `sort=id`, {"sort", "offset": the next page's position} with another sort.
    # (checked against `sort` by DossierQuerySchema).
    cursor, by_id = args.pop("cursor", None) or {}, args["sort"] == "id"
    args["after_id" if by_id else "offset"] = cursor.get("after" if by_id else "offset", 0)
    page = service.list_visible(db.session, current_actor(), **args)
    deeper = page.next_offset is not None and page.next_offset <= service.MAX_OFFSET  # no deeper: filter more
    following = ({"sort": args["sort"], "after": page.next_id} if page.next_id
                 else {"sort": args["sort"], "offset": page.next_offset} if deeper else None)
    return {"items": page.items, "next_cursor": encode_cursor(following), "total": page.total,
            "total_capped": page.total_capped}


@bp.get("/dossiers/<code>")
@authenticated
@history_choice
@bp.response(200, DossierDetailSchema)
@documented(400, 401, 404)
def get_dossier(code: str):
    """Status, current tasks, due dates and the history of a dossier: all of it by default,
    the last events with `history=latest`, none with `history=none` (page it at `history_url`)."""
    return dossier_body(service.get_visible(db.session, current_actor(), code))


@bp.get("/dossiers/<code>/history")
@authenticated
@bp.arguments(HistoryQuerySchema, location="query")
@bp.response(200, HistoryPageSchema)
@documented(400, 401, 404)
def list_dossier_history(args, code: str):
    """A dossier's history, oldest first, a page at a time (`next_cursor`); who may read the
    dossier may read its history."""
    dossier = service.get_visible(db.session, current_actor(), code)
    events, more = service.history_page(db.session, dossier, args.get("cursor", {}).get("after", 0), args["limit"])
    texts = history_text.texts(db.session, events, versions.of(dossier), language())
    return {"items": [HistoryEntry(e, t) for e, t in zip(events, texts)],
            "next_cursor": encode_cursor({"after": events[-1].id} if more else None)}


@bp.get("/dossiers/<code>/messages")
@authenticated
@bp.response(200, DeliveryLogSchema)
@documented(401, 403, 404)
def list_dossier_messages(code: str):
    """The delivery log: the messages sent, or being sent, to the dossier's citizen (event,
    channel, masked contact, state, attempts, last error), oldest first. For administrators of
    the dossier's province (or VN); who else sees the dossier gets 403, who does not, 404."""
    _dossier, entries = delivery_log.for_dossier(db.session, current_actor(), code)
    lang = language()
    return {"items": [{**vars(e), "event_label": in_language(e.event_label, lang),
                       "state_label": in_language(e.state_label, lang)} for e in entries]}


def _code_prefix_key() -> str:
    """One bucket per code prefix (a unit's day), shared with the tracking page /tra-cuu."""
    return f"code-prefix:{code_prefix((request.view_args or {}).get('code', ''))}"


@bp.get("/public/dossiers/<code>")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC_PREFIX"], key_func=_code_prefix_key,
               scope="public-code-prefix", shared=True)
@bp.response(200, PublicDossierSchema)
@bp.doc(security=[])
@documented(404, 429)
def public_dossier(code: str):
    """A citizen's view of progress by dossier code: nothing personal, not even the procedure."""
    return service.get_public(db.session, code)
