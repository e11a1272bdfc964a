"""Building workflow specs from stored diagrams, cached per immutable version."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway
from SpiffWorkflow.exceptions import SpiffWorkflowException

from ..i18n import vi
from . import decisions as dmn
from . import events, loops, service_tasks
from .problems import DiagramRejected, Problem
from .xml import BPMN_NS, NS


@dataclass(frozen=True)
class SpecBundle:
    """What a workflow needs from its diagram; shared by every dossier of the version."""

    dialect: str
    process_id: str
    spec: Any
    subprocess_specs: dict
    has_none_tasks: bool = False  # `bpmn:task` somewhere: the runner then passes them through
    has_cycle_timers: bool = False  # a repeating timer: the runner checks its computed interval
    has_event_subprocesses: bool = False  # the runner settles them after each call (event_subprocesses)
    event_gateways: frozenset = frozenset()  # ids of event-based gateways (a timer that fires names its branch)


def build_spec(root: etree._Element, dialect: str, process_id: str, called: tuple = (),
               decisions: tuple = ()) -> SpecBundle:
    """Parse with a fresh parser each time: a parser that failed once can return bad specs.
    `called`: the procedures of the library the diagram calls, pinned, as (calledElement, XML,
    dialect, process id, its DMN documents); without them a call to the library has no spec (only publish and a
    running dossier need it). `decisions`: the DMN documents (XML text, checked at upload) its
    business rule tasks call."""
    parser = service_tasks.parser_for(dialect)  # CamundaParser / SpiffBpmnParser, service tasks waiting
    try:
        for n, text in enumerate(decisions):
            parser.add_dmn_xml(dmn.parse_trusted(text), filename=f"decision-{n + 1}.dmn")
        parser.add_bpmn_xml(root, filename="diagram.bpmn")
        spec = parser.get_spec(process_id)
        subprocess_specs = {name: sub for name, sub in parser.get_subprocess_specs(
            process_id, require_call_activity_specs=False).items() if sub is not None}
    except ValidationException as exc:
        element_id = getattr(exc, "id", None) or None
        line = getattr(exc, "line_number", None) or _line_of(root, element_id)
        raise DiagramRejected([Problem(_explained(str(getattr(exc, "message", exc))), element_id, line)])
    except (SpiffWorkflowException, etree.LxmlError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise DiagramRejected([Problem(vi("Không dựng được quy trình từ sơ đồ: %(error)s", error=str(exc)))])
    own_specs = [spec, *subprocess_specs.values()]  # this file's: the main process, its sub-processes, calls
    callee_events = False
    for name, xml, callee_dialect, callee_process, callee_decisions in called:
        from .xml import parse_trusted

        callee = build_spec(parse_trusted(xml), callee_dialect, callee_process, decisions=callee_decisions)
        clash = sorted(set(callee.subprocess_specs) & set(subprocess_specs))
        if clash:
            raise DiagramRejected([Problem(vi("Quy trình con '%(name)s' có quy trình trùng mã với sơ đồ gọi nó: "
                                              "%(processes)s.", name=name, processes=", ".join(clash)),
                                           code="call_clash")])
        subprocess_specs = {**subprocess_specs, name: callee.spec, **callee.subprocess_specs}
        callee_events = callee_events or callee.has_event_subprocesses
    specs = [spec, *subprocess_specs.values()]
    task_specs = [ts for s in specs for ts in s.task_specs.values()]
    loops.bound(task_specs)  # multi-instance and standard loops, at most MAX_LOOP instances / rounds
    events.install(task_specs)  # thrown messages, signals, errors, escalations: noted; an uncaught error fails
    if decisions:
        dmn.install(task_specs, root, decisions)  # business rule tasks evaluate through the sandbox
    has_event_subprocesses = callee_events
    for sub in root.iter(f"{{{BPMN_NS}}}subProcess"):  # SpiffWorkflow ignores isInterrupting (event_subprocesses)
        if sub.get("triggeredByEvent") != "true":
            continue
        owner = next((s for s in own_specs if sub.get("id") in s.task_specs), None)
        if owner is not None:
            has_event_subprocesses = True
            owner.has_event_subprocesses = True  # its enclosing (sub-)process: the runner settles it
            starts = sub.xpath("./bpmn:startEvent", namespaces=NS)
            owner.task_specs[sub.get("id")].interrupting = not any(
                (s.get("isInterrupting") or "").strip().lower() == "false" for s in starts)
    for owner in own_specs:
        # A message-started event sub-process waits from its process's start, as a timer-started one
        # does: SpiffWorkflow's `trigger_wf` links it so at its first message, in the cached spec
        # every dossier shares; a state saved after that must not depend on which process parsed it.
        for name in getattr(owner.start, "trigger_specs", ()):
            task_spec = owner.task_specs.get(name)
            if task_spec is not None and owner.start not in task_spec.inputs:
                owner.start.connect(task_spec)
                task_spec.connect(owner.end)
    has_none_tasks = any(isinstance(ts, NoneTask) for ts in task_specs)
    has_cycle_timers = any(isinstance(getattr(ts, "event_definition", None), CycleTimerEventDefinition)
                           for ts in task_specs)
    return SpecBundle(dialect, process_id, spec, subprocess_specs, has_none_tasks, has_cycle_timers,
                      has_event_subprocesses, event_gateways=frozenset(
                          ts.bpmn_id for ts in task_specs if isinstance(ts, EventBasedGateway)))


# What SpiffWorkflow's parser says, in the words a designer reads, with what to do instead. The
# engine's own sentence follows in brackets (it names the detail, and it is what support searches for).
_PARSER_MESSAGES = (
    ("Multiple outgoing flows are not supported for tasks of type",
     vi("Một bước có nhiều luồng ra chưa được hỗ trợ: hãy tách luồng bằng cổng song song (parallelGateway) "
        "hoặc cổng loại trừ (exclusiveGateway).")),
    ("Non-default exclusive outgoing sequence flow without condition",
     vi("Luồng ra của cổng loại trừ không có điều kiện và không phải luồng mặc định: thêm điều kiện hoặc đặt "
        "luồng mặc định (default).")),
    ("has no implementation", vi("Kho dữ liệu (data store) chưa được hỗ trợ: dùng dữ liệu của hồ sơ.")),
    ("No start event found", vi("Quy trình không có sự kiện bắt đầu.")),
    ("Exactly one start event is required", vi("Quy trình con (sub-process) phải có đúng một sự kiện bắt đầu.")),
    ("A SubWorkflow Must contain an End event", vi("Quy trình con (sub-process) phải có sự kiện kết thúc.")),
    ("Cannot resolve data", vi("Liên kết dữ liệu (data association) chưa được hỗ trợ.")),
    ("Time Specification", vi("Giá trị hẹn giờ không đọc được.")),
)


def _explained(message: str) -> str:
    for needle, explained in _PARSER_MESSAGES:
        if needle in message:
            return vi("%(explanation)s (%(detail)s)", explanation=explained, detail=message.strip())
    return message


def _line_of(root: etree._Element, element_id: str | None) -> int | None:
    found = root.xpath("//*[@id=$eid]", eid=element_id) if element_id else []
    return found[0].sourceline if found else None


class SpecCache:
    """Bounded LRU of parsed specs keyed by procedure version id (never stale: versions are immutable)."""

    def __init__(self, max_size: int = 256):
        self.max_size = max_size
        self._items: OrderedDict[object, SpecBundle] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object, loader) -> SpecBundle:
        with self._lock:
            bundle = self._items.get(key)
            if bundle is not None:
                self._items.move_to_end(key)
                return bundle
        bundle = loader()
        with self._lock:
            self._items[key] = bundle
            self._items.move_to_end(key)
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)
        return bundle

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


spec_cache = SpecCache()


def bundle_for(key: object, xml: str, dialect: str, process_id: str, called: tuple = (),
               decisions: tuple = ()) -> SpecBundle:
    """The spec of a stored version, parsed once per process and version. The key includes a
    digest of the XML (and of the pinned procedures it calls, `build_spec`'s `called`) so that two
    databases reusing an id never share a spec."""
    from .xml import parse_trusted

    digest = hashlib.blake2b(xml.encode("utf-8"), digest_size=16)
    for name, called_xml, _dialect, _process, called_decisions in called:
        digest.update(name.encode("utf-8") + b"\0" + called_xml.encode("utf-8"))
        for text in called_decisions:
            digest.update(b"\0" + text.encode("utf-8"))
    for text in decisions:  # the DMN documents of the version
        digest.update(b"\1dmn\0" + text.encode("utf-8"))
    return spec_cache.get((key, digest.digest()),
                          lambda: build_spec(parse_trusted(xml), dialect, process_id, called, tuple(decisions)))
