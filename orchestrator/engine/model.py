"""An engine-independent description of a diagram: lanes, human steps, expressions.

Read straight from the XML (not from SpiffWorkflow's specs) so that both dialects,
Spiff and Camunda, give the same description, with source lines for error reports.
"""
from __future__ import annotations

import re
from collections import deque

from lxml import etree

from .problems import Problem
from .xml import BPMN_NS, BPMNDI_NS, CAMUNDA_NS, DC_NS, DI_NS, NS, SPIFF_NS, parse_trusted

ROLES = ("reception", "specialist", "leader")
MILESTONES = ("reception", "decision", "return")
ROUTE_RE = re.compile(
    r"^(?:commune/(?P<c_role>reception|specialist|leader)"
    r"|province/(?P<unit_type>service-center|department:[A-Za-z0-9_.-]+)/(?P<p_role>reception|specialist|leader))$"
)

# The support matrix: every BPMN element a diagram may hold, what this release does with it and,
# for refusals, the reason a designer reads. docs/bpmn-support.md shows the same table (a test
# keeps them equal). "runs": accepted and executed; "human": a step routed to officers;
# "passes": accepted, completes at once; "drawn": accepted, no effect on the run; "refused".
SUPPORT: dict[str, tuple[str, str]] = {
    "startEvent": ("runs", "none start event; several start events are allowed"),
    "endEvent": ("runs", "ends its path; an `outcome` property sets the dossier's final status"),
    "intermediateThrowEvent": ("passes", "a none intermediate event (milestone marker)"),
    "intermediateCatchEvent": ("runs", "with a timer or message definition"),
    "boundaryEvent": ("runs", "with a timer or message definition, interrupting or not"),
    "terminateEventDefinition": ("runs", "ends the whole workflow"),
    "timerEventDefinition": ("runs", "ISO 8601 duration, date or cycle, or a sandboxed expression"),
    "messageEventDefinition": ("runs", "waiting for a message (catch, boundary); throwing messages is refused"),
    "userTask": ("human", "a step for officers: form, route, deadline, milestone"),
    "manualTask": ("human", "a step for officers, like a user task"),
    "task": ("passes", "a none task completes at once, as in Camunda"),
    "scriptTask": ("runs", "Python in the restricted subset; other languages are refused"),
    "subProcess": ("runs", "embedded sub-process"),
    "exclusiveGateway": ("runs", "conditions in the restricted subset or ${...}; default flow"),
    "parallelGateway": ("runs", "split and join"),
    "inclusiveGateway": ("runs", "split on conditions and join"),
    "sequenceFlow": ("runs", "with an optional condition"),
    "laneSet": ("drawn", "lanes route the steps they hold"),
    "lane": ("drawn", "routing path as name, or mapped; nested lanes route by the innermost lane"),
    "childLaneSet": ("drawn", "nested lanes"),
    "collaboration": ("drawn", "pools; the main process is chosen at upload"),
    "participant": ("drawn", "a pool; the one pool referencing a process makes it the main one"),
    "messageFlow": ("drawn", "between pools; no effect on the run"),
    "textAnnotation": ("drawn", "no effect on the run"),
    "association": ("drawn", "no effect on the run"),
    "group": ("drawn", "no effect on the run"),
    "dataObject": ("drawn", "no effect on the run"),
    "dataObjectReference": ("drawn", "no effect on the run"),
    "dataStoreReference": ("drawn", "no effect on the run"),
    "serviceTask": ("refused", "Tác vụ dịch vụ (serviceTask) chưa được hỗ trợ: không gọi hệ thống ngoài từ sơ đồ."),
    "businessRuleTask": ("refused", "Bảng quyết định DMN (businessRuleTask) chưa được hỗ trợ."),
    "callActivity": ("refused", "Gọi quy trình con (callActivity) chưa được hỗ trợ trong phiên bản này."),
    "sendTask": ("refused", "sendTask chưa được hỗ trợ."),
    "receiveTask": ("refused", "receiveTask chưa được hỗ trợ."),
    "signalEventDefinition": ("refused", "Sự kiện tín hiệu chưa được hỗ trợ trong phiên bản này."),
    "conditionalEventDefinition": ("refused", "Sự kiện điều kiện chưa được hỗ trợ."),
    "complexGateway": ("refused", "Cổng phức hợp (complexGateway) không được hỗ trợ."),
    "eventBasedGateway": ("refused", "Cổng theo sự kiện (eventBasedGateway) chưa được hỗ trợ."),
    "errorEventDefinition": ("refused", "Sự kiện lỗi chưa được hỗ trợ."),
    "escalationEventDefinition": ("refused", "Sự kiện leo thang chưa được hỗ trợ."),
    "compensateEventDefinition": ("refused", "Sự kiện bù trừ không được hỗ trợ."),
    "cancelEventDefinition": ("refused", "Sự kiện hủy giao dịch không được hỗ trợ."),
    "multiInstanceLoopCharacteristics": ("refused", "Tác vụ đa thể hiện (multi-instance) chưa được hỗ trợ."),
    "standardLoopCharacteristics": ("refused", "Vòng lặp chuẩn (loop marker) chưa được hỗ trợ; dùng cổng và luồng "
                                               "quay lại."),
}
UNSUPPORTED = {name: reason for name, (status, reason) in SUPPORT.items() if status == "refused"}
THROWN_MESSAGE = "Chỉ hỗ trợ sự kiện thông điệp dạng chờ (intermediateCatchEvent, boundaryEvent)."
TIMER_START = ("Sự kiện bắt đầu hẹn giờ chưa được hỗ trợ: hồ sơ do người dân, hệ thống tích hợp hoặc cán bộ "
               "tiếp nhận khởi tạo.")
SCRIPT_LANGUAGES = ("", "python", "python3", "text/x-python")
# Properties on an end event: the dossier's final status when the workflow ends there.
OUTCOMES = {"refused": 3, "withdrawn": 7, "stopped": 8, "returned": 10}


MESSAGE_CATCHERS = ("intermediateCatchEvent", "boundaryEvent")

# SpiffWorkflow names its own control tasks so; a diagram element with such an id breaks the spec.
RESERVED_IDS = frozenset({"Start", "End", "Root"})


def parse_route(path: str | None) -> dict | None:
    """`commune/leader` -> {level, unit_type, role}; None when not a routing path."""
    if not path:
        return None
    m = ROUTE_RE.match(path.strip())
    if not m:
        return None
    if m.group("c_role"):
        return {"level": "commune", "unit_type": None, "role": m.group("c_role")}
    return {"level": "province", "unit_type": m.group("unit_type"), "role": m.group("p_role")}


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _properties(el: etree._Element) -> dict[str, str]:
    props: dict[str, str] = {}
    for prop in el.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
                         " | ./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value", "")
    return props


def dialect_of(root: etree._Element) -> str:
    """Camunda when the file uses Camunda's namespace, else SpiffWorkflow's parser."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag.startswith(f"{{{CAMUNDA_NS}}}") or any(k.startswith(f"{{{CAMUNDA_NS}}}") for k in el.attrib):
            return "camunda"
    return "spiff"


def _is_executable(process: etree._Element) -> bool:
    return process.get("isExecutable", "true").strip().lower() == "true"


def process_choices(root: etree._Element) -> list[str]:
    """Ids of the processes a designer may run: the executable ones, else every process."""
    processes = root.xpath("./bpmn:process", namespaces=NS)
    executable = [p for p in processes if _is_executable(p)]
    return [p.get("id") for p in (executable or processes)]


def process_labels(root: etree._Element) -> list[tuple[str, str]]:
    """(id, what a designer calls it) for each process a designer may run: the pool's name in the
    modeler, else the process name, else its id."""
    pools = {p.get("processRef"): (p.get("name") or "").strip() for p in root.iter(f"{{{BPMN_NS}}}participant")}
    names = {p.get("id"): (p.get("name") or "").strip() for p in root.xpath("./bpmn:process", namespaces=NS)}
    return [(pid, pools.get(pid) or names.get(pid) or pid) for pid in process_choices(root)]


def _main_process(root: etree._Element, chosen: str | None, problems: list[Problem]) -> etree._Element | None:
    """The process to run: the designer's choice, else the only candidate, else the one the single
    participant references, else the one no call activity targets. The others stay in the file."""
    processes = root.xpath("./bpmn:process", namespaces=NS)
    if not processes:
        problems.append(Problem("Sơ đồ không có quy trình (bpmn:process) nào.", line=root.sourceline))
        return None
    by_id = {p.get("id"): p for p in processes}
    choices = process_choices(root)
    if chosen:
        if chosen not in by_id:
            problems.append(Problem(f"Không có quy trình '{chosen}' trong tệp (có: {', '.join(by_id)}).",
                                    field="process_id"))
            return None
        main = by_id[chosen]
    elif len(choices) == 1:
        main = by_id[choices[0]]
    else:
        referenced = [p.get("processRef") for p in root.iter(f"{{{BPMN_NS}}}participant")
                      if p.get("processRef") in choices]
        called = {c.get("calledElement") for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
        uncalled = [c for c in choices if c not in called]
        if len(referenced) == 1:
            main = by_id[referenced[0]]
        elif len(uncalled) == 1:
            main = by_id[uncalled[0]]
        else:
            listed = ", ".join(f"'{label}' ({pid})" if label != pid else pid for pid, label in process_labels(root))
            problems.append(Problem(f"Tệp có {len(choices)} quy trình: {listed}. Hãy chọn quy trình chính "
                                    "(process_id).", field="process_id"))
            return None
    return main


def _flow_order(process: etree._Element) -> list[str]:
    """Element ids in breadth-first order from the start events along sequence flows."""
    succ: dict[str, list[str]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        succ.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    starts = [e.get("id") for e in process.iter(f"{{{BPMN_NS}}}startEvent")]
    order, seen, queue = [], set(starts), deque(starts)
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in succ.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return order


def _lanes(process: etree._Element) -> tuple[list[dict], dict[str, str]]:
    """Lanes that hold steps, and for each flow node the innermost lane listing it (a parent lane
    lists its children's nodes too; an empty childLaneSet is no nesting at all)."""
    lanes, lane_of = [], {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):  # document order: parents before their children
        refs = [r.text.strip() for r in lane.findall(f"{{{BPMN_NS}}}flowNodeRef") if r.text and r.text.strip()]
        has_children = bool(lane.xpath("./bpmn:childLaneSet/bpmn:lane", namespaces=NS))
        for ref in refs:
            lane_of[ref] = lane.get("id")
        lanes.append({"id": lane.get("id"), "name": (lane.get("name") or "").strip(), "line": lane.sourceline,
                      "leaf": not has_children})
    holding = set(lane_of.values())
    return [{k: v for k, v in lane.items() if k != "leaf"} for lane in lanes
            if lane["leaf"] or lane["id"] in holding], lane_of


def _route_of(task: etree._Element, props: dict[str, str]) -> str | None:
    """A route written on the task itself: Camunda's candidateGroups, or a `route` / `laneOwner`
    property (SpiffArena, Camunda properties)."""
    value = task.get(f"{{{CAMUNDA_NS}}}candidateGroups") or props.get("route") or props.get("laneOwner")
    return value.strip() if value and value.strip() else None


_FORM_TYPES = {"string": {"type": "string", "maxLength": 2000}, "long": {"type": "integer"},
               "int": {"type": "integer"}, "integer": {"type": "integer"}, "double": {"type": "number"},
               "boolean": {"type": "boolean"}, "date": {"type": "string", "maxLength": 40}}


def _generated_form(task: etree._Element) -> dict | None:
    """Camunda's generated task form (`camunda:formData`) as a form of this product: the fields,
    their labels, types, choices, defaults and required constraints, as Camunda Tasklist shows them."""
    fields = task.xpath("./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NS)
    if not fields:
        return None
    properties, required = {}, []
    for f in fields:
        name = (f.get("id") or "").strip()
        if not name or name.startswith("_"):
            continue
        kind = (f.get("type") or "string").strip()
        prop = dict(_FORM_TYPES.get(kind, _FORM_TYPES["string"]))
        prop["title"] = (f.get("label") or name).strip()
        values = f.xpath("./camunda:value", namespaces=NS)
        if kind == "enum" and values:
            prop["enum"] = [v.get("id") for v in values]
            prop["x-enum-labels"] = {"vi": [v.get("name") or v.get("id") for v in values]}
        default = f.get("defaultValue")
        if default is not None:
            prop["default"] = {"integer": _int_or(default), "boolean": default.lower() == "true"}.get(prop["type"], default)
        properties[name] = prop
        constraints = {c.get("name") for c in f.xpath("./camunda:validation/camunda:constraint", namespaces=NS)}
        if "required" in constraints:
            required.append(name)
    label = (task.get("name") or task.get("id") or "").strip()
    return {"id": f"generated:{task.get('id')}", "title": {"vi": label, "en": label},
            "schema": {"type": "object", "properties": properties, "required": required,
                       "additionalProperties": False}}


def _int_or(value: str):
    try:
        return int(value)
    except ValueError:
        return value


def _language_problems(process: etree._Element) -> list[Problem]:
    problems = []
    for el in process.iter(f"{{{BPMN_NS}}}scriptTask", f"{{{BPMN_NS}}}conditionExpression"):
        attr = "scriptFormat" if _local(el.tag) == "scriptTask" else "language"
        language = (el.get(attr) or "").strip()
        source = el.findtext(f"{{{BPMN_NS}}}script") if attr == "scriptFormat" else el.text
        if language.lower() not in SCRIPT_LANGUAGES and (source or "").strip():
            owner = el if el.get("id") else el.getparent()
            problems.append(Problem(f"Ngôn ngữ '{language}' chưa được hỗ trợ: kịch bản và điều kiện viết bằng Python "
                                    "(tập con an toàn) hoặc ${...}.", owner.get("id"), el.sourceline,
                                    code="language_not_supported"))
    return problems


def describe(root: etree._Element, process_id: str | None = None) -> tuple[dict, list[Problem]]:
    """The diagram's description plus structural problems (not yet expression checks).
    `process_id` is the designer's choice of main process when the file holds several."""
    problems: list[Problem] = []
    dialect = dialect_of(root)
    process = _main_process(root, process_id, problems)
    if process is None:
        return {"dialect": dialect, "process_id": None, "lanes": [], "user_tasks": [], "expressions": []}, problems

    for el in process.iter():
        name = _local(el.tag)
        if el.get("id") in RESERVED_IDS and name not in ("process",):
            problems.append(Problem(f"Mã phần tử '{el.get('id')}' trùng tên nội bộ của bộ máy quy trình; hãy đổi tên "
                                    "(ví dụ StartEvent_1).", el.get("id"), el.sourceline))
        if name == "messageEventDefinition" and _local(el.getparent().tag) not in MESSAGE_CATCHERS:
            problems.append(Problem(THROWN_MESSAGE, el.getparent().get("id"), el.sourceline))
        if name == "timerEventDefinition" and el.getparent().getparent() is process \
                and _local(el.getparent().tag) == "startEvent":
            problems.append(Problem(TIMER_START, el.getparent().get("id"), el.sourceline))
        if name in UNSUPPORTED:
            owner = el if el.get("id") else el.getparent()
            problems.append(Problem(UNSUPPORTED[name], owner.get("id"), el.sourceline))
    problems += _language_problems(process)

    lanes, lane_of = _lanes(process)
    order = {el_id: i for i, el_id in enumerate(_flow_order(process))}
    tasks = []
    for task in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask"):
        props = _properties(task)
        form_key = task.get(f"{{{CAMUNDA_NS}}}formKey") or props.get("formKey") or props.get("formJsonSchemaFilename")
        if form_key and form_key.endswith(".json"):
            form_key = form_key[: -len(".json")]
        step_days = props.get("stepDays")
        step_hours = props.get("stepHours")
        tasks.append({
            "id": task.get("id"),
            "name": (task.get("name") or task.get("id")).strip(),
            "lane_id": lane_of.get(task.get("id")),
            "form_key": form_key,
            "milestone": props.get("milestone") or None,
            "step_days": int(step_days) if step_days and step_days.isdigit() else None,
            "step_hours": int(step_hours) if step_hours and step_hours.isdigit() else None,
            "candidate_groups": task.get(f"{{{CAMUNDA_NS}}}candidateGroups"),
            "route": _route_of(task, props),
            "generated_form": _generated_form(task),
            "line": task.sourceline,
        })
        if props.get("milestone") and props["milestone"] not in MILESTONES:
            problems.append(Problem(f"Mốc '{props['milestone']}' không hợp lệ (reception, decision, return).",
                                    task.get("id"), task.sourceline))
        if step_days and not step_days.isdigit():
            problems.append(Problem("stepDays phải là số ngày làm việc nguyên dương.", task.get("id"), task.sourceline))
        if step_hours and not step_hours.isdigit():
            problems.append(Problem("stepHours phải là số giờ làm việc nguyên dương.", task.get("id"), task.sourceline))
    tasks.sort(key=lambda t: order.get(t["id"], len(order)))
    _default_milestones(tasks, set(order))

    return {
        "dialect": dialect,
        "process_id": process.get("id"),
        "process_name": process.get("name"),
        "executable": _is_executable(process),
        "processes": process_choices(root),
        "lanes": lanes,
        "user_tasks": tasks,
        "expressions": _expressions(process),
        "messages": _messages(root, process),
        "end_outcomes": _end_outcomes(process, problems),
        "reads_reception_result": any("reception_result" in e["source"] for e in _expressions(process)),
        "line": process.sourceline,
    }, problems


def _end_outcomes(process: etree._Element, problems: list[Problem]) -> dict[str, str]:
    """End events of the main process that carry an `outcome` property (e.g. stopped)."""
    found = {}
    for end in process.xpath("./bpmn:endEvent", namespaces=NS):
        outcome = _properties(end).get("outcome")
        if not outcome:
            continue
        if outcome not in OUTCOMES:
            problems.append(Problem(f"Kết quả '{outcome}' của sự kiện kết thúc không hợp lệ "
                                    f"({', '.join(OUTCOMES)}).", end.get("id"), end.sourceline))
        else:
            found[end.get("id")] = outcome
    return found


def _messages(root: etree._Element, process: etree._Element) -> list[str]:
    """Names of the messages the process waits for: the events integrators may send it."""
    names = {m.get("id"): (m.get("name") or m.get("id")) for m in root.iter(f"{{{BPMN_NS}}}message")}
    found = []
    for definition in process.iter(f"{{{BPMN_NS}}}messageEventDefinition"):
        name = names.get(definition.get("messageRef"))
        if name and name not in found:
            found.append(name)
    return found


def _default_milestones(tasks: list[dict], main_path: set[str]) -> None:
    """Sensible defaults (DOMAIN.md): first step receives, last returns, the one before decides.
    Only steps on the main path count: a step reached through a boundary event (a reminder, an
    escalation) must not close the dossier."""
    declared = {t["milestone"] for t in tasks if t["milestone"]}
    main = [t for t in tasks if t["id"] in main_path]
    if not main:
        return
    if "reception" not in declared and not main[0]["milestone"]:
        main[0]["milestone"] = "reception"
    if len(main) >= 2 and "return" not in declared and not main[-1]["milestone"]:
        main[-1]["milestone"] = "return"
    if len(main) >= 3 and "decision" not in declared and not main[-2]["milestone"]:
        main[-2]["milestone"] = "decision"


def _expressions(process: etree._Element) -> list[dict]:
    found = []
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        cond = flow.find(f"{{{BPMN_NS}}}conditionExpression")
        if cond is not None and (cond.get("language") or "").strip().lower() not in SCRIPT_LANGUAGES:
            continue
        if cond is not None and (cond.text or "").strip():
            found.append({"element_id": flow.get("id"), "kind": "condition", "source": cond.text.strip(),
                          "line": cond.sourceline})
    for task in process.iter(f"{{{BPMN_NS}}}scriptTask"):
        script = task.find(f"{{{BPMN_NS}}}script")
        if (task.get("scriptFormat") or "").strip().lower() not in SCRIPT_LANGUAGES:
            continue  # refused for its language (`_language_problems`), not for its syntax
        if script is not None and (script.text or "").strip():
            found.append({"element_id": task.get("id"), "kind": "script", "source": script.text,
                          "line": script.sourceline})
    for tag in ("preScript", "postScript"):
        for el in process.iter(f"{{{SPIFF_NS}}}{tag}"):
            owner = el.getparent().getparent()
            if (el.text or "").strip():
                found.append({"element_id": owner.get("id"), "kind": "script", "source": el.text,
                              "line": el.sourceline})
    for tag in ("timeDuration", "timeDate", "timeCycle"):
        for el in process.iter(f"{{{BPMN_NS}}}{tag}"):
            owner = el.getparent().getparent()
            found.append({"element_id": owner.get("id"), "kind": "timer", "source": (el.text or "").strip(),
                          "line": el.sourceline, "timer": tag})
    for tag in ("loopCardinality", "completionCondition"):
        for el in process.iter(f"{{{BPMN_NS}}}{tag}"):
            owner = el.getparent().getparent()
            if (el.text or "").strip():
                found.append({"element_id": owner.get("id"), "kind": "condition", "source": el.text.strip(),
                              "line": el.sourceline})
    return found


def drawing(xml: str | bytes) -> dict | None:
    """What the server draws when bpmn-js cannot run: the shapes (with bounds) and edges (with
    at least two waypoints) of the diagram interchange, in document order, each with its element's
    id, kind and name, and a text annotation's text. None when the XML does not parse or has no
    BPMNDI plane."""
    try:
        root = parse_trusted(xml)
    except etree.XMLSyntaxError:
        return None
    elements = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    plane = root.find(f".//{{{BPMNDI_NS}}}BPMNPlane")
    if plane is None:
        return None
    shapes, edges = [], []
    for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
        b = shape.find(f"{{{DC_NS}}}Bounds")
        el = elements.get(shape.get("bpmnElement"))
        if b is None or el is None:
            continue
        kind = etree.QName(el).localname
        shapes.append({"id": el.get("id"), "kind": kind, "name": (el.get("name") or "").strip(),
                       "text": (el.findtext("{*}text") or "").strip() if kind == "textAnnotation" else "",
                       "bounds": tuple(float(b.get(k, 0)) for k in ("x", "y", "width", "height"))})
    for edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
        points = [(float(p.get("x", 0)), float(p.get("y", 0))) for p in edge.findall(f"{{{DI_NS}}}waypoint")]
        el = elements.get(edge.get("bpmnElement"))
        if len(points) < 2 or el is None:
            continue
        edges.append({"id": el.get("id"), "kind": etree.QName(el).localname, "name": (el.get("name") or "").strip(),
                      "points": points})
    return {"shapes": shapes, "edges": edges}
