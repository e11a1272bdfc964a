"""What a running dossier needs from its procedure version, read once per process.

Published versions are immutable, so their runtime description (diagram, steps, lanes, forms,
deadline) is cached by id and never reloaded or re-decoded on a step."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..engine import step_paths
from ..models import Dossier, ProcedureCall, ProcedureVersion
from . import forms
from .cache import TTLCache, db_key


@dataclass(frozen=True)
class Runtime:
    id: int
    procedure_code: str
    number: int
    scope: str
    state: str
    dialect: str
    process_id: str
    xml: str
    model: dict
    lane_map: dict
    forms: dict
    deadline_days: int | None
    deadline_kind: str
    fee_rule: dict
    steps: dict  # user task id -> its description (form, lane, milestone, step deadline)
    step_paths: dict  # user task id -> its routing path (None: unrouted, refused at publish)
    step_forms: dict  # user task id -> the form its officers fill in (`forms.effective`)
    called: tuple = ()  # the procedures of the library it calls, pinned: `engine.build_spec`'s `called`
    decisions: tuple = ()  # its DMN documents: `engine.build_spec`'s `decisions`
    deadline_rules: dict | None = None  # the period's variants and uncounted waits (`periods`)


_cache = TTLCache(max_size=512, ttl=None)


def step_forms(model: dict, library: dict) -> dict[str, dict]:
    """Step id -> its form: the library's form it names, else the form drawn in the diagram
    (Camunda formData), else the built-in one; with the outcome fields of its milestone."""
    return {t["id"]: forms.effective(library.get(t["form_key"] or "") or t.get("generated_form"), t.get("milestone"))
            for t in model["user_tasks"]}


def pinned_calls(session: Session, version_id: int) -> list[tuple[str, ProcedureVersion]]:
    """(code, version) of each procedure of the library a version calls, directly or through the
    procedures it calls, as pinned when each caller was published (the first pin of a code wins;
    publish refuses two different versions of one procedure)."""
    out: list[tuple[str, ProcedureVersion]] = []
    seen, queue = set(), [version_id]
    while queue:
        calls = session.scalars(select(ProcedureCall).where(
            ProcedureCall.caller_version_id == queue.pop(0), ProcedureCall.callee_version_id.is_not(None))
            .order_by(ProcedureCall.element_id)).all()
        for call in calls:
            if call.callee_code in seen:
                continue
            seen.add(call.callee_code)
            callee = session.get(ProcedureVersion, call.callee_version_id)
            out.append((call.callee_code, callee))
            queue.append(callee.id)
    return out


def decision_docs(version: ProcedureVersion) -> tuple:
    """The DMN documents of a version in a stable order (the spec cache's key includes them)."""
    return tuple(text for _key, text in sorted((version.decisions or {}).items()))


def called_specs(pins: list[tuple[str, ProcedureVersion]]) -> tuple:
    """What the engine builds the called procedures from: (calledElement, XML, dialect, process,
    DMN documents)."""
    return tuple((f"procedure:{code}", v.bpmn_xml, v.dialect, v.process_id, decision_docs(v)) for code, v in pins)


def called_steps(pins: list[tuple[str, ProcedureVersion]]) -> tuple[dict, dict, dict]:
    """The steps of the called procedures as the caller runs them: (steps, routing paths, forms),
    each routed by its own procedure's lanes and mapping, with its own frozen forms; their
    milestones do not move the caller's status (the caller's own steps do)."""
    steps, paths, step_forms_ = {}, {}, {}
    for code, v in pins:
        tasks = [{**t, "milestone": None, "called_procedure": code} for t in v.model["user_tasks"]]
        own_paths = step_paths(v.model, dict(v.lane_map))
        own_forms = step_forms({**v.model, "user_tasks": tasks}, dict(v.forms))
        for t in tasks:
            steps.setdefault(t["id"], t)
            paths.setdefault(t["id"], own_paths.get(t["id"]))
            step_forms_.setdefault(t["id"], own_forms[t["id"]])
    return steps, paths, step_forms_


def _load(session: Session, version_id: int) -> Runtime:
    v = session.get(ProcedureVersion, version_id)
    lane_map, library = dict(v.lane_map), dict(v.forms)
    steps, paths, forms_ = {t["id"]: t for t in v.model["user_tasks"]}, step_paths(v.model, lane_map), \
        step_forms(v.model, library)
    pins = pinned_calls(session, v.id) if v.model.get("library_calls") else []
    if pins:
        called, called_paths, called_forms = called_steps(pins)
        steps, paths, forms_ = {**called, **steps}, {**called_paths, **paths}, {**called_forms, **forms_}
    return Runtime(v.id, v.procedure_code, v.version, v.scope, v.state, v.dialect, v.process_id, v.bpmn_xml,
                   v.model, lane_map, library, v.deadline_days, v.deadline_kind, dict(v.fee_rule or {}),
                   steps, paths, forms_, called_specs(pins), decision_docs(v), dict(v.deadline_rules or {}))


def runtime(session: Session, version_id: int) -> Runtime:
    key = (db_key(session), version_id)
    rt = _cache.get(key, lambda: _load(session, version_id))
    if rt.state == "draft":  # drafts still change: never keep them
        _cache.pop(key)
    return rt


def of(dossier: Dossier) -> Runtime:
    return runtime(object_session(dossier), dossier.procedure_version_id)
