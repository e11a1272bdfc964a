"""What several routes answer with: the dossier as GET shows it, read inside the transaction that
changed it and committed (`committed`), and replayed requests (`idempotency`)."""
from __future__ import annotations

import functools

from flask import current_app, g, request, url_for

from orchestrator.extensions import db
from orchestrator.services import dossiers as service
from orchestrator.services import history_text, integrations, versions

from .messages import language
from .auth import current_actor
from .blueprint import bp
from .schemas.dossiers import HISTORY_LATEST, DossierDetailSchema, HistoryChoiceSchema
from .views import DossierView, HistoryEntry

_DETAIL = DossierDetailSchema()


def committed(step, status: int = 200):
    """Commit and answer with the dossier of the step a use case ran (`steps.Step`) as GET shows
    it, read inside the transaction that changed it: after COMMIT every loaded row is expired and
    would be read again in a second one. A step that saved knows the open items already."""
    body = _DETAIL.dump(dossier_body(step.dossier, step.open_items if step.saved else None))
    db.session.commit()
    response = current_app.json.response(body)
    if status == 201:
        response.headers["Location"] = url_for("api.get_dossier", code=body["code"])
    return response, status


def dossier_body(dossier, open_items=None) -> DossierView:
    """The dossier with its current tasks (read now unless given) and history, as GET
    /dossiers/{code} answers it: as much history as `?history=` asked (`history_choice`),
    read only that far (the whole history was most of a late step's cost, issue 23)."""
    session = db.session
    tasks = service.current_tasks(session, dossier) if open_items is None else open_items
    choice = g.get("history_choice", "all")
    if choice == "none":
        return DossierView(dossier, tasks, [])
    history = (service.latest_history(session, dossier, HISTORY_LATEST) if choice == "latest"
               else service.history(session, dossier))
    texts = history_text.texts(session, history, versions.of(dossier), language())
    return DossierView(dossier, tasks, [HistoryEntry(e, t) for e, t in zip(history, texts)])


def history_choice(view):
    """Take `?history=none|latest|all` on a route that answers a dossier (documented, a bad value
    is a 400 naming `history`) and keep it for `dossier_body`; the view's own arguments are unchanged."""
    @functools.wraps(view)
    def wrapper(*args, history: str = "all", **kwargs):
        g.history_choice = history
        return view(*args, **kwargs)
    return bp.arguments(HistoryChoiceSchema, location="query", as_kwargs=True)(wrapper)


def idempotency(method: str, path: str, status: int):
    """(reservation, None) to go on, or (None, the earlier answer) to replay; nothing without the header."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None, None
    record, earlier = integrations.reserve(db.session, current_actor(), key, method, path,
                                           request.get_json(silent=True), status)
    if earlier is None:
        return record, None
    db.session.rollback()
    dossier = service.get_visible(db.session, current_actor(), earlier.resource)
    headers = {"Idempotent-Replayed": "true"}
    if earlier.status_code == 201:
        headers["Location"] = url_for("api.get_dossier", code=dossier.code)
    return None, (dossier_body(dossier), earlier.status_code, headers)
