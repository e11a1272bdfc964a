"""Notification templates (issue 24): one row per (province, event, channel) that an administrator
wrote; a NULL province is the national row every province follows until it writes its own. Without
any row the built-in default of `services/message_templates.py` applies."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow

CHANNELS = ("email", "sms", "zalo")


class MessageTemplate(db.Model):
    __tablename__ = "message_template"
    __table_args__ = (
        UniqueConstraint("province_code", "event", "channel", name="uq_message_template"),
        # NULLs are distinct in a unique constraint: one national row per (event, channel) needs its own index
        Index("uq_message_template_national", "event", "channel", unique=True,
              sqlite_where=text("province_code IS NULL"), postgresql_where=text("province_code IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str | None] = mapped_column(String(10))   # NULL: the national row
    event: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(10))                 # CHANNELS
    subject: Mapped[str | None] = mapped_column(String(500))         # email only
    body: Mapped[str] = mapped_column(Text)
    zns_template_id: Mapped[str | None] = mapped_column(String(100))  # zalo only
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))
