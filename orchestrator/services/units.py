"""Unit names for pages and documents: one query for a set of codes, the provinces for pickers."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Unit


def names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Code -> name of the units among `codes` (unknown codes are left out)."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())


def provinces(session: Session, codes: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(code, name) of the provinces, by code; only those in `codes` when given."""
    query = select(Unit.code, Unit.name).where(Unit.level == "province").order_by(Unit.code)
    if codes is not None:
        query = query.where(Unit.code.in_(set(codes)))
    return [tuple(row) for row in session.execute(query).all()]
