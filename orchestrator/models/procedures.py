"""Procedures, their immutable published versions, and which version is in force."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow

NATIONAL = "national"
DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"


class Procedure(db.Model):
    __tablename__ = "procedure"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    field: Mapped[str | None] = mapped_column(String(200))


class ProcedureVersion(db.Model):
    """One diagram with everything it depends on; frozen once published."""

    __tablename__ = "procedure_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedure.code"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(10))  # "national" or a province code
    state: Mapped[str] = mapped_column(String(12), default=DRAFT)
    dialect: Mapped[str] = mapped_column(String(10))  # "spiff" or "camunda"
    process_id: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # Engine-independent description of the diagram: lanes, user tasks (form, milestone).
    model: Mapped[dict] = mapped_column(JSONType, default=dict)
    lane_map: Mapped[dict] = mapped_column(JSONType, default=dict)
    forms: Mapped[dict] = mapped_column(JSONType, default=dict)
    warnings: Mapped[list] = mapped_column(JSONType, default=list)
    deadline_days: Mapped[int | None] = mapped_column(Integer)
    deadline_kind: Mapped[str] = mapped_column(String(10), default="working")
    fee_rule: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Issue 18: working days after reception within which a supplement may be requested during
    # processing; None = no window (no general rule sets one; some sector rules do).
    supplement_window_days: Mapped[int | None] = mapped_column(Integer)
    # Issue 18: the period's variants and the waits not counted in it (`services.periods`), {}
    # when the period is always deadline_days. Frozen with the version.
    deadline_rules: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The DMN documents uploaded with the diagram, {decision id: XML}; frozen with the version.
    decisions: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Issue 17: a version with a timer start marked as scheduled, {"units": [unit codes]} (the
    # receiving units, one dossier each per tick); {} when not marked. Frozen with the version.
    schedule: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Issue 19: the documents the citizen brings (thành phần hồ sơ), a list designers edit,
    # printed on the receipt; [] falls back to the procedure's generic wording. Frozen with the version.
    documents: Mapped[list] = mapped_column(JSONType, default=list)
    # Issue 22: SHA-256 of the normalised diagram; an identical upload in one scope is refused
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(120))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    procedure: Mapped[Procedure] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("procedure_code", "version"),)


class ProcedureInForce(db.Model):
    """The version a (procedure, scope) runs for new dossiers; publish and rollback move it."""

    __tablename__ = "procedure_in_force"

    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedure.code"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    version: Mapped[ProcedureVersion] = relationship(lazy="joined")


class ProcedureAlias(db.Model):
    """An earlier code of a procedure (renumbered in the national database): a dossier started
    with it starts the procedure it now names (`procedures.in_force`)."""

    __tablename__ = "procedure_alias"

    alias: Mapped[str] = mapped_column(String(40), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedure.code"), index=True)


class ProcedureCall(db.Model):
    """A call activity of a version that calls a procedure of the library (`procedure:<code>`): the
    called version is pinned when the caller is published (the one in force then), so running
    dossiers keep it; `called_by` reads the callers of a procedure from here."""

    __tablename__ = "procedure_call"

    caller_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"), primary_key=True)
    element_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    callee_code: Mapped[str] = mapped_column(String(40), index=True)
    callee_version_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_version.id"))


class FormDefinition(db.Model):
    """The form library designers pick from; copied into a version at publish."""

    __tablename__ = "form_definition"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    definition: Mapped[dict] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
