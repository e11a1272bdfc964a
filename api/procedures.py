"""Procedure routes: upload, versions, lanes, publish, catalogue of a province."""
from __future__ import annotations

import json

from flask import current_app, request

from orchestrator.extensions import db
from orchestrator.services import procedures as service
from orchestrator.services.errors import Invalid, TooLarge

from . import bp
from .auth import authenticated, current_actor, json_body
from .schemas import VersionSchema


def _json_field(name: str) -> dict | None:
    raw = request.form.get(name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise Invalid(f"{name} phải là JSON.", fields={name: "invalid JSON"}) from None
    if not isinstance(value, dict):
        raise Invalid(f"{name} phải là đối tượng JSON.", fields={name: "expected an object"})
    return value


@bp.post("/procedures")
@authenticated
def upload_procedure():
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("Thiếu tệp BPMN (trường 'file').", fields={"file": "required"})
    limit = current_app.config["MAX_BPMN_BYTES"]
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"Tệp BPMN vượt quá {limit} byte.", problems=[{"element_id": None, "line": None,
                                                                    "message": f"file larger than {limit} bytes"}])
    form = request.form
    version = service.upload(
        db.session, current_actor(), data, code=form.get("code", "").strip(), scope=form.get("scope", "").strip(),
        name=form.get("name"), name_en=form.get("name_en"), field=form.get("field"),
        deadline_days=form.get("deadline_days"), deadline_kind=form.get("deadline_kind", "working"),
        fee_rule=_json_field("fee"), lane_map=_json_field("lanes"), max_bytes=limit,
    )
    db.session.commit()
    return {"code": version.procedure_code, "scope": version.scope, "version": version.version,
            "state": version.state, "warnings": version.warnings}, 201


@bp.get("/procedures/<code>/versions")
@authenticated
def list_versions(code: str):
    rows = service.versions(db.session, code)
    schema = VersionSchema()
    return {"items": [{**schema.dump(v), "in_force": in_force} for v, in_force in rows]}


@bp.get("/procedures/<code>/versions/<int:number>")
@authenticated
def get_version(code: str, number: int):
    return VersionSchema().dump(service.get_version(db.session, code, number))


@bp.put("/procedures/<code>/versions/<int:number>/lanes")
@authenticated
def put_lanes(code: str, number: int):
    version = service.set_lanes(db.session, current_actor(), code, number, json_body())
    db.session.commit()
    return VersionSchema().dump(version)


@bp.post("/procedures/<code>/versions/<int:number>/publish")
@authenticated
def publish(code: str, number: int):
    version, notes = service.publish(db.session, current_actor(), code, number)
    db.session.commit()
    return {"code": version.procedure_code, "scope": version.scope, "version": version.version,
            "state": version.state, "in_force": True, "provinces_lacking_units": notes}


@bp.get("/procedures")
@authenticated
def offered():
    province = request.args.get("province", "")
    if not province:
        raise Invalid("Thiếu mã tỉnh.", fields={"province": "required"})
    versions = service.offered(db.session, province)
    return {"items": [{"code": v.procedure_code, "name": v.procedure.name, "name_en": v.procedure.name_en,
                       "field": v.procedure.field, "version": v.version, "scope": v.scope,
                       "deadline_days": v.deadline_days, "deadline_kind": v.deadline_kind} for v in versions]}
