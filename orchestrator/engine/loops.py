"""Loop markers at run time: multi-instance activities and standard loops, bounded.

SpiffWorkflow creates every instance of a parallel multi-instance at once, from a collection of
the dossier's data or a cardinality computed by an expression: MAX_LOOP (model.py) bounds it
before any instance exists (an incident at the element, naming the count), so one engine call's
budget and the state's byte cap hold. A standard loop's loopMaximum is required at upload
(`model._loop_problems`); a spec built from an older diagram is capped here too.
"""
from __future__ import annotations

from collections.abc import MutableMapping, Sized

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask, ParallelMultiInstanceTask, SequentialMultiInstanceTask, StandardLoopTask,
)

from .model import MAX_LOOP


def _count(spec: MultiInstanceTask, my_task) -> int | None:
    """How many instances the activity would run for this task's data (None: not known yet)."""
    source = spec.data_input or (spec.data_output if spec.cardinality is None else None)
    if source is not None:
        if not source.exists(my_task):
            return None  # SpiffWorkflow reports the missing input itself
        value = source.get(my_task)
        return len(value) if isinstance(value, Sized) else None
    value = my_task.workflow.script_engine.evaluate(my_task, spec.cardinality)
    return len(value) if isinstance(value, Sized) else value if isinstance(value, int) else None


OVER = "over_limit"  # internal data of a multi-instance task stopped by the bound (its incident)


class _Bounded:
    """Checks the count before SpiffWorkflow creates any instance. Past MAX_LOOP the task goes to
    ERROR with an incident at its element, no instance created; the technician's retry (with a
    corrected collection) runs it again from there, on the data the retry gave it."""

    def _update_hook(self, my_task):
        my_task._inherit_data()  # what the instances would see (SpiffWorkflow merges it again: no change)
        count = _count(self, my_task)
        if count is not None and count > MAX_LOOP:
            my_task.internal_data[OVER] = count
            my_task._set_state(TaskState.ERROR)
            raise WorkflowDataException(f"{count} thể hiện, quá giới hạn {MAX_LOOP} thể hiện của một tác vụ đa thể "
                                        "hiện", my_task)
        return super()._update_hook(my_task)

    def _run_hook(self, my_task):
        if my_task.internal_data.pop(OVER, None) is None:
            return super()._run_hook(my_task)
        # Retried after the incident: open the instances now, on the task's corrected data (not
        # merged again with its parent's, which still holds the collection that was too large).
        my_task._inherit_data = lambda: None
        try:
            ready = self._update_hook(my_task)
        finally:
            del my_task._inherit_data
        return True if ready else None

    def init_data_output_with_cardinality(self, my_task):
        # SpiffWorkflow 3's own version misspells a name (`data_ouput`): a NameError, past the
        # runner's incidents, whenever the output collection already exists.
        if not self.data_output.exists(my_task):
            self.data_output.set(my_task, [])
        elif not isinstance(self.data_output.get(my_task), MutableMapping) and len(self.data_output.get(my_task)) > 0:
            self.raise_data_exception("With a loop cardinality, the output must be a map (dict) or an empty list",
                                      my_task)

    def add_next_child(self, my_task):  # sequential only
        # Without an output item SpiffWorkflow merges each instance's data back, its input item
        # too, then refuses to open the next instance because that item "already exists".
        if self.input_item is not None and self.output_item is None:
            my_task.data.pop(self.input_item.bpmn_id, None)
        return super().add_next_child(my_task)


_bounded: dict[type, type] = {}


def _subclass(cls: type) -> type:
    if cls not in _bounded:
        _bounded[cls] = type(f"Bounded{cls.__name__}", (_Bounded, cls), {})
    return _bounded[cls]


def bound(task_specs) -> None:
    """Give the loop specs of a freshly parsed diagram their limits (the spec is never serialised:
    the state names task specs only, so the class may change)."""
    for spec in task_specs:
        bounded = type(spec) in _bounded.values()
        if isinstance(spec, (ParallelMultiInstanceTask, SequentialMultiInstanceTask)) and not bounded:
            spec.__class__ = _subclass(type(spec))
        elif isinstance(spec, StandardLoopTask) and (spec.maximum is None or spec.maximum > MAX_LOOP):
            spec.maximum = MAX_LOOP
