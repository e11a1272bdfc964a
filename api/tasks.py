"""Task routes: inbox, detail with form, claim/unclaim/assign, complete."""
from __future__ import annotations

from flask import request

from orchestrator.extensions import db
from orchestrator.services import tasks as service

from . import bp
from .auth import authenticated, current_actor, json_body
from .dossiers import dossier_body
from .schemas import AssignSchema, CompleteSchema, DossierSchema, TaskQuerySchema, WorkItemSchema


@bp.get("/tasks")
@authenticated
def inbox():
    args = TaskQuerySchema().load(request.args.to_dict())
    items, total = service.inbox(db.session, current_actor(), args["view"], overdue=args["overdue"],
                                 page=args["page"], per_page=args["per_page"])
    return {"items": WorkItemSchema(many=True).dump(items), "total": total}


@bp.get("/tasks/<task_id>")
@authenticated
def get_task(task_id: str):
    item = service.get_visible(db.session, current_actor(), task_id)
    dossier = item.dossier
    return {**WorkItemSchema().dump(item), "state": item.state, "form_key": item.form_key,
            "form": service.form_of(item), "prefill": service.prefill(item, dossier.data),
            "lock_version": dossier.lock_version,
            "dossier": DossierSchema(only=("code", "procedure_code", "status", "status_name", "applicant", "data",
                                           "received_at", "due_at", "commune_code", "received_by_unit")).dump(dossier)}


def _task_action(action, task_id: str):
    item = action(db.session, current_actor(), task_id)
    db.session.commit()
    return WorkItemSchema().dump(item)


@bp.post("/tasks/<task_id>/claim")
@authenticated
def claim(task_id: str):
    return _task_action(service.claim, task_id)


@bp.post("/tasks/<task_id>/unclaim")
@authenticated
def unclaim(task_id: str):
    return _task_action(service.unclaim, task_id)


@bp.post("/tasks/<task_id>/assign")
@authenticated
def assign(task_id: str):
    args = AssignSchema().load(json_body())
    item = service.assign(db.session, current_actor(), task_id, args["username"])
    db.session.commit()
    return WorkItemSchema().dump(item)


@bp.post("/tasks/<task_id>/complete")
@authenticated
def complete(task_id: str):
    args = CompleteSchema().load(json_body())
    dossier = service.complete(db.session, current_actor(), task_id, args["data"], args.get("lock_version"))
    db.session.commit()
    return dossier_body(dossier)
