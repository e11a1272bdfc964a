"""Vietnamese text as people type it: one Unicode form for storage, one folded form for search.

Kept apart from `services` so the models can fill their stored search columns with the very same
function the queries use (`services.search` re-exports it): a name stored and a name searched are
folded the same way on SQLite and PostgreSQL, whose own lower() does not fold "Đ" nor diacritics.
"""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# "đ" is a letter of its own, not "d" plus a mark: NFD leaves it whole.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d"})


def nfc(text: str | None) -> str | None:
    """The composed form (NFC): what is stored for text entered by people, whatever their keyboard
    sent (macOS and some phone keyboards send decomposed "a" + U+0301)."""
    if text is None:
        return None
    return unicodedata.normalize("NFC", str(text))


def fold(text: str | None) -> str:
    """Lower case, without diacritics, đ as d, one space between words: "Phường Ba Đình" and
    "phuong  ba dinh" fold to the same "phuong ba dinh"."""
    if not text:
        return ""
    value = unicodedata.normalize("NFC", str(text)).casefold().translate(_LETTERS)
    value = "".join(c for c in unicodedata.normalize("NFD", value) if not unicodedata.combining(c))
    return _SPACES.sub(" ", value).strip()


def digits(text: str | None) -> str:
    """Only the digits: a phone typed "+84 912.345.678" is also found by "912345678"."""
    return re.sub(r"\D", "", str(text or ""))


# The applicant's fields a dossier is searched by (`dossier.search_text`).
APPLICANT_SEARCHED = ("full_name", "name", "id_number", "phone")


def dossier_search_text(code: str | None, applicant: dict | None) -> str:
    """What `dossier.search_text` holds: the folded code and the applicant's name, ID number and
    phone (also as bare digits), so one column answers "nguyen thi dao", "0912345678" or a code."""
    applicant = applicant if isinstance(applicant, dict) else {}
    parts = [fold(code)]
    for key in APPLICANT_SEARCHED:
        value = applicant.get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            parts.append(fold(str(value)))
    phone = digits(applicant.get("phone")) if isinstance(applicant.get("phone"), (str, int)) else ""
    if phone and phone not in parts:
        parts.append(phone)
    return " ".join(p for p in parts if p)
