"""Running one dossier's workflow: start, restore, complete a human step, save.

The only place that drives SpiffWorkflow at run time. Callers see plain data
(`HumanTask`) and two exceptions: `TaskNotReady` and `EngineIncident`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID, uuid4

from datetime import datetime, timezone

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition as CamundaMessageDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition, TimeDateEventDefinition, TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from . import serializer
from .compaction import compact
from . import event_subprocesses, events, sandbox, schedule
from .sandbox import SandboxError
from .script_engine import make_script_engine
from .specs import SpecBundle

_SCRIPT_ENGINE = make_script_engine()


@dataclass(frozen=True)
class HumanTask:
    id: str
    step_id: str
    name: str
    lane: str | None
    item: object = None  # an instance of a multi-instance: its input item (routes `{item}`), else None


def _instance(task) -> tuple[object, str]:
    """(input item, what the name adds) of an instance of a multi-instance or a round of a loop:
    "(STC)" for an item from a collection, "#2" for the second by cardinality or loop round."""
    parent = task.parent
    spec = parent.task_spec if parent is not None else None
    if not isinstance(spec, (StandardLoopTask, MultiInstanceTask)) or task.task_spec.name != spec.task_spec:
        # not an instance itself (the step after a loop has it as parent too); a step inside an
        # instance of a multi-instance sub-process is named and routed by that instance
        outer_id = getattr(task.workflow, "parent_task_id", None)
        outer = task.workflow.top_workflow.get_task_from_id(outer_id) if outer_id is not None else None
        return _instance(outer) if outer is not None else (None, "")
    if isinstance(spec, StandardLoopTask):
        return None, f" #{task.internal_data.get('iteration', 0) + 1}"
    internal = task.internal_data
    if spec.input_item is not None and spec.input_item.exists(task):
        item = spec.input_item.get(task)
    else:
        item = internal.get("item", internal.get("key_or_index"))
    index = internal.get("key_or_index")
    by_collection = spec.data_input is not None or spec.cardinality is None
    if by_collection and isinstance(item, (str, int)) and not isinstance(item, bool) and len(str(item)) <= 60:
        return item, f" ({item})"
    position = index if isinstance(index, int) else item if isinstance(item, int) else None
    return item, f" #{position + 1}" if position is not None else ""


def parse_timer(kind: str, value: str) -> None:
    """Raise ValueError when an ISO 8601 timer value cannot be read the way the engine reads it,
    or is a cycle that would spin (`cycle_problem`)."""
    problem = None
    try:
        if kind == "timeCycle":
            problem = cycle_problem(value)
        elif kind == "timeDate":
            TimeDateEventDefinition.parse_time_or_duration(value)
        else:
            TimerEventDefinition.parse_iso_duration(value)
    except Exception as exc:  # noqa: BLE001 - Spiff raises bare Exception for bad durations
        raise ValueError(f"'{value}' ({kind}): {exc}") from None
    if problem:
        raise ValueError(problem)


# What the engine may raise while running a diagram: its own errors, and the plain exceptions a
# diagram the parser accepted can still trigger inside it (KeyError, TypeError, ...). Each becomes
# the dossier's incident, never a server error.
ENGINE_FAILURES = (SpiffWorkflowException, SandboxError, LookupError, TypeError, ValueError, AttributeError,
                   ArithmeticError, AssertionError, NameError)


# Budgets of one engine call (start, complete, timer, message, retry, return, each dry-run step):
# module constants so deployments and tests can tune them; read at call time.
MAX_ENGINE_STEPS = 500
"""Most tasks the engine may run in one call before it waits for a person or an event. Below
SpiffWorkflow's own horizon: its task iterator does not look deeper than 1,000 tasks, so a longer
run of tasks in one call would silently stop and the workflow would look finished."""
MAX_ENGINE_SECONDS = 5.0
"""Most CPU seconds one call may take (each script is also bounded by the sandbox's budget)."""
MAX_STATE_BYTES = 8_000_000
"""Largest workflow state a dossier may store (the data of every task kept, counted as JSON)."""
MIN_CYCLE_SECONDS = 60
"""Shortest interval of a repeating timer; MAX_TIMER_CYCLES bounds how often it repeats."""
MAX_TIMER_CYCLES = 1_000


def cycle_problem(value: str) -> str | None:
    """Why a timer cycle (`R3/PT1H`) would make the engine spin, or None. Shorter than a minute
    or without a count (`R/PT1H` repeats for ever) is refused, at upload and at run time."""
    cycles, _start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
    if cycles < 0:
        return f"'{value}' lặp lại vô hạn: ghi số lần lặp, ví dụ R3/PT1H (tối đa {MAX_TIMER_CYCLES})"
    if cycles > MAX_TIMER_CYCLES:
        return f"'{value}' lặp {cycles} lần (tối đa {MAX_TIMER_CYCLES})"
    if duration.total_seconds() < MIN_CYCLE_SECONDS:
        return f"'{value}' lặp lại sau chưa tới {MIN_CYCLE_SECONDS} giây (tối thiểu 1 phút)"
    return None


class TaskNotReady(Exception):
    """The task is not (or no longer) waiting for a person."""


class EngineIncident(Exception):
    """A script, condition or the engine failed: the dossier needs a technician."""

    def __init__(self, message: str, element_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.run: WorkflowRun | None = None  # the workflow as it stood, so the state can be saved


class StateTooLarge(EngineIncident):
    """The state a step would leave is past MAX_STATE_BYTES: it must not be written at all."""


def _spinning_cycle(task) -> str | None:
    """Why a repeating timer task would fire at every look, or None (a cycle computed by an
    expression is only known once the engine has evaluated it)."""
    definition = getattr(task.task_spec, "event_definition", None)
    value = task._get_internal_data("event_value")
    if not isinstance(definition, CycleTimerEventDefinition) or not isinstance(value, dict):
        return None
    cycles, seconds = value.get("cycles", 0), value.get("duration", 0)
    if cycles < 0 or cycles > MAX_TIMER_CYCLES or seconds < MIN_CYCLE_SECONDS:
        return (f"{task.task_spec.bpmn_id}: hẹn giờ lặp lại quá dày hoặc vô hạn ({cycles} lần, mỗi {seconds:g} "
                f"giây; cần tối đa {MAX_TIMER_CYCLES} lần, mỗi ít nhất {MIN_CYCLE_SECONDS} giây)")
    return None


class _Budget:
    """SpiffWorkflow's did_complete_task callback for one engine call: counts the tasks it runs and
    the CPU it takes, and stops a repeating timer that would spin, as soon as it first fires."""

    def __init__(self, cycles: bool) -> None:
        self.steps = 0
        self.started = time.thread_time()
        self.cycles = cycles

    def __call__(self, task) -> None:
        self.steps += 1
        element = getattr(task.task_spec, "bpmn_id", None)
        if self.cycles and task.parent is not None:
            problem = _spinning_cycle(task.parent)
            if problem:
                raise EngineIncident(problem, task.parent.task_spec.bpmn_id)
        if self.steps > MAX_ENGINE_STEPS:
            raise EngineIncident(f"{element or 'engine'}: quá {MAX_ENGINE_STEPS} bước tự động trong một lần chạy "
                                 "(vòng lặp không có điểm dừng?)", element)
        if time.thread_time() - self.started > MAX_ENGINE_SECONDS:
            raise EngineIncident(f"{element or 'engine'}: quá {MAX_ENGINE_SECONDS:g} giây xử lý trong một lần chạy "
                                 "(vòng lặp hoặc kịch bản quá nặng?)", element)


def _incident(exc: BaseException, element_id: str | None = None) -> EngineIncident:
    """The incident for an engine failure, at the failing task's element (else `element_id`)."""
    task = getattr(exc, "task", None)
    if task is not None:
        element_id = getattr(task.task_spec, "bpmn_id", None) or element_id
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
    def start(cls, bundle: SpecBundle, data: dict, timer_start: str | None = None) -> WorkflowRun:
        """New workflow with the dossier's data; raises EngineIncident if the first engine steps fail.
        `timer_start`: the timer start event a scheduled dossier starts past (engine/schedule.py)."""
        workflow = BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=_SCRIPT_ENGINE)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
        run = cls(workflow, bundle)
        try:
            try:
                schedule.settle_starts(workflow, timer_start)
            except ENGINE_FAILURES as exc:
                raise _incident(exc, timer_start) from exc
            run._engine_steps()
            if schedule.close_start(workflow, timer_start):
                run._engine_steps()
            run._message_start(data)
        except EngineIncident as exc:
            exc.run = run
            raise
        return run

    def _message_start(self, data: dict) -> None:
        """A main process that starts by a message (its only start event, checked at upload) starts
        at once: the dossier's start is that message, with the dossier's data."""
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            if task.workflow is self.workflow and isinstance(task.task_spec, StartEvent):
                for definition in events.message_definitions(task, named=False):
                    payload = ({"payload": dict(data), "result_var": definition.result_var}
                               if isinstance(definition, CamundaMessageDefinition) else dict(data))
                    try:
                        self.workflow.send_event(BpmnEvent(definition, payload))
                    except ENGINE_FAILURES as exc:
                        raise _incident(exc, task.task_spec.bpmn_id) from exc
                    self._engine_steps()
                    return

    @classmethod
    def restore(cls, bundle: SpecBundle, state: str) -> WorkflowRun:
        workflow = serializer.loads(state, bundle)
        workflow.script_engine = _SCRIPT_ENGINE
        return cls(workflow, bundle)

    def dumps(self) -> str:
        """The state to store: first the completed past nothing needs is dropped (bounded state).
        Raises StateTooLarge, naming the step holding the most data, when the state would be
        stored past MAX_STATE_BYTES (checked on the serialised text: walking every task's data
        beforehand cost a completion as much CPU as serialising it)."""
        compact(self.workflow)
        state = serializer.dumps(self.workflow, self.bundle.dialect)
        if len(state) > MAX_STATE_BYTES:
            element = self._fattest_element()
            raise StateTooLarge(f"{element or 'engine'}: dữ liệu hồ sơ vượt quá {MAX_STATE_BYTES:,} byte", element)
        return state

    def check_size(self) -> None:
        """Raise StateTooLarge when the data the workflow keeps is past MAX_STATE_BYTES, without
        serialising it: the dry run's check (it keeps every task, so it cannot afford `dumps`)."""
        size = 0
        for task in self._all_tasks():
            size += sandbox.data_bytes(task.data, MAX_STATE_BYTES)
            if size > MAX_STATE_BYTES:
                element = getattr(task.task_spec, "bpmn_id", None)
                raise StateTooLarge(f"{element or 'engine'}: dữ liệu hồ sơ vượt quá {MAX_STATE_BYTES:,} byte", element)

    def _all_tasks(self) -> list:
        """Every task stored with the workflow, those of its sub-processes and called processes too."""
        subprocesses = [sp.tasks.values() for sp in self.workflow.subprocesses.values()]
        return [t for tasks in (self.workflow.tasks.values(), *subprocesses) for t in tasks]

    def _waiting_tasks(self) -> list:
        """The tasks waiting (timers, catch events, event-based gateways), as
        `get_tasks(state=WAITING)` finds them but without walking the tree (each step asks twice or
        more; a walk follows every parent and child by id): a task waits only under definite
        parents, and that walk descends into every sub-process, so the flat list is the same set."""
        return [t for t in self._all_tasks() if t.state == TaskState.WAITING]

    def _fattest_element(self) -> str | None:
        """The BPMN element whose task keeps the most data."""
        fattest = max(self._all_tasks(), key=lambda t: sandbox.data_bytes(t.data, MAX_STATE_BYTES), default=None)
        return getattr(fattest.task_spec, "bpmn_id", None) if fattest is not None else None

    @property
    def completed(self) -> bool:
        return self.workflow.is_completed()

    def ready_human_tasks(self) -> list[HumanTask]:
        found = []
        for t in self.workflow.get_tasks(state=TaskState.READY):
            if isinstance(t.task_spec, (UserTask, ManualTask)):
                item, suffix = _instance(t)
                name = t.task_spec.bpmn_name or t.task_spec.bpmn_id
                found.append(HumanTask(str(t.id), t.task_spec.bpmn_id, name + suffix, t.task_spec.lane, item))
        return found

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
        except ENGINE_FAILURES as exc:
            raise _incident(exc) from exc
        self._engine_steps()

    def final_data(self) -> dict:
        """The data on the last path that ran (what a dry run shows at its end)."""
        last = self.workflow.last_task
        return dict(last.data) if last is not None else {}

    def cancel(self) -> None:
        """Stop the workflow where it stands (a dossier refused or finished with paths still open)."""
        self.workflow.cancel()

    def ended_at(self) -> list[str]:
        """The end events of the main process this workflow has reached (sub-processes' own ends
        do not end the dossier). Read before `dumps`: compaction drops the completed past."""
        return [t.task_spec.bpmn_id for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
                if isinstance(t.task_spec, EndEvent)
                and (t.workflow is self.workflow or event_subprocesses.is_event_subprocess(self.workflow, t.workflow))]

    def _callers(self, task) -> list:
        """The task, then the call activity (or sub-process) task that started its workflow, and so
        on up to the main process."""
        chain = [task]
        while chain[-1].workflow is not self.workflow and chain[-1].workflow.parent_task_id is not None:
            chain.append(self.workflow.get_task_from_id(chain[-1].workflow.parent_task_id))
        return chain

    def _after(self, task, done) -> bool:
        """`task` comes after `done` on one path, across called processes and sub-processes: it
        descends from `done`, or from a call activity that ran `done` (tasks after a call activity
        run once its call has ended; a parallel branch of the same call descends from neither)."""
        callers = self._callers(task)
        return any(t.is_descendant_of(a) for a in self._callers(done) for t in callers)

    def reset_to(self, step_id: str) -> None:
        """Rewind to the last completed run of human step `step_id` (return-to-step): it becomes
        ready again and everything after it is dropped. Only a step that every open human task
        descends from is allowed, so no branch is left running past the point returned to.
        Raises TaskNotReady when there is no such step."""
        ready = [t for t in self.workflow.get_tasks(state=TaskState.READY)
                 if isinstance(t.task_spec, (UserTask, ManualTask))]
        candidates = [t for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
                      if isinstance(t.task_spec, (UserTask, ManualTask)) and t.task_spec.bpmn_id == step_id
                      and all(self._after(r, t) for r in ready)]
        if not candidates:
            raise TaskNotReady(step_id)
        target = max(candidates, key=lambda t: t.last_state_change)
        try:
            self.workflow.reset_from_task_id(target.id)
        except ENGINE_FAILURES as exc:
            raise _incident(exc) from exc
        self.workflow.completed = False  # Spiff keeps the flag of a workflow that had ended
        # A new run of the step is a new work item: give the task a fresh id, so the completed
        # run keeps its row (history, process control slip) and ids stay unique.
        owner, old = target.workflow, target.id
        owner.tasks.pop(old, None)
        target.id = uuid4()
        owner.tasks[target.id] = target
        if target._parent is not None:
            parent = owner.tasks[target._parent]
            parent._children = [target.id if cid == old else cid for cid in parent._children]
        for child in target.children:
            child._parent = target.id
        self._engine_steps()

    def next_timer_at(self) -> datetime | None:
        """The earliest due time among the timers the workflow waits on (for the timer job)."""
        times = []
        for task in self._waiting_tasks():
            definition = events.timer_definition(task)  # its own, or an event-based gateway's
            if definition is None:
                continue
            value = task._get_internal_data("event_value")
            if isinstance(definition, CycleTimerEventDefinition) and isinstance(value, dict):
                value = value.get("next")
            if value is None:
                times.append(datetime.now(timezone.utc))  # not evaluated yet: look at it now
                continue
            try:
                times.append(TimerEventDefinition.get_datetime(value) if isinstance(value, str) else value)
            except (TypeError, ValueError):
                times.append(datetime.now(timezone.utc))
        return min(times) if times else None

    def waiting_at(self) -> set[str]:
        """The ids of the elements the workflow waits at (timers, catch events, event-based gateways)."""
        return {task.task_spec.bpmn_id for task in self._waiting_tasks() if task.task_spec.bpmn_id}

    def _waiting_timers(self) -> dict:
        return {task.id: (task.task_spec.bpmn_id, repr(task._get_internal_data("event_value")))
                for task in self._waiting_tasks() if events.timer_definition(task)}

    def fire_timers(self) -> list[str]:
        """Let due timers fire and run what follows; returns the ids of the timer events that fired.
        Raises EngineIncident like a step."""
        before = self._waiting_timers()
        try:
            self.workflow.refresh_waiting_tasks()
        except ENGINE_FAILURES as exc:
            raise _incident(exc) from exc
        after = self._waiting_timers()
        fired = [self._timer_element(task_id, bpmn_id) for task_id, (bpmn_id, value) in before.items()
                 if task_id not in after or after[task_id][1] != value]
        if fired:
            self._engine_steps()
        return fired

    def _timer_element(self, task_id, bpmn_id: str) -> str:
        """The timer event that fired: an event-based gateway's wait is named by its timer's branch."""
        try:
            task = self.workflow.get_task_from_id(task_id) if bpmn_id in self.bundle.event_gateways else None
        except SpiffWorkflowException:
            task = None
        return events.gateway_branch(task, events.timer_definition(task)) if task is not None else bpmn_id

    def fast_forward_timers(self) -> list[str]:
        """Make every waiting timer due now (dry runs and simulations: no real waiting)."""
        past = "1970-01-01T00:00:00+00:00"
        self.workflow.refresh_waiting_tasks()  # evaluates timers not yet evaluated
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            if events.timer_definition(task) is None:
                continue
            value = task._get_internal_data("event_value")
            if isinstance(value, dict):
                task._set_internal_data(event_value={**value, "next": past})
            else:
                task._set_internal_data(event_value=past)
        return self.fire_timers()

    def _message_catchers(self, name: str | None = None) -> list:
        """Waiting message catch events (intermediate or boundary, either dialect: Camunda's
        definition subclasses the BPMN one), those for `name` only when given. A message without
        a name cannot be addressed and is left out."""
        return [t for t in self.workflow.get_tasks(state=TaskState.WAITING)
                if any(name is None or d.name == name for d in events.message_definitions(t))]

    def waiting_messages(self) -> list[str]:
        """The message names the workflow waits for now."""
        catchers = self._message_catchers()
        if not self.bundle.has_event_subprocesses:
            return sorted({d.name for t in catchers for d in events.message_definitions(t)})
        # then those that would start an event sub-process (a dry run delivers the first one first)
        starting = {t for t in catchers if event_subprocesses.enclosing(self.workflow, t) is not None}
        caught = sorted({d.name for t in catchers if t not in starting for d in events.message_definitions(t)})
        starts = {t.task_spec.event_definition.name for t in starting} | set(event_subprocesses.message_starts(self.workflow))
        return caught + sorted(starts - set(caught))

    def deliver_message(self, name: str, data: dict) -> bool:
        """Deliver a message with its data (merged into the dossier's data on that path).
        False when the workflow is not waiting for it; raises EngineIncident like a step: any
        failure of the engine or the script engine while delivering, never another exception."""
        catchers = self._message_catchers(name)
        if not catchers:
            return self._start_event_subprocess(name, data)
        data = dict(data or {})
        for task in catchers:
            owner = event_subprocesses.enclosing(self.workflow, task) if self.bundle.has_event_subprocesses else None
            if owner is not None:  # an event sub-process waiting since its process started: today's data
                task.data = {**task.data, **event_subprocesses.current_data(owner)}
            task.data.update(data)
        # the task's own message, or the one an event-based gateway waits for among its events
        definition = next(d for d in events.message_definitions(catchers[0]) if d.name == name)
        # Camunda's definition copies event.payload["payload"] into the task under
        # payload["result_var"] (camunda:resultVariable, else "<task>_Response"); the data itself
        # is already merged above, as a Camunda message correlation does.
        payload = ({"payload": dict(data), "result_var": definition.result_var}
                   if isinstance(definition, CamundaMessageDefinition) else data)
        correlations = {}
        if definition.correlation_properties:  # the dossier is the correlation (events.correlated)
            payload, correlations = events.correlated(catchers[0], definition, payload)
        try:
            self.workflow.send_event(BpmnEvent(definition, payload, correlations))
        except ENGINE_FAILURES as exc:
            raise _incident(exc, catchers[0].task_spec.bpmn_id) from exc
        self._engine_steps()
        return True

    def _start_event_subprocess(self, name: str, data: dict) -> bool:
        """A message that starts an event sub-process, of the main process or of a running
        sub-process or called process (each running one that has it starts one): it starts with
        the data of the path that moved last in its enclosing process, and the message's."""
        if not self.bundle.has_event_subprocesses:
            return False
        targets = event_subprocesses.message_starts(self.workflow).get(name)
        if not targets:
            return False
        data = dict(data or {})
        for owner, start, spec_name in targets:
            definition = start.event_definition
            payload = ({"payload": dict(data), "result_var": definition.result_var}
                       if isinstance(definition, CamundaMessageDefinition) else data)
            before = set(self.workflow.subprocesses)
            base = event_subprocesses.current_data(owner)
            try:
                if owner is self.workflow:
                    self.workflow.send_event(BpmnEvent(definition, payload))
                else:  # SpiffWorkflow starts only the main process's: the one of the sub-process, then its start catches
                    target = event_subprocesses.trigger(self.workflow, owner, spec_name)
                    self.workflow.send_event(BpmnEvent(definition, payload, target=target))
                for sp_id in set(self.workflow.subprocesses) - before:
                    for task in self.workflow.subprocesses[sp_id].tasks.values():
                        task.data = {**task.data, **base, **data}
            except ENGINE_FAILURES as exc:
                raise _incident(exc, start.bpmn_id) from exc
        self._engine_steps()
        return True

    def _check_cycles(self) -> None:
        """A cycle computed by an expression is checked once the engine has evaluated it, as upload
        checks a literal one: a zero interval would fire at every look, for ever."""
        for task in self.workflow.get_tasks(state=TaskState.WAITING):
            problem = _spinning_cycle(task)
            if problem:
                raise EngineIncident(problem, task.task_spec.bpmn_id)

    def has_errors(self) -> bool:
        return bool(self.workflow.get_tasks(state=TaskState.ERROR))

    def thrown_events(self) -> list[dict]:
        """The messages, signals and escalations thrown since last asked, for the dossier's history:
        {element_id, kind, name, caught}; one caught by nothing in the dossier has gone on."""
        return events.thrown(self.workflow)

    def failed_steps(self) -> list[str]:
        return [t.task_spec.bpmn_id for t in self.workflow.get_tasks(state=TaskState.ERROR)]

    def retry(self, data: dict | None = None) -> None:
        """Re-run the tasks that failed, with corrected data merged in, then continue.
        Raises EngineIncident if they fail again."""
        for task in self.workflow.get_tasks(state=TaskState.ERROR):
            task.data.update(data or {})
            task._set_state(TaskState.READY)
        self._engine_steps()

    def _engine_steps(self) -> None:
        """Run everything that needs no person, within one call's budget; none tasks (`bpmn:task`)
        pass through, as in Camunda."""
        budget = _Budget(self.bundle.has_cycle_timers)
        try:
            while True:
                self.workflow.do_engine_steps(did_complete_task=budget)
                if self.bundle.has_event_subprocesses and event_subprocesses.settle(self.workflow):  # interrupted, or only untriggered ones left
                    continue
                if self.bundle.has_cycle_timers:
                    self._check_cycles()
                if not self.bundle.has_none_tasks:  # no extra scan of the tree on most diagrams
                    return
                passing = [t for t in self.workflow.get_tasks(state=TaskState.READY)
                           if isinstance(t.task_spec, NoneTask)]
                if not passing:
                    return
                for task in passing:
                    task.run()
                    budget(task)
        except EngineIncident:
            raise
        except RecursionError as exc:
            raise EngineIncident(f"engine: {exc}") from exc
        except ENGINE_FAILURES as exc:
            raise _incident(exc) from exc
