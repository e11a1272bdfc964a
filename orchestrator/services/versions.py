"""What a running dossier needs from its procedure version, read once per process.

Published versions are immutable, so their runtime description (diagram, steps, lanes, forms,
deadline) is cached by id and never reloaded or re-decoded on a step."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, object_session

from ..models import Dossier, ProcedureVersion
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


_cache = TTLCache(max_size=512, ttl=None)


def _load(session: Session, version_id: int) -> Runtime:
    v = session.get(ProcedureVersion, version_id)
    return Runtime(v.id, v.procedure_code, v.version, v.scope, v.state, v.dialect, v.process_id, v.bpmn_xml,
                   v.model, dict(v.lane_map), dict(v.forms), v.deadline_days, v.deadline_kind, dict(v.fee_rule or {}),
                   {t["id"]: t for t in v.model["user_tasks"]})


def runtime(session: Session, version_id: int) -> Runtime:
    key = (db_key(session), version_id)
    rt = _cache.get(key, lambda: _load(session, version_id))
    if rt.state == "draft":  # drafts still change: never keep them
        _cache.pop(key)
    return rt


def of(dossier: Dossier) -> Runtime:
    return runtime(object_session(dossier), dossier.procedure_version_id)
