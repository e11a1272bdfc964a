"""Administrative and service units: country, provinces, communes, departments, centers."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

LEVELS = ("national", "province", "commune", "department", "service-center")


class Unit(db.Model):
    __tablename__ = "unit"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"))
    province_code: Mapped[str | None] = mapped_column(String(2))
    dept_code: Mapped[str | None] = mapped_column(String(20))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_unit_level_province", "level", "province_code"),
        Index("ix_unit_parent", "parent_code"),
    )


class UnitServiceArea(db.Model):
    """Communes a branch (of a department or of the service center) serves."""

    __tablename__ = "unit_service_area"

    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), primary_key=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), primary_key=True, index=True)
