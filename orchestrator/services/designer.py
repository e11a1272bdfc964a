"""What a procedure designer does in the back office, beyond upload and publish.

Every change to a draft's diagram is one pure rewrite of its BPMN XML (`engine/edit.py`) whose
result goes through the very same `check_diagram` and warnings path as an upload, so nothing the back
office produces could not also have been uploaded. Changes that have their own column
(lane map, legal deadline, fee rule) go there. A failed check raises before anything is
assigned, so the caller's rollback leaves the draft as it was.

Scope: a designer of province P sees P's versions and the national templates (read-only)
and edits P's drafts; a national designer (unit VN) sees and edits everything. A version
the actor may not see answers 404, one it may see but not change answers 403.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine import (
    DEFAULT_ROUTE, DiagramRejected, bundle_for, check_diagram, lane_paths, mapping_keys, parse_route, simulate,
    step_paths,
)
from ..engine import decisions as dmn
from ..engine import edit
from ..models import FormDefinition, Procedure, ProcedureInForce, ProcedureVersion, Unit
from ..models.procedures import DRAFT, NATIONAL
from ..models.types import utcnow
from . import access, audit, connectors, fees, forms, procedures, versions
from . import design_words as words
from .auth import Actor
from .deadlines import calendar_for, legal_due_at
from .errors import Conflict, Forbidden, Invalid, NotFound
from ..i18n import vi
from .routing import ITEM, Unresolvable, resolve

# Stored drafts already passed the upload limit; a rewrite only adds a few elements.
REWRITE_MAX_BYTES = 8 * 1024 * 1024
FIELD_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
FIELD_TYPES = ("string", "text", "integer", "number", "boolean", "date")
ROLES = ("reception", "specialist", "leader")


# -- scope (the rules are `access.designer_scopes`, `may_view_design`, `may_edit_design`) ----------

designer_scopes = access.designer_scopes
can_view = access.may_view_design
can_edit = access.may_edit_design


def get_for_view(session: Session, actor: Actor, code: str, number: int) -> ProcedureVersion:
    version = session.scalar(select(ProcedureVersion).where(
        ProcedureVersion.procedure_code == code, ProcedureVersion.version == number))
    if version is None or not can_view(actor, version.scope):
        raise NotFound(vi("Không có thủ tục %(code)s phiên bản %(number)s.", code=code, number=number))
    return version


def get_for_edit(session: Session, actor: Actor, code: str, number: int, *, draft: bool = True) -> ProcedureVersion:
    version = get_for_view(session, actor, code, number)
    if not can_edit(actor, version.scope):
        raise Forbidden(vi("Bạn chỉ được xem phiên bản này (mẫu quốc gia hoặc tỉnh khác); hãy tạo biến thể của tỉnh."))
    if draft and version.state != DRAFT:
        raise Conflict(vi("Phiên bản đã công bố không thể sửa; hãy tạo bản nháp mới từ phiên bản này."),
                       code="immutable")
    return version


def home_scopes(actor: Actor) -> list[str]:
    """The scopes a designer works on, national first: what the catalogue offers to choose."""
    scopes = designer_scopes(actor)
    if "VN" in scopes:
        return [NATIONAL]
    return sorted(scopes)


# -- catalogue ---------------------------------------------------------------------------------

@dataclass
class CatalogueRow:
    procedure: Procedure
    in_force: ProcedureVersion | None
    national: ProcedureVersion | None
    drafts: list[ProcedureVersion] = field(default_factory=list)
    published: list[ProcedureVersion] = field(default_factory=list)


def catalogue(session: Session, actor: Actor, scope: str) -> list[CatalogueRow]:
    """Every procedure with a version in `scope` or a national template: what is in force there
    (the province variant, else the national template), the drafts, and who published what.
    A scope that is not one (`national`, VN or a two-digit province) is 400 naming it; another
    province's, out of the actor's reach, 404 like every resource out of reach."""
    if not isinstance(scope, str) or not re.fullmatch(r"national|VN|\d{2}", scope):
        raise Invalid(vi("Tham số %(name)s không hợp lệ.", name="scope"), fields={"scope": vi("mã tỉnh (2 chữ số) hoặc VN")})
    if not can_view(actor, scope):
        raise NotFound(vi("Không có phạm vi này."))
    scopes = {scope, NATIONAL}
    rows = session.scalars(select(ProcedureVersion).where(ProcedureVersion.scope.in_(scopes))
                           .order_by(ProcedureVersion.procedure_code, ProcedureVersion.version)).all()
    links = {(link.procedure_code, link.scope): link.version for link in session.scalars(
        select(ProcedureInForce).where(ProcedureInForce.scope.in_(scopes))).all()}
    out: dict[str, CatalogueRow] = {}
    for v in rows:
        row = out.get(v.procedure_code)
        if row is None:
            national = links.get((v.procedure_code, NATIONAL))
            row = out[v.procedure_code] = CatalogueRow(
                v.procedure, links.get((v.procedure_code, scope)) or national, national)
        if v.scope != scope:
            continue
        (row.drafts if v.state == DRAFT else row.published).append(v)
    return list(out.values())


def visible_versions(session: Session, actor: Actor, code: str) -> list[tuple[ProcedureVersion, bool]]:
    rows = [(v, f) for v, f in procedures.versions(session, code) if can_view(actor, v.scope)]
    if not rows:
        raise NotFound(vi("Không có thủ tục %(code)s.", code=code))
    return rows


# -- new drafts --------------------------------------------------------------------------------

def _copy_as_draft(session: Session, actor: Actor, source: ProcedureVersion, scope: str, xml: bytes,
                   action: str, max_bytes: int) -> ProcedureVersion:
    lanes = edit.lane_ids(xml, REWRITE_MAX_BYTES * 4)
    lane_map = {k: v for k, v in (source.lane_map or {}).items() if k in lanes}
    draft = procedures.upload(
        session, actor, xml, code=source.procedure_code, scope=scope, deadline_days=source.deadline_days,
        deadline_kind=source.deadline_kind, fee_rule=dict(source.fee_rule or {}), lane_map=lane_map,
        max_bytes=max_bytes, dmn_files=[(f"{key}.dmn", text.encode("utf-8"))  # its decision tables come along
                                        for key, text in sorted((source.decisions or {}).items())],
        refuse_duplicate=False)  # a copy is the same diagram on purpose
    if (source.schedule or {}).get("units") and (draft.model or {}).get("timer_starts"):
        units = list(source.schedule["units"])  # still scheduled, with the same receiving units
        if scope != NATIONAL:  # a province's version keeps the communes of its province
            units = [u for u in units if getattr(session.get(Unit, u), "province_code", None) == scope]
        draft.schedule = {"units": units} if units else {}
    draft.supplement_window_days = source.supplement_window_days  # issue 18: the rule comes along
    draft.deadline_rules = dict(source.deadline_rules or {})  # issue 18: the period's variants and waits too
    draft.documents = [dict(d) for d in source.documents or []]  # issue 19: the receipt's list of documents
    audit.record(session, action, actor.name,
                 note=f"{source.procedure_code} v{draft.version} ({scope}) từ v{source.version} ({source.scope})")
    return draft


def derive_variant(session: Session, actor: Actor, code: str, province: str,
                   max_bytes: int = REWRITE_MAX_BYTES) -> ProcedureVersion:
    """One click: the national template in force becomes a draft of the province's own variant."""
    if province == NATIONAL or not can_edit(actor, province):
        raise Forbidden(vi("Chỉ tạo biến thể cho tỉnh bạn thiết kế."))
    link = session.get(ProcedureInForce, (code, NATIONAL))
    if link is None:
        raise NotFound(vi("Thủ tục %(code)s chưa có mẫu quốc gia đang áp dụng.", code=code))
    source = link.version
    return _copy_as_draft(session, actor, source, province, source.bpmn_xml.encode("utf-8"),
                          "procedure.derive", max_bytes)


def draft_from(session: Session, actor: Actor, code: str, number: int,
               max_bytes: int = REWRITE_MAX_BYTES) -> ProcedureVersion:
    """A new draft in the same scope, starting from any version (published ones are immutable)."""
    source = get_for_edit(session, actor, code, number, draft=False)
    return _copy_as_draft(session, actor, source, source.scope, source.bpmn_xml.encode("utf-8"),
                          "procedure.copy", max_bytes)


def save_structure(session: Session, actor: Actor, code: str, number: int, xml: bytes,
                   max_bytes: int) -> ProcedureVersion:
    """The modeler's XML becomes a new draft, validated exactly like an upload."""
    source = get_for_edit(session, actor, code, number, draft=False)
    return _copy_as_draft(session, actor, source, source.scope, xml, "procedure.model", max_bytes)


# -- rewriting a draft's XML -------------------------------------------------------------------

def _edited(version: ProcedureVersion, change, *args, **kwargs) -> bytes:
    """The draft's diagram after one `engine.edit` change; the engine's refusals become the errors
    the back office shows (unknown element 404, lane in use 409, condition 400)."""
    try:
        return change(version.bpmn_xml, version.process_id, *args, **kwargs)
    except edit.UnknownElement as exc:
        raise NotFound(exc.args[0]) from None
    except edit.LaneInUse as exc:
        raise Conflict(exc.args[0], code="lane_in_use", fields={exc.lane_id: vi("đang được sử dụng")}) from None
    except edit.InvalidCondition as exc:
        raise Invalid(exc.args[0], fields={exc.flow_id: exc.detail}) from None


def _store(session: Session, actor: Actor, version: ProcedureVersion, xml: bytes, action: str,
           note: str, data: dict | None = None) -> ProcedureVersion:
    """Validate the rewritten XML like an upload, then (only then) replace the draft's diagram."""
    try:
        checked = check_diagram(xml, REWRITE_MAX_BYTES, version.process_id, dict(version.decisions or {}))
    except DiagramRejected as exc:
        raise procedures.diagram_error(exc) from None
    keys = mapping_keys(checked.model)
    lane_map = {k: v for k, v in (version.lane_map or {}).items() if k in keys}
    version.bpmn_xml = checked.xml
    version.model = checked.model
    version.dialect = checked.model["dialect"]
    version.process_id = checked.model["process_id"]
    version.lane_map = lane_map
    version.warnings = procedures.draft_warnings(session, checked.model, lane_map)
    audit.record(session, action, actor.name, note=f"{version.procedure_code} v{version.version}: {note}", data=data)
    session.flush()
    return version


def route_path(level: str, unit_type: str, dept_code: str, role: str) -> str:
    """Level, unit type and role as chosen on the page -> the routing path of docs/api.md."""
    fields = {}
    if role not in ROLES:
        fields["role"] = vi("reception, specialist hoặc leader")
    if level == "commune":
        path = f"commune/{role}"
    elif level == "province":
        if unit_type == "service-center":
            path = f"province/service-center/{role}"
        elif unit_type == "department" and re.fullmatch(r"[A-Za-z0-9_.-]{1,20}", dept_code or ""):
            path = f"province/department:{dept_code}/{role}"
        else:
            fields["dept_code"] = vi("mã sở/ban (ví dụ STP, VPDKDD)")
            path = ""
    else:
        fields["level"] = vi("commune hoặc province")
        path = ""
    if fields or parse_route(path) is None:
        raise Invalid(vi("Định tuyến không hợp lệ."), fields=fields or {"level": vi("không hợp lệ")})
    return path


def set_lane_route(session: Session, actor: Actor, code: str, number: int, lane_id: str, path: str) -> ProcedureVersion:
    get_for_edit(session, actor, code, number)
    return procedures.set_lanes(session, actor, code, number, {lane_id: path})


def add_lane(session: Session, actor: Actor, code: str, number: int, name: str) -> ProcedureVersion:
    """A new, empty lane at the bottom of the pool (with its diagram band, so it can be drawn)."""
    version = get_for_edit(session, actor, code, number)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise Invalid(vi("Làn mới cần tên."), fields={"name": vi("bắt buộc, tối đa %(n)s ký tự", n=200)})
    xml, lane_id = _edited(version, edit.add_lane, name)
    return _store(session, actor, version, xml, "procedure.lane_add", f"thêm làn {lane_id} '{name}'")


def delete_lane(session: Session, actor: Actor, code: str, number: int, lane_id: str) -> ProcedureVersion:
    """Remove an empty lane; one that still holds steps is refused with their names, nothing changes."""
    version = get_for_edit(session, actor, code, number)
    xml = _edited(version, edit.delete_lane, lane_id)
    return _store(session, actor, version, xml, "procedure.lane_delete", f"xóa làn {lane_id}")


def move_task(session: Session, actor: Actor, code: str, number: int, task_id: str, lane_id: str) -> ProcedureVersion:
    """Route one step elsewhere by moving it into another lane (its shape follows into the band)."""
    version = get_for_edit(session, actor, code, number)
    xml = _edited(version, edit.move_task, task_id, lane_id)
    return _store(session, actor, version, xml, "procedure.task_lane", f"{task_id} -> {lane_id}")


def gateways(version: ProcedureVersion) -> list[dict]:
    """Exclusive gateways with their outgoing flows, conditions and default: the conditions page."""
    return edit.gateways(version.bpmn_xml, version.process_id)


def lane_routes(version: ProcedureVersion, outside_label: str) -> list[dict]:
    """The routing section of a version's page: each lane with its path (also parsed, for the form),
    whether the designer mapped it, and its steps; then, when steps are drawn outside every lane, a
    virtual lane named `outside_label` for the `_default` entry that routes those without a route."""
    model = version.model
    paths = lane_paths(model, version.lane_map)
    tasks_by_lane: dict[str, list] = {}
    for t in model["user_tasks"]:
        tasks_by_lane.setdefault(t["lane_id"], []).append(t)
    lanes = []
    for lane in model["lanes"]:
        path = paths.get(lane["id"])
        # issue 22: a lane named by a routing path ("commune/reception") reads as where it is routed now
        label = words.route_words(path) if parse_route(lane["name"]) or not lane["name"] else lane["name"]
        lanes.append({**lane, "path": path, "route": parse_route(path) or {}, "mapped": lane["id"] in version.lane_map,
                      "tasks": tasks_by_lane.get(lane["id"], []), "label": label,
                      "routed_as": words.route_words(path)})
    if None in tasks_by_lane:
        path = version.lane_map.get(DEFAULT_ROUTE)
        lanes.append({"id": DEFAULT_ROUTE, "name": outside_label, "label": outside_label,
                      "routed_as": words.route_words(path), "path": path,
                      "route": parse_route(path) or {}, "mapped": path is not None, "tasks": tasks_by_lane[None],
                      "virtual": True})
    return lanes


def set_condition(session: Session, actor: Actor, code: str, number: int, flow_id: str, source: str,
                  default: bool = False) -> ProcedureVersion:
    """Change the condition of a flow out of an exclusive gateway, checked by the run-time sandbox."""
    version = get_for_edit(session, actor, code, number)
    source = (source or "").strip()
    xml = _edited(version, edit.set_condition, flow_id, source, default)
    if default:
        source = ""
    return _store(session, actor, version, xml, "procedure.condition", f"{flow_id}: {source or '(mặc định)'}",
                  {"flow": flow_id, "condition": source, "default": default})


def set_task_form(session: Session, actor: Actor, code: str, number: int, task_id: str, form_key: str) -> ProcedureVersion:
    version = get_for_edit(session, actor, code, number)
    if not form_key or session.get(FormDefinition, form_key) is None:
        raise Invalid(vi("Biểu mẫu không có trong thư viện."),
                      fields={"form_key": vi("chọn một biểu mẫu của thư viện")})
    xml = _edited(version, edit.set_step_form, task_id, version.dialect, form_key)
    return _store(session, actor, version, xml, "procedure.form", f"{task_id}: biểu mẫu {form_key}")


def form_fields(definition: dict | None) -> list[dict]:
    """The editable view of a form: name, label, type, required, choices, in display order."""
    if not definition:
        return []
    schema = definition.get("schema", {})
    props = schema.get("properties", {})
    order = [n for n in (definition.get("ui") or {}).get("ui:order", []) if n in props]
    order += [n for n in props if n not in order]
    required = set(schema.get("required", []))
    ui = definition.get("ui") or {}
    out = []
    for name in order:
        prop = props[name]
        kind = prop.get("type", "string")
        if kind == "string" and prop.get("format") == "date":
            kind = "date"
        elif kind == "string" and (ui.get(name) or {}).get("ui:widget") == "textarea":
            kind = "text"
        elif kind not in FIELD_TYPES:
            kind = "string"
        out.append({"name": name, "label": prop.get("title", name), "type": kind, "required": name in required,
                    "choices": ", ".join(str(c) for c in prop.get("enum", []))})
    return out


def save_task_form_fields(session: Session, actor: Actor, code: str, number: int, task_id: str,
                          rows: list[dict]) -> ProcedureVersion:
    """Edited fields become a form of their own (`<key>.<scope>.v<n>`), so the library form other
    versions use stays as it was; the step then points at the new form."""
    version = get_for_edit(session, actor, code, number)
    task_meta = next((t for t in version.model["user_tasks"] if t["id"] == task_id), None)
    if task_meta is None:
        raise NotFound(vi("Không có bước %(step)s.", step=task_id))
    base_key = task_meta["form_key"] or task_id
    current = session.get(FormDefinition, base_key)
    definition = copy.deepcopy(current.definition) if current else {"title": {"vi": task_meta["name"]}, "schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {}}}
    schema = definition.setdefault("schema", {})
    old_props = schema.get("properties", {})
    props, required, order, errors = {}, [], [], {}
    for i, row in enumerate(rows):
        name = (row.get("name") or "").strip()
        if not name and not (row.get("label") or "").strip():
            continue  # an empty spare row
        if not FIELD_NAME_RE.match(name):
            errors[f"name_{i}"] = vi("tên trường: chữ thường, số, gạch dưới (ví dụ so_giay_to)")
            continue
        if name in props:
            errors[f"name_{i}"] = vi("tên trường bị trùng")
            continue
        kind = row.get("type") or "string"
        if kind not in FIELD_TYPES:
            errors[f"type_{i}"] = vi("kiểu không hợp lệ")
            continue
        prop = dict(old_props.get(name, {}))
        prop["title"] = (row.get("label") or name).strip()
        json_type = {"text": "string", "date": "string"}.get(kind, kind)
        if prop.get("type") != json_type:
            for key in ("format", "enum", "x-enum-labels", "minLength", "maxLength", "pattern", "minimum", "maximum",
                        "items", "minItems"):
                prop.pop(key, None)
        prop["type"] = json_type
        if kind == "date":
            prop["format"] = "date"
        elif prop.get("format") == "date":
            prop.pop("format")
        choices = [c.strip() for c in (row.get("choices") or "").split(",") if c.strip()]
        if choices:
            try:
                prop["enum"] = [{"integer": int, "number": float}.get(json_type, str)(c) for c in choices]
            except ValueError:
                errors[f"choices_{i}"] = vi("lựa chọn phải cùng kiểu với trường")
                continue
            if len(prop.get("x-enum-labels", {}).get("vi", [])) != len(choices):
                prop.pop("x-enum-labels", None)
        else:
            prop.pop("enum", None)
            prop.pop("x-enum-labels", None)
        props[name] = prop
        order.append(name)
        if row.get("required"):
            required.append(name)
        ui = definition.setdefault("ui", {})
        if kind == "text":
            ui.setdefault(name, {})["ui:widget"] = "textarea"
    if errors:
        raise Invalid(vi("Trường biểu mẫu không hợp lệ."), fields=errors)
    if not props:
        raise Invalid(vi("Biểu mẫu cần ít nhất một trường."), fields={"name_0": vi("bắt buộc")})
    removed = set(old_props) - set(props)
    if removed and "allOf" in schema:  # rules naming a removed field would make the form unusable
        schema["allOf"] = [r for r in schema["allOf"] if not any(f'"{n}"' in json.dumps(r) for n in removed)]
    schema["properties"], schema["required"] = props, required
    ui = definition.setdefault("ui", {})
    ui["ui:order"] = order
    for name in removed:
        ui.pop(name, None)
    key = f"{re.sub(r'[.][^.]+[.]v[0-9]+$', '', base_key)}.{version.scope}.v{version.version}"
    definition["id"] = key
    problems = forms.check_definition(definition)
    if problems:
        raise Invalid(vi("Biểu mẫu không hợp lệ: %(problems)s", problems="; ".join(problems)))
    row = session.get(FormDefinition, key)
    if row is None:
        session.add(FormDefinition(key=key, definition=definition))
    else:
        row.definition = definition
    session.flush()
    xml = _edited(version, edit.set_step_form, task_id, version.dialect, key)
    return _store(session, actor, version, xml, "procedure.form_fields", f"{task_id}: biểu mẫu {key}",
                  {"fields": order, "required": required})


def set_step_deadline(session: Session, actor: Actor, code: str, number: int, task_id: str, amount,
                      unit: str) -> ProcedureVersion:
    """A step's own deadline in working days or office hours (empty: the dossier's due date)."""
    version = get_for_edit(session, actor, code, number)
    value = None
    if amount not in (None, ""):
        try:
            value = int(amount)
            if not 1 <= value <= (365 if unit == "days" else 2000):
                raise ValueError
        except (TypeError, ValueError):
            raise Invalid(vi("Thời hạn bước phải là số nguyên dương."),
                          fields={"amount": vi("số nguyên dương")}) from None
    if unit not in ("days", "hours"):
        raise Invalid(vi("Đơn vị thời hạn: ngày làm việc hoặc giờ làm việc."), fields={"unit": vi("days | hours")})
    xml = _edited(version, edit.set_step_deadline, task_id, version.dialect,
                  days=value if unit == "days" else None, hours=value if unit == "hours" else None)
    label = f"{value} {'ngày' if unit == 'days' else 'giờ'} làm việc" if value else "theo hạn hồ sơ"
    return _store(session, actor, version, xml, "procedure.step_deadline", f"{task_id}: {label}")


def set_step_public_label(session: Session, actor: Actor, code: str, number: int, task_id: str,
                          label: str) -> ProcedureVersion:
    """The step's name as citizens read it on the tracking page (issue 22); empty: the generic
    label by the step's role (`public_steps`), never the diagram's internal name."""
    version = get_for_edit(session, actor, code, number)
    label = " ".join((label or "").split())
    if len(label) > 120:
        raise Invalid(vi("Tên bước hiển thị cho công dân tối đa 120 ký tự."),
                      fields={"public_label": vi("tối đa 120 ký tự")})
    xml = _edited(version, edit.set_step_public_label, task_id, version.dialect, label or None)
    return _store(session, actor, version, xml, "procedure.step_public_label", f"{task_id}: {label or '—'}")


def set_procedure_meta(session: Session, actor: Actor, code: str, number: int, *, deadline_days, deadline_kind: str,
                       fee_kind: str, fee_amount, fee_decision: str | None = None,
                       fee_output: str | None = None) -> ProcedureVersion:
    """The legal deadline and its kind, and the fee rule, of a draft (free, fixed, or a decision
    table of the draft: `fee_decision`, its output `fee_output`)."""
    version = get_for_edit(session, actor, code, number)
    meta = procedures.validate_meta(session, code, version.scope, deadline_days, deadline_kind)
    if deadline_kind == "same-day":
        meta["deadline_days"] = None
    if fee_kind == "free":
        fee = {"kind": "free"}
    elif fee_kind == "fixed":
        try:
            amount = int(fee_amount)
            if amount < 0 or amount > 1_000_000_000:
                raise ValueError
        except (TypeError, ValueError):
            raise Invalid(vi("Lệ phí phải là số tiền (VND) không âm."),
                          fields={"fee_amount": vi("số nguyên ≥ 0")}) from None
        fee = {"kind": "fixed", "amount": amount}
    elif fee_kind == "decision":
        fee = {"kind": "decision", "decision": (fee_decision or "").strip(), "output": (fee_output or "").strip() or None}
        try:
            fees.check_rule(fee, dict(version.decisions or {}))
        except Invalid as exc:
            raise Invalid(exc.message, fields={"fee_decision": vi("chọn một bảng quyết định của bản nháp")}) from None
    elif fee_kind == "provincial":  # set by the province / the tax notice: the officer states the amount
        fee = {"kind": "provincial"}
    else:
        raise Invalid(vi("Loại lệ phí không hợp lệ."), fields={"fee_kind": vi("free | fixed | decision | provincial")})
    before = {"deadline_days": version.deadline_days, "deadline_kind": version.deadline_kind, "fee": version.fee_rule}
    version.deadline_days, version.deadline_kind = meta["deadline_days"], meta["deadline_kind"]
    version.fee_rule = {**{k: v for k, v in (version.fee_rule or {}).items()
                           if k not in ("kind", "amount", "decision", "output")}, **fee}
    audit.record(session, "procedure.meta", actor.name, note=f"{code} v{number}",
                 data={"before": before, "after": {**meta, "fee": version.fee_rule}})
    session.flush()
    return version


# -- publish -----------------------------------------------------------------------------------

def publish(session: Session, actor: Actor, code: str, number: int):
    """Publish a draft or roll back to a published version; the checks are the service's."""
    version = get_for_view(session, actor, code, number)
    if not can_edit(actor, version.scope):
        raise Forbidden(vi("Chỉ nhà thiết kế cấp quốc gia được công bố mẫu quốc gia."))
    return procedures.publish(session, actor, code, number)


# -- compare -----------------------------------------------------------------------------------

def base_of(session: Session, version: ProcedureVersion) -> ProcedureVersion | None:
    """What a draft would replace: the version in force in its scope, else the national template."""
    link = session.get(ProcedureInForce, (version.procedure_code, version.scope)) or \
        session.get(ProcedureInForce, (version.procedure_code, NATIONAL))
    return link.version if link else None


def _conditions(version: ProcedureVersion) -> dict[str, str]:
    return {e["element_id"]: e["source"] for e in version.model.get("expressions", []) if e["kind"] == "condition"}


def forms_of(session: Session, version: ProcedureVersion) -> dict[str, dict]:
    """The forms a version's steps name: frozen into it at publish, else the library's current ones."""
    if version.state != DRAFT and version.forms:
        return version.forms
    return forms.library(session, {t["form_key"] for t in version.model["user_tasks"] if t["form_key"]})


def compare(session: Session, actor: Actor, code: str, number: int, other: int | None = None) -> dict:
    """Steps added/removed/changed, routing, forms, conditions and deadline/fee, against the
    version in force (or `other`)."""
    version = get_for_view(session, actor, code, number)
    base = get_for_view(session, actor, code, other) if other else base_of(session, version)
    result = {"version": version, "base": base, "added": [], "removed": [], "changed": [], "routing": [],
              "forms": [], "conditions": [], "meta": []}
    if base is None:
        return result
    new_steps = {t["id"]: t for t in version.model["user_tasks"]}
    old_steps = {t["id"]: t for t in base.model["user_tasks"]}
    new_paths, old_paths = step_paths(version.model, version.lane_map), step_paths(base.model, base.lane_map)
    new_forms, old_forms = forms_of(session, version), forms_of(session, base)
    result["added"] = [t for sid, t in new_steps.items() if sid not in old_steps]
    result["removed"] = [t for sid, t in old_steps.items() if sid not in new_steps]
    for sid, new in new_steps.items():
        old = old_steps.get(sid)
        if old is None:
            continue
        changes = []  # issue 22: sentences, never Python values
        if old.get("name") != new.get("name"):
            changes.append(vi("Tên bước: %(before)s → %(after)s", before=old.get("name") or "—",
                              after=new.get("name") or "—"))
        if old.get("milestone") != new.get("milestone"):
            changes.append(vi("Mốc: %(before)s → %(after)s", before=old.get("milestone") or "—",
                              after=new.get("milestone") or "—"))
        if (old.get("step_days"), old.get("step_hours")) != (new.get("step_days"), new.get("step_hours")):
            changes.append(_step_deadline_change(new.get("name") or sid, old, new))
        if changes:
            result["changed"].append({"step": new, "changes": changes})
        old_path, new_path = old_paths.get(sid), new_paths.get(sid)
        if old_path != new_path:
            result["routing"].append({"step": new, "before": old_path, "after": new_path,
                                      "sentence": vi("Bước %(step)s: %(before)s → %(after)s", step=new.get("name") or sid,
                                                     before=words.route_words(old_path),
                                                     after=words.route_words(new_path))})
        old_def, new_def = old_forms.get(old["form_key"] or ""), new_forms.get(new["form_key"] or "")
        if old["form_key"] != new["form_key"] or (old_def or {}).get("schema") != (new_def or {}).get("schema"):
            old_fields = {f["name"]: f for f in form_fields(old_def)}
            new_fields = {f["name"]: f for f in form_fields(new_def)}
            result["forms"].append({
                "step": new, "before": old["form_key"], "after": new["form_key"],
                "added": sorted(set(new_fields) - set(old_fields)),
                "removed": sorted(set(old_fields) - set(new_fields)),
                "changed": sorted(n for n in set(new_fields) & set(old_fields) if new_fields[n] != old_fields[n]),
            })
    old_cond, new_cond = _conditions(base), _conditions(version)
    for flow_id in sorted(set(old_cond) | set(new_cond)):
        if old_cond.get(flow_id) != new_cond.get(flow_id):
            result["conditions"].append({"flow": flow_id, "before": old_cond.get(flow_id),
                                         "after": new_cond.get(flow_id)})
    if (base.deadline_days, base.deadline_kind) != (version.deadline_days, version.deadline_kind):
        result["meta"].append({"field": vi("Thời hạn giải quyết"),
                               "before": words.deadline_words(base.deadline_days, base.deadline_kind),
                               "after": words.deadline_words(version.deadline_days, version.deadline_kind)})
    if words.fee_words(base.fee_rule) != words.fee_words(version.fee_rule) or \
            (base.fee_rule or {}).get("output") != (version.fee_rule or {}).get("output"):
        result["meta"].append({"field": vi("Lệ phí"), "before": words.fee_words(base.fee_rule),
                               "after": words.fee_words(version.fee_rule)})
    old_dmn, new_dmn = base.decisions or {}, version.decisions or {}
    for key in sorted(set(old_dmn) | set(new_dmn)):  # decision tables: how many rules, when they differ
        if old_dmn.get(key) != new_dmn.get(key):
            result["meta"].append({"field": vi("Bảng quyết định %(key)s", key=key),
                                   "before": _rules_of(old_dmn.get(key)), "after": _rules_of(new_dmn.get(key))})
    for row in result["meta"]:
        row["sentence"] = vi("%(field)s: %(before)s → %(after)s", **row)
    return result


def _step_deadline_change(name: str, old: dict, new: dict):
    """"Thời hạn bước X: 2 → 3 ngày làm việc" (the unit once when both sides share it)."""
    same_unit = bool(old.get("step_days")) == bool(new.get("step_days")) and \
        bool(old.get("step_hours")) == bool(new.get("step_hours")) and (old.get("step_days") or old.get("step_hours"))
    if same_unit:
        return vi("Thời hạn bước %(step)s: %(before)s → %(after)s", step=name,
                  before=old.get("step_days") or old.get("step_hours"), after=words.step_deadline_words(new))
    return vi("Thời hạn bước %(step)s: %(before)s → %(after)s", step=name, before=words.step_deadline_words(old),
              after=words.step_deadline_words(new))


def _rules_of(text: str | None):
    return vi("%(n)s quy tắc", n=len(dmn.describe(dmn.parse_trusted(text))['rules'])) if text else "—"


# -- dry run -----------------------------------------------------------------------------------

@dataclass
class DryRunStep:
    step_id: str
    name: str
    lane: str | None
    path: str | None
    unit_code: str | None
    unit_name: str | None
    role: str | None
    due_at: datetime | None
    error: str | None = None


@dataclass
class DryRunReport:
    steps: list[DryRunStep]
    completed: bool
    problem: str | None
    problem_element: str | None
    received_at: datetime
    legal_due_at: datetime | None
    final_data: dict
    warnings: list = field(default_factory=list)  # issue 22: step deadlines past the legal due date


def sample_fields(session: Session, version: ProcedureVersion) -> list[dict]:
    """Every field of every step's form, once, with a valid sample value: the dry-run form."""
    from ..engine import sample_data

    seen: dict[str, dict] = {}
    step_forms = versions.step_forms(version.model, forms_of(session, version))
    for task in version.model["user_tasks"]:
        definition = step_forms[task["id"]]
        samples = sample_data(definition.get("schema", {}))
        for f in form_fields(definition):
            if f["name"] not in seen:
                prop = definition["schema"]["properties"][f["name"]]
                if prop.get("type") in ("array", "object"):
                    continue
                seen[f["name"]] = {**f, "choices": prop.get("enum", []), "sample": samples.get(f["name"]),
                                   "step": task["name"]}
    return list(seen.values())


def parse_sample(fields: list[dict], raw: dict[str, str]) -> dict:
    """Typed values from the dry-run form's strings (an empty input keeps the sample)."""
    data, errors = {}, {}
    for f in fields:
        value = raw.get(f["name"])
        if value in (None, ""):
            if f["type"] == "boolean" and f["name"] in raw:
                data[f["name"]] = False
            continue
        try:
            if f["type"] == "integer":
                data[f["name"]] = int(value)
            elif f["type"] == "number":
                data[f["name"]] = float(value)
            elif f["type"] == "boolean":
                data[f["name"]] = value in ("1", "true", "on", "yes")
            else:
                data[f["name"]] = value
        except ValueError:
            errors[f["name"]] = vi("sai kiểu dữ liệu")
    if errors:
        raise Invalid(vi("Dữ liệu mẫu không hợp lệ."), fields=errors)
    return data


def dry_run(session: Session, actor: Actor, code: str, number: int, commune_code: str, sample: dict,
            received_at: datetime | None = None) -> DryRunReport:
    """The path a dossier with this data would take, who would receive each step and when it
    would be due, without creating anything (each step is assumed to use its whole allowance)."""
    version = get_for_view(session, actor, code, number)
    commune = session.get(Unit, commune_code or "")
    if commune is None or commune.level != "commune":
        raise Invalid(vi("Chọn một xã/phường để định tuyến."), fields={"commune_code": vi("mã xã/phường (5 chữ số)")})
    province = commune.province_code
    if version.scope != NATIONAL and province != version.scope:
        raise Invalid(vi("Xã/phường phải thuộc tỉnh của phiên bản."),
                      fields={"commune_code": vi("thuộc tỉnh %(province)s", province=version.scope)})
    pins = procedures.library_pins(session, version)  # the procedures of the library it calls
    called_steps, called_paths, called_forms = versions.called_steps(pins)
    bundle = bundle_for(version.id, version.bpmn_xml, version.dialect, version.process_id, versions.called_specs(pins),
                        versions.decision_docs(version))
    answers = {name: {field: sample.get(field) for field in outputs}  # service tasks: the designer's sample, else None
               for name, outputs in connectors.sample_outputs(session, version.bpmn_xml, version.scope).items()}
    sim = simulate(bundle, version.model,
                   {**called_forms, **versions.step_forms(version.model, forms_of(session, version))}, sample,
                   service_outputs=answers)
    now = received_at or utcnow()
    cal = calendar_for(session, province)
    legal = legal_due_at(session, province, now, version.deadline_kind, version.deadline_days)  # the base period
    paths = {**called_paths, **step_paths(version.model, version.lane_map)}
    lanes = {lane["id"]: lane["name"] for lane in version.model["lanes"]}
    steps_meta = {**called_steps, **{t["id"]: t for t in version.model["user_tasks"]}}
    cursor, out, own_end, own_due = now, [], now, {}
    for step in sim.steps:
        meta = steps_meta.get(step.step_id, {})
        path = paths.get(step.step_id)
        if path and ITEM in path and step.item is not None:  # an instance routed by its item
            path = path.replace(ITEM, str(step.item))
        row = DryRunStep(step.step_id, step.name, lanes.get(step.lane_id), path, None, None, None, None)
        try:
            route = resolve(session, path or "", province, commune_code, commune_code)
            unit = session.get(Unit, route.unit_code)
            row.unit_code, row.unit_name, row.role = route.unit_code, unit.name if unit else None, route.role
        except Unresolvable as exc:
            row.error = exc.reason
        if meta.get("step_days"):
            row.due_at = cal.due_at(cursor, "working", meta["step_days"])
        elif meta.get("step_hours"):
            row.due_at = cal.add_office_hours(cursor, meta["step_hours"])
        else:
            row.due_at = legal
        cursor = max(cursor, row.due_at or cursor)
        if meta.get("step_days") or meta.get("step_hours"):  # issue 22: the steps' own deadlines, end to end
            own_end = cal.due_at(own_end, "working", meta["step_days"]) if meta.get("step_days") else \
                cal.add_office_hours(own_end, meta["step_hours"])
            own_due[len(out)] = own_end
        out.append(row)
    audit.record(session, "procedure.dry_run", actor.name, note=f"{code} v{number} tại {commune_code}")
    return DryRunReport(out, sim.completed, sim.problem, sim.problem_element, now, legal, sim.final_data,
                        deadline_warnings([(out[i], due) for i, due in own_due.items()], legal))


def deadline_warnings(ends: list[tuple[DryRunStep, datetime]], legal: datetime | None) -> list:
    """Issue 22: the steps' own deadlines, one after the other (a step without one takes no
    time of its own), must end by the legal due date; each step that ends later is named."""
    if legal is None:
        return []
    late = [(s, due) for s, due in ends if due > legal]
    if not late:
        return []
    fmt = "%d/%m %H:%M"
    end = max(due for _s, due in late)
    out = [vi("Tổng thời hạn các bước kết thúc %(end)s, sau hạn giải quyết theo luật %(legal)s: hãy rút ngắn thời "
              "hạn các bước hoặc sửa thời hạn giải quyết.", end=_local(end).strftime(fmt),
              legal=_local(legal).strftime(fmt))]
    out += [vi("Bước %(step)s hết hạn %(due)s, sau hạn giải quyết %(legal)s.", step=s.name or s.step_id,
               due=_local(due).strftime(fmt), legal=_local(legal).strftime(fmt)) for s, due in late]
    return out


def _local(moment: datetime) -> datetime:
    """A moment in Vietnam's time (UTC+7), as the dates of the pages."""
    from datetime import timedelta, timezone

    return moment.astimezone(timezone(timedelta(hours=7))) if moment.tzinfo else moment
