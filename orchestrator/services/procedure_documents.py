"""The documents a citizen brings for a procedure (thành phần hồ sơ), one list per version.

Printed on the receipt (form 01 of Circular 03/2025/TT-VPCP: "thành phần hồ sơ và số lượng mỗi
loại giấy tờ"). Each item is `{"name": str, "copies": str, "required": bool}` ("01 bản chính").
The list is seeded for the shipped procedures from `bpmn/documents.json`, carried into the drafts
made from a version (`designer._copy_as_draft`) and into a new upload of a known procedure
(`procedures.upload`), frozen at publish (only drafts change) and edited through `set_documents`
(the back office's editor and `PUT .../documents` of the API), authorised like a draft's other
edits (`access.may_write_procedure`).
"""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from ..models import ProcedureVersion
from ..models.procedures import DRAFT
from . import access, audit, procedures
from .auth import Actor
from ..i18n import vi
from .errors import Conflict, Invalid

MAX_ITEMS = 50
MAX_CHARS = 500
OPTIONAL_MARKS = ("không bắt buộc", "nếu có", "tùy chọn", "optional")
FILE = "documents.json"


def _refuse(message: str) -> Invalid:
    return Invalid(message, fields={"documents": message})


def check(value) -> list[dict]:
    """The list as stored: each item a name (required), copies and required flag; at most
    MAX_ITEMS items of at most MAX_CHARS characters each. Anything else: 400 naming `documents`."""
    if not isinstance(value, list):
        raise _refuse(vi("Thành phần hồ sơ phải là một danh sách."))
    if len(value) > MAX_ITEMS:
        raise _refuse(vi("Tối đa %(max)s giấy tờ (đã nhập %(count)s).", max=MAX_ITEMS, count=len(value)))
    out = []
    for n, item in enumerate(value, 1):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or set(item) - {"name", "copies", "required"}:
            raise _refuse(vi("Giấy tờ thứ %(n)s: cần tên (name), số lượng (copies) và bắt buộc hay không "
                             "(required).", n=n))
        name, copies = item.get("name"), item.get("copies", "")
        if not isinstance(name, str) or not name.strip() or not isinstance(copies, str) \
                or not isinstance(item.get("required", True), bool):
            raise _refuse(vi("Giấy tờ thứ %(n)s: thiếu tên giấy tờ.", n=n))
        if len(name.strip()) > MAX_CHARS or len(copies.strip()) > MAX_CHARS:
            raise _refuse(vi("Giấy tờ thứ %(n)s: tối đa %(max)s ký tự.", n=n, max=MAX_CHARS))
        out.append({"name": name.strip(), "copies": copies.strip(), "required": item.get("required", True)})
    return out


def parse_lines(text: str) -> list[dict]:
    """The back office's editor: one document per line, `name | copies | không bắt buộc`
    (the last two optional; blank lines skipped)."""
    items = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts[0]:
            continue
        optional = len(parts) > 2 and parts[2].lower() in OPTIONAL_MARKS
        items.append({"name": parts[0], "copies": parts[1] if len(parts) > 1 else "", "required": not optional})
    return items


def as_lines(documents: list[dict]) -> str:
    """The list as the editor shows it (what `parse_lines` reads back)."""
    return "\n".join(" | ".join([d["name"], d.get("copies", "")] + ([] if d.get("required", True) else
                                                                     ["không bắt buộc"])).rstrip(" |")
                     for d in documents or [])


def set_documents(session: Session, actor: Actor, code: str, number: int, documents) -> ProcedureVersion:
    """Replace a draft's list (a published version is immutable: 409; another scope: 403)."""
    version = procedures.get_version(session, code, number)
    access.may_write_procedure(actor, version.scope)
    if version.state != DRAFT:
        raise Conflict(vi("Phiên bản đã công bố không thể sửa; hãy tạo bản nháp mới từ phiên bản này."),
                       code="immutable")
    items = check(documents)
    before = list(version.documents or [])
    version.documents = items
    audit.record(session, "procedure.documents", actor.name, note=f"{code} v{number}: {len(items)} giấy tờ",
                 data={"before": len(before), "after": len(items)})
    session.flush()
    return version


def shipped(library: Path) -> dict[str, list[dict]]:
    """{procedure code: its list} from the library's data file (none: empty)."""
    path = library / FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {code: check(entry["documents"]) for code, entry in data.items() if not code.startswith("_")}
