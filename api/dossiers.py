"""Dossier routes: start, read, public tracking."""
from __future__ import annotations

from flask import current_app, request

from orchestrator.extensions import db
from orchestrator.services import dossiers as service

from . import bp
from .auth import authenticated, current_actor, json_body
from .limits import limiter
from .schemas import (
    CurrentTaskSchema, DossierQuerySchema, DossierSchema, DossierStartSchema, HistorySchema, PublicDossierSchema,
)


def dossier_body(dossier) -> dict:
    session = db.session
    return {
        **DossierSchema().dump(dossier),
        "current_tasks": CurrentTaskSchema(many=True).dump(service.current_tasks(session, dossier)),
        "history": HistorySchema(many=True).dump(service.history(session, dossier)),
    }


@bp.post("/dossiers")
@authenticated
def start_dossier():
    actor = current_actor()
    args = DossierStartSchema().load(json_body())
    channel = args.get("channel") or (2 if actor.is_integrator else 1)
    dossier = service.start(db.session, actor, procedure_code=args["procedure_code"],
                            province_code=args["province_code"], commune_code=args["commune_code"],
                            channel=channel, applicant=args["applicant"], data=args["data"],
                            received_by_unit=args.get("received_by_unit"), reception=args["reception"])
    db.session.commit()
    return dossier_body(dossier), 201


@bp.get("/dossiers")
@authenticated
def list_dossiers():
    args = DossierQuerySchema().load(request.args.to_dict())
    cursor, limit = int(args.pop("cursor", 0)), args.pop("limit")
    rows, next_id = service.list_visible(db.session, current_actor(), after_id=cursor, limit=limit, **args)
    return {"items": DossierSchema(many=True, exclude=("applicant", "data")).dump(rows),
            "next_cursor": str(next_id) if next_id else None}


@bp.get("/dossiers/<code>")
@authenticated
def get_dossier(code: str):
    return dossier_body(service.get_visible(db.session, current_actor(), code))


@bp.get("/public/dossiers/<code>")
@limiter.limit(lambda: current_app.config["RATELIMIT_PUBLIC"])
def public_dossier(code: str):
    return PublicDossierSchema().dump(service.get_public(db.session, code))
