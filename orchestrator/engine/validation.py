"""Upload validation: safe XML, supported elements, sandbox-clean expressions, buildable spec,
and a dry run through the engine on sample data."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from ..i18n import vi
from . import decisions as dmn
from . import sandbox
from .model import BUILTIN_EVENTS, describe, parse_route
from .problems import DiagramRejected, Problem
from .references import drop_stale_shapes, reference_problems
from .runner import parse_timer
from .script_engine import iso8601_literal
from .specs import SpecBundle, build_spec
from .xml import BPMN_NS, parse_untrusted

DEFAULT_ROUTE = "_default"  # the lane-map entry that routes steps outside every lane


@dataclass
class Checked:
    """A diagram that may be stored: its description and the parsed spec."""

    xml: str
    model: dict
    bundle: SpecBundle


_ISO_LOOKALIKE = re.compile(r"^(?:R\d*/|P-?\d|PT|\d{4}-)", re.IGNORECASE)


def _timer_problems(expr: dict) -> list[Problem]:
    """A timer is an ISO 8601 literal as modelers write it (PT15M, 2026-12-01T08:00:00+07:00, R3/PT1H),
    or a sandboxed expression that yields one."""
    source = expr["source"]
    if not source:
        return [Problem(vi("Sự kiện hẹn giờ không có giá trị thời gian."), expr["element_id"], expr["line"])]
    literal = iso8601_literal(source)
    if literal is not None:
        try:
            parse_timer(expr["timer"], literal)
        except ValueError as exc:
            return [Problem(vi("Giá trị hẹn giờ không hợp lệ: %(error)s", error=str(exc)), expr["element_id"],
                            expr["line"])]
        return []
    if _ISO_LOOKALIKE.match(source):
        return [Problem(vi("Giá trị hẹn giờ '%(value)s' không đúng ISO 8601 (ví dụ PT15M, P3D, "
                           "2026-12-01T08:00:00+07:00, R3/PT1H).", value=source), expr["element_id"], expr["line"])]
    return [Problem(vi("Biểu thức hẹn giờ không an toàn hoặc sai cú pháp: %(error)s", error=err.message),
                    expr["element_id"], expr["line"])
            for err in sandbox.check_expression(source)]


def _expression_problems(model: dict) -> list[Problem]:
    problems = []
    for expr in model["expressions"]:
        if expr["kind"] == "timer":
            problems += _timer_problems(expr)
            continue
        check = sandbox.check_script if expr["kind"] == "script" else sandbox.check_expression
        for err in check(expr["source"]):
            line = expr["line"] + (err.line - 1) if err.line and expr["line"] else expr["line"]
            message = (vi("Kịch bản không an toàn hoặc sai cú pháp: %(error)s", error=err.message)
                       if expr["kind"] == "script" else
                       vi("Điều kiện không an toàn hoặc sai cú pháp: %(error)s", error=err.message))
            problems.append(Problem(message, expr["element_id"], line))
    return problems


def check_diagram(data: bytes, max_bytes: int, process_id: str | None = None, decisions: dict | None = None) -> Checked:
    """Everything that can be checked without the database; raises DiagramRejected.
    `process_id` names the main process when the file holds several; `decisions`: the DMN
    documents uploaded with it ({decision id: XML}, checked by `decisions.check`)."""
    root = parse_untrusted(data, max_bytes)
    dangling = reference_problems(root)  # issue 22: before the engine reads (and silently drops) them
    if dangling:
        raise DiagramRejected(dangling)
    stale = drop_stale_shapes(root)
    model, problems = describe(root, process_id)
    model["stale_shapes"] = stale
    problems += _expression_problems(model)
    problems += dmn.reference_problems(root, decisions or {})
    if problems:
        raise DiagramRejected(problems)
    xml = etree.tostring(root, encoding="unicode")
    if not model["executable"]:  # checked as it will run once the designer marks it executable
        root = mark_executable(root, model["process_id"])
    bundle = build_spec(root, model["dialect"], model["process_id"], decisions=tuple((decisions or {}).values()))
    return Checked(xml=xml, model=model, bundle=bundle)


def process_warnings(model: dict) -> list[Problem]:
    """What the designer must know about the file's processes: several (which one runs), or the
    main one not marked executable (publish refuses it until marked)."""
    warnings = []
    others = [p for p in model.get("processes", []) if p != model["process_id"]]
    if others:
        warnings.append(Problem(vi("Tệp có %(count)s quy trình; quy trình chính là '%(main)s', "
                                   "các quy trình khác (%(others)s) được giữ trong tệp.",
                                   count=len(others) + 1, main=model["process_id"], others=", ".join(others)),
                                model["process_id"], model.get("line")))
    if not model.get("executable", True):
        warnings.append(Problem(vi("Quy trình chưa được đánh dấu thực thi được (isExecutable=\"false\"): hãy đánh dấu "
                                   "thực thi được trước khi công bố."), model["process_id"], model.get("line"),
                                code="not_executable"))
    if model.get("stale_shapes"):
        warnings.append(Problem(vi("Bản vẽ hoặc làn còn nhắc phần tử không có trong quy trình (%(ids)s): các chỗ nhắc này "
                                   "đã được bỏ đi.", ids=", ".join(model["stale_shapes"][:10])),
                                model["process_id"], model.get("line"), code="stale_shapes"))
    for wait in model.get("message_waits") or ():  # a message named like a lifecycle event
        if wait["name"] in BUILTIN_EVENTS:
            message = (vi("Thông điệp '%(name)s' trùng tên sự kiện có sẵn của hồ sơ: khi sự kiện này đến, tác động "
                          "có sẵn (trạng thái, thời hạn) được thực hiện trước, rồi mới chuyển cho sơ đồ (rút hồ sơ "
                          "kết thúc hồ sơ: sơ đồ không chạy tiếp).", name=wait["name"])
                       if wait["name"] == "withdrawn" else
                       vi("Thông điệp '%(name)s' trùng tên sự kiện có sẵn của hồ sơ: khi sự kiện này đến, tác động "
                          "có sẵn (trạng thái, thời hạn) được thực hiện trước, rồi mới chuyển cho sơ đồ.",
                          name=wait["name"]))
            warnings.append(Problem(message, wait["element_id"], wait["line"], code="message_builtin_name"))
    return warnings


def mark_executable(root: etree._Element, process_id: str) -> etree._Element:
    """A copy of the diagram whose process `process_id` is marked isExecutable="true"."""
    copy = etree.fromstring(etree.tostring(root))
    for process in copy.iter(f"{{{BPMN_NS}}}process"):
        if process.get("id") == process_id:
            process.set("isExecutable", "true")
    return copy


def lane_paths(model: dict, lane_map: dict[str, str]) -> dict[str, str | None]:
    """Routing path of each lane: the designer's mapping, the lane name, or the one route its tasks carry."""
    paths: dict[str, str | None] = {}
    for lane in model["lanes"]:
        path = lane_map.get(lane["id"]) or (lane["name"] if parse_route(lane["name"]) else None)
        if path is None:
            groups = {_own_route(t) for t in model["user_tasks"] if t["lane_id"] == lane["id"] and _own_route(t)}
            if len(groups) == 1 and parse_route(next(iter(groups))):
                path = next(iter(groups))
        paths[lane["id"]] = path
    return paths


def _own_route(task: dict) -> str | None:
    return task.get("route") or task.get("candidate_groups")


def step_paths(model: dict, lane_map: dict[str, str]) -> dict[str, str | None]:
    """Routing path of each human step, most specific first: the designer's mapping of the step,
    of its lane, the route written on the step (candidateGroups, `route` property), its lane's
    path, the designer's mapping of the step's group name, then the `_default` mapping."""
    lanes = lane_paths(model, lane_map)
    paths: dict[str, str | None] = {}
    for task in model["user_tasks"]:
        own, lane_id = _own_route(task), task["lane_id"]
        paths[task["id"]] = (lane_map.get(task["id"]) or (lane_map.get(lane_id) if lane_id else None)
                             or (own if parse_route(own) else None) or (lanes.get(lane_id) if lane_id else None)
                             or (lane_map.get(own) if own else None) or lane_map.get(DEFAULT_ROUTE))
    return paths


def mapping_keys(model: dict) -> set[str]:
    """What a lane map may name: lanes, steps, the group names steps carry, and `_default`."""
    keys = {lane["id"] for lane in model["lanes"]} | {t["id"] for t in model["user_tasks"]} | {DEFAULT_ROUTE}
    return keys | {_own_route(t) for t in model["user_tasks"] if _own_route(t)}


def lane_warnings(model: dict, lane_map: dict[str, str]) -> list[Problem]:
    """Steps nobody could be routed: their lane once, or the step itself when it lies outside every lane."""
    paths = step_paths(model, lane_map)
    warnings, seen = [], set()
    lanes = {lane["id"]: lane for lane in model["lanes"]}
    for task in model["user_tasks"]:
        if paths[task["id"]]:
            continue
        lane = lanes.get(task["lane_id"])
        if lane is not None:
            if lane["id"] not in seen:
                seen.add(lane["id"])
                warnings.append(Problem(vi("Làn '%(lane)s' chưa được gán vào cấp/đơn vị/vai trò "
                                           "(ví dụ commune/reception, province/department:STP/specialist).",
                                           lane=lane["name"] or lane["id"]),
                                        lane["id"], lane["line"]))
        else:
            group = _own_route(task)
            message = (vi("Bước nằm ngoài mọi làn và chưa có tuyến: đặt camunda:candidateGroups là một đường định "
                          "tuyến hoặc gán nhóm '%(group)s', gán bước này hoặc mục '%(default)s' trong bảng gán làn.",
                          group=group, default=DEFAULT_ROUTE) if group else
                       vi("Bước nằm ngoài mọi làn và chưa có tuyến: đặt camunda:candidateGroups là một đường định "
                          "tuyến, gán bước này hoặc mục '%(default)s' trong bảng gán làn.", default=DEFAULT_ROUTE))
            warnings.append(Problem(message, task["id"], task["line"]))
    return warnings


def sample_value(schema: dict):
    """A value that satisfies a simple JSON Schema property, to drive a dry run."""
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample_value(schema.get("items", {"type": "string"}))] * int(schema.get("minItems", 0))
    if kind == "object":
        return sample_data(schema)
    if schema.get("format") == "date":
        return "2025-07-01"
    if schema.get("format") == "date-time":
        return "2025-07-01T08:00:00+07:00"
    pattern = schema.get("pattern", "")
    if "[0-9]" in pattern or "\\d" in pattern:
        import re
        m = re.search(r"\{(\d+)\}", pattern)
        return "0" * int(m.group(1) if m else 1)
    return "x" * max(1, int(schema.get("minLength", 1)))


def sample_data(schema: dict) -> dict:
    return {name: sample_value(prop) for name, prop in schema.get("properties", {}).items()}
