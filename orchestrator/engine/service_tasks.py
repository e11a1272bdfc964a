"""Service tasks that call a connector: the task waits while the call runs as a job.

A service task names a connector (Spiff: `spiffworkflow:serviceTaskOperator id="<connector>"`
with `spiffworkflow:parameter`s and a `resultVariable`; Camunda: `camunda:type="external"
camunda:topic="<connector>"` or a `connector` property, inputs from `camunda:inputParameter`).
When the workflow reaches it, its inputs are evaluated in the sandbox and the task is left
STARTED (waiting, like a catch event): the service layer queues the call, and completes the task
with the connector's outputs (`complete_call`) or fails it (`fail_call`, the dossier's incident)
once the call has run outside the step's transaction. No HTTP and no database here.
"""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask as BpmnServiceTask
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask
from SpiffWorkflow.util.task import TaskState

from ..i18n import vi
from . import sandbox
from .problems import Problem
from .xml import CAMUNDA_NS, NS

MAX_INPUT_BYTES = 2_000
"""Largest value (as text) one input of a call may carry: inputs go into a URL or a job."""

_STARTED_ATTR = "connector_calls_started"  # transient, on the workflow object: never serialised


@dataclass(frozen=True)
class ServiceCall:
    """A service task waiting for its connector's answer."""

    task_id: str
    element_id: str
    connector: str
    inputs: dict
    result_variable: str | None  # outputs go under this name; None: merged into the data


@dataclass(frozen=True)
class DeclaredCall:
    """A service task as the XML declares it (upload checks, before anything runs)."""

    element_id: str
    line: int | None
    connector: str | None
    inputs: tuple[str, ...]
    expressions: tuple[tuple[str, str, int | None], ...] = ()  # (input, expression, line)


def _text(value) -> str:
    return value if isinstance(value, str) else str(value)


def _start(task, connector: str, inputs: dict) -> None:
    """Leave the task waiting with its evaluated inputs; noted for the step that runs it."""
    for name, value in inputs.items():
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"{task.task_spec.bpmn_id}: tham số '{name}' phải là giá trị đơn (chuỗi, số)")
        if len(_text(value)) > MAX_INPUT_BYTES:
            raise ValueError(f"{task.task_spec.bpmn_id}: tham số '{name}' dài quá {MAX_INPUT_BYTES} ký tự")
    task._set_internal_data(connector_call={"connector": connector, "inputs": inputs})
    top = task.workflow.top_workflow
    started = top.__dict__.setdefault(_STARTED_ATTR, [])
    started.append(task.id)


class SpiffConnectorTask(SpiffServiceTask):
    """Spiff's service task, waiting instead of calling the script engine's `call_service`."""

    def _execute(self, task):
        inputs = {name: task.workflow.script_engine.evaluate(task, param["value"])
                  for name, param in self.operation_params.items()}
        _start(task, self.operation_name, inputs)
        return None  # STARTED: the task waits for the call

    @property
    def result_target(self) -> str | None:
        return None if self.result_variable.startswith("spiff__") else self.result_variable


class CamundaConnectorTask(BpmnServiceTask):
    """A Camunda external task (`camunda:topic`) or a service task with a `connector` property."""

    def __init__(self, wf_spec, bpmn_id, connector=None, parameters=None, result_variable=None,
                 output_parameters=None, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.connector = connector
        self.parameters = parameters or {}
        self.result_target = result_variable or None
        self.output_parameters = output_parameters or {}  # data name -> expression over the outputs

    def _execute(self, task):
        inputs = {name: task.workflow.script_engine.evaluate(task, expression)
                  for name, expression in self.parameters.items()}
        _start(task, self.connector, inputs)
        return None


def _camunda_outputs(node: etree._Element) -> dict:
    """{data name: expression over the connector's outputs} of `camunda:outputParameter`s."""
    return {p.get("name"): (p.text or "").strip() or "None" for p in node.xpath(
        "./bpmn:extensionElements/camunda:inputOutput/camunda:outputParameter", namespaces=NS) if p.get("name")}


def _camunda_declaration(node: etree._Element) -> tuple[str | None, dict, str | None]:
    """(connector, {input: expression}, result variable) of a Camunda service task."""
    connector = node.get(f"{{{CAMUNDA_NS}}}topic")
    props = {p.get("name"): p.get("value", "") for p in node.xpath(
        "./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS) if p.get("name")}
    connector = connector or props.get("connector") or None
    inputs = {}
    for param in node.xpath("./bpmn:extensionElements/camunda:inputOutput/camunda:inputParameter", namespaces=NS):
        if param.get("name"):
            inputs[param.get("name")] = (param.text or "").strip() or "None"
    result = node.get(f"{{{CAMUNDA_NS}}}resultVariable") or props.get("resultVariable") or None
    return connector, inputs, result


class CamundaConnectorParser(TaskParser):
    def create_task(self):
        connector, inputs, result = _camunda_declaration(self.node)
        return self.spec_class(self.spec, self.bpmn_id, connector=connector, parameters=inputs,
                               result_variable=result, output_parameters=_camunda_outputs(self.node),
                               **self.bpmn_attributes)


NO_CONNECTOR = ("Tác vụ dịch vụ (serviceTask) phải nêu kết nối: spiffworkflow:serviceTaskOperator id=\"<tên kết nối>\" "
                "(Camunda: camunda:type=\"external\" camunda:topic=\"<tên kết nối>\").")


class SpiffConnectorParser(ServiceTaskParser):
    def create_task(self):
        if self.parse_extensions().get("serviceTaskOperator") is None:
            raise ValidationException(NO_CONNECTOR, node=self.node, file_name=self.filename)
        return super().create_task()


class SpiffParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("serviceTask"): (SpiffConnectorParser, SpiffConnectorTask)}


class CamundaDialectParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("serviceTask"): (CamundaConnectorParser, CamundaConnectorTask)}


def parser_for(dialect: str):
    """A fresh parser of the dialect whose service tasks wait for their connector."""
    return CamundaDialectParser() if dialect == "camunda" else SpiffParser()


# -- at upload: what the XML declares -----------------------------------------------------------

def declared_calls(root: etree._Element) -> list[DeclaredCall]:
    """Every service task of the file with the connector it names and the inputs it maps."""
    found = []
    for node in root.iter(f"{{{NS['bpmn']}}}serviceTask"):
        operator = node.xpath("./bpmn:extensionElements/spiffworkflow:serviceTaskOperator", namespaces=NS)
        if operator:
            connector = operator[0].get("id") or None
            params = [p for p in operator[0].xpath("./spiffworkflow:parameters/spiffworkflow:parameter",
                                                   namespaces=NS) if p.get("id")]
            inputs = tuple(p.get("id") for p in params)
            expressions = tuple((p.get("id"), p.get("value") or "", p.sourceline) for p in params)
        else:
            connector, _params, _result = _camunda_declaration(node)
            params = [p for p in node.xpath("./bpmn:extensionElements/camunda:inputOutput/camunda:inputParameter",
                                            namespaces=NS) if p.get("name")]
            inputs = tuple(p.get("name") for p in params)
            outputs = node.xpath("./bpmn:extensionElements/camunda:inputOutput/camunda:outputParameter", namespaces=NS)
            expressions = tuple((p.get("name"), (p.text or "").strip() or "None", p.sourceline)
                                for p in [*params, *outputs] if p.get("name"))
        found.append(DeclaredCall(node.get("id") or "?", node.sourceline, connector, inputs, expressions))
    return found


def expression_problems(calls: list[DeclaredCall]) -> list[Problem]:
    """Parameter values are expressions of the sandbox's subset: checked before anything runs."""
    problems = []
    for call in calls:
        for name, expression, line in call.expressions:
            for err in sandbox.check_expression(expression):
                problems.append(Problem(vi("%(element)s: tham số '%(name)s' không an toàn hoặc sai cú pháp: %(error)s",
                                           element=call.element_id, name=name, error=err),
                                        call.element_id, line or call.line, code="unsafe_expression"))
    return problems


# -- at run time ---------------------------------------------------------------------------------

def _is_connector(task) -> bool:
    return isinstance(task.task_spec, (SpiffConnectorTask, CamundaConnectorTask))


def _call_of(task) -> ServiceCall:
    call = task._get_internal_data("connector_call") or {}
    return ServiceCall(str(task.id), task.task_spec.bpmn_id, call.get("connector") or "", dict(call.get("inputs") or {}),
                       task.task_spec.result_target)


def started_calls(run) -> list[ServiceCall]:
    """The calls the engine started during this run of the workflow object (since it was restored
    or started), still waiting: the step queues one job for each. Nothing scanned otherwise."""
    ids = run.workflow.__dict__.pop(_STARTED_ATTR, [])
    calls = []
    for task_id in dict.fromkeys(ids):
        task = run.workflow.get_task_from_id(task_id)
        if task is not None and task.state == TaskState.STARTED and _is_connector(task):
            calls.append(_call_of(task))
    return calls


def waiting_calls(run) -> list[ServiceCall]:
    """Every service task of the workflow waiting for its call (dry runs)."""
    return [_call_of(t) for t in run.workflow.get_tasks(state=TaskState.STARTED) if _is_connector(t)]


def _waiting_task(run, task_id: str):
    try:
        task = run.workflow.get_task_from_id(UUID(task_id))
    except Exception:  # noqa: BLE001 - Spiff raises its own TaskNotFoundException; a bad id is no task
        return None
    if task is None or not _is_connector(task) or task.state not in (TaskState.STARTED, TaskState.ERROR):
        return None
    return task


def is_waiting(run, task_id: str) -> bool:
    """The service task still waits for this call (else the call's answer is stale: the dossier
    was withdrawn, rewound, or the call already completed it)."""
    return _waiting_task(run, task_id) is not None


def complete_call(run, task_id: str, outputs: dict) -> dict | None:
    """Complete the service task with the connector's outputs (Camunda's `outputParameter`s
    evaluated over them, else under its result variable, else as they are) and run what follows;
    returns what went into the data, None when the task no longer waits. Raises EngineIncident
    like a step."""
    from .runner import ENGINE_FAILURES, EngineIncident  # noqa: PLC0415 - runner -> specs -> this module

    task = _waiting_task(run, task_id)
    if task is None:
        return None
    spec, outputs = task.task_spec, dict(outputs)
    try:
        if getattr(spec, "output_parameters", None):
            environment = task.workflow.script_engine.environment
            added = {name: environment.evaluate(expression, dict(outputs))
                     for name, expression in spec.output_parameters.items()}
        else:
            added = {spec.result_target: outputs} if spec.result_target else outputs
    except ENGINE_FAILURES as exc:
        raise EngineIncident(f"{spec.bpmn_id}: {getattr(exc, 'message', None) or exc}", spec.bpmn_id) from exc
    task.data.update(added)
    try:
        task._set_state(TaskState.STARTED)
        task.complete()
    except ENGINE_FAILURES as exc:
        element = task.task_spec.bpmn_id
        raise EngineIncident(f"{element}: {getattr(exc, 'message', None) or exc}", element) from exc
    run._engine_steps()
    return added


def fail_call(run, task_id: str, message: str) -> None:
    """The call failed for good: the task goes to ERROR (a technician's retry runs it again,
    which queues a new call) and the failure becomes the step's incident."""
    from .runner import EngineIncident  # noqa: PLC0415

    task = _waiting_task(run, task_id)
    if task is None:
        return
    task._set_state(TaskState.ERROR)
    raise EngineIncident(message, task.task_spec.bpmn_id)


def sample_inputs(bundle) -> dict:
    """Dry runs: the dossier's data a service task reads by a bare name (`citizen_id`), as an empty
    value, so the simulation reaches the call even without the data a dossier starts with."""
    out = {}
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        for ts in spec.task_specs.values():
            if isinstance(ts, SpiffConnectorTask):
                expressions = [p.get("value") for p in ts.operation_params.values()]
            elif isinstance(ts, CamundaConnectorTask):
                expressions = [e[2:-1].strip() if e.startswith("${") and e.endswith("}") else e
                               for e in ts.parameters.values()]
            else:
                continue
            out.update({e: "" for e in expressions if isinstance(e, str) and e.isidentifier()})
    return out


def complete_for_dry_run(run, outputs_of: dict) -> bool:
    """Complete every waiting call with sample outputs (`outputs_of`: connector -> outputs);
    False when none waits."""
    calls = waiting_calls(run)
    for call in calls:
        complete_call(run, call.task_id, outputs_of.get(call.connector) or {})
    return bool(calls)
