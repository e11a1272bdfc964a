"""JSON bodies nested deeper than the data limits are refused before they are parsed.

Python's json parser recurses: a body of a few thousand nested levels would raise RecursionError
(a 500) before any schema or service sees it. This check counts the nesting of the raw body
(strings skipped) and answers 400 `data_too_deep` naming the limit (DATA_MAX_DEPTH, the same as
the services' `limits.check_data`; the body's own object and its `data` wrapper add two levels).
The size of a body is capped by MAX_CONTENT_LENGTH (413) before this runs."""
from __future__ import annotations

import re
from itertools import accumulate

from flask import current_app, request

from orchestrator.i18n import vi

from .blueprint import bp
from .errors import error_response

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
ENVELOPE = 2  # the body's object and the member (`data`, `applicant`) that holds the data


def body_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (0 for a scalar)."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", body))
    return max(accumulate(_STEP[b] for b in brackets), default=0)


_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"|[\[\]{}]', re.S)


def deep_member(body: bytes, limit: int) -> str:
    """The top-level member of a JSON object whose nesting passes `limit` (`_` if none is found)."""
    depth, member = 0, "_"
    for match in _TOKEN.finditer(body):
        token = match.group(0)
        if token[:1] == b'"':
            if depth == 1:
                member = match.group(1).decode("utf-8", "replace")[:100]
            continue
        depth += 1 if token in (b"[", b"{") else -1
        if depth > limit:
            return member if depth > 1 else "_"
    return "_"


@bp.before_request
def _refuse_deep_json():
    if request.method not in ("POST", "PUT", "PATCH") or not request.is_json:
        return None
    limit = int(current_app.config.get("DATA_MAX_DEPTH", 20))
    body = request.get_data(cache=True)
    if body.count(b"[") + body.count(b"{") <= limit + ENVELOPE or body_depth(body) <= limit + ENVELOPE:
        return None
    return error_response(400, "data_too_deep", vi("Dữ liệu lồng nhau quá sâu (tối đa %(max)s cấp).", max=limit),
                          {deep_member(body, limit + ENVELOPE): vi("tối đa %(max)s cấp lồng nhau", max=limit)})
