"""Step forms: JSON Schema 2020-12 plus UI hints; server-side validation with errors per field."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import both, vi
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


# Plain messages for each kind of problem, in the two languages of the back office (the API answers
# in Vietnamese). The browser shows the same texts before anything is sent (admin/formdata.py).
MESSAGES: dict[str, dict[str, str]] = {
    "vi": {
        "required": "Cần nhập thông tin này.",
        "type_integer": "Phải là số nguyên.", "type_number": "Phải là số.", "type_string": "Phải là văn bản.",
        "type_boolean": "Phải là Có hoặc Không.", "type_array": "Phải là một danh sách.",
        "type_object": "Phải là một đối tượng JSON.",
        "minimum": "Phải lớn hơn hoặc bằng {limit}.", "maximum": "Phải nhỏ hơn hoặc bằng {limit}.",
        "exclusiveMinimum": "Phải lớn hơn {limit}.", "exclusiveMaximum": "Phải nhỏ hơn {limit}.",
        "multipleOf": "Phải là bội số của {limit}.", "step": "Phải là số nguyên.",
        "minLength": "Cần ít nhất {limit} ký tự.", "maxLength": "Tối đa {limit} ký tự.",
        "pattern": "Không đúng định dạng.", "example": "Ví dụ: {example}.",
        "digits": "Cần đúng {limit} chữ số.", "digits_between": "Cần từ {low} đến {limit} chữ số.",
        "enum": "Chọn một trong: {choices}.", "const": "Phải là {choices}.",
        "format_date": "Phải là ngày hợp lệ (năm-tháng-ngày, ví dụ 2026-01-31).",
        "format_email": "Phải là địa chỉ thư điện tử hợp lệ (ví dụ ten@example.vn).",
        "format": "Không đúng định dạng.",
        "minItems": "Cần ít nhất {limit} mục.", "maxItems": "Tối đa {limit} mục.",
        "uniqueItems": "Các mục không được trùng nhau.",
        "additionalProperties": "Trường này không có trong biểu mẫu.",
        "not_object": "Dữ liệu phải là một đối tượng JSON.", "invalid": "Giá trị không hợp lệ.",
        "item": "Mục {limit}: ",
    },
    "en": {
        "required": "This field is required.",
        "type_integer": "Must be a whole number.", "type_number": "Must be a number.", "type_string": "Must be text.",
        "type_boolean": "Must be yes or no.", "type_array": "Must be a list.", "type_object": "Must be a JSON object.",
        "minimum": "Must be at least {limit}.", "maximum": "Must be at most {limit}.",
        "exclusiveMinimum": "Must be greater than {limit}.", "exclusiveMaximum": "Must be less than {limit}.",
        "multipleOf": "Must be a multiple of {limit}.", "step": "Must be a whole number.",
        "minLength": "Must be at least {limit} characters.", "maxLength": "At most {limit} characters.",
        "pattern": "Not in the expected format.", "example": "Example: {example}.",
        "digits": "Must be exactly {limit} digits.", "digits_between": "Must be {low} to {limit} digits.",
        "enum": "Choose one of: {choices}.", "const": "Must be {choices}.",
        "format_date": "Must be a valid date (year-month-day, e.g. 2026-01-31).",
        "format_email": "Must be a valid email address (e.g. name@example.vn).",
        "format": "Not in the expected format.",
        "minItems": "Must list at least {limit} items.", "maxItems": "At most {limit} items.",
        "uniqueItems": "Items must not repeat.",
        "additionalProperties": "This field is not part of the form.",
        "not_object": "The data must be a JSON object.", "invalid": "Invalid value.",
        "item": "Item {limit}: ",
    },
}
_DIGITS = re.compile(r"^\^(?:\[0-9\]|\\d)\{(\d+)(?:,(\d+))?\}\$$")


def _text(spec: dict, key: str, lang: str) -> str | None:
    """A designer's own text in the schema: `x-error`, `x-error-en` or {"vi": ..., "en": ...}."""
    value = spec.get(f"{key}-en") if lang == "en" else None
    value = value or spec.get(key)
    if isinstance(value, dict):
        value = value.get(lang) or value.get("vi")
    return value if isinstance(value, str) and value.strip() else None


def _number(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _choices(spec: dict, lang: str) -> str:
    labels = spec.get("x-enum-labels")
    labels = (labels.get(lang) or labels.get("vi") or []) if isinstance(labels, dict) else []
    values = spec.get("enum", [spec.get("const")] if "const" in spec else [])
    return ", ".join(str(labels[i]) if i < len(labels) else str(v) for i, v in enumerate(values))


def message(kind: str, spec: dict, lang: str = "vi") -> str:
    """The plain message for one kind of problem with a field whose schema is `spec`: `kind` is the
    JSON Schema keyword that failed (`type`, `format` and `pattern` read the schema for detail). A
    designer's `x-error` replaces it (not for a missing value); for a pattern, `x-pattern-message`,
    else a recognised digits-only pattern, else a generic text with the schema's first example."""
    texts = MESSAGES.get(lang) or MESSAGES["vi"]
    if kind != "required" and (own := _text(spec, "x-error", lang)):
        return own
    if kind == "type":
        types = spec.get("type")
        kind = f"type_{types if isinstance(types, str) else (types or ['string'])[0]}"
    elif kind == "format":
        kind = f"format_{spec.get('format')}" if f"format_{spec.get('format')}" in texts else "format"
    elif kind == "pattern":
        if own := _text(spec, "x-pattern-message", lang):
            return own
        digits = _DIGITS.match(str(spec.get("pattern", "")))
        if digits:
            low, high = digits.group(1), digits.group(2)
            return texts["digits_between"].format(low=low, limit=high) if high else texts["digits"].format(limit=low)
        examples = spec.get("examples")
        if isinstance(examples, list) and examples:
            return f"{texts['pattern']} {texts['example'].format(example=examples[0])}"
    elif kind in ("minLength", "minItems") and spec.get(kind) == 1:
        kind = "required"
    template = texts.get(kind, texts["invalid"])
    return template.format(limit=_number(spec.get(kind, "")), choices=_choices(spec, lang))


def _path(err) -> str:
    return ".".join(str(p) for p in err.absolute_path)


def field_errors(definition: dict | None, data: object, lang: str = "vi") -> dict[str, str]:
    """Every problem of the submitted data as a plain message, keyed by field name (a nested value:
    'list.0'; '' for the whole form), in `lang` (Vietnamese unless 'en')."""
    texts = MESSAGES.get(lang) or MESSAGES["vi"]
    if not isinstance(data, dict):
        return {"data": texts["not_object"]}
    if not definition:
        return {}
    validator = _validator(json.dumps(definition["schema"], sort_keys=True))
    errors: dict[str, str] = {}
    for err in validator.iter_errors(data):
        prefix = _path(err)
        prefix = f"{prefix}." if prefix else ""
        if err.validator in ("required", "additionalProperties"):
            instance = err.instance if isinstance(err.instance, dict) else {}
            if err.validator == "required":
                names = [n for n in err.validator_value if n not in instance]
            else:
                names = [n for n in instance if n not in err.schema.get("properties", {})]
            for name in names:
                errors.setdefault(prefix + str(name), texts[err.validator])
        else:
            errors.setdefault(_path(err), message(str(err.validator), err.schema, lang))
    return errors


def validate(definition: dict | None, data: object) -> dict:
    """Refuse data the form does not allow, each field's message in Vietnamese with its English."""
    errors = field_errors(definition, data, "vi")
    if errors:
        english = field_errors(definition, data, "en")
        raise Invalid(vi("Dữ liệu biểu mẫu không hợp lệ."), code="invalid_form",
                      fields={k: both(v, english.get(k, v)) for k, v in errors.items()})
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
