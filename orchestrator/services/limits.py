"""Bounds on the JSON data people send: start, form, event and retry data (docs/domain.md, "Data limits").

Every service that takes such data calls `check_data` before anything is saved or the engine sees
it: data nested deeper than the engine can copy (Python's recursion limit) would otherwise be
stored and fail every later step of the dossier, and a huge object would hold a worker. The walk
is iterative and stops at the first limit passed, so 500,000 keys are refused after counting the
first few thousand. The limits come from the configuration (`Settings`, DATA_MAX_* in
docs/deployment.md); the refusal is `Invalid` naming the field and the limit.
"""
from __future__ import annotations

import json

from sqlalchemy.orm import Session

from ..i18n import vi
from ..settings import DEFAULTS, Settings, settings_of
from .errors import Invalid

TOO_DEEP, TOO_LARGE = "data_too_deep", "data_too_large"


def _too_deep(field: str, limit: int) -> Invalid:
    return Invalid(vi("Dữ liệu lồng nhau quá sâu (tối đa %(max)s cấp).", max=limit), code=TOO_DEEP,
                   fields={field: vi("tối đa %(max)s cấp lồng nhau", max=limit)})


def _too_many(field: str, limit: int) -> Invalid:
    return Invalid(vi("Dữ liệu có quá nhiều trường và phần tử (tối đa %(max)s).", max=limit), code=TOO_LARGE,
                   fields={field: vi("tối đa %(max)s trường và phần tử", max=limit)})


def _too_long(field: str, limit: int) -> Invalid:
    return Invalid(vi("Dữ liệu có chuỗi quá dài (tối đa %(max)s ký tự).", max=limit), code=TOO_LARGE,
                   fields={field: vi("chuỗi tối đa %(max)s ký tự", max=limit)})


def _too_big(field: str, limit: int) -> Invalid:
    return Invalid(vi("Dữ liệu quá lớn (tối đa %(max)s byte).", max=limit), code=TOO_LARGE,
                   fields={field: vi("tối đa %(max)s byte", max=limit)})


def check_data(session: Session | None, data, field: str = "data", settings: Settings | None = None):
    """`data` (any JSON value) within the configured depth, number of keys and items, string length
    and encoded size; raises `Invalid` (`data_too_deep` / `data_too_large`) naming `field`.
    Returns `data` unchanged."""
    s = settings or (settings_of(session) if session is not None else DEFAULTS)
    max_depth, max_items, max_string, max_bytes = (s.data_max_depth, s.data_max_items, s.data_max_string,
                                                    s.data_max_bytes)
    items, size = 0, 0
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list | tuple):
            if depth > max_depth:
                raise _too_deep(field, max_depth)
            items += len(value)
            if items > max_items:
                raise _too_many(field, max_items)
            size += 2 + len(value)  # brackets and separators
            if isinstance(value, dict):
                for key, child in value.items():
                    key = str(key)
                    if len(key) > max_string:
                        raise _too_long(field, max_string)
                    size += len(key) + 3
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in value)
        elif isinstance(value, str):
            if len(value) > max_string:
                raise _too_long(field, max_string)
            size += len(value) + 2
        else:
            size += 8
        if size > max_bytes:  # characters, a lower bound of the UTF-8 bytes: refused early
            raise _too_big(field, max_bytes)
    try:
        encoded = len(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8"))
    except (TypeError, ValueError):
        encoded = size
    if encoded > max_bytes:
        raise _too_big(field, max_bytes)
    return data
