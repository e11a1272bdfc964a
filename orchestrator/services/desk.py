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
        raise NotFound(f"Thủ tục {procedure_code} chưa được công bố cho tỉnh {province_code}.",
                       code="procedure_not_offered")
    runtime = versions.runtime(session, version.id)
    step = next((t["id"] for t in runtime.model["user_tasks"] if t.get("milestone") == "reception"), None)
    return version, (runtime.step_forms.get(step) if step else None)
