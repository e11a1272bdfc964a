"""Run a diagram with a designer's sample data and report the path it takes.

Publish's `dry_run` and the back office's dry-run page run this one simulation: publish only
asks "does it finish", the page shows the steps in order, who would receive each one and when
it would be due. This runs the same engine (`WorkflowRun`, the sandboxed script engine) entirely in memory: no
dossier, no database.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..i18n import vi
from . import decisions, service_tasks
from .runner import EngineIncident, WorkflowRun
from .specs import SpecBundle
from .problems import Problem
from .validation import sample_value


@dataclass(frozen=True)
class SimulatedStep:
    step_id: str
    name: str
    lane_id: str | None
    data: dict
    item: object = None  # an instance of a multi-instance: its input item (a `{item}` route's unit)


@dataclass
class Simulation:
    steps: list[SimulatedStep] = field(default_factory=list)
    completed: bool = False
    problem: str | None = None
    problem_element: str | None = None
    final_data: dict = field(default_factory=dict)


def step_data(schema: dict, sample: dict) -> dict:
    """The values a step's form would submit: the designer's sample where given, else a valid default,
    limited to the form's own fields (forms refuse unknown fields at run time, so must we)."""
    out = {}
    for name, prop in (schema.get("properties") or {}).items():
        out[name] = sample[name] if name in sample else sample_value(prop)
    return out


MAX_SECONDS = 20.0
"""Most CPU seconds a whole simulation may take (each engine call has its own budget too)."""


def simulate(bundle: SpecBundle, model: dict, step_forms: dict[str, dict], sample: dict,
             max_steps: int = 200, service_outputs: dict | None = None) -> Simulation:
    """Complete each ready human step in turn with `sample` and record the order of steps. Timers
    are made due at once and every message awaited is delivered (empty), so a diagram that waits
    on them still runs to its end. The state is held to the size a dossier may store, and the run to
    MAX_SECONDS. `step_forms`: step id -> the form its officers fill in."""
    tasks_by_id = {t["id"]: t for t in model["user_tasks"]}
    result = Simulation()
    started = time.thread_time()
    try:
        run = WorkflowRun.start(bundle, {**service_tasks.sample_inputs(bundle), **decisions.sample_inputs(bundle),
                                         **_loop_samples(model), **sample},
                               # a procedure started only by its schedule runs as a scheduled dossier would
                               timer_start=None if model.get("plain_start", True) or not model.get("timer_starts")
                               else model["timer_starts"][0]["element_id"])
        for n in range(max_steps):
            if n % 10 == 0:  # the dry run keeps every task (no compaction): measuring each step is quadratic
                run.check_size()
            if time.thread_time() - started > MAX_SECONDS:
                result.problem = vi("Chạy thử quá %(seconds)s giây: quy trình quá nặng với dữ liệu này.",
                                    seconds=f"{MAX_SECONDS:g}")
                return result
            ready = run.ready_human_tasks()
            if not ready and run.next_timer_at() is not None:
                run.fast_forward_timers()
                continue
            if not ready and run.waiting_messages():
                run.deliver_message(run.waiting_messages()[0], {})
                continue
            # service tasks: answered at once with `service_outputs` (connector -> outputs), else empty
            if not ready and service_tasks.complete_for_dry_run(run, service_outputs or {}):
                continue
            if not ready:
                break
            task = ready[0]
            meta = tasks_by_id.get(task.step_id, {})
            data = step_data((step_forms.get(task.step_id) or {}).get("schema", {}), sample)
            result.steps.append(SimulatedStep(task.step_id, task.name, meta.get("lane_id"), data, task.item))
            run.complete(task.id, data)
        else:
            result.problem = vi("Vượt quá %(steps)s bước: có vòng lặp không dừng với dữ liệu này?", steps=max_steps)
            return result
        run.check_size()
    except EngineIncident as exc:
        result.problem, result.problem_element = exc.message, exc.element_id
        return result
    result.completed = run.completed
    result.final_data = run.final_data()
    if not run.completed:
        result.problem = vi("Quy trình dừng lại mà chưa kết thúc (đang chờ một sự kiện không có).")
    return result


def _loop_samples(model: dict) -> dict:
    """Sample collections for the multi-instance activities that run over the dossier's data: the
    literal list a script assigns when there is one (the script sets it anyway), else one item,
    so the dry run opens an instance and gathers its result."""
    sample = {}
    for loop in model.get("loops") or [t["loop"] for t in model["user_tasks"] if t.get("loop")]:
        if loop.get("kind") == "multi" and loop.get("collection") and not loop.get("cardinality"):
            sample[loop["collection"]] = list(loop.get("items") or ["x"])
    return sample


def dry_run(bundle: SpecBundle, model: dict, step_forms: dict[str, dict], max_steps: int = 200,
            service_outputs: dict | None = None) -> list[Problem]:
    """Publish's check: the simulation with sample data from each form must reach the end."""
    sim = simulate(bundle, model, step_forms, {}, max_steps, service_outputs)
    if sim.problem is None:
        return []
    return [Problem(vi("Chạy thử thất bại: %(problem)s", problem=sim.problem), sim.problem_element)]
