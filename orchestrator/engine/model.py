"""An engine-independent description of a diagram: lanes, human steps, expressions.

Read straight from the XML (not from SpiffWorkflow's specs) so that both dialects,
Spiff and Camunda, give the same description, with source lines for error reports.
"""
from __future__ import annotations

import re
from collections import deque

from lxml import etree

from ..i18n import vi
from .problems import Problem
from .xml import BPMN_NS, BPMNDI_NS, CAMUNDA_NS, DC_NS, DI_NS, NS, SPIFF_NS, parse_trusted

ROLES = ("reception", "specialist", "leader")
MILESTONES = ("reception", "decision", "return")
ROUTE_RE = re.compile(
    r"^(?:commune/(?P<c_role>reception|specialist|leader)"
    r"|province/(?P<unit_type>service-center|department:(?:[A-Za-z0-9_.-]+|\{item\}))"
    r"/(?P<p_role>reception|specialist|leader))$"
)

# The support matrix: every BPMN element a diagram may hold, what this release does with it and,
# for refusals, the reason a designer reads. docs/bpmn-support.md shows the same table (a test
# keeps them equal). "runs": accepted and executed; "human": a step routed to officers;
# "passes": accepted, completes at once; "drawn": accepted, no effect on the run; "refused".
SUPPORT: dict[str, tuple[str, str]] = {
    "startEvent": ("runs", "none start event; several start events are allowed; a timer or message start opens "
                           "an event sub-process; the main process may start by a message when that is its only "
                           "start event (the dossier's start is the message); a timer start of the main process opens "
                           "dossiers on a schedule when the version is marked as scheduled with its receiving "
                           "units (else publish refuses it: a dossier has an applicant); signal, error and "
                           "escalation starts are refused"),
    "endEvent": ("runs", "ends its path; an `outcome` property sets the dossier's final status; may throw a "
                         "message, signal, error or escalation"),
    "intermediateThrowEvent": ("runs", "a none event passes (milestone marker); a message, signal or escalation "
                                       "is thrown to what waits for it in the dossier"),
    "intermediateCatchEvent": ("runs", "with a timer, message or signal definition"),
    "boundaryEvent": ("runs", "with a timer, message, signal, error or escalation definition, interrupting or not, "
                              "on a task or a sub-process"),
    "terminateEventDefinition": ("runs", "ends the whole workflow"),
    "timerEventDefinition": ("runs", "ISO 8601 duration, date or cycle, or a sandboxed expression"),
    "messageEventDefinition": ("runs", "waiting for a message (catch, boundary, event-based gateway, event "
                                       "sub-process start), from integrators or thrown in the same dossier "
                                       "(intermediate throw or end event); one that nothing waits for is recorded "
                                       "in the history and the path goes on"),
    "userTask": ("human", "a step for officers: form, route, deadline, milestone"),
    "manualTask": ("human", "a step for officers, like a user task"),
    "task": ("passes", "a none task completes at once, as in Camunda"),
    "scriptTask": ("runs", "Python in the restricted subset; other languages are refused"),
    "subProcess": ("runs", "embedded sub-process, nested or in a parallel branch, with timer and message boundary "
                           "events; its steps take its lane; event sub-processes, by timer or message, interrupting "
                           "or not, in the main process, in a sub-process or in a called process (not inside another "
                           "event sub-process)"),
    "callActivity": ("runs", "calls a process of the same file (`calledElement` = its id) or a procedure of the "
                             "library (`procedure:<code>`, the version in force when the caller is published); its "
                             "steps are routed by their own lanes; multi-instance runs it once per item; calls to "
                             "nothing and cycles of calls are refused"),
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
    "serviceTask": ("runs", "calls a connector registered by an administrator (Spiff `serviceTaskOperator`, Camunda `camunda:topic` or a `connector` property) as a background job with retries and a stable Idempotency-Key; the dossier waits there; outputs go to the `resultVariable` (else into the data); an unknown connector or a missing input is refused at upload"),
    "businessRuleTask": ("runs", "a DMN decision table uploaded with the diagram (`.dmn` files; Spiff "
                                 "`calledDecisionId`, Camunda `decisionRef`); hit policies UNIQUE (first match), FIRST, "
                                 "ANY, RULE ORDER, COLLECT (SUM, MIN, MAX, COUNT); its outputs go into the data; every "
                                 "cell goes through the sandbox; no rule matched (and no default output) is an incident"),
    "sendTask": ("runs", "throws its message to what waits for it in the same dossier, as a message throw event"),
    "receiveTask": ("runs", "waits for its message like a message catch event (integrators: the `events` route)"),
    "signalEventDefinition": ("runs", "thrown (intermediate or end event) to every catch and boundary event "
                                      "waiting for it in the dossier; one nothing waits for is recorded and the "
                                      "path goes on"),
    "conditionalEventDefinition": ("refused", vi("Sự kiện điều kiện chưa được hỗ trợ: không có gì đánh giá lại "
                                                 "điều kiện khi dữ liệu hồ sơ thay đổi; dùng cổng loại trừ hoặc sự "
                                                 "kiện chờ thông điệp.")),
    "complexGateway": ("refused", vi("Cổng phức hợp (complexGateway) không được hỗ trợ: dùng"
                                     " cổng bao hàm (inclusiveGateway) có điều kiện trên từng nhánh.")),
    "eventBasedGateway": ("runs", "waits for the first of its catch events (messages, timers, signals): the "
                                  "first wins, the others are cancelled; a repeating timer (timeCycle) there is "
                                  "refused"),
    "errorEventDefinition": ("runs", "an end event throws it, a boundary event on the sub-process (or call "
                                     "activity) around it catches it by code; one nothing catches is an incident at "
                                     "the end event"),
    "escalationEventDefinition": ("runs", "thrown (intermediate or end event), caught by a boundary event, "
                                          "interrupting or not, by code; one nothing catches is recorded and the "
                                          "path goes on"),
    "compensateEventDefinition": ("refused", vi("Sự kiện bù trừ không được hỗ trợ: bước đã hoàn thành của hồ sơ "
                                                "không được tự động hoàn tác; hãy vẽ việc xử lý ngược (ví dụ hoàn "
                                                "phí) thành một nhánh thường sau sự kiện lỗi hoặc cổng.")),
    "cancelEventDefinition": ("refused", vi("Sự kiện hủy giao dịch không được hỗ trợ (nó chỉ có nghĩa"
                                            " trong giao dịch có bù trừ): dùng sự kiện lỗi bắt trên quy trình con.")),
    "multiInstanceLoopCharacteristics": ("runs", "parallel or sequential, over a cardinality or a collection of the "
                                                 "dossier's data (at most 100 instances), completion condition; on user "
                                                 "tasks, sub-processes and call activities, each instance of a user "
                                                 "task is its own step, routed with `{item}`"),
    "standardLoopCharacteristics": ("runs", "loopCondition with a loopMaximum of at most 100; refused without one"),
}
UNSUPPORTED = {name: reason for name, (status, reason) in SUPPORT.items() if status == "refused"}
TIMER_START = vi("Sự kiện bắt đầu hẹn giờ chưa được hỗ trợ: mỗi hồ sơ có một người nộp (công dân, tổ chức) và do "
                 "người dân, hệ thống tích hợp hoặc cán bộ tiếp nhận khởi tạo; tạo hồ sơ theo lịch thì không có "
                 "người nộp. Dùng sự kiện bắt đầu thường (none start).")
MESSAGE_START = vi("Sự kiện bắt đầu bằng thông điệp chỉ được dùng khi nó là sự kiện bắt đầu duy nhất của quy trình "
                   "chính (hồ sơ bắt đầu chính bằng thông điệp đó); ở quy trình con hay bên cạnh sự kiện bắt đầu "
                   "khác thì dùng sự kiện bắt đầu thường hoặc sự kiện chờ thông điệp.")
EVENT_START = vi("Sự kiện bắt đầu bằng tín hiệu, lỗi, leo thang hay điều kiện chưa được hỗ trợ: quy trình và quy "
                 "trình con sự kiện chỉ bắt đầu thường, bằng hẹn giờ (quy trình con sự kiện) hoặc bằng thông điệp.")
GATEWAY_CYCLE = vi("Hẹn giờ lặp (timeCycle) sau cổng theo sự kiện không bao giờ kích hoạt: dùng khoảng thời gian "
                   "(timeDuration) hoặc thời điểm (timeDate).")
START_DEFINITIONS = ("messageEventDefinition", "timerEventDefinition", "signalEventDefinition",
                     "errorEventDefinition", "escalationEventDefinition")
# What a built-in event of the dossier's lifecycle is named (services/lifecycle.EVENTS): a message of
# the diagram so named gets the built-in effect first, then the diagram's wait (a publish warning).
BUILTIN_EVENTS = ("payment_received", "supplement_submitted", "withdrawn")
EVENT_SUB_PROCESS = vi("Quy trình con sự kiện (subProcess triggeredByEvent) không được đặt bên trong một quy trình "
                       "con sự kiện khác: đặt nó trong quy trình chính hoặc trong quy trình con (sub-process) bao "
                       "quanh.")
SCRIPT_LANGUAGES = ("", "python", "python3", "text/x-python")
# Properties on an end event: the dossier's final status when the workflow ends there.
OUTCOMES = {"refused": 3, "withdrawn": 7, "stopped": 8, "returned": 10}


MESSAGE_CATCHERS = ("intermediateCatchEvent", "boundaryEvent")

# A call activity calls a procedure of the library with calledElement="procedure:<code>"; any other
# calledElement names a process of the same file.
LIBRARY_CALL = "procedure:"
LIBRARY_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{2,39}$")

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
    """Ids of the processes a designer may run: the executable ones, else every process; a process
    a call activity of the file calls is a sub-procedure, not a candidate (unless none is left)."""
    processes = root.xpath("./bpmn:process", namespaces=NS)
    executable = [p for p in processes if _is_executable(p)]
    candidates = [p.get("id") for p in (executable or processes)]
    called = {(c.get("calledElement") or "").strip() for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    return [pid for pid in candidates if pid not in called] or candidates


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
        problems.append(Problem(vi("Sơ đồ không có quy trình (bpmn:process) nào."), line=root.sourceline))
        return None
    by_id = {p.get("id"): p for p in processes}
    choices = process_choices(root)
    if chosen:
        if chosen not in by_id:
            problems.append(Problem(vi("Không có quy trình '%(process)s' trong tệp (có: %(available)s).",
                                       process=chosen, available=", ".join(by_id)),
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
            problems.append(Problem(vi("Tệp có %(count)s quy trình: %(processes)s. Hãy chọn quy trình chính "
                                       "(process_id).", count=len(choices), processes=listed), field="process_id"))
            return None
    return main


def _flow_order(process: etree._Element) -> list[str]:
    """Element ids in breadth-first order from the process's start events along sequence flows; an
    embedded sub-process is walked where it stands (its own order follows it), so its steps take
    its place on the path. Event sub-processes and boundary paths are not on it."""
    succ: dict[str, list[str]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        succ.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    inner = {sub.get("id"): [e.get("id") for e in sub.xpath("./bpmn:startEvent", namespaces=NS)]
             for sub in process.iter(f"{{{BPMN_NS}}}subProcess")
             if (sub.get("triggeredByEvent") or "").strip().lower() != "true"}
    seen: set[str] = set()

    def walk(starts: list[str]) -> list[str]:
        order, queue = [], deque(s for s in starts if s not in seen)
        seen.update(starts)
        while queue:
            node = queue.popleft()
            order.append(node)
            order += walk(inner.get(node, []))
            for nxt in succ.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return order

    return walk([e.get("id") for e in process.xpath("./bpmn:startEvent", namespaces=NS)])


def _is_event_sub_process(el: etree._Element) -> bool:
    return _local(el.tag) == "subProcess" and (el.get("triggeredByEvent") or "").strip().lower() == "true"


def _event_sub_process_start(event: etree._Element) -> bool:
    """A start event of an event sub-process (of the main process, a sub-process or a called
    process): it waits, as a catch event."""
    parent = event.getparent()
    return _local(event.tag) == "startEvent" and parent is not None and _is_event_sub_process(parent)


def _lane_of_node(node: etree._Element, lane_of: dict[str, str]) -> str | None:
    """The lane of a flow node: the lane listing it, else the lane listing the nearest sub-process
    around it (a lane's flowNodeRef may list a sub-process alone: its steps are in that lane)."""
    while node is not None and _local(node.tag) != "process":
        if node.get("id") in lane_of:
            return lane_of[node.get("id")]
        node = node.getparent()
    return None


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
            problems.append(Problem(vi("Ngôn ngữ '%(language)s' chưa được hỗ trợ: kịch bản và điều kiện viết bằng "
                                       "Python (tập con an toàn) hoặc ${...}.", language=language),
                                    owner.get("id"), el.sourceline,
                                    code="language_not_supported"))
    return problems


MAX_LOOP = 100
"""Most instances of one multi-instance activity, and most rounds of one standard loop (each is
work for the engine's budget and data in the dossier's bounded state)."""
ITEM = "{item}"  # in a routing path: the input item of each instance (a department code)
_LITERAL_LIST = r"^\s*{name}\s*=\s*(\[[^\n]*\])\s*$"


def loop_of(el: etree._Element, process: etree._Element | None = None) -> dict | None:
    """An activity's loop marker as the run needs it: {"kind": "multi"|"standard", "sequential",
    "collection" (the data field it runs over), "item" (each instance's field), "cardinality",
    "maximum", "items" (the collection's values when a script of the process assigns it a literal
    list)}; None without a marker."""
    standard = el.find(f"{{{BPMN_NS}}}standardLoopCharacteristics")
    if standard is not None:
        maximum = (standard.get("loopMaximum") or "").strip()
        return {"kind": "standard", "maximum": int(maximum) if maximum.isdigit() else None,
                "condition": (standard.findtext(f"{{{BPMN_NS}}}loopCondition") or "").strip() or None}
    multi = el.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    if multi is None:
        return None
    collection = ((multi.findtext(f"{{{BPMN_NS}}}loopDataInputRef") or "").strip()
                  or (multi.get(f"{{{CAMUNDA_NS}}}collection") or "").strip() or None)
    item = multi.find(f"{{{BPMN_NS}}}inputDataItem")
    item = (item.get("id") or item.get("name")) if item is not None else multi.get(f"{{{CAMUNDA_NS}}}elementVariable")
    items = None
    if collection and process is not None and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", collection):
        import ast
        for script in process.iter(f"{{{BPMN_NS}}}script"):
            m = re.search(_LITERAL_LIST.format(name=collection), script.text or "", re.MULTILINE)
            try:
                value = ast.literal_eval(m.group(1)) if m else None
            except (ValueError, SyntaxError):
                value = None
            if isinstance(value, list):
                items = value
    return {"kind": "multi", "sequential": (multi.get("isSequential") or "").strip().lower() == "true",
            "collection": collection, "item": item, "items": items,
            "cardinality": (multi.findtext(f"{{{BPMN_NS}}}loopCardinality") or "").strip() or None}


def _loop_around(task: etree._Element, seen: frozenset = frozenset()) -> dict | None:
    """The loop marker a human step runs under: its own, else that of the nearest sub-process
    around it (each instance of a multi-instance sub-process runs the step once, for its item),
    else, in a process of the file that call activities call, that of the calls when each is a
    multi-instance (each instance of the call runs the called process once, for its item)."""
    el = task
    while el is not None and _local(el.tag) in ("userTask", "manualTask", "subProcess", "callActivity"):
        process = next((a for a in el.iterancestors(f"{{{BPMN_NS}}}process")), None)
        loop = loop_of(el, process)
        if loop is not None:
            return loop
        el = el.getparent()
    if el is None or _local(el.tag) != "process" or el.get("id") in seen:
        return None
    # Every call must run it as an instance: a plain call would open the step with no item.
    loops = [_loop_around(call, seen | {el.get("id")}) for call in el.getroottree().getroot().iter(
        f"{{{BPMN_NS}}}callActivity") if (call.get("calledElement") or "").strip() == el.get("id")]
    return loops[0] if loops and all(loop is not None and loop["kind"] == "multi" for loop in loops) else None


def _loop_problems(process: etree._Element) -> list[Problem]:
    """Loops that could spin or blow up the state: a standard loop without a loopMaximum (or past
    MAX_LOOP), a multi-instance whose literal cardinality or literal collection is past MAX_LOOP."""
    problems = []
    for marker in process.iter(f"{{{BPMN_NS}}}standardLoopCharacteristics",
                               f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        owner = marker.getparent()
        loop = loop_of(owner, process)
        if loop["kind"] == "standard" and (loop["maximum"] is None or not 1 <= loop["maximum"] <= MAX_LOOP):
            problems.append(Problem(vi("Vòng lặp chuẩn phải có loopMaximum là số nguyên từ 1 đến %(most)s "
                                       "(vòng lặp không giới hạn có thể chạy mãi).", most=MAX_LOOP),
                                    owner.get("id"), marker.sourceline))
        elif loop["kind"] == "multi":
            card = loop["cardinality"]
            if card and card.isdigit() and int(card) > MAX_LOOP:
                problems.append(Problem(vi("Tác vụ đa thể hiện có %(count)s thể hiện (tối đa %(most)s).",
                                           count=card, most=MAX_LOOP),
                                        owner.get("id"), marker.sourceline))
            if loop["items"] is not None and len(loop["items"]) > MAX_LOOP:
                problems.append(Problem(vi("Danh sách '%(collection)s' có %(count)s phần tử (tối đa %(most)s thể hiện).",
                                           collection=loop["collection"], count=len(loop["items"]), most=MAX_LOOP),
                                        owner.get("id"), marker.sourceline))
    return problems


def describe(root: etree._Element, process_id: str | None = None) -> tuple[dict, list[Problem]]:
    """The diagram's description plus structural problems (not yet expression checks).
    `process_id` is the designer's choice of main process when the file holds several."""
    problems: list[Problem] = []
    dialect = dialect_of(root)
    process = _main_process(root, process_id, problems)
    if process is None:
        return {"dialect": dialect, "process_id": None, "lanes": [], "user_tasks": [], "expressions": []}, problems
    library_calls: list[dict] = []
    called = _called_processes(root, process, problems, library_calls)
    running = [process, *called]  # the main process and the processes it calls: all checked, all routed

    for el in (el for proc in running for el in proc.iter()):
        name = _local(el.tag)
        if el.get("id") in RESERVED_IDS and name not in ("process",):
            problems.append(Problem(vi("Mã phần tử '%(element)s' trùng tên nội bộ của bộ máy quy trình; hãy đổi tên "
                                       "(ví dụ StartEvent_1).", element=el.get("id")), el.get("id"), el.sourceline))
        if name in START_DEFINITIONS and _local(el.getparent().tag) == "startEvent":
            problems += _start_problems(el, process)
        if name == "timeCycle" and _after_event_gateway(el.getparent().getparent()):
            problems.append(Problem(GATEWAY_CYCLE, el.getparent().getparent().get("id"), el.sourceline))
        if name == "subProcess" and _is_event_sub_process(el) and any(
                _is_event_sub_process(a) for a in el.iterancestors(f"{{{BPMN_NS}}}subProcess")):
            problems.append(Problem(EVENT_SUB_PROCESS, el.get("id"), el.sourceline))
        if name in UNSUPPORTED:
            owner = el if el.get("id") else el.getparent()
            problems.append(Problem(UNSUPPORTED[name], owner.get("id"), el.sourceline))
    problems += [p for proc in running for p in _language_problems(proc)]
    problems += [p for proc in running for p in _loop_problems(proc)]
    from .schedule import timer_starts  # the main process's timer starts as schedules
    scheduled, plain_start, schedule_problems = timer_starts(process)
    problems += schedule_problems

    lanes, lane_of = [], {}
    for proc in running:  # lane ids are unique in the file: each called process routes by its own lanes
        proc_lanes, proc_lane_of = _lanes(proc)
        lanes += proc_lanes
        lane_of.update(proc_lane_of)
    order = {el_id: i for i, el_id in enumerate(_call_order(process, {p.get("id"): p for p in called}))}
    owner_of = {el.get("id"): proc.get("id") for proc in called for el in proc.iter() if el.get("id")}
    tasks = []
    for task in (t for proc in running for t in proc.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}manualTask")):
        props = _properties(task)
        form_key = task.get(f"{{{CAMUNDA_NS}}}formKey") or props.get("formKey") or props.get("formJsonSchemaFilename")
        if form_key and form_key.endswith(".json"):
            form_key = form_key[: -len(".json")]
        step_days = props.get("stepDays")
        step_hours = props.get("stepHours")
        tasks.append({
            "id": task.get("id"),
            "name": (task.get("name") or task.get("id")).strip(),
            "lane_id": _lane_of_node(task, lane_of),
            "form_key": form_key,
            "milestone": props.get("milestone") or None,
            # issue 22: the step's name as citizens read it on the tracking page (None: a generic one)
            "public_label": (props.get("publicLabel") or "").strip()[:120] or None,
            "step_days": int(step_days) if step_days and step_days.isdigit() else None,
            "step_hours": int(step_hours) if step_hours and step_hours.isdigit() else None,
            "candidate_groups": task.get(f"{{{CAMUNDA_NS}}}candidateGroups"),
            "route": _route_of(task, props),
            "generated_form": _generated_form(task),
            **({"called_process": owner_of[task.get("id")]} if task.get("id") in owner_of else {}),
            "loop": _loop_around(task),
            "line": task.sourceline,
        })
        if props.get("milestone") and props["milestone"] not in MILESTONES:
            problems.append(Problem(vi("Mốc '%(milestone)s' không hợp lệ (reception, decision, return).",
                                       milestone=props["milestone"]),
                                    task.get("id"), task.sourceline))
        if step_days and not step_days.isdigit():
            problems.append(Problem(vi("stepDays phải là số ngày làm việc nguyên dương."), task.get("id"), task.sourceline))
        if step_hours and not step_hours.isdigit():
            problems.append(Problem(vi("stepHours phải là số giờ làm việc nguyên dương."), task.get("id"), task.sourceline))
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
        "expressions": [e for proc in running for e in _expressions(proc)],
        "loops": [{"element_id": m.getparent().get("id"), **loop_of(m.getparent(), proc)} for proc in running
                  for m in proc.iter(f"{{{BPMN_NS}}}standardLoopCharacteristics",
                                     f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")],
        "messages": list(dict.fromkeys(m for proc in running for m in _messages(root, proc))),
        "message_waits": [w for proc in running for w in message_waits(root, proc)],
        "end_outcomes": _end_outcomes(process, problems),
        "reads_reception_result": any("reception_result" in e["source"] for proc in running
                                      for e in _expressions(proc)),
        "called_processes": [p.get("id") for p in called],
        "library_calls": library_calls,
        "timer_starts": scheduled,
        "plain_start": plain_start,
        "line": process.sourceline,
    }, problems


def _after_event_gateway(event: etree._Element) -> bool:
    """A catch event one of the event-based gateway's flows leads to."""
    if event is None or _local(event.tag) != "intermediateCatchEvent":
        return False
    scope = event.getparent()
    gateways = {g.get("id") for g in scope.iterchildren(f"{{{BPMN_NS}}}eventBasedGateway")}
    return any(f.get("targetRef") == event.get("id") and f.get("sourceRef") in gateways
               for f in scope.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"))


def _start_problems(definition: etree._Element, main: etree._Element) -> list[Problem]:
    """A start event with a definition: a timer or a message opens an event sub-process; the main
    process may start by a message when that is its only start event (the dossier's start is the
    message); a timer start of the main process opens dossiers on a schedule (a version marked as
    scheduled, checked at publish), of a called process it is refused; signal, error and escalation
    starts are refused everywhere."""
    start = definition.getparent()
    kind = _local(definition.tag)
    at = (start.get("id"), definition.sourceline)
    if kind not in ("messageEventDefinition", "timerEventDefinition"):
        return [Problem(EVENT_START, *at)]
    if _event_sub_process_start(start):
        return []
    owner = start.getparent()
    if kind == "timerEventDefinition":  # the main process's: a schedule (engine/schedule.py), marked at publish
        return [] if owner is main else [Problem(TIMER_START, *at)]
    if owner is not main or len(main.xpath("./bpmn:startEvent", namespaces=NS)) != 1:
        return [Problem(MESSAGE_START, *at)]
    return []


def _called_processes(root: etree._Element, main: etree._Element, problems: list[Problem],
                      library: list[dict]) -> list[etree._Element]:
    """The processes of the file that the main process calls (call activities, directly or through
    other calls), in the order first called. A call without `calledElement`, a call to no process
    of the file and a cycle of calls (a process calling itself, a calling b calling a: the engine
    would call for ever) are problems at the call activity, with its line. Calls to a procedure of
    the library (`calledElement="procedure:<code>"`) go to `library` ({element_id, line, code}):
    they are resolved, and checked for cycles, at publish."""
    by_id = {p.get("id"): p for p in root.xpath("./bpmn:process", namespaces=NS)}
    found: list[etree._Element] = []
    seen = {main.get("id")}

    def visit(process: etree._Element, stack: tuple[str, ...]) -> None:
        for call in process.iter(f"{{{BPMN_NS}}}callActivity"):
            target = (call.get("calledElement") or "").strip()
            if not target:
                problems.append(Problem(vi("Hoạt động gọi (callActivity) chưa ghi quy trình được gọi (calledElement)."),
                                        call.get("id"), call.sourceline, code="call_target_missing"))
            elif target.startswith(LIBRARY_CALL):
                code = target[len(LIBRARY_CALL):].strip()
                if not LIBRARY_CODE_RE.match(code):
                    problems.append(Problem(vi("Mã thủ tục được gọi '%(code)s' không hợp lệ (ví dụ procedure:1.004227).",
                                               code=code),
                                            call.get("id"), call.sourceline, code="call_target_missing"))
                else:
                    library.append({"element_id": call.get("id"), "line": call.sourceline, "code": code})
            elif target in stack:
                cycle = " → ".join(stack[stack.index(target):] + (target,))
                problems.append(Problem(vi("Vòng gọi quy trình con không có điểm dừng: %(cycle)s.", cycle=cycle),
                                        call.get("id"), call.sourceline, code="call_cycle"))
            elif target not in by_id:
                problems.append(Problem(vi("Hoạt động gọi '%(call)s' gọi quy trình '%(process)s' không có trong "
                                           "tệp (có: %(available)s).", call=call.get("id"), process=target,
                                           available=", ".join(by_id)), call.get("id"), call.sourceline,
                                        code="call_target_missing"))
            elif target not in seen:
                seen.add(target)
                found.append(by_id[target])
                visit(by_id[target], stack + (target,))

    visit(main, (main.get("id"),))
    return found


def _call_order(process: etree._Element, called: dict[str, etree._Element]) -> list[str]:
    """`_flow_order`, each call activity followed by the order of the process it calls (`called`:
    id -> process; each process expanded once on a path, cycles being refused anyway)."""
    order = _flow_order(process)
    calls = {c.get("id"): (c.get("calledElement") or "").strip() for c in process.iter(f"{{{BPMN_NS}}}callActivity")}
    out = []
    for node in order:
        out.append(node)
        target = calls.get(node)
        if target in called:
            out += _call_order(called[target], {k: v for k, v in called.items() if k != target})
    return out


def _end_outcomes(process: etree._Element, problems: list[Problem]) -> dict[str, str]:
    """End events of the main process (and of its event sub-processes) that carry an `outcome`
    property (e.g. stopped, withdrawn)."""
    found = {}
    for end in process.xpath("./bpmn:endEvent | ./bpmn:subProcess[@triggeredByEvent='true']/bpmn:endEvent",
                             namespaces=NS):
        outcome = _properties(end).get("outcome")
        if not outcome:
            continue
        if outcome not in OUTCOMES:
            problems.append(Problem(vi("Kết quả '%(outcome)s' của sự kiện kết thúc không hợp lệ (%(allowed)s).",
                                       outcome=outcome, allowed=", ".join(OUTCOMES)), end.get("id"), end.sourceline))
        else:
            found[end.get("id")] = outcome
    return found


def _messages(root: etree._Element, process: etree._Element) -> list[str]:
    """Names of the messages the process waits for: the events integrators may send it."""
    return list(dict.fromkeys(w["name"] for w in message_waits(root, process)))


def message_waits(root: etree._Element, process: etree._Element) -> list[dict]:
    """Where the process waits for a message ({name, element_id, line}): a catch or boundary event,
    an event sub-process's start, a receive task (an event-based gateway's waits are catch events).
    Not the thrown ones (send tasks, throw and end events), nor the main process's own message
    start (the dossier's start is that message)."""
    names = {m.get("id"): (m.get("name") or m.get("id")) for m in root.iter(f"{{{BPMN_NS}}}message")}
    found = []
    for el in process.iter(f"{{{BPMN_NS}}}messageEventDefinition", f"{{{BPMN_NS}}}receiveTask"):
        owner = el if _local(el.tag) == "receiveTask" else el.getparent()
        kind = _local(owner.tag)
        if kind not in ("receiveTask", *MESSAGE_CATCHERS) and not _event_sub_process_start(owner):
            continue
        name = names.get(el.get("messageRef"))
        if name:
            found.append({"name": name, "element_id": owner.get("id"), "line": owner.sourceline})
    return found


def _default_milestones(tasks: list[dict], main_path: set[str]) -> None:
    """Sensible defaults (docs/domain.md): first step receives, last returns, the one before decides.
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
    for tag in ("loopCardinality", "completionCondition", "loopCondition"):
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
    planes = list(root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"))
    if not planes:
        return None
    shapes, edges = [], []
    for plane in planes:  # a called process drawn on its own diagram goes below the ones before it
        plane_shapes, plane_edges = [], []
        for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
            b = shape.find(f"{{{DC_NS}}}Bounds")
            el = elements.get(shape.get("bpmnElement"))
            if b is None or el is None:
                continue
            kind = etree.QName(el).localname
            plane_shapes.append({"id": el.get("id"), "kind": kind, "name": (el.get("name") or "").strip(),
                                 "text": (el.findtext("{*}text") or "").strip() if kind == "textAnnotation" else "",
                                 "bounds": tuple(float(b.get(k, 0)) for k in ("x", "y", "width", "height"))})
        for edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
            points = [(float(p.get("x", 0)), float(p.get("y", 0))) for p in edge.findall(f"{{{DI_NS}}}waypoint")]
            el = elements.get(edge.get("bpmnElement"))
            if len(points) < 2 or el is None:
                continue
            plane_edges.append({"id": el.get("id"), "kind": etree.QName(el).localname,
                                "name": (el.get("name") or "").strip(), "points": points})
        if shapes and (plane_shapes or plane_edges):
            bottom = max([s["bounds"][1] + s["bounds"][3] for s in shapes]
                         + [y for e in edges for _, y in e["points"]])
            top = min([s["bounds"][1] for s in plane_shapes] + [y for e in plane_edges for _, y in e["points"]])
            dy = bottom + 80 - top
            for s in plane_shapes:
                x, y, w, h = s["bounds"]
                s["bounds"] = (x, y + dy, w, h)
            for e in plane_edges:
                e["points"] = [(x, y + dy) for x, y in e["points"]]
        shapes += plane_shapes
        edges += plane_edges
    return {"shapes": shapes, "edges": edges}
