"""Run a diagram with a designer's sample data and report the path it takes.

The publish-time `dry_run` only answers "does it finish"; the back office's dry-run page needs
the steps in order so it can show who would receive each one and when it would be due. This
runs the same engine (`WorkflowRun`, the sandboxed script engine) entirely in memory: no
dossier, no database.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .runner import EngineIncident, WorkflowRun
from .specs import SpecBundle
from .validation import sample_value


@dataclass(frozen=True)
class SimulatedStep:
    step_id: str
    name: str
    lane_id: str | None
    data: dict


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


def simulate(bundle: SpecBundle, model: dict, forms: dict[str, dict], sample: dict,
             max_steps: int = 100) -> Simulation:
    """Complete each ready human step in turn with `sample` and record the order of steps."""
    tasks_by_id = {t["id"]: t for t in model["user_tasks"]}
    result = Simulation()
    try:
        run = WorkflowRun.start(bundle, dict(sample))
        for _ in range(max_steps):
            ready = run.ready_human_tasks()
            if not ready:
                break
            task = ready[0]
            meta = tasks_by_id.get(task.step_id, {})
            form = forms.get(meta.get("form_key") or "", {})
            data = step_data(form.get("schema", {}), sample)
            result.steps.append(SimulatedStep(task.step_id, task.name, meta.get("lane_id"), data))
            run.complete(task.id, data)
        else:
            result.problem = f"Vượt quá {max_steps} bước: có vòng lặp không dừng với dữ liệu này?"
            return result
    except EngineIncident as exc:
        result.problem, result.problem_element = exc.message, exc.element_id
        return result
    result.completed = run.completed
    if not run.completed:
        result.problem = "Quy trình dừng lại mà chưa kết thúc (đang chờ một sự kiện)."
    return result
