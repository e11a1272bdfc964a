"""The one-stop desk's intake (the back office's "Tiếp nhận hồ sơ mới"): the procedures a desk
offers, found by name or code as people type them, and the reception form of the version in
force. The dossier itself is started by `dossiers.start`, the one function the API uses too."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Procedure, ProcedureInForce, ProcedureVersion
from ..models.procedures import NATIONAL
from . import procedures, search, versions
from ..i18n import vi
from .errors import NotFound

# The reception step's outcome fields (`forms.effective`): the desk's own choice, not the form's data.
OUTCOME_FIELDS = ("reception_result", "missing_items", "refusal_reason")
MAX_LISTED = 200


@dataclass(frozen=True)
class Offered:
    code: str
    name: str
    name_en: str | None
    folded: str  # what a search compares: the folded code and names (`search.fold`)


def offered(session: Session, province_code: str, q: str | None = None, limit: int = MAX_LISTED) -> list[Offered]:
    """The procedures in force in the province (its variant or the national template), by code,
    whose code or name holds every word of `q`, folded (case, diacritics, đ, Unicode form) as in
    every search. The catalogue is small (a province offers some hundreds): folded here rather
    than over a stored column."""
    wanted = search.words(q)
    rows = session.execute(
        select(Procedure.code, Procedure.name, Procedure.name_en).distinct()
        .join(ProcedureInForce, ProcedureInForce.procedure_code == Procedure.code)
        .where(ProcedureInForce.scope.in_([province_code, NATIONAL])).order_by(Procedure.code)).all()
    out = []
    for code, name, name_en in rows:
        folded = search.fold(f"{code} {name} {name_en or ''}")
        if all(w in folded for w in wanted):
            out.append(Offered(code, name, name_en, folded))
    return out[:limit]


def reception_form(session: Session, procedure_code: str, province_code: str) -> tuple[ProcedureVersion, dict | None]:
    """The version in force and the form of its reception step (the first with that milestone),
    with its outcome fields; None when the diagram has no reception step (the dossier is then
    accepted as it starts)."""
    version = procedures.in_force(session, procedure_code, province_code)
    if version is None:
        raise NotFound(vi("Thủ tục %(procedure)s chưa được công bố cho tỉnh %(province)s.", procedure=procedure_code,
                          province=province_code),
                       code="procedure_not_offered")
    return version, reception_form_of(session, version)


def reception_form_of(session: Session, version: ProcedureVersion) -> dict | None:
    """The form of a version's reception step (the first with that milestone), None without one."""
    runtime = versions.runtime(session, version.id)
    step = next((t["id"] for t in runtime.model["user_tasks"] if t.get("milestone") == "reception"), None)
    return runtime.step_forms.get(step) if step else None


def start_schema(form: dict | None) -> dict:
    """The JSON Schema of the `data` an integrator sends to start a dossier: the reception form
    without the desk's outcome fields, requiring what an accepted dossier needs (the form's
    `reception_result: accept` branch), so that the officer can accept it as sent. Without a
    reception step, any object (the dossier is accepted as it starts)."""
    schema = (form or {}).get("schema")
    if not schema:
        return {"type": "object"}
    required = [n for n in schema.get("required", []) if n not in OUTCOME_FIELDS]
    kept = []
    for branch in schema.get("allOf", []):
        outcome = (branch.get("if") or {}).get("properties", {}).get("reception_result")
        if outcome is None:
            kept.append(branch)
        elif outcome.get("const") == "accept":
            required += [n for n in branch.get("then", {}).get("required", []) if n not in required]
    out = {k: v for k, v in schema.items() if k not in ("properties", "required", "allOf")}
    out["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in OUTCOME_FIELDS}
    out.update({"required": required} if required else {}, **({"allOf": kept} if kept else {}))
    return out
