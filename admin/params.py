"""Query parameters of back-office pages read strictly: a value that is not what the page takes
is a 400 page naming the parameter (never a 500, never silently something else)."""
from __future__ import annotations

from datetime import date

from flask import request

from orchestrator.i18n import vi
from orchestrator.services.errors import Invalid


def _bad(name: str, expected, message=None) -> Invalid:
    return Invalid(message or vi("Tham số %(name)s không hợp lệ.", name=name), fields={name: expected})


def int_arg(name: str, default: int | None, low: int, high: int, message=None) -> int | None:
    """A whole number between `low` and `high`; absent or empty: `default`."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.lstrip("-").isdigit() or len(raw) > 9 or not low <= int(raw) <= high:
        raise _bad(name, vi("số nguyên từ %(low)s đến %(high)s", low=low, high=high), message)
    return int(raw)


def choice_arg(name: str, choices, default: str = "") -> str:
    """One of `choices`; absent or empty: `default`."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if raw not in choices:
        raise _bad(name, " | ".join(choices))
    return raw


def date_arg(name: str, default: date | None = None) -> date | None:
    """A day as YYYY-MM-DD; absent or empty: `default`."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad(name, vi("YYYY-MM-DD"), vi("Ngày không hợp lệ (YYYY-MM-DD).")) from None


def text_arg(name: str, max_chars: int, default: str = "") -> str:
    """Free text (a search, a code) of at most `max_chars` characters and no control character
    (NUL, CR, LF...); absent or empty: `default`."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if len(raw) > max_chars or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in raw):
        raise _bad(name, vi("tối đa %(n)s ký tự, không có ký tự điều khiển", n=max_chars))
    return raw


def flag_arg(name: str) -> bool:
    """A check box: "1" (on) or "0"; absent or empty: off."""
    return choice_arg(name, ("0", "1")) == "1"
