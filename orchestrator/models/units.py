"""Administrative and service units: country, provinces, communes, departments, centers."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, event, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..text import fold, nfc

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
    # A commune with especially difficult socio-economic conditions: some procedures give it more
    # days (the land procedure 1.013978: +10, docs/domain.md). Set by administrators.
    disadvantaged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Issue 22: where citizens go and whom they call, shown on the public tracking page; set by
    # administrators on the units page (None: not shown).
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(40))
    # `fold(name)`, kept by `_fold_name` on every write: what unit searches compare (services.search).
    name_folded: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_unit_level_province", "level", "province_code"),
        Index("ix_unit_parent", "parent_code"),
        # A trigram index serves `%word%` on PostgreSQL (migration a190a1b2c3d4); a plain one elsewhere.
        Index("ix_unit_name_folded", "name_folded", postgresql_using="gin",
              postgresql_ops={"name_folded": "gin_trgm_ops"}),
    )


@event.listens_for(Unit, "before_insert")
@event.listens_for(Unit, "before_update")
def _fold_name(mapper, connection, unit: Unit) -> None:
    """Names are stored composed (NFC) whatever the keyboard sent, and folded for search."""
    unit.name = nfc(unit.name)
    unit.name_folded = fold(unit.name)


class UnitServiceArea(db.Model):
    """Communes a branch (of a department or of the service center) serves."""

    __tablename__ = "unit_service_area"

    unit_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), primary_key=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("unit.code"), primary_key=True, index=True)
