"""A step's JSON Schema form as HTML fields, and posted strings back to typed values.

Only the HTTP edge knows that a browser posts strings: the values are typed here by the
schema (integers, numbers, booleans, lists one item per line) and then validated by the same
`forms.field_errors` as the API, so the page and the API refuse the same data with the same
per-field messages.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Field:
    name: str
    label: str
    kind: str  # text, textarea, number, integer, checkbox, select, radio, date, list
    required: bool
    options: list[tuple[str, str]]
    value: object
    maximum_length: int | None = None


def _label(spec: dict, name: str, lang: str) -> str:
    return (spec.get("x-title-en") if lang == "en" else None) or spec.get("title") or name


def fields_of(form: dict | None, values: dict, lang: str = "vi") -> list[Field]:
    """The form's fields in its `ui:order`, with the values it opens with."""
    if not form:
        return []
    schema, ui = form.get("schema", {}), form.get("ui", {})
    props = schema.get("properties", {})
    order = [n for n in ui.get("ui:order", []) if n in props] + [n for n in props if n not in ui.get("ui:order", [])]
    required = set(schema.get("required", []))
    out = []
    for name in order:
        spec, hints = props[name], ui.get(name, {})
        typ = spec.get("type")
        options = []
        if "enum" in spec:
            labels = (spec.get("x-enum-labels") or {}).get(lang) or (spec.get("x-enum-labels") or {}).get("vi") or []
            options = [(str(v), labels[i] if i < len(labels) else str(v)) for i, v in enumerate(spec["enum"])]
            kind = "radio" if hints.get("ui:widget") == "radio" else "select"
        elif typ == "boolean":
            kind = "checkbox"
        elif typ in ("integer", "number"):
            kind = typ
        elif typ == "array":
            kind = "list"
        elif spec.get("format") == "date":
            kind = "date"
        elif hints.get("ui:widget") == "textarea" or (spec.get("maxLength") or 0) > 300:
            kind = "textarea"
        else:
            kind = "text"
        value = values.get(name, spec.get("default"))  # a default the form declares (reception: accept)
        if kind == "list" and isinstance(value, list):
            value = "\n".join(map(str, value))
        out.append(Field(name, _label(spec, name, lang), kind, name in required, options, value,
                         spec.get("maxLength")))
    return out


def parse(form: dict | None, posted) -> dict:
    """Typed values from a posted form (`posted` is a MultiDict); empty fields are left out so
    'required' reports them."""
    if not form:
        return {}
    data: dict = {}
    for name, spec in form.get("schema", {}).get("properties", {}).items():
        typ = spec.get("type")
        raw = posted.get(name)
        if typ == "boolean":
            if "enum" in spec or raw in ("true", "false"):
                if raw in ("true", "false"):
                    data[name] = raw == "true"
            else:
                data[name] = raw in ("on", "true", "1")
            continue
        if raw is None or not str(raw).strip():
            continue
        raw = str(raw).strip()
        if typ == "array":
            data[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif typ == "integer":
            try:
                data[name] = int(raw)
            except ValueError:
                data[name] = raw  # the validator names the field
        elif typ == "number":
            try:
                number = float(raw.replace(",", "."))
                data[name] = int(number) if number.is_integer() else number
            except ValueError:
                data[name] = raw
        else:
            data[name] = raw
    return data
