"""What a running dossier needs from its procedure version, read once per process.

Published versions are immutable, so their runtime description (diagram, steps, lanes, forms,
deadline) is cached by id and never reloaded or re-decoded on a step."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, object_session

from ..engine import step_paths
from ..models import Dossier, ProcedureVersion
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


_cache = TTLCache(max_size=512, ttl=None)


def step_forms(model: dict, library: dict) -> dict[str, dict]:
    """Step id -> its form: the library's form it names, else the form drawn in the diagram
    (Camunda formData), else the built-in one; with the outcome fields of its milestone."""
    return {t["id"]: forms.effective(library.get(t["form_key"] or "") or t.get("generated_form"), t.get("milestone"))
            for t in model["user_tasks"]}


def _load(session: Session, version_id: int) -> Runtime:
    v = session.get(ProcedureVersion, version_id)
    lane_map, library = dict(v.lane_map), dict(v.forms)
    return Runtime(v.id, v.procedure_code, v.version, v.scope, v.state, v.dialect, v.process_id, v.bpmn_xml,
                   v.model, lane_map, library, v.deadline_days, v.deadline_kind, dict(v.fee_rule or {}),
                   {t["id"]: t for t in v.model["user_tasks"]}, step_paths(v.model, lane_map),
                   step_forms(v.model, library))


def runtime(session: Session, version_id: int) -> Runtime:
    key = (db_key(session), version_id)
    rt = _cache.get(key, lambda: _load(session, version_id))
    if rt.state == "draft":  # drafts still change: never keep them
        _cache.pop(key)
    return rt


def of(dossier: Dossier) -> Runtime:
    return runtime(object_session(dossier), dossier.procedure_version_id)
