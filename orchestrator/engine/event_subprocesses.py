"""Event sub-processes (`subProcess triggeredByEvent="true"`), started by a timer or a message,
interrupting or not, of the main process or of an embedded sub-process or called process (their
"enclosing" process: each SpiffWorkflow (sub-)workflow holds its own).

SpiffWorkflow 3 starts them (a timer start waits from its enclosing process's start; a message
start of the main process is created when the message arrives, one of a sub-process is created
here, with SpiffWorkflow's own `trigger_wf`) but ignores `isInterrupting`, and a process whose
main path has ended keeps waiting on a timer start that never fired. `settle` does what BPMN says,
after every engine call, in each running (sub-)workflow: an interrupting one that started cancels
the rest of its enclosing process (the steps open elsewhere in it, its other event sub-processes;
the enclosing sub-process then completes through the event sub-process's end and its caller goes
on); once nothing but untriggered event sub-processes is left, they are cancelled and the
enclosing process ends.
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


def _owners(workflow) -> list:
    """The main process, then each sub-process or called process still running whose spec holds
    event sub-processes (`specs.build_spec` marks it): each settles its own."""
    return [workflow] + [sp for sp in workflow.subprocesses.values()
                         if not sp.completed and getattr(sp.spec, "has_event_subprocesses", False)]


def _triggered(workflow, task) -> bool:
    """`workflow` is the main workflow (it keeps every sub-process, nested ones too)."""
    sp = workflow.subprocesses.get(task.id)
    return sp is not None and any(isinstance(t.task_spec, StartEvent) and t.state == TaskState.COMPLETED
                                  for t in sp.tasks.values())


def interrupting(task_spec) -> bool:
    return getattr(task_spec, "interrupting", True)


def message_starts(workflow) -> dict[str, list]:
    """Message name -> [(enclosing workflow, start event spec, event sub-process spec name)] of the
    event sub-processes a message may start now: those of the main process and of each running
    sub-process or called process; none of a process that has ended or was interrupted."""
    found: dict[str, list] = {}
    for owner in _owners(workflow):
        if owner.is_completed() or owner.data.get(INTERRUPTED):
            continue
        for name in owner.spec.start.trigger_specs:
            spec = workflow.subprocess_specs.get(name)
            for start in getattr(spec, "bpmn_start_events", []):
                definition = start.event_definition
                if isinstance(definition, MessageEventDefinition) and isinstance(definition.name, str):
                    starts = found.setdefault(definition.name, [])
                    if not any(o is owner for o, _s, _n in starts):
                        starts.append((owner, start, name))
    return found


def trigger(workflow, owner, name: str):
    """Create event sub-process `name` in sub-process `owner` (SpiffWorkflow's `trigger_wf`, which
    it only calls for the main process's); returns its workflow, its start waiting."""
    child_id = owner.spec.start.trigger_wf(owner.task_tree, name)
    child = owner.tasks[child_id]
    # trigger_wf adds the task without the path to the sub-process's end: without it, the enclosing
    # sub-process would never complete (the main process is seen as ended once nothing is open)
    child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
    return workflow.subprocesses[child_id]


def enclosing(workflow, task):
    """The (sub-)workflow whose event sub-process `task` starts (a start event of an event
    sub-process, waiting), else None."""
    owner = workflow.get_task_from_id(getattr(task.workflow, "parent_task_id", None) or task.id)
    if owner is None or owner is task or not _is_event_spec(owner.task_spec) or not isinstance(task.task_spec, StartEvent):
        return None
    return owner.workflow


def settle(workflow) -> bool:
    """Interrupt for an interrupting event sub-process that started; cancel the untriggered ones
    once the rest of their enclosing process has ended; in the main process and in each running
    sub-process. True when something changed (run the engine again)."""
    changed = False
    for owner in _owners(workflow):
        changed = _settle(workflow, owner) or changed
    return changed


def _settle(workflow, owner) -> bool:
    events = _event_tasks(owner)
    if not events:
        return False
    changed = False
    for task in events:
        if (task.state & TaskState.NOT_FINISHED_MASK and interrupting(task.task_spec)
                and _triggered(workflow, task) and not owner.data.get(INTERRUPTED)):
            owner.data[INTERRUPTED] = task.task_spec.bpmn_id
            for other in list(owner.tasks.values()):
                if (other.id in owner.tasks and other.state & TaskState.NOT_FINISHED_MASK and other is not task
                        and not other.is_descendant_of(task) and not task.is_descendant_of(other)):
                    other.cancel()
            changed = True
    waiting = [t for t in _event_tasks(owner)
               if t.state & TaskState.NOT_FINISHED_MASK and not _triggered(workflow, t)]
    if not waiting:
        return changed
    rest = [t for t in owner.tasks.values()
            if t.state & (TaskState.DEFINITE_MASK | TaskState.ERROR) and not isinstance(t.task_spec, _EndJoin)
            and t.task_spec.name != "End" and t not in waiting
            and not any(t.is_descendant_of(w) for w in waiting)]
    if rest:
        return changed
    for task in waiting:
        task.cancel()
    for join in [t for t in owner.tasks.values() if isinstance(t.task_spec, _EndJoin) and t.state == TaskState.WAITING]:
        join.task_spec._update(join)  # the end waited for them: it may go now
    return True


def is_event_subprocess(workflow, sub) -> bool:
    """Whether sub-workflow `sub` is an event sub-process of the main process (its end events may
    end the dossier with their outcome)."""
    owner = workflow.tasks.get(getattr(sub, "parent_task_id", None))
    return owner is not None and _is_event_spec(owner.task_spec)


def current_data(workflow) -> dict:
    """The data of `workflow`, the main process or a sub-process, as it stands: that of its open
    paths and of the step that completed last, the latest winning (what a message's event
    sub-process starts with)."""
    moving = [t for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
              if t.workflow is workflow and not _is_event_spec(t.task_spec)]
    if workflow.last_task is not None and workflow.last_task.workflow is workflow:
        moving.append(workflow.last_task)
    data: dict = {}
    for task in sorted(moving, key=lambda t: t.last_state_change):
        data.update(task.data)
    return data


def untriggered(workflow, task) -> bool:
    """An event sub-process of the main process still waiting for its start (compaction leaves it be)."""
    return (task.workflow is workflow and _is_event_spec(task.task_spec)
            and bool(task.state & TaskState.NOT_FINISHED_MASK) and not _triggered(workflow, task))
