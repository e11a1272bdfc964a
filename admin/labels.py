"""What officers read instead of codes: one table per kind (roles, unit levels, dossier statuses,
work item and version states, lifecycle actions and events), Vietnamese in the source and English
through gettext, exposed to templates as filters (`role_label`, `level_label`, `status_label`,
`item_state_label`, `version_state_label`). A code no table knows is shown as it is.
"""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l, lazy_pgettext, pgettext

from orchestrator.models import STATUS_NAMES

from .blueprint import bp

ROLES = {
    "reception": _l("Công chức tiếp nhận"),
    "specialist": _l("Chuyên viên"),
    "leader": _l("Lãnh đạo"),
    "supervisor": _l("Giám sát"),
    "designer": _l("Thiết kế quy trình"),
    "admin": _l("Quản trị"),
}
LEVELS = {
    "national": _l("Trung ương"),
    "province": _l("Tỉnh, thành phố"),
    "commune": _l("Xã, phường"),
    "department": _l("Sở, ngành"),
    "service-center": _l("Trung tâm phục vụ hành chính công"),
}
ITEM_STATES = {"open": _l("đang mở"), "completed": _l("đã hoàn thành"), "cancelled": _l("đã hủy")}
VERSION_STATES = {"draft": _l("bản nháp"), "published": _l("đã công bố"), "retired": _l("ngừng áp dụng")}
# the flash after a lifecycle action (`lifecycle.ACTIONS`) or an event (`lifecycle.EVENTS`, messages)
ACTIONS_DONE = {
    "request-supplement": _l("Đã yêu cầu bổ sung hồ sơ"),
    "request-payment": _l("Đã yêu cầu thực hiện nghĩa vụ tài chính"),
    "refuse": _l("Đã từ chối tiếp nhận hồ sơ"),
    "apologize": _l("Đã gửi phiếu xin lỗi và hẹn lại ngày trả kết quả"),
    "stop": _l("Đã dừng xử lý hồ sơ"),
    "return-to-step": _l("Đã trả hồ sơ về bước trước"),
    "return-result": _l("Đã trả kết quả"),
}
EVENTS_DONE = {
    "supplement_submitted": _l("Đã ghi nhận công dân nộp bổ sung hồ sơ"),
    "payment_received": _l("Đã ghi nhận công dân đã nộp phí, lệ phí"),
    "withdrawn": _l("Đã ghi nhận công dân rút hồ sơ"),
    "tax_notice": _l("Đã ghi nhận thông báo nghĩa vụ tài chính của cơ quan thuế"),
}
# Dossier statuses: `STATUS_NAMES` (orchestrator.models), the portal's Vietnamese names, translated
# in the context "status" of the catalogue (the same words elsewhere are actions: "Dừng xử lý").


def _label(table: dict, code) -> str:
    label = table.get(code)
    return str(label) if label is not None else ("" if code is None else str(code))


@bp.app_template_filter("role_label")
def role_label(code: str | None) -> str:
    return _label(ROLES, code)


@bp.app_template_filter("level_label")
def level_label(code: str | None) -> str:
    return _label(LEVELS, code)


@bp.app_template_filter("item_state_label")
def item_state_label(code: str | None) -> str:
    return _label(ITEM_STATES, code)


@bp.app_template_filter("version_state_label")
def version_state_label(code: str | None) -> str:
    return _label(VERSION_STATES, code)


VERSION_STATUSES = {"in_force": lazy_pgettext("version status", "Đang áp dụng"),
                    "draft": lazy_pgettext("version status", "Bản nháp"),
                    "replaced": lazy_pgettext("version status", "Đã thay thế")}


@bp.app_template_filter("version_status")
def version_status(version, in_force: bool = False) -> str:
    """Issue 22: one status per version: in force in its scope, a draft, or replaced."""
    if version.state == "draft":
        return str(VERSION_STATUSES["draft"])
    return str(VERSION_STATUSES["in_force" if in_force and version.state == "published" else "replaced"])


@bp.app_template_filter("status_label")
def status_label(code) -> str:
    """A dossier status (1..10) by its name in the page's language."""
    try:
        name = STATUS_NAMES[int(code)]
    except (KeyError, TypeError, ValueError):
        return "" if code is None else str(code)
    return pgettext("status", name)


def action_done(action: str) -> str:
    return _label(ACTIONS_DONE, action)


def event_done(name: str) -> str:
    label = EVENTS_DONE.get(name)
    return str(label) if label is not None else gettext("Đã ghi nhận sự kiện “%(e)s”", e=name)
