"""Task routes: inbox, detail with form, claim/unclaim/assign, complete."""
from __future__ import annotations

from orchestrator.extensions import db
from orchestrator.services import inbox as inbox_service
from orchestrator.services import tasks as service

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .http import committed, history_choice
from .schemas.common import encode_cursor
from .schemas.dossiers import DossierDetailSchema, DossierSchema
from .schemas.tasks import (
    AssignSchema, CompleteSchema, InboxQuerySchema, TaskDetailSchema, TaskListSchema, WorkItemSchema,
)
from .views import InboxEntry, TaskView

# RFC 9745: the date page/per_page of GET /tasks were deprecated (2026-12-01 00:00 UTC)
DEPRECATED_PAGING = "@1796083200"

_SUMMARY = DossierSchema(only=("code", "procedure_code", "status", "status_name", "applicant", "data",
                               "received_at", "due_at", "commune_code", "received_by_unit"))


@bp.get("/tasks")
@authenticated
@bp.arguments(InboxQuerySchema, location="query")
@bp.response(200, TaskListSchema)
@documented(400, 401)
def inbox(args):
    """My inbox: `available` (my units and roles, unclaimed), `mine` (claimed by me) or `unit` (a
    leader's whole unit); filters; sorted by due date; `due_mark` and `counts` computed now."""
    due = args.get("due") or ("overdue" if args["overdue"] else None)
    deprecated = "page" in args or "per_page" in args
    limit = args.get("per_page", 50) if deprecated else args.get("limit", 50)
    offset = (args.get("page", 1) - 1) * limit if deprecated else args.get("cursor", {}).get("offset", 0)
    result = inbox_service.search(db.session, current_actor(), args["view"], procedure_code=args.get("procedure_code"),
                                  status=args.get("status"), due=due, received_by_unit=args.get("received_by_unit"),
                                  per_page=limit, offset=offset)
    items = [InboxEntry(item, result.marks.mark(item.due_at)) for item in result.items]
    following = {"view": args["view"], "offset": offset + limit} if offset + limit < result.total else None
    body = {"items": items, "total": result.total, "counts": result.counts, "next_cursor": encode_cursor(following)}
    # page/per_page still work, marked deprecated (docs/api.md, "Versioning and deprecation")
    return (body, 200, {"Deprecation": DEPRECATED_PAGING}) if deprecated else body


@bp.get("/tasks/<task_id>")
@authenticated
@bp.response(200, TaskDetailSchema)
@documented(401, 404)
def get_task(task_id: str):
    """A task with its form (JSON Schema + UI hints), the values it opens with, and the dossier."""
    item = service.get_visible(db.session, current_actor(), task_id)
    dossier = item.dossier
    return TaskView(item, form=service.form_of(item), prefill=service.prefill(item, dossier.data),
                    lock_version=dossier.lock_version, dossier_summary=_SUMMARY.dump(dossier))


@bp.post("/tasks/<task_id>/claim")
@authenticated
@bp.response(200, WorkItemSchema)
@documented(401, 403, 404, 409)
def claim(task_id: str):
    """Take a task; 409 naming the holder when someone else has it."""
    item = service.claim(db.session, current_actor(), task_id)
    db.session.commit()
    return item


@bp.post("/tasks/<task_id>/unclaim")
@authenticated
@bp.response(200, WorkItemSchema)
@documented(401, 403, 404, 409)
def unclaim(task_id: str):
    """Give a task back (a leader may take it from anyone in the unit)."""
    item = service.unclaim(db.session, current_actor(), task_id)
    db.session.commit()
    return item


@bp.post("/tasks/<task_id>/assign")
@authenticated
@bp.arguments(AssignSchema)
@bp.response(200, WorkItemSchema)
@documented(400, 401, 403, 404, 409)
def assign(args, task_id: str):
    """A leader of the unit gives the task to one of its officers."""
    item = service.assign(db.session, current_actor(), task_id, args["username"])
    db.session.commit()
    return item


@bp.post("/tasks/<task_id>/complete")
@authenticated
@history_choice
@bp.arguments(CompleteSchema)
@bp.response(200, DossierDetailSchema)
@documented(400, 401, 403, 404, 409)
def complete(args, task_id: str):
    """Complete a step with its form data (validated server-side); the workflow moves on."""
    step = service.complete(db.session, current_actor(), task_id, args["data"], args.get("lock_version"))
    return committed(step)
