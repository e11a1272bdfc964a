"""A step's JSON Schema form as HTML fields, and posted strings back to typed values.

Only the HTTP edge knows that a browser posts strings: the values are typed here by the
schema (integers, numbers, booleans, lists one item per line) and then validated by the same
`forms.field_errors` as the API, so the page and the API refuse the same data with the same
per-field messages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from orchestrator.services import forms


@dataclass
class Field:
    name: str
    label: str
    kind: str  # text, textarea, number, integer, checkbox, select, radio, date, email, list
    required: bool
    options: list[tuple[str, str]]
    value: object
    maximum_length: int | None = None
    # HTML constraints from the schema (required, min, max, step, minlength, maxlength, pattern) and,
    # per validity state the browser reports, the message it shows (data-error-range-underflow ...)
    attrs: dict[str, str] = field(default_factory=dict)


def _label(spec: dict, name: str, lang: str) -> str:
    return (spec.get("x-title-en") if lang == "en" else None) or spec.get("title") or name


# a JSON Schema pattern the browser can check as an HTML pattern attribute (compiled with the v
# flag, anchored at both ends): no alternation, lookaround, backreference, named group or class
# character the v flag refuses unescaped
_UNSAFE_PATTERN = re.compile(r"[|]|\(\?[<=!]|\\[1-9kpPu]|\[\^?-|-\]|\[[^\]]*[(){}/|\[][^\]]*\]"
                             r"|&&|!!|##|\$\$|%%|\*\*|\+\+|,,|\.\.|::|;;|<<|==|>>|\?\?|@@|\^\^|``|~~")


def html_pattern(pattern: object) -> str | None:
    """The HTML `pattern` attribute that accepts what the JSON Schema `pattern` accepts, or None
    when the two regex dialects might disagree (the server still checks it)."""
    if not isinstance(pattern, str) or not pattern or len(pattern) > 500 or _UNSAFE_PATTERN.search(pattern):
        return None
    body = pattern[1:] if pattern.startswith("^") else ".*" + pattern
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    else:
        body += ".*"
    try:
        re.compile(body)
    except re.error:
        return None
    return body


def _constraints(spec: dict, kind: str, required: bool, lang: str) -> dict[str, str]:
    """What the browser checks before sending, each with the server's message for it."""
    attrs: dict[str, str] = {}

    def check(attr: str, value, state: str, keyword: str) -> None:
        if value is not None:
            attrs[attr] = "" if value is True else str(value)
        attrs[f"data-error-{state}"] = forms.message(keyword, spec, lang)

    if required and kind != "checkbox":
        check("required", True, "value-missing", "required")
    if kind in ("integer", "number"):
        step = 1 if kind == "integer" else None
        for attr, inclusive, exclusive, state, sign in (("min", "minimum", "exclusiveMinimum", "range-underflow", 1),
                                                        ("max", "maximum", "exclusiveMaximum", "range-overflow", -1)):
            if isinstance(spec.get(inclusive), (int, float)):
                check(attr, spec[inclusive], state, inclusive)
            elif isinstance(spec.get(exclusive), (int, float)) and step:  # whole numbers: the next one
                check(attr, spec[exclusive] + sign, state, exclusive)
        check("step", step or "any", "step-mismatch", "step")
        attrs["data-error-bad-input"] = forms.message("type", spec, lang)
    if kind in ("text", "textarea", "email"):
        for attr, keyword, state in (("minlength", "minLength", "too-short"), ("maxlength", "maxLength", "too-long")):
            if isinstance(spec.get(keyword), int):
                check(attr, spec[keyword], state, keyword)
    if kind in ("text", "email") and (pattern := html_pattern(spec.get("pattern"))):
        check("pattern", pattern, "pattern-mismatch", "pattern")
    if kind in ("email", "date"):
        attrs["data-error-type-mismatch"] = attrs["data-error-bad-input"] = forms.message("format", spec, lang)
    return attrs


def _choice(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


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
            options = [(_choice(v), labels[i] if i < len(labels) else str(v)) for i, v in enumerate(spec["enum"])]
            kind = "radio" if hints.get("ui:widget") == "radio" else "select"
        elif typ == "boolean":
            kind = "checkbox"
        elif typ in ("integer", "number"):
            kind = typ
        elif typ == "array":
            kind = "list"
        elif spec.get("format") in ("date", "email"):
            kind = spec["format"]
        elif hints.get("ui:widget") == "textarea" or (spec.get("maxLength") or 0) > 300:
            kind = "textarea"
        else:
            kind = "text"
        value = values.get(name, spec.get("default"))  # a default the form declares (reception: accept)
        if options and value is not None:
            value = _choice(value)  # compared with the options' values (true/false as `parse` reads them)
        if kind == "list" and isinstance(value, list):
            value = "\n".join(map(str, value))
        out.append(Field(name, _label(spec, name, lang), kind, name in required, options, value,
                         spec.get("maxLength"), _constraints(spec, kind, name in required, lang)))
    return out


def errors_by_field(errors: dict, fields: list[Field], lang: str = "vi") -> tuple[dict[str, str], dict[str, str]]:
    """The server's errors next to the fields they concern (a list's item: 'Mục 2: ...'), and
    those no field shows (the whole form's, a key the form does not have) for the summary."""
    names = {f.name for f in fields}
    shown: dict[str, str] = {}
    other: dict[str, str] = {}
    item = (forms.MESSAGES.get(lang) or forms.MESSAGES["vi"])["item"]
    for key, text in (errors or {}).items():
        top, _, rest = str(key).partition(".")
        if top not in names:
            other[str(key)] = str(text)
            continue
        index = rest.split(".")[0]
        shown.setdefault(top, item.format(limit=int(index) + 1) + str(text) if index.isdigit() else str(text))
    return shown, other


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


# -- form data as people read it (issue 19): labels, enum labels, dates, yes/no ----------------

@dataclass
class Shown:
    """One value of a dossier's data as people read it: `text` for a single value, `items` for a
    list or a nested object (each item shown the same way; list items have no label)."""
    name: str
    label: str
    text: str | None = None
    items: list | None = None


_YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}
_EMPTY = "—"
_KNOWN = {  # keys no form declares but the product writes (the applicant at start)
    "applicant": ("Người nộp hồ sơ", "Applicant"), "full_name": ("Họ và tên", "Full name"),
    "id_number": ("Số định danh cá nhân", "Personal ID number"), "phone": ("Số điện thoại", "Phone"),
    "address": ("Địa chỉ", "Address"), "email": ("Thư điện tử", "Email"),
}


def _humanised(name: str, lang: str) -> str:
    known = _KNOWN.get(name)
    if known:
        return known[1 if lang == "en" else 0]
    words = str(name).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else str(name)


def _text(value, spec: dict, lang: str) -> str:
    if value is None or value == "":
        return _EMPTY
    if isinstance(value, bool):
        return _YES_NO.get(lang, _YES_NO["vi"])[0 if value else 1]
    if "enum" in spec and value in spec["enum"]:
        labels = (spec.get("x-enum-labels") or {})
        names = labels.get(lang) or labels.get("vi") or []
        index = spec["enum"].index(value)
        if index < len(names):
            return str(names[index])
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}).*)?", value)
        if match and (spec.get("format") in ("date", "date-time") or not spec):
            y, m, d, hh, mm = match.groups()
            return f"{d}/{m}/{y}" + (f" {hh}:{mm}" if hh else "")
    return str(value)


def _shown(name: str, value, spec: dict, lang: str, depth: int = 0) -> Shown:
    label = _label(spec, "", lang) if spec.get("title") else _humanised(name, lang)
    if isinstance(value, dict) and depth < 5:
        props = spec.get("properties") or {}
        return Shown(name, label, items=[_shown(k, v, props.get(k) or {}, lang, depth + 1) for k, v in value.items()])
    if isinstance(value, list) and depth < 5:
        item_spec = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        items = [_shown("", v, {k: s for k, s in item_spec.items() if k != "title"}, lang, depth + 1) for v in value]
        for item in items:
            item.label = ""
        return Shown(name, label, items=items) if items else Shown(name, label, text=_EMPTY)
    return Shown(name, label, text=_text(value, spec, lang))


def readable(step_forms, data: dict | None, lang: str = "vi") -> list[Shown]:
    """A dossier's data with its fields' titles (`x-title-en` in English) from the forms of its
    version (`step_forms`: the frozen step forms, in step order), enum values by their labels,
    booleans as yes/no, dates as dd/mm/yyyy, lists and nested objects item by item; keys no form
    declares keep their key, made readable. Declared fields in the forms' order, then the others."""
    specs: dict[str, dict] = {}
    for form in step_forms or ():
        schema, ui = (form or {}).get("schema") or {}, (form or {}).get("ui") or {}
        props = schema.get("properties") or {}
        for name in [n for n in ui.get("ui:order", []) if n in props] + list(props):
            specs.setdefault(name, props[name])
    data = data or {}
    names = [n for n in specs if n in data] + [n for n in data if n not in specs]
    return [_shown(n, data[n], specs.get(n) or {}, lang) for n in names]
