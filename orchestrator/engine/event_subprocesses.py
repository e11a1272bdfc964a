"""Event sub-processes (`subProcess triggeredByEvent="true"`) of the main process, started by a
timer or a message, interrupting or not.

SpiffWorkflow 3 starts them (a timer start waits from the process's start; a message start is
created when the message arrives) but ignores `isInterrupting`, and a process whose main path has
ended keeps waiting on a timer start that never fired. `settle` does what BPMN says, after every
engine call: an interrupting one that started cancels the rest of the process (the steps open
elsewhere, the other event sub-processes); once nothing but untriggered event sub-processes is
left, they are cancelled and the process ends.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import EventSubprocess
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

INTERRUPTED = "event_sub_process_interrupted"


def _is_event_spec(task_spec) -> bool:
    """An event sub-process's task (`specs.build_spec` marks it with `interrupting`: whichever
    dialect's parser built it, it is not always SpiffWorkflow's EventSubprocess class)."""
    return isinstance(task_spec, EventSubprocess) or hasattr(task_spec, "interrupting")


def _event_tasks(workflow) -> list:
    return [t for t in workflow.tasks.values() if _is_event_spec(t.task_spec)]


def _triggered(workflow, task) -> bool:
    sp = workflow.subprocesses.get(task.id)
    return sp is not None and any(isinstance(t.task_spec, StartEvent) and t.state == TaskState.COMPLETED
                                  for t in sp.tasks.values())


def interrupting(task_spec) -> bool:
    return getattr(task_spec, "interrupting", True)


def message_starts(workflow) -> dict[str, object]:
    """Message name -> start event spec of the main process's event sub-processes a message may
    start now: none once the process has ended or was interrupted."""
    if workflow.is_completed() or workflow.data.get(INTERRUPTED):
        return {}
    found = {}
    for name in workflow.spec.start.trigger_specs:
        spec = workflow.subprocess_specs.get(name)
        for start in getattr(spec, "bpmn_start_events", []):
            definition = start.event_definition
            if isinstance(definition, MessageEventDefinition) and isinstance(definition.name, str):
                found.setdefault(definition.name, start)
    return found


def settle(workflow) -> bool:
    """Interrupt for an interrupting event sub-process that started; cancel the untriggered ones
    once the rest of the process has ended. True when something changed (run the engine again)."""
    events = _event_tasks(workflow)
    if not events:
        return False
    changed = False
    for task in events:
        if (task.state & TaskState.NOT_FINISHED_MASK and interrupting(task.task_spec)
                and _triggered(workflow, task) and not workflow.data.get(INTERRUPTED)):
            workflow.data[INTERRUPTED] = task.task_spec.bpmn_id
            for other in list(workflow.tasks.values()):
                if (other.id in workflow.tasks and other.state & TaskState.NOT_FINISHED_MASK and other is not task
                        and not other.is_descendant_of(task) and not task.is_descendant_of(other)):
                    other.cancel()
            changed = True
    waiting = [t for t in _event_tasks(workflow)
               if t.state & TaskState.NOT_FINISHED_MASK and not _triggered(workflow, t)]
    if not waiting:
        return changed
    rest = [t for t in workflow.tasks.values()
            if t.state & (TaskState.DEFINITE_MASK | TaskState.ERROR) and not isinstance(t.task_spec, _EndJoin)
            and t.task_spec.name != "End" and t not in waiting
            and not any(t.is_descendant_of(w) for w in waiting)]
    if rest:
        return changed
    for task in waiting:
        task.cancel()
    for join in [t for t in workflow.tasks.values() if isinstance(t.task_spec, _EndJoin) and t.state == TaskState.WAITING]:
        join.task_spec._update(join)  # the end waited for them: it may go now
    return True


def is_event_subprocess(workflow, sub) -> bool:
    """Whether sub-workflow `sub` is an event sub-process of the main process (its end events may
    end the dossier with their outcome)."""
    owner = workflow.tasks.get(getattr(sub, "parent_task_id", None))
    return owner is not None and _is_event_spec(owner.task_spec)


def current_data(workflow) -> dict:
    """The data of the main process's path that moved last (what a message's sub-process starts with)."""
    moving = [t for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
              if t.workflow is workflow and not _is_event_spec(t.task_spec)]
    if not moving:
        return dict(workflow.last_task.data) if workflow.last_task is not None else {}
    return dict(max(moving, key=lambda t: t.last_state_change).data)


def untriggered(workflow, task) -> bool:
    """An event sub-process of the main process still waiting for its start (compaction leaves it be)."""
    return (task.workflow is workflow and _is_event_spec(task.task_spec)
            and bool(task.state & TaskState.NOT_FINISHED_MASK) and not _triggered(workflow, task))
