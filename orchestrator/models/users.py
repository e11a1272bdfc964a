"""People and systems that act: officers, designers, administrators, integrators."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import JSONType, UTCDateTime, utcnow

ROLES = ("reception", "specialist", "leader", "supervisor", "designer", "admin")


class User(db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(200))
    # chức vụ, e.g. "Chủ tịch UBND xã": how a leader signs the letters issued in the unit's name
    title: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # made by `flask load-examples` (services.examples): reported while on the demo password (services.checks)
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # bumped by services.auth.revoke_credentials (password reset, deactivation, a role removed,
    # logout): every session and token stamped with an older value stops working at once
    credential_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the officer's daily email digest of their notifications (issue 24, point 5), by their choice;
    # rows from `digest_since` on (when it was turned on), so turning it on sends no backlog
    digest_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_email: Mapped[str | None] = mapped_column(String(254))
    digest_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignments: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleAssignment(db.Model):
    __tablename__ = "role_assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), index=True)

    user: Mapped[User] = relationship(back_populates="assignments")

    __table_args__ = (UniqueConstraint("user_id", "role", "unit_code"),)


class UserToken(db.Model):
    """Opaque API token of a user; only its SHA-256 is stored."""

    __tablename__ = "user_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the user's credential_generation when issued: a token of an older generation is refused
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Integrator(db.Model):
    """A system calling the API, owned by one scope: the administrators of that province (or of VN)
    manage it, and its keys stay within it. Names are unique per scope, not across the country."""

    __tablename__ = "integrator"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), default="VN")  # "VN" or a province code
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("scope", "name", name="uq_integrator_scope_name"),)


class ApiKey(db.Model):
    """An integrator's key: scoped to provinces and permissions, stored hashed."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integrator_id: Mapped[int] = mapped_column(ForeignKey("integrator.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    provinces: Mapped[list] = mapped_column(JSONType, default=list)
    permissions: Mapped[list] = mapped_column(JSONType, default=list)
    # The events the key may send (`POST /dossiers/{code}/events/{name}`): names, or ["*"] for all.
    events: Mapped[list] = mapped_column(JSONType, default=lambda: ["*"])
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by_id: Mapped[int | None] = mapped_column(Integer)

    integrator: Mapped[Integrator] = relationship(lazy="joined")


class Substitute(db.Model):
    """An officer's substitute from `starts_on` to `ends_on` (inclusive), set by a leader of the
    officer's unit: work that would go to the officer in that period goes to the substitute."""

    __tablename__ = "substitute"
    __table_args__ = (Index("ix_substitute_user_period", "user_id", "starts_on", "ends_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    substitute_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    set_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    substitute: Mapped[User] = relationship(foreign_keys=[substitute_id], lazy="joined")
