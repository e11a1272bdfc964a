"""Step forms: JSON Schema 2020-12 plus UI hints; server-side validation with errors per field."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import FormDefinition
from .errors import Invalid


def check_definition(definition: dict) -> list[str]:
    """Problems with a form definition itself (before it may enter the library)."""
    problems = []
    if not isinstance(definition, dict) or not isinstance(definition.get("schema"), dict):
        return ["form must be an object with a 'schema' object"]
    try:
        Draft202012Validator.check_schema(definition["schema"])
    except SchemaError as exc:
        problems.append(f"schema: {exc.message}")
    return problems


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=FormatChecker())


def field_errors(definition: dict | None, data: object) -> dict[str, str]:
    """Every problem of the submitted data, keyed by field name ('' for the whole form)."""
    if not isinstance(data, dict):
        return {"data": "phải là một đối tượng JSON"}
    if not definition:
        return {}
    validator = _validator(json.dumps(definition["schema"], sort_keys=True))
    errors: dict[str, str] = {}
    for err in validator.iter_errors(data):
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            errors.setdefault(missing, "bắt buộc (required)")
        elif err.validator == "additionalProperties":
            allowed = set(definition["schema"].get("properties", {}))
            for name in data:
                if name not in allowed:
                    errors.setdefault(name, "trường không có trong biểu mẫu (not a field of this form)")
        else:
            name = ".".join(str(p) for p in err.absolute_path) or ""
            errors.setdefault(name, err.message)
    return errors


def validate(definition: dict | None, data: object) -> dict:
    errors = field_errors(definition, data)
    if errors:
        raise Invalid("Dữ liệu biểu mẫu không hợp lệ.", fields=errors, code="invalid_form")
    return data  # type: ignore[return-value]


def load_library(session: Session, folder: str | Path) -> int:
    """Load or refresh `forms/*.json` into the form library."""
    count = 0
    for path in sorted(Path(folder).glob("*.json")):
        definition = json.loads(path.read_text(encoding="utf-8"))
        problems = check_definition(definition)
        if problems:
            raise ValueError(f"{path.name}: {'; '.join(problems)}")
        key = definition.get("id") or path.stem
        row = session.get(FormDefinition, key)
        if row is None:
            session.add(FormDefinition(key=key, definition=definition))
        else:
            row.definition = definition
        count += 1
    session.flush()
    return count


def library(session: Session, keys: set[str]) -> dict[str, dict]:
    if not keys:
        return {}
    rows = session.scalars(select(FormDefinition).where(FormDefinition.key.in_(keys))).all()
    return {r.key: r.definition for r in rows}


_BUILTIN = json.loads((Path(__file__).resolve().parents[1] / "data" / "forms" / "builtin.json")
                      .read_text(encoding="utf-8"))
BUILTIN_STEP: dict = _BUILTIN["step"]
OUTCOME_FIELDS: dict[str, tuple[str, ...]] = {m: tuple(o["properties"]) for m, o in _BUILTIN["outcomes"].items()}


def effective(definition: dict | None, milestone: str | None) -> dict:
    """The form a step's officers fill in: its own (or the built-in one, for a step drawn without a
    form) plus the outcome fields the product needs at its milestone (the reception outcome, the
    delivery method), where the form lacks them. The legal actions thus work on every procedure.
    Computed once per published version (`versions.Runtime.step_forms`)."""
    base = definition or BUILTIN_STEP
    outcome = _BUILTIN["outcomes"].get(milestone or "")
    schema = base.get("schema", {})
    props = schema.get("properties", {})
    missing = {k: v for k, v in (outcome or {}).get("properties", {}).items() if k not in props}
    if not missing:
        return base
    ui = dict(base.get("ui") or {})
    own_order = [n for n in ui.get("ui:order", []) if n in props] + [n for n in props if n not in ui.get("ui:order", [])]
    ui.update({k: v for k, v in outcome.get("ui", {}).items() if k in missing})
    ui["ui:order"] = list(missing) + own_order
    new_schema = {**schema, "properties": {**props, **missing}}
    if "reception_result" in missing:
        new_schema["allOf"] = list(schema.get("allOf", [])) + outcome["allOf"]
    return {**base, "schema": new_schema, "ui": ui}
