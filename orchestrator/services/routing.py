"""Where a lane's work goes for one dossier: from a routing path to a concrete unit."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine import parse_route
from ..models import Unit, UnitServiceArea
from .cache import TTLCache, db_key


ITEM = "{item}"  # in a routing path: each instance's input item (model.ITEM), resolved per instance


@dataclass(frozen=True)
class Route:
    unit_code: str
    role: str


class Unresolvable(Exception):
    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


_routes = TTLCache(max_size=20_000, ttl=300)


def resolve(session: Session, path: str, province_code: str, commune_code: str,
            received_by_unit: str | None = None) -> Route:
    """The unit and role a lane's work goes to for this dossier (cached a few minutes: units
    change rarely, and a step must not pay a query for it)."""
    key = (db_key(session), path, province_code, commune_code, received_by_unit)
    return _routes.get(key, lambda: _resolve(session, path, province_code, commune_code, received_by_unit))


def forget_routes() -> None:
    """Called when units or their areas change in this process."""
    _routes.clear()


def _resolve(session: Session, path: str, province_code: str, commune_code: str,
             received_by_unit: str | None = None) -> Route:
    """Apply the routing rules (docs/domain.md): commune lanes to the dossier's commune, the service center to
    the branch that received it (else the main center), a department to its branch serving
    the commune (else the department)."""
    route = parse_route(path)
    if route is None:
        raise Unresolvable(path, "không phải đường định tuyến hợp lệ")
    if route["level"] == "commune":
        return Route(commune_code, route["role"])
    unit_type = route["unit_type"]
    if unit_type == "service-center":
        if received_by_unit:
            received = session.get(Unit, received_by_unit)
            if received is not None and received.level == "service-center" and received.province_code == province_code:
                return Route(received.code, route["role"])
        main = session.scalar(select(Unit.code).where(
            Unit.level == "service-center", Unit.province_code == province_code, Unit.parent_code == province_code))
        if main is None:
            raise Unresolvable(path, f"tỉnh {province_code} chưa có Trung tâm Phục vụ hành chính công")
        return Route(main, route["role"])
    dept_code = unit_type.split(":", 1)[1]
    branch = session.scalar(
        select(Unit.code).join(UnitServiceArea, UnitServiceArea.unit_code == Unit.code).where(
            Unit.level == "department", Unit.dept_code == dept_code, Unit.province_code == province_code,
            UnitServiceArea.commune_code == commune_code)
    )
    if branch is not None:
        return Route(branch, route["role"])
    dept = session.scalar(select(Unit.code).where(
        Unit.level == "department", Unit.dept_code == dept_code, Unit.province_code == province_code,
        Unit.parent_code == province_code))
    if dept is None:
        raise Unresolvable(path, f"tỉnh {province_code} không có đơn vị {dept_code}")
    return Route(dept, route["role"])


def unresolved_communes(session: Session, path: str, province_code: str) -> list[str]:
    """Communes of the province for which the path finds no unit (publish-time check)."""
    route = parse_route(path)
    if route is None:
        return ["*"]
    if route["level"] == "commune":
        return []
    if route["unit_type"] == "service-center":
        try:
            resolve(session, path, province_code, "")
        except Unresolvable:
            return ["*"]
        return []
    dept_code = route["unit_type"].split(":", 1)[1]
    has_dept = session.scalar(select(Unit.code).where(
        Unit.level == "department", Unit.dept_code == dept_code, Unit.province_code == province_code,
        Unit.parent_code == province_code))
    if has_dept:
        return []  # the department itself serves any commune its branches do not
    communes = session.scalars(select(Unit.code).where(Unit.level == "commune", Unit.parent_code == province_code)).all()
    served = set(session.scalars(
        select(UnitServiceArea.commune_code).join(Unit, Unit.code == UnitServiceArea.unit_code).where(
            Unit.level == "department", Unit.dept_code == dept_code, Unit.province_code == province_code)).all())
    return [c for c in communes if c not in served]
