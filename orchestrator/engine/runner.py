"""Running one dossier's workflow: start, restore, complete a human step, save.

The only place that drives SpiffWorkflow at run time. Callers see plain data
(`HumanTask`) and two exceptions: `TaskNotReady` and `EngineIncident`.
"""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import serializer
from .script_engine import make_script_engine
from .specs import SpecBundle

_SCRIPT_ENGINE = make_script_engine()


@dataclass(frozen=True)
class HumanTask:
    id: str
    step_id: str
    name: str
    lane: str | None


class TaskNotReady(Exception):
    """The task is not (or no longer) waiting for a person."""


class EngineIncident(Exception):
    """A script, condition or the engine failed: the dossier needs a technician."""

    def __init__(self, message: str, element_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.run: WorkflowRun | None = None  # the workflow as it stood, so the state can be saved


def _incident(exc: Exception) -> EngineIncident:
    element_id = None
    task = getattr(exc, "task", None)
    if task is not None:
        element_id = getattr(task.task_spec, "bpmn_id", None)
    cause = exc
    while getattr(cause, "__cause__", None) is not None:
        cause = cause.__cause__
    detail = getattr(cause, "message", None) or str(cause) or cause.__class__.__name__
    return EngineIncident(f"{element_id or 'engine'}: {detail}", element_id)


class WorkflowRun:
    def __init__(self, workflow: BpmnWorkflow, bundle: SpecBundle):
        self.workflow = workflow
        self.bundle = bundle

    @classmethod
    def start(cls, bundle: SpecBundle, data: dict) -> WorkflowRun:
        """New workflow with the dossier's data; raises EngineIncident if the first engine steps fail."""
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=_SCRIPT_ENGINE)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
        run = cls(workflow, bundle)
        try:
            run._engine_steps()
        except EngineIncident as exc:
            exc.run = run
            raise
        return run

    @classmethod
    def restore(cls, bundle: SpecBundle, state: str) -> WorkflowRun:
        workflow = serializer.loads(state, bundle)
        workflow.script_engine = _SCRIPT_ENGINE
        return cls(workflow, bundle)

    def dumps(self) -> str:
        return serializer.dumps(self.workflow, self.bundle.dialect)

    @property
    def completed(self) -> bool:
        return self.workflow.is_completed()

    def ready_human_tasks(self) -> list[HumanTask]:
        return [
            HumanTask(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id, t.task_spec.lane)
            for t in self.workflow.get_tasks(state=TaskState.READY)
            if isinstance(t.task_spec, (UserTask, ManualTask))
        ]

    def task_data(self, task_id: str) -> dict:
        task = self.workflow.get_task_from_id(UUID(task_id))
        return dict(task.data) if task else {}

    def complete(self, task_id: str, data: dict) -> None:
        """Complete a human task with its form data and run what follows up to the next wait."""
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except Exception:  # noqa: BLE001 - Spiff raises its own TaskNotFoundException
            task = None
        if task is None or task.state != TaskState.READY or not isinstance(task.task_spec, (UserTask, ManualTask)):
            raise TaskNotReady(task_id)
        task.data.update(data)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise _incident(exc) from exc
        self._engine_steps()

    def has_errors(self) -> bool:
        return bool(self.workflow.get_tasks(state=TaskState.ERROR))

    def retry(self) -> None:
        """Re-run tasks that failed (after a fix), then continue."""
        for task in self.workflow.get_tasks(state=TaskState.ERROR):
            task._set_state(TaskState.READY)
        self._engine_steps()

    def _engine_steps(self) -> None:
        try:
            self.workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            raise _incident(exc) from exc
        except RecursionError as exc:
            raise EngineIncident(f"engine: {exc}") from exc
