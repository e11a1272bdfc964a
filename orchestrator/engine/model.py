"""An engine-independent description of a diagram: lanes, human steps, expressions.

Read straight from the XML (not from SpiffWorkflow's specs) so that both dialects,
Spiff and Camunda, give the same description, with source lines for error reports.
"""
from __future__ import annotations

import re
from collections import deque

from lxml import etree

from .problems import Problem
from .xml import BPMN_NS, CAMUNDA_NS, NS, SPIFF_NS

ROLES = ("reception", "specialist", "leader")
MILESTONES = ("reception", "decision", "return")
ROUTE_RE = re.compile(
    r"^(?:commune/(?P<c_role>reception|specialist|leader)"
    r"|province/(?P<unit_type>service-center|department:[A-Za-z0-9_.-]+)/(?P<p_role>reception|specialist|leader))$"
)

# Elements this release refuses, with the reason a designer reads.
UNSUPPORTED = {
    "serviceTask": "Tác vụ dịch vụ (serviceTask) chưa được hỗ trợ: không gọi hệ thống ngoài từ sơ đồ.",
    "businessRuleTask": "Bảng quyết định DMN (businessRuleTask) chưa được hỗ trợ.",
    "callActivity": "Gọi quy trình con (callActivity) chưa được hỗ trợ trong phiên bản này.",
    "sendTask": "sendTask chưa được hỗ trợ.",
    "receiveTask": "receiveTask chưa được hỗ trợ.",
    "signalEventDefinition": "Sự kiện tín hiệu chưa được hỗ trợ trong phiên bản này.",
    "conditionalEventDefinition": "Sự kiện điều kiện chưa được hỗ trợ.",
    "complexGateway": "Cổng phức hợp (complexGateway) không được hỗ trợ.",
    "eventBasedGateway": "Cổng theo sự kiện (eventBasedGateway) chưa được hỗ trợ.",
    "errorEventDefinition": "Sự kiện lỗi chưa được hỗ trợ.",
    "escalationEventDefinition": "Sự kiện leo thang chưa được hỗ trợ.",
    "compensateEventDefinition": "Sự kiện bù trừ không được hỗ trợ.",
    "cancelEventDefinition": "Sự kiện hủy giao dịch không được hỗ trợ.",
    "multiInstanceLoopCharacteristics": "Tác vụ đa thể hiện (multi-instance) chưa được hỗ trợ.",
    "standardLoopCharacteristics": "Vòng lặp chuẩn (loop marker) chưa được hỗ trợ; dùng cổng và luồng quay lại.",
}


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


def _executable_process(root: etree._Element, problems: list[Problem]) -> etree._Element | None:
    processes = root.xpath("./bpmn:process", namespaces=NS)
    if not processes:
        problems.append(Problem("Sơ đồ không có quy trình (bpmn:process) nào.", line=root.sourceline))
        return None
    executable = [p for p in processes if p.get("isExecutable", "true").lower() == "true"]
    if not executable:
        p = processes[0]
        problems.append(Problem("Quy trình không được đánh dấu thực thi được (isExecutable).", p.get("id"), p.sourceline))
        return None
    if len(executable) > 1:
        p = executable[1]
        problems.append(Problem("Chỉ hỗ trợ một quy trình thực thi được trong mỗi tệp.", p.get("id"), p.sourceline))
    return executable[0]


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


def describe(root: etree._Element) -> tuple[dict, list[Problem]]:
    """The diagram's description plus structural problems (not yet expression checks)."""
    problems: list[Problem] = []
    dialect = dialect_of(root)
    process = _executable_process(root, problems)
    if process is None:
        return {"dialect": dialect, "process_id": None, "lanes": [], "user_tasks": [], "expressions": []}, problems

    for el in process.iter():
        name = _local(el.tag)
        if el.get("id") in RESERVED_IDS and name not in ("process",):
            problems.append(Problem(f"Mã phần tử '{el.get('id')}' trùng tên nội bộ của bộ máy quy trình; hãy đổi tên "
                                    "(ví dụ StartEvent_1).", el.get("id"), el.sourceline))
        if name == "messageEventDefinition" and _local(el.getparent().tag) not in MESSAGE_CATCHERS:
            problems.append(Problem("Chỉ hỗ trợ sự kiện thông điệp dạng chờ (intermediateCatchEvent, boundaryEvent).",
                                    el.getparent().get("id"), el.sourceline))
        if name in UNSUPPORTED:
            owner = el if el.get("id") else el.getparent()
            problems.append(Problem(UNSUPPORTED[name], owner.get("id"), el.sourceline))

    lanes, lane_of = [], {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        refs = [r.text.strip() for r in lane.findall(f"{{{BPMN_NS}}}flowNodeRef") if r.text]
        if lane.find(f"{{{BPMN_NS}}}childLaneSet") is not None:
            continue  # only leaf lanes hold tasks
        lanes.append({"id": lane.get("id"), "name": (lane.get("name") or "").strip(), "line": lane.sourceline})
        for ref in refs:
            lane_of[ref] = lane.get("id")

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
    for t in tasks:
        if t["lane_id"] is None:
            problems.append(Problem("Bước xử lý không nằm trong làn (lane) nào nên không biết giao cho ai.",
                                    t["id"], t["line"]))
    _default_milestones(tasks, set(order))

    return {
        "dialect": dialect,
        "process_id": process.get("id"),
        "process_name": process.get("name"),
        "lanes": lanes,
        "user_tasks": tasks,
        "expressions": _expressions(process),
        "messages": _messages(root, process),
    }, problems


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
        if cond is not None and (cond.text or "").strip():
            found.append({"element_id": flow.get("id"), "kind": "condition", "source": cond.text.strip(),
                          "line": cond.sourceline})
    for task in process.iter(f"{{{BPMN_NS}}}scriptTask"):
        script = task.find(f"{{{BPMN_NS}}}script")
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
