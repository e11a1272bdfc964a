"""Decision tables (DMN) of procedure versions: the grid the back office shows, and a draft's
rules edited as a grid. Who may edit is the designers' rule (`designer.get_for_edit`, from
`access`); the DMN XML is rewritten by the engine and checked cell by cell with the sandbox
before anything is stored."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..engine import decisions as dmn
from ..i18n import vi
from ..models import ProcedureVersion
from . import audit, designer
from .auth import Actor
from .errors import Invalid, NotFound, Rejected

MAX_DMN_FILES = dmn.MAX_DMN_FILES


def tables(version: ProcedureVersion) -> list[dict]:
    """Each decision table of a version: id, name, hit policy, inputs, outputs, rules (with their
    annotations) and the business rule tasks that call it."""
    return dmn.grids(version.bpmn_xml, dict(version.decisions or {})) if version.decisions else []


def table(version: ProcedureVersion, decision_id: str) -> dict:
    found = next((t for t in tables(version) if t["id"] == decision_id), None)
    if found is None:
        raise NotFound(vi("Phiên bản không có bảng quyết định '%(decision_id)s'.", decision_id=decision_id))
    return found


def xml_of(version: ProcedureVersion, decision_id: str) -> str:
    """The DMN document of one table, as stored with the version."""
    text = (version.decisions or {}).get(decision_id)
    if text is None:
        raise NotFound(vi("Phiên bản không có bảng quyết định '%(decision_id)s'.", decision_id=decision_id))
    return text


def save_rules(session: Session, actor: Actor, code: str, number: int, decision_id: str,
               rules: list[dict]) -> ProcedureVersion:
    """Replace the rules of a draft's decision table: `rules` = [{id (kept, else new), inputs:
    [text per input column], outputs: [text per output column], annotation}]. A cell the sandbox
    refuses is named in `fields` as `rule.<n>.in.<column>` / `rule.<n>.out.<column>`."""
    version = designer.get_for_edit(session, actor, code, number)
    current = table(version, decision_id)
    if len(rules) > dmn.MAX_RULES:
        raise Invalid(vi("Tối đa %(count)s quy tắc.", count=dmn.MAX_RULES),
                      fields={"rules": vi("tối đa %(count)s", count=dmn.MAX_RULES)})
    fields: dict[str, str] = {}
    clean = []
    for n, rule in enumerate(rules, start=1):
        inputs = [str(v or "").strip() for v in rule.get("inputs") or []]
        outputs = [str(v or "").strip() for v in rule.get("outputs") or []]
        if len(inputs) != len(current["inputs"]) or len(outputs) != len(current["outputs"]):
            raise Invalid(vi("Số ô của quy tắc không khớp số cột của bảng."), fields={f"rule.{n}": vi("số ô")})
        for c, (col, text) in enumerate(zip(current["inputs"], inputs), start=1):
            why = dmn.cell_error(text, "input")
            if why:
                fields[f"rule.{n}.in.{c}"] = vi("Quy tắc %(rule)s, cột đầu vào '%(column)s': %(reason)s", rule=n,
                                                column=col["label"] or col["id"], reason=why)
        for c, (col, text) in enumerate(zip(current["outputs"], outputs), start=1):
            why = dmn.cell_error(text, "output")
            if why:
                fields[f"rule.{n}.out.{c}"] = vi("Quy tắc %(rule)s, cột kết quả '%(column)s': %(reason)s", rule=n,
                                                 column=dmn.output_key(col), reason=why)
        annotation = str(rule.get("annotation") or "").strip()[:dmn.MAX_CELL_CHARS]
        clean.append({"id": rule.get("id") or None, "inputs": inputs, "outputs": outputs, "annotation": annotation})
    if fields:
        raise Invalid(vi("Bảng quyết định chưa được lưu: có ô không hợp lệ."), fields=fields)
    text = dmn.rewrite_rules(version.decisions[decision_id], clean)
    problems = dmn.check(dmn.parse_trusted(text))
    if problems:
        raise Rejected(vi("Bảng quyết định chưa được lưu."), problems=[p.as_dict() for p in problems], code="invalid_dmn")
    version.decisions = {**version.decisions, decision_id: text}
    audit.record(session, "procedure.decision", actor.name, note=f"{code} v{number}: {decision_id}",
                 data={"rules": len(clean)})
    session.flush()
    return version
