"""Download headers (RFC 6266): the one way a response names the file it carries.

`content_disposition("attachment", name)` gives `filename="<ascii>"` (only letters, digits and
`.-_`, everything else replaced) and `filename*=UTF-8''<percent-encoded>` for the full name, with
control and bidirectional-override characters removed first. No raw request text ever reaches the
header unquoted, so a name cannot add parameters (`"; x="`) or header lines (CR/LF).
Used by every download route of the API and the back office; nothing here imports Flask.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

# Bidirectional controls (embedding, override, isolate, marks) that can make `gpj.exe` read `exe.jpg`.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_UNSAFE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{BIDI_CONTROLS}\\u2028\\u2029\\ufeff]")


def strip_controls(text: str) -> str:
    """`text` without control characters (C0, DEL, C1), line/paragraph separators, BOM and the
    bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C)."""
    return _UNSAFE.sub("", text or "")


def ascii_name(name: str, fallback: str = "download") -> str:
    """An ASCII-only fallback of a file name: accents dropped, anything else unsafe as `_`."""
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", folded).strip("._")[:150]
    return safe or fallback


def content_disposition(disposition: str, filename: str) -> str:
    """The Content-Disposition value for `filename` (`attachment` or `inline`)."""
    if disposition not in ("attachment", "inline"):
        raise ValueError(disposition)
    name = strip_controls(filename).strip()[:200] or "download"
    return f"{disposition}; filename=\"{ascii_name(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
