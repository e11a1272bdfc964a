"""The personal identification number (số định danh cá nhân, printed on the CCCD card) as a desk
officer types it: checked before a walk-in dossier is recorded (docs/domain.md, "The applicant").

Twelve digits; the first three are the code of the province where the birth was registered (the
63 codes of the appendix of Circular 59/2021/TT-BCA, 001..096, which the 2025 merger of provinces
did not renumber on cards already issued), then century and sex, year of birth, a serial number.
Pure functions: no Flask, no database, so the back office and any other caller share them."""
from __future__ import annotations

import re

# Circular 59/2021/TT-BCA, appendix: province codes of birth registration (the pre-2025 provinces).
PROVINCE_CODES = frozenset({
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019", "020", "022", "024",
    "025", "026", "027", "030", "031", "033", "034", "035", "036", "037", "038", "040", "042", "044", "045",
    "046", "048", "049", "051", "052", "054", "056", "058", "060", "062", "064", "066", "067", "068", "070",
    "072", "074", "075", "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
})
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")

REQUIRED, FORMAT, PROVINCE = "required", "format", "province"


def normalise(value: str | None) -> str:
    """What is stored: the digits as typed, without the spaces or dots people put between groups."""
    return re.sub(r"[\s.\-]", "", value or "")


def id_number_problem(value: str | None) -> str | None:
    """None when `value` is a well-formed personal identification number; else why not:
    `required` (empty), `format` (not 12 digits) or `province` (no such province code)."""
    number = normalise(value)
    if not number:
        return REQUIRED
    if not _TWELVE_DIGITS.fullmatch(number):
        return FORMAT
    if number[:3] not in PROVINCE_CODES:
        return PROVINCE
    return None
