"""Files attached to a dossier: the applicant's documents and the result documents.

The row describes the file; the bytes live in a storage (`services/attachments.py`): on disk,
in the database (`attachment_blob`) or, later, in an object store. `storage_key` is the
storage's own name for the bytes, so moving to another store is a data migration, not a schema
change.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow

APPLICANT_DOCUMENT, RESULT_DOCUMENT = "applicant", "result"


class Attachment(db.Model):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # applicant | result
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage: Mapped[str] = mapped_column(String(20))  # disk | database | ...
    storage_key: Mapped[str] = mapped_column(String(300))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_attachment_dossier", "dossier_id", "kind"),)


class AttachmentBlob(db.Model):
    """The bytes of an attachment kept by the database storage."""

    __tablename__ = "attachment_blob"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
