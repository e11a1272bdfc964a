"""Upload validation: safe XML, supported elements, sandbox-clean expressions, buildable spec,
and a dry run through the engine on sample data."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from . import sandbox
from .model import describe, parse_route
from .problems import DiagramRejected, Problem
from .runner import EngineIncident, WorkflowRun, parse_timer
from .script_engine import iso8601_literal
from .specs import SpecBundle, build_spec
from .xml import parse_untrusted


@dataclass
class Checked:
    """A diagram that may be stored: its description and the parsed spec."""

    xml: str
    model: dict
    bundle: SpecBundle
    warnings: list[Problem] = field(default_factory=list)


_ISO_LOOKALIKE = re.compile(r"^(?:R\d*/|P-?\d|PT|\d{4}-)", re.IGNORECASE)


def _timer_problems(expr: dict) -> list[Problem]:
    """A timer is an ISO 8601 literal as modelers write it (PT15M, 2026-12-01T08:00:00+07:00, R3/PT1H),
    or a sandboxed expression that yields one."""
    source = expr["source"]
    if not source:
        return [Problem("Sự kiện hẹn giờ không có giá trị thời gian.", expr["element_id"], expr["line"])]
    literal = iso8601_literal(source)
    if literal is not None:
        try:
            parse_timer(expr["timer"], literal)
        except ValueError as exc:
            return [Problem(f"Giá trị hẹn giờ không hợp lệ: {exc}", expr["element_id"], expr["line"])]
        return []
    if _ISO_LOOKALIKE.match(source):
        return [Problem(f"Giá trị hẹn giờ '{source}' không đúng ISO 8601 (ví dụ PT15M, P3D, "
                        "2026-12-01T08:00:00+07:00, R3/PT1H).", expr["element_id"], expr["line"])]
    return [Problem(f"Biểu thức hẹn giờ không an toàn hoặc sai cú pháp: {err.message}", expr["element_id"], expr["line"])
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
            kind = "Kịch bản" if expr["kind"] == "script" else "Điều kiện"
            problems.append(Problem(f"{kind} không an toàn hoặc sai cú pháp: {err.message}", expr["element_id"], line))
    return problems


def check_diagram(data: bytes, max_bytes: int) -> Checked:
    """Everything that can be checked without the database; raises DiagramRejected."""
    root = parse_untrusted(data, max_bytes)
    model, problems = describe(root)
    problems += _expression_problems(model)
    if problems:
        raise DiagramRejected(problems)
    bundle = build_spec(root, model["dialect"], model["process_id"])
    xml = etree.tostring(root, encoding="unicode")
    return Checked(xml=xml, model=model, bundle=bundle)


def lane_paths(model: dict, lane_map: dict[str, str]) -> dict[str, str | None]:
    """Routing path of each lane: the designer's mapping, the lane name, or Camunda candidate groups."""
    paths: dict[str, str | None] = {}
    for lane in model["lanes"]:
        path = lane_map.get(lane["id"]) or (lane["name"] if parse_route(lane["name"]) else None)
        if path is None:
            groups = {t["candidate_groups"] for t in model["user_tasks"]
                      if t["lane_id"] == lane["id"] and t["candidate_groups"]}
            if len(groups) == 1 and parse_route(next(iter(groups))):
                path = next(iter(groups))
        paths[lane["id"]] = path
    return paths


def lane_warnings(model: dict, lane_map: dict[str, str]) -> list[Problem]:
    paths = lane_paths(model, lane_map)
    used = {t["lane_id"] for t in model["user_tasks"]}
    return [
        Problem(f"Làn '{lane['name'] or lane['id']}' chưa được gán vào cấp/đơn vị/vai trò "
                "(ví dụ commune/reception, province/department:STP/specialist).", lane["id"], lane["line"])
        for lane in model["lanes"] if lane["id"] in used and not paths[lane["id"]]
    ]


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


def dry_run(bundle: SpecBundle, model: dict, forms: dict[str, dict], start_data: dict | None = None,
            max_steps: int = 200) -> list[Problem]:
    """Run the workflow with sample form data until it ends; report where the engine fails."""
    tasks_by_id = {t["id"]: t for t in model["user_tasks"]}
    try:
        run = WorkflowRun.start(bundle, dict(start_data or {}))
        for _ in range(max_steps):
            ready = run.ready_human_tasks()
            if not ready and run.next_timer_at() is not None:
                run.fast_forward_timers()
                continue
            if not ready and run.waiting_messages():
                run.deliver_message(run.waiting_messages()[0], {})
                continue
            if not ready:
                break
            task = ready[0]
            form = forms.get(tasks_by_id.get(task.step_id, {}).get("form_key") or "", {})
            run.complete(task.id, sample_data(form.get("schema", {})))
        else:
            return [Problem(f"Chạy thử vượt quá {max_steps} bước: có vòng lặp không dừng?")]
    except EngineIncident as exc:
        return [Problem(f"Chạy thử thất bại: {exc.message}", exc.element_id)]
    if not run.completed and not run.ready_human_tasks():
        return [Problem("Chạy thử dừng lại mà quy trình chưa kết thúc (đang chờ sự kiện không có).")]
    return []
