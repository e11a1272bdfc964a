"""Connectors: named HTTP calls that service tasks make, registered by administrators."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow


class Connector(db.Model):
    """One external system call: method, URL template, headers (secret ones encrypted at rest and
    never shown back), bounded timeout and attempts, the response fields mapped to outputs. Scoped
    like other administered objects: a province (its dossiers) or VN (every dossier)."""

    __tablename__ = "connector"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(8), default="GET")
    url_template: Mapped[str] = mapped_column(String(500))
    headers: Mapped[dict] = mapped_column(JSONType, default=dict)  # name -> plain value
    secret_headers: Mapped[dict] = mapped_column(JSONType, default=dict)  # name -> Fernet token
    inputs: Mapped[list] = mapped_column(JSONType, default=list)  # required input names
    outputs: Mapped[dict] = mapped_column(JSONType, default=dict)  # output name -> JSON pointer / dotted path
    timeout_seconds: Mapped[float] = mapped_column(Float, default=10.0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("scope", "name"),)
