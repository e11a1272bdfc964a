"""Events thrown inside one dossier: messages, signals, errors, escalations, and the
event-based gateway's waits.

SpiffWorkflow 3 runs them: a thrown event is caught by whatever waits for it in the same
workflow (its sub-processes and called processes included). What it does not do, this adds:
- an **error** nobody catches would silently continue (SpiffWorkflow parks it in
  `workflow.bpmn_events`): here the throwing task fails, an incident at that element;
- anything else nobody catches (a message no one waits for, a signal, an escalation) goes on, and
  is not kept in the dossier's state (SpiffWorkflow would keep it for ever);
- every throw is noted (element, kind, name, caught or not) for the dossier's history.
Only diagrams that throw such events get the wrapper (`install`); the reads for the event-based
gateway cost one `isinstance` per waiting task.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition, EscalationEventDefinition, SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent

_KINDS = ((ErrorEventDefinition, "error"), (EscalationEventDefinition, "escalation"),
          (SignalEventDefinition, "signal"), (MessageEventDefinition, "message"))


def _kind(definition) -> str | None:
    return next((kind for cls, kind in _KINDS if isinstance(definition, cls)), None)


def _label(definition) -> str:
    """What the history names a thrown event by: the error or escalation code, else its name."""
    code = getattr(definition, "code", None)
    return str(code or definition.name or "")


def install(task_specs) -> bool:
    """Wrap the throw of every message, signal, error and escalation a diagram throws (end and
    intermediate throw events, send tasks). True when there is one."""
    found = False
    for spec in task_specs:
        definition = getattr(spec, "event_definition", None)
        if not isinstance(spec, ThrowingEvent) or _kind(definition) is None or "throw" in vars(definition):
            continue
        definition.throw = _wrapped(spec, definition)
        found = True
    return found


def _wrapped(spec, definition):
    original = type(definition).throw
    kind = _kind(definition)

    def throw(my_task):
        top = my_task.workflow.top_workflow
        before = len(top.bpmn_events)
        original(definition, my_task)
        caught = len(top.bpmn_events) == before
        if not caught:
            del top.bpmn_events[before:]  # nothing outside the dossier would ever take it
        if kind == "error" and not caught:
            raise WorkflowTaskException(
                f"lỗi '{_label(definition) or spec.bpmn_id}' được ném ra nhưng không có sự kiện lỗi nào bắt "
                "(hãy đặt một sự kiện biên lỗi trên quy trình con chứa nó)", task=my_task)
        noted = top.__dict__.setdefault("_thrown", [])
        noted.append({"element_id": spec.bpmn_id, "kind": kind, "name": _label(definition), "caught": caught})

    return throw


def thrown(workflow) -> list[dict]:
    """The events thrown since last asked (element_id, kind, name, caught), oldest first."""
    return workflow.__dict__.pop("_thrown", [])


def timer_definition(task):
    """The timer a waiting task waits for: its own, or one of an event-based gateway's."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, TimerEventDefinition):
        return definition
    if isinstance(definition, MultipleEventDefinition):
        return next((d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)), None)
    return None


def message_definitions(task, named: bool = True) -> list:
    """The named messages a waiting task waits for: its own, or those of an event-based gateway
    (`named=False`: those without a name too)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        found = [d for d in definition.event_definitions if isinstance(d, MessageEventDefinition)]
    else:
        found = [definition] if isinstance(definition, MessageEventDefinition) else []
    return [d for d in found if isinstance(d.name, str) or not named]


def gateway_branch(task, definition) -> str:
    """The element an event-based gateway's wait fired through (the catch event after it), else the
    task's own element."""
    gateway = getattr(task.task_spec, "event_definition", None)
    if isinstance(gateway, MultipleEventDefinition) and definition in gateway.event_definitions:
        index = next(i for i, d in enumerate(gateway.event_definitions) if d is definition)
        outputs = task.task_spec.outputs
        if index < len(outputs):
            return outputs[index].bpmn_id
    return task.task_spec.bpmn_id


def correlated(task, definition, payload):
    """(payload, correlations) of a message delivered to one dossier: the dossier itself is the
    correlation, so the event carries the keys its waiting process already holds, and a correlation
    property the message's data lacks (a plain name) takes the dossier's value (SpiffWorkflow would
    otherwise fail to evaluate it, or miss the catch)."""
    correlations = dict(task.workflow.correlations)
    if isinstance(payload, dict):
        known = {name: value for key in correlations.values() if isinstance(key, dict) for name, value in key.items()}
        for prop in definition.correlation_properties:
            expression = (prop.retrieval_expression or "").strip()
            if expression.isidentifier() and expression not in payload and prop.name in known:
                payload = {**payload, expression: known[prop.name]}
    return payload, correlations
