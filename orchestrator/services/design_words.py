"""What a designer reads instead of codes and Python values (issue 22): a routing path, a fee rule,
a legal or step deadline, a version's status, said in Vietnamese (`vi`, rendered in English on
English pages). Used by the compare page, the lane labels and the version lists."""
from __future__ import annotations

from ..engine import parse_route
from ..i18n import vi
from ..models.procedures import DRAFT, NATIONAL, PUBLISHED



def role_words(role: str | None):
    if role == "reception":
        return vi("công chức tiếp nhận")
    if role == "specialist":
        return vi("chuyên viên")
    if role == "leader":
        return vi("lãnh đạo")
    return role or ""


def money(amount) -> str:
    """8000 -> "8.000 đ" (Vietnamese thousands separator)."""
    try:
        return f"{int(amount):,}".replace(",", ".") + " đ"
    except (TypeError, ValueError):
        return str(amount)


def route_words(path: str | None):
    """commune/reception -> "Công chức tiếp nhận, UBND xã/phường"; None -> "chưa gán"."""
    if not path:
        return vi("chưa gán")
    route = parse_route(path)
    if not route:
        return path
    role = role_words(route.get("role"))
    target = str(route.get("unit_type") or "")
    if route.get("level") == "commune":
        return vi("%(role)s, xã/phường", role=role)
    if target == "service-center":
        return vi("%(role)s, Trung tâm phục vụ hành chính công tỉnh", role=role)
    if target.startswith("department:"):
        return vi("%(role)s, sở/ngành %(dept)s", role=role, dept=target.split(":", 1)[1])
    return vi("%(role)s, %(path)s", role=role, path=path)


def fee_words(rule: dict | None):
    rule = rule or {"kind": "free"}
    kind = rule.get("kind")
    if kind == "free":
        return vi("miễn phí")
    if kind == "fixed":
        return vi("cố định %(amount)s", amount=money(rule.get("amount")))
    if kind == "decision":
        return vi("theo bảng quyết định %(decision)s", decision=rule.get("decision") or "")
    if kind == "provincial":
        return vi("do tỉnh quy định")
    return str(kind)


def deadline_words(days, kind: str | None):
    if kind == "same-day":
        return vi("trong ngày")
    if days in (None, ""):
        return vi("không có")
    if kind == "calendar":
        return vi("%(n)s ngày theo lịch", n=days)
    return vi("%(n)s ngày làm việc", n=days)


def step_deadline_words(step: dict):
    if step.get("step_days"):
        return vi("%(n)s ngày làm việc", n=step["step_days"])
    if step.get("step_hours"):
        return vi("%(n)s giờ làm việc", n=step["step_hours"])
    return vi("theo hạn hồ sơ")


def status_words(state: str, in_force: bool):
    """Exactly one status per version: in force in its scope, a draft, or replaced."""
    if state == DRAFT:
        return vi("Bản nháp")
    if state == PUBLISHED and in_force:
        return vi("Đang áp dụng")
    return vi("Đã thay thế")


def scope_words(scope: str):
    return vi("quốc gia") if scope == NATIONAL else vi("tỉnh %(province)s", province=scope)
