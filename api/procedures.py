"""Procedure routes: upload, versions, lanes, publish, catalogue of a province."""
from __future__ import annotations

import json

from flask import current_app, url_for

from orchestrator.services import decisions
from orchestrator.services.decisions import MAX_DMN_FILES
from orchestrator.extensions import db
from orchestrator.services import procedures as service
from orchestrator.services import desk, dossiers, lifecycle, procedure_documents, schedules
from orchestrator.services.errors import Invalid, TooLarge

from .auth import authenticated, current_actor
from .blueprint import bp
from .errors import documented
from .schemas.procedures import (
    DecisionTableSchema, DocumentsSchema, LaneMapSchema, OfferedListSchema, OfferedQuerySchema, ProcedureInForceSchema, ProcedureQuerySchema,
    PublishedSchema, ScheduleSchema, SupplementWindowSchema, UploadedSchema, UploadFileSchema, UploadFormSchema, VersionListSchema, VersionSchema,
    WithdrawalSchema,
)
from .views import VersionView


def _json_field(form: dict, name: str) -> dict | None:
    raw = form.get(name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise Invalid(f"{name} phải là JSON.", fields={name: "invalid JSON"}) from None
    if not isinstance(value, dict):
        raise Invalid(f"{name} phải là đối tượng JSON.", fields={name: "expected an object"})
    return value


def _dmn_files(uploads: list, limit: int) -> list[tuple[str, bytes]]:
    """The DMN files of an upload, read no further than the limits (count, bytes per file)."""
    if len(uploads) > MAX_DMN_FILES:
        raise TooLarge(f"Tối đa {MAX_DMN_FILES} tệp DMN mỗi lần tải lên.", fields={"dmn": f"tối đa {MAX_DMN_FILES} tệp"})
    out = []
    for upload in uploads:
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"Tệp DMN '{upload.filename}' vượt quá {limit} byte.", fields={"dmn": f"tối đa {limit} byte"})
        out.append((upload.filename or "decision.dmn", data))
    return out


@bp.post("/procedures")
@authenticated
@bp.arguments(UploadFormSchema, location="form")
@bp.arguments(UploadFileSchema, location="files")
@bp.response(201, UploadedSchema)
@documented(400, 401, 403, 409, 413, 422)
def upload_procedure(form, files):
    """Upload a BPMN diagram as a new draft version (designers; integrators with procedures:write)."""
    limit = current_app.config["MAX_BPMN_BYTES"]
    data = files["file"].stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"Tệp BPMN vượt quá {limit} byte.",
                       problems=[{"element_id": None, "line": None, "message": f"file larger than {limit} bytes"}])
    dmn_files = _dmn_files(files.get("dmn") or [], limit)
    version = service.upload(
        db.session, current_actor(), data, code=form["code"].strip(), scope=form["scope"].strip(),
        name=form.get("name"), name_en=form.get("name_en"), field=form.get("field"),
        deadline_days=form.get("deadline_days"), deadline_kind=form["deadline_kind"],
        fee_rule=_json_field(form, "fee"), lane_map=_json_field(form, "lanes"), process_id=form.get("process_id"),
        max_bytes=limit, dmn_files=dmn_files,
    )
    db.session.commit()
    return {"code": version.procedure_code, "scope": version.scope, "version": version.version,
            "state": version.state, "warnings": version.warnings}, \
        {"Location": url_for("api.get_version", code=version.procedure_code, number=version.version)}


@bp.get("/procedures/<code>/versions")
@authenticated
@bp.response(200, VersionListSchema)
@documented(401, 404)
def list_versions(code: str):
    """Every version of a procedure, across scopes, and which are in force. Drafts, lanes, routes
    and usernames only for the scope's designers and administrators (and keys with
    procedures:write for it); others read the published versions' summary."""
    return {"items": [VersionView(version, in_force, full) for version, in_force, full
                      in service.readable_versions(db.session, current_actor(), code)]}


@bp.get("/procedures/<code>/versions/<id:number>")
@authenticated
@bp.response(200, VersionSchema)
@documented(401, 404)
def get_version(code: str, number: int):
    """One version with its lanes, warnings, deadline and fee rule (for who may read them; others:
    a published version's summary, a draft 404)."""
    version, full = service.readable_version(db.session, current_actor(), code, number)
    return VersionView(version, full=full)


@bp.get("/procedures/<code>/versions/<id:number>/decisions/<decision_id>")
@authenticated
@bp.response(200, DecisionTableSchema)
@documented(401, 404)
def get_decision(code: str, number: int, decision_id: str):
    """A DMN decision table uploaded with a version: its grid and its XML (a draft's: only for
    who may read its internals, else 404)."""
    version, _ = service.readable_version(db.session, current_actor(), code, number)
    return {**decisions.table(version, decision_id), "xml": decisions.xml_of(version, decision_id)}


@bp.delete("/procedures/<code>/versions/<id:number>")
@authenticated
@bp.response(204)
@documented(401, 403, 404, 409)
def delete_version(code: str, number: int):
    """Delete a draft version (issue 22); a published version is history dossiers point to: 409."""
    service.delete_draft(db.session, current_actor(), code, number)
    db.session.commit()
    return None


@bp.put("/procedures/<code>/versions/<id:number>/lanes")
@authenticated
@bp.arguments(LaneMapSchema)
@bp.response(200, VersionSchema)
@documented(400, 401, 403, 404, 409)
def put_lanes(mapping, code: str, number: int):
    """Map lanes of a draft to routing paths: `{lane id: "commune/reception", ...}`."""
    version = service.set_lanes(db.session, current_actor(), code, number, mapping)
    db.session.commit()
    return version


@bp.put("/procedures/<code>/versions/<id:number>/schedule")
@authenticated
@bp.arguments(ScheduleSchema)
@bp.response(200, VersionSchema)
@documented(400, 401, 403, 404, 409)
def put_schedule(body, code: str, number: int):
    """Mark a draft whose main process starts by a timer as scheduled: at each tick of the timer, one
    dossier per receiving commune (`units`, the applicant); `[]` unmarks it."""
    version = schedules.set_schedule(db.session, current_actor(), code, number, body["units"])
    db.session.commit()
    return version


@bp.put("/procedures/<code>/versions/<id:number>/supplement-window")
@authenticated
@bp.arguments(SupplementWindowSchema)
@bp.response(200, VersionSchema)
@documented(400, 401, 403, 404, 409)
def put_supplement_window(body, code: str, number: int):
    """Set a draft's supplement window in working days after reception (null: no window, the default)."""
    version = service.set_supplement_window(db.session, current_actor(), code, number,
                                            body["supplement_window_days"])
    db.session.commit()
    return version


@bp.put("/procedures/<code>/versions/<id:number>/documents")
@authenticated
@bp.arguments(DocumentsSchema)
@bp.response(200, VersionSchema)
@documented(400, 401, 403, 404, 409)
def put_documents(body, code: str, number: int):
    """Set a draft's list of documents (thành phần hồ sơ), printed on the receipt of its dossiers."""
    version = procedure_documents.set_documents(db.session, current_actor(), code, number, body["documents"])
    db.session.commit()
    return version


@bp.post("/procedures/<code>/versions/<id:number>/executable")
@authenticated
@bp.response(200, VersionSchema)
@documented(401, 403, 404, 409)
def mark_executable(code: str, number: int):
    """Mark the main process of a draft executable (files drawn with `isExecutable="false"`)."""
    version = service.mark_executable(db.session, current_actor(), code, number)
    db.session.commit()
    return version


@bp.post("/procedures/<code>/versions/<id:number>/publish")
@authenticated
@bp.response(200, PublishedSchema)
@documented(401, 403, 404, 409, 422)
def publish(code: str, number: int):
    """Publish a draft (after checks and a dry run), or roll back to an earlier published version."""
    version, notes = service.publish(db.session, current_actor(), code, number)
    db.session.commit()
    return {"code": version.procedure_code, "scope": version.scope, "version": version.version,
            "state": version.state, "in_force": True, "provinces_lacking_units": notes}


def _withdrawal(code: str, province: str, result: dict, withdrawn: bool) -> dict:
    return {"code": code, "province": province, "withdrawn": withdrawn,
            "variant_version": result["variant"].version, "national_version": result["national"].version,
            "running": result["running"], "running_dossiers": result["running_codes"]}


@bp.get("/procedures/<code>/variants/<province>/withdrawal")
@authenticated
@bp.response(200, WithdrawalSchema)
@documented(400, 401, 403, 404, 409)
def preview_variant_withdrawal(code: str, province: str):
    """What withdrawing a province's variant would change (issue 22; the back office's
    confirmation page): the variant version in force now, the national version that takes over,
    the unfinished dossiers that keep the variant. Nothing changes. 403 outside the designer's or
    key's province, 404 `no_variant` when the province has no variant in force, 409
    `no_national` without a national template in force."""
    return _withdrawal(code, province, service.withdraw_preview(db.session, current_actor(), code, province), False)


@bp.post("/procedures/<code>/variants/<province>/withdrawal")
@authenticated
@bp.response(200, WithdrawalSchema)
@documented(400, 401, 403, 404, 409)
def withdraw_variant(code: str, province: str):
    """Withdraw a province's variant: the province's new dossiers use the national template,
    running ones keep the variant version to their end (it stays published, not in force).
    Errors as the preview's; a second withdrawal is 404 `no_variant`."""
    result = service.withdraw_variant(db.session, current_actor(), code, province)
    db.session.commit()
    return _withdrawal(code, province, result, True)


@bp.get("/procedures")
@authenticated
@bp.arguments(OfferedQuerySchema, location="query")
@bp.response(200, OfferedListSchema)
@documented(400, 401)
def offered(args):
    """The procedures a province offers, with the version in force (its variant, else national)."""
    versions = service.offered(db.session, args["province"])
    return {"items": [{"code": v.procedure_code, "name": v.procedure.name, "name_en": v.procedure.name_en,
                       "field": v.procedure.field, "version": v.version, "scope": v.scope,
                       "deadline_days": v.deadline_days, "deadline_kind": v.deadline_kind} for v in versions]}


@bp.get("/procedures/<code>")
@authenticated
@bp.arguments(ProcedureQuerySchema, location="query")
@bp.response(200, ProcedureInForceSchema)
@documented(400, 401, 404)
def get_procedure(args, code: str):
    """A procedure with the version in force for `province` (its variant, else the national
    template; without `province`, the national template) and the names of the messages its
    diagram waits for: what `POST /dossiers/{code}/events/...` may deliver; what an integrator
    needs to start a dossier: the JSON Schema of `data` (`start_schema`) and the channels. 404
    when the procedure does not exist or no version is in force."""
    v = service.procedure_in_force(db.session, code, args.get("province"))
    messages = service.waiting_for(v)
    return {"code": v.procedure_code, "name": v.procedure.name, "name_en": v.procedure.name_en,
            "field": v.procedure.field, "version": v.version, "scope": v.scope,
            "deadline_days": v.deadline_days, "deadline_kind": v.deadline_kind, "messages": messages,
            "events": list(dict.fromkeys([*lifecycle.EVENTS, *messages])),
            "channels": [{"value": value, "name": dossiers.CHANNELS[value].replace(" ", "_"), "label": label,
                          "label_en": label_en} for value, (label, label_en) in dossiers.CHANNEL_LABELS.items()],
            "start_schema": desk.start_schema(desk.reception_form_of(db.session, v))}
