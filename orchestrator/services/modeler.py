"""The modeler's save: the drawn diagram and the step properties set beside it go into one draft.

Opened on a draft, every save updates that draft (no new version per click); opened on a published
version, the first save makes one draft and the page then keeps saving into it. A save names the
revision it started from: if the draft changed since (another tab, another designer), it is refused
with 409 and the page keeps the drawing, so nothing is lost. The XML is checked like an upload, and
each property goes through the designer's own service (routing, form, step deadline, condition),
so the modeler cannot store anything those pages would refuse."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine import DEFAULT_ROUTE, DiagramRejected, check_diagram, lane_paths, mapping_keys
from ..i18n import vi
from ..models import FormDefinition, ProcedureVersion
from ..models.procedures import DRAFT
from . import audit, connectors, designer, procedures, versions
from .auth import Actor
from .errors import Conflict, Invalid, ServiceError


def revision(version: ProcedureVersion) -> str:
    """What a save must name to prove it started from the draft as it is now."""
    state = json.dumps([version.bpmn_xml, version.lane_map or {}], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(state.encode("utf-8")).hexdigest()[:20]


def _route_of(route: dict) -> dict:
    """`parse_route`'s {level, unit_type, role} as the panel's four fields (the department's code apart)."""
    if not route:
        return {}
    unit = route.get("unit_type") or ""
    dept = unit.split(":", 1)[1] if unit.startswith("department:") else ""
    return {"level": route.get("level") or "", "role": route.get("role") or "",
            "unit_type": "department" if dept else unit, "dept_code": dept}


def page_data(session: Session, version: ProcedureVersion) -> dict:
    """What the properties panel starts from: each step's form and deadline, each lane's route,
    each gateway flow's condition, the library's forms, and the fields of each step's form (the
    condition's field picker offers those of the steps before the gateway)."""
    library = designer.forms_of(session, version)
    effective = versions.step_forms(version.model, library)
    tasks, fields = {}, {}
    for t in version.model["user_tasks"]:
        tasks[t["id"]] = {"form_key": t.get("form_key") or "", "deadline_days": t.get("step_days") or "",
                          "lane_id": t.get("lane_id")}
        fields[t["id"]] = [{k: f[k] for k in ("name", "label", "type", "choices")}
                           for f in designer.form_fields(effective.get(t["id"]))]
    lanes = {lane["id"]: {"name": lane.get("name") or lane["id"], "route": _route_of(lane["route"]), "path": lane["path"] or ""}
             for lane in designer.lane_routes(version, outside_label="")}
    flows = {}
    for gw in designer.gateways(version):
        for f in gw["flows"]:
            flows[f["id"]] = {"condition": f["condition"], "default": gw["default"] == f["id"]}
    return {"revision": revision(version), "state": version.state, "number": version.version,
            "tasks": tasks, "lanes": lanes, "flows": flows, "fields": fields,
            "forms": session.scalars(select(FormDefinition.key).order_by(FormDefinition.key)).all()}


def _store_structure(session: Session, actor: Actor, draft: ProcedureVersion, xml: bytes, max_bytes: int) -> None:
    """The drawn XML replaces the draft's, checked exactly like an upload (connectors included)."""
    try:
        checked = check_diagram(xml, max_bytes, draft.process_id, dict(draft.decisions or {}))
    except DiagramRejected as exc:
        raise procedures.diagram_error(exc) from None
    problems = connectors.diagram_problems(session, checked.xml, draft.scope)
    if problems:
        raise procedures.diagram_error(DiagramRejected(problems))
    keys = mapping_keys(checked.model)
    draft.bpmn_xml, draft.model = checked.xml, checked.model
    draft.dialect, draft.process_id = checked.model["dialect"], checked.model["process_id"]
    draft.lane_map = {k: v for k, v in (draft.lane_map or {}).items() if k in keys}
    draft.warnings = procedures.draft_warnings(session, checked.model, draft.lane_map)
    audit.record(session, "procedure.model", actor.name, note=f"{draft.procedure_code} v{draft.version}: sơ đồ")
    session.flush()


def _prefixed(exc: ServiceError, element_id: str) -> ServiceError:
    """A property's refusal, pointing at the element the designer selected."""
    exc.fields = {f"{element_id}.{k}": v for k, v in (exc.fields or {}).items()} or {element_id: exc.message}
    exc.problems = (exc.problems or []) + [{"element_id": element_id, "message": exc.message}]
    return exc


def _apply(session: Session, actor: Actor, draft: ProcedureVersion, props: dict) -> None:
    code, number = draft.procedure_code, draft.version
    if not isinstance(props, dict):
        raise Invalid(vi("Thuộc tính của sơ đồ không hợp lệ."))
    steps = {t["id"]: t for t in draft.model["user_tasks"]}
    for task_id, values in list((props.get("tasks") or {}).items())[:500]:
        if task_id not in steps or not isinstance(values, dict):
            continue  # a step deleted after its properties were set: nothing to keep
        try:
            key = str(values.get("form_key") or "")
            if key and key != (steps[task_id].get("form_key") or ""):
                designer.set_task_form(session, actor, code, number, task_id, key)
            if "deadline_days" in values:
                days = str(values.get("deadline_days") or "").strip()
                if days != str(steps[task_id].get("step_days") or ""):
                    designer.set_step_deadline(session, actor, code, number, task_id, days, "days")
        except ServiceError as exc:
            raise _prefixed(exc, task_id) from None
    effective = lane_paths(draft.model, draft.lane_map or {})
    lanes = {lane["id"] for lane in draft.model["lanes"]} | {DEFAULT_ROUTE}  # steps outside every lane
    for lane_id, route in list((props.get("lanes") or {}).items())[:200]:
        if lane_id not in lanes or not isinstance(route, dict) or not route.get("level"):
            continue
        try:
            path = designer.route_path(str(route.get("level", "")), str(route.get("unit_type", "")),
                                       str(route.get("dept_code", "")).strip(), str(route.get("role", "")))
            if {**effective, **(draft.lane_map or {})}.get(lane_id) != path:  # unchanged routes: no audit entry
                designer.set_lane_route(session, actor, code, number, lane_id, path)
        except ServiceError as exc:
            raise _prefixed(exc, lane_id) from None
    current = {f["id"]: (f["condition"], gw["default"] == f["id"]) for gw in designer.gateways(draft) for f in gw["flows"]}
    for flow_id, values in list((props.get("flows") or {}).items())[:500]:
        if flow_id not in current or not isinstance(values, dict):
            continue
        wanted = (str(values.get("condition") or "").strip(), bool(values.get("default")))
        if wanted[1] and current[flow_id][1] or not wanted[1] and wanted == current[flow_id]:
            continue
        try:
            designer.set_condition(session, actor, code, number, flow_id, wanted[0], default=wanted[1])
        except ServiceError as exc:
            raise _prefixed(exc, flow_id) from None


def save(session: Session, actor: Actor, code: str, number: int, xml: bytes, *, base: str | None,
         properties: dict | None, max_bytes: int) -> tuple[ProcedureVersion, bool]:
    """(the draft saved into, whether it was created by this save). `base`: the revision the page
    started from; a draft changed since is refused (409) with nothing stored."""
    source = designer.get_for_edit(session, actor, code, number, draft=False)
    if source.state == DRAFT:
        if not base or base != revision(source):
            raise Conflict(vi("Bản nháp đã được thay đổi ở nơi khác (tab khác hoặc người khác) sau khi bạn mở trình vẽ. "
                              "Sơ đồ của bạn vẫn còn trên trang: hãy mở bản nháp mới nhất ở tab khác để đối chiếu, rồi tải lại trang."),
                           code="stale")
        draft, created = source, False
        _store_structure(session, actor, draft, xml, max_bytes)
    else:
        draft = designer.save_structure(session, actor, code, number, xml, max_bytes)
        created = True
    _apply(session, actor, draft, properties or {})
    session.flush()
    return draft, created
