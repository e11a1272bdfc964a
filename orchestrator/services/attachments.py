"""Attachments: applicants' documents and result documents, behind a swappable storage.

`Storage` is the interface (`put`, `get`, `delete` by an opaque key the service generates, never
a user-supplied name). `DiskStorage` writes under a root folder, `DatabaseStorage` keeps the bytes
in `attachment_blob` (the embedded default: one file to back up); an object store implements the
same three methods. The type is checked on the extension *and* the file's leading bytes, so a
renamed executable is not stored as a PDF. Bytes written outside the database (disk, an object
store) by a transaction that then rolls back are deleted when it ends; only a process killed
between the write and the commit can leave a file that nothing references (never served).
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Mapping, Protocol

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from ..downloads import content_disposition, strip_controls
from ..i18n import vi
from ..models import Attachment, AttachmentBlob, Dossier
from ..models.attachments import APPLICANT_DOCUMENT, RESULT_DOCUMENT
from ..models.dossiers import FINAL_STATUSES
from ..settings import settings_of
from . import access, audit
from .auth import Actor
from .errors import Conflict, Invalid, NotFound, TooLarge

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# extension -> (content type, leading bytes)
TYPES = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
}
KINDS = (APPLICANT_DOCUMENT, RESULT_DOCUMENT)


class Storage(Protocol):
    name: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class DiskStorage:
    name = "disk"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


class DatabaseStorage:
    name = "database"

    def __init__(self, session: Session):
        self.session = session

    def put(self, key: str, data: bytes) -> None:
        self.session.add(AttachmentBlob(key=key, data=data))

    def get(self, key: str) -> bytes:
        blob = self.session.get(AttachmentBlob, key)
        if blob is None:
            raise FileNotFoundError(key)
        return blob.data

    def delete(self, key: str) -> None:
        blob = self.session.get(AttachmentBlob, key)
        if blob is not None:
            self.session.delete(blob)


_WRITTEN = "attachments.written"  # session.info: (storage, key) written in the current transaction


def _delete_if_rolled_back(session: Session, storage: Storage, key: str) -> None:
    session.info.setdefault(_WRITTEN, []).append((storage, key))


@event.listens_for(Session, "after_commit")
def _kept(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_transaction_end")
def _rolled_back(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    for storage, key in session.info.pop(_WRITTEN, ()):  # still here: not committed
        try:
            storage.delete(key)
        except (OSError, ValueError):
            pass  # a file left behind is never served: nothing references it


def storage_from_config(config: Mapping, session: Session, name: str | None = None) -> Storage:
    """ATTACHMENT_STORAGE = 'database' (default) or 'disk' (under ATTACHMENT_DIR)."""
    name = name or config.get("ATTACHMENT_STORAGE", "database")
    if name == "disk":
        return DiskStorage(config.get("ATTACHMENT_DIR") or "instance/attachments")
    if name == "database":
        return DatabaseStorage(session)
    raise ValueError(f"unknown attachment storage {name!r}")


def all_storages(config: Mapping, session: Session) -> dict[str, Storage]:
    """Every storage a stored attachment may name, so reads keep working after a switch."""
    return {name: storage_from_config(config, session, name) for name in ("database", "disk")}


def _clean_name(filename: str) -> str:
    name = os.path.basename(strip_controls(filename or "").replace("\\", "/"))  # bidi overrides too
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip()
    return name[:200]


def check_file(filename: str, data: bytes, max_bytes: int) -> tuple[str, str]:
    """(clean name, content type), or a 400/413 naming what is wrong."""
    name = _clean_name(filename)
    if not name:
        raise Invalid(vi("Chọn một tệp."), fields={"file": vi("bắt buộc")})
    ext = os.path.splitext(name)[1].lower()
    if ext not in TYPES:
        raise Invalid(vi("Loại tệp không được chấp nhận: %(ext)s.", ext=ext or vi("(không có đuôi)")),
                      fields={"file": vi("chỉ nhận %(types)s", types=", ".join(sorted(TYPES)))})
    if len(data) > max_bytes:
        raise TooLarge(vi("Tệp quá lớn: tối đa %(mb)s MB.", mb=max_bytes // (1024 * 1024)))
    if not data:
        raise Invalid(vi("Tệp rỗng."), fields={"file": vi("tệp rỗng")})
    content_type, magic = TYPES[ext]
    if not any(data.startswith(m) for m in magic):
        raise Invalid(vi("Nội dung tệp không đúng với loại tệp."),
                      fields={"file": vi("không phải tệp %(ext)s hợp lệ", ext=ext)})
    return name, content_type


def check_quota(session: Session, dossier: Dossier, size: int) -> None:
    """At most ATTACHMENTS_PER_DOSSIER files and ATTACHMENT_BYTES_PER_DOSSIER bytes per dossier,
    whoever uploads (409 `attachment_quota` naming the limit). The dossier's row is locked first
    (PostgreSQL; SQLite writes one at a time), so two uploads at once cannot both pass the count."""
    settings = settings_of(session)
    session.execute(select(Dossier.id).where(Dossier.id == dossier.id).with_for_update())
    count, total = session.execute(select(func.count(Attachment.id), func.coalesce(func.sum(Attachment.size), 0))
                                   .where(Attachment.dossier_id == dossier.id)).one()
    if count + 1 > settings.attachments_per_dossier:
        raise Conflict(vi("Hồ sơ đã có %(count)s tệp, tối đa %(limit)s tệp; không thêm được.", count=count,
                          limit=settings.attachments_per_dossier), code="attachment_quota",
                       extra={"limit": "files", "max_files": settings.attachments_per_dossier, "files": count})
    if total + size > settings.attachment_bytes_per_dossier:
        mb = settings.attachment_bytes_per_dossier / (1024 * 1024)
        raise Conflict(vi("Tổng dung lượng tệp của hồ sơ vượt quá %(mb)s MB; không thêm được.",
                          mb=f"{mb:g}"), code="attachment_quota",
                       extra={"limit": "bytes", "max_bytes": settings.attachment_bytes_per_dossier,
                              "bytes": int(total)})


def upload_to(session: Session, actor: Actor, code: str, kind: str, filename: str, data: bytes,
              storage: Storage, max_bytes: int = DEFAULT_MAX_BYTES) -> Attachment:
    """Upload to the dossier of that code: the API and the back office both come here."""
    dossier = session.scalar(select(Dossier).where(Dossier.code == code)) if isinstance(code, str) else None
    if dossier is None:
        raise NotFound(vi("Không tìm thấy hồ sơ %(code)s.", code=code))
    return upload(session, actor, dossier, kind, filename, data, storage, max_bytes)


def upload(session: Session, actor: Actor, dossier: Dossier, kind: str, filename: str, data: bytes,
           storage: Storage, max_bytes: int = DEFAULT_MAX_BYTES) -> Attachment:
    access.may_add_to(session, actor, dossier)
    if kind not in KINDS:
        raise Invalid(vi("Loại giấy tờ không hợp lệ."), fields={"kind": " | ".join(KINDS)})
    access.may_upload_attachment(session, actor, dossier, kind)
    if dossier.status in FINAL_STATUSES:
        raise Conflict(vi("Hồ sơ đã kết thúc; không thêm tệp được."), code="not_allowed_in_status")
    name, content_type = check_file(filename, data, max_bytes)
    check_quota(session, dossier, len(data))
    key = uuid.uuid4().hex
    storage.put(key, data)
    if not isinstance(storage, DatabaseStorage):
        _delete_if_rolled_back(session, storage, key)
    row = Attachment(dossier_id=dossier.id, kind=kind, filename=name, content_type=content_type, size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), storage=storage.name, storage_key=key,
                     uploaded_by=actor.name)
    session.add(row)
    session.flush()
    audit.record(session, "attachment_added", actor.name, dossier=dossier, note=name,
                 data={"id": row.id, "kind": kind, "size": len(data), "sha256": row.sha256})
    return row


def download_headers(row: Attachment) -> dict[str, str]:
    """A download under a name we make (id and extension), never sniffed into another type."""
    return {"Content-Disposition": content_disposition(
                "attachment", f"{row.id}{os.path.splitext(strip_controls(row.filename))[1]}"),
            "X-Content-Type-Options": "nosniff"}


def list_for(session: Session, dossier: Dossier) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.dossier_id == dossier.id)
                                .order_by(Attachment.kind, Attachment.id)).all())


def fetch(session: Session, actor: Actor, attachment_id: int, storages: Mapping[str, Storage]) -> tuple[Attachment, bytes]:
    """The file, for those who may see its dossier (404 for everyone else)."""
    row = session.get(Attachment, attachment_id) if isinstance(attachment_id, int) else None
    dossier = session.get(Dossier, row.dossier_id) if row is not None else None
    if row is None or dossier is None or not access.sees_dossier(session, actor, dossier):
        raise NotFound(vi("Không tìm thấy tệp."))
    storage = storages.get(row.storage)
    if storage is None:
        raise NotFound(vi("Không đọc được tệp từ kho lưu trữ."))
    try:
        return row, storage.get(row.storage_key)
    except (FileNotFoundError, ValueError):
        raise NotFound(vi("Không đọc được tệp từ kho lưu trữ.")) from None
