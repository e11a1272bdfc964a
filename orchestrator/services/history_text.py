"""A history event (action, actor, details) as one sentence people read, in Vietnamese or English.

The history keeps machine codes (`created`, `complete`, `decided`: the API's `action`); officers
read "Nguyễn Văn An (Công chức một cửa) đã hoàn thành bước “Tiếp nhận hồ sơ”". One table per
action, both languages side by side, read by the back office's history and the API's `text`.
People are named by their full name and title, read for the whole history in one query;
system and integrator actors are named plainly. No Flask: the language is an argument.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditEvent, User
from . import forms
from .cache import TTLCache, db_key

# action -> (Vietnamese, English): the sentence, with {actor}, {step}, {note} ... filled in.
# A second pair, when given, is added after the sentence when the event has a note.
SENTENCES: dict[str, tuple] = {
    # a dossier's life
    "created": ("{actor} đã tạo hồ sơ{channel}", "{actor} created the dossier{channel}"),
    "accepted": ("{actor} đã tiếp nhận hồ sơ", "{actor} accepted the dossier"),
    "refused": ("{actor} đã từ chối tiếp nhận hồ sơ", "{actor} refused the dossier",
                "Lý do: {note}", "Reason: {note}"),
    "processing": ("Hồ sơ được chuyển sang giải quyết", "The dossier went on to processing"),
    "supplement_requested": ("{actor} đã yêu cầu bổ sung hồ sơ", "{actor} requested a supplement",
                             "Cần bổ sung: {note}", "To supplement: {note}"),
    "supplement_submitted": ("Công dân nộp bổ sung hồ sơ (ghi nhận: {actor})",
                             "The citizen submitted the supplement (recorded by {actor})",
                             "Ghi chú: {note}", "Note: {note}"),
    "payment_requested": ("{actor} đã yêu cầu thực hiện nghĩa vụ tài chính",
                          "{actor} requested the fees and charges", "Số tiền: {note}", "Amount: {note}"),
    "payment_received": ("Công dân đã nộp phí, lệ phí (ghi nhận: {actor})",
                         "The citizen paid the fees (recorded by {actor})", "Biên lai: {note}", "Receipt: {note}"),
    "withdrawn": ("Công dân rút hồ sơ (ghi nhận: {actor})", "The citizen withdrew the dossier (recorded by {actor})",
                  "Lý do: {note}", "Reason: {note}"),
    "stopped": ("{actor} đã dừng xử lý hồ sơ", "{actor} stopped the processing", "Lý do: {note}", "Reason: {note}"),
    "decided": ("{actor} đã quyết định{decision} tại bước “{step}”", "{actor} decided{decision} at the step “{step}”"),
    "reopened": ("{actor} đã mở lại hồ sơ để xử lý tiếp", "{actor} reopened the dossier for processing"),
    "returned": ("Hồ sơ kết thúc: đã trả kết quả{method}", "The dossier ended: result returned{method}"),
    "result_returned": ("{actor} đã trả kết quả cho người nộp{method}", "{actor} returned the result{method}"),
    "apologized": ("{actor} đã gửi phiếu xin lỗi và hẹn lại ngày trả kết quả",
                   "{actor} sent the apology letter with a new date", "Lý do: {note}", "Reason: {note}"),
    "return_to_step": ("{actor} đã trả hồ sơ về bước “{step}”", "{actor} sent the dossier back to the step “{step}”",
                       "Lý do: {note}", "Reason: {note}"),
    "event": ("{actor} đã ghi nhận: {event}", "{actor} recorded: {event}"),
    "attachment_added": ("{actor} đã tải lên tệp “{note}”", "{actor} uploaded the file “{note}”"),
    "period_paused": ("Tạm dừng tính thời hạn giải quyết", "The time limit is paused", "{note}", "{note}"),
    "period_resumed": ("Tiếp tục tính thời hạn giải quyết", "The time limit runs again", "{note}", "{note}"),
    # steps
    "claim": ("{actor} đã nhận xử lý bước “{step}”", "{actor} took the step “{step}”"),
    "unclaim": ("{actor} đã trả lại bước “{step}” cho đơn vị", "{actor} released the step “{step}”"),
    "assign": ("{actor} đã giao bước “{step}” cho {assignee}", "{actor} assigned the step “{step}” to {assignee}"),
    "complete": ("{actor} đã hoàn thành bước “{step}”", "{actor} completed the step “{step}”"),
    "takeover_request": ("{actor} đề nghị {holder} chuyển giao bước “{step}”",
                         "{actor} asked {holder} to hand over the step “{step}”"),
    "substitute_routed": ("{actor} đã giao bước “{step}” cho người làm thay {substitute} ({officer} vắng mặt)",
                          "{actor} gave the step “{step}” to {substitute}, standing in for {officer} (absent)"),
    "step_cancelled": ("Bước “{step}” được hủy do quy trình chuyển hướng",
                       "The step “{step}” was cancelled as the process moved on"),
    "timer": ("Hệ thống: đến hạn hẹn giờ “{step}”", "The system: the timer “{step}” fired"),
    "reminder": ("Hệ thống gửi nhắc hạn đến {count} người", "The system sent a due-date reminder to {count} people"),
    "reminder.overdue": ("Hệ thống gửi cảnh báo quá hạn đến {count} người",  # a reminder's note "quá hạn: N ..."
                         "The system sent an overdue warning to {count} people"),
    "incident": ("Sự cố tại bước “{step}”", "Incident at the step “{step}”", "{note}", "{note}"),
    "incident_retry": ("{actor} đã chạy lại bước gặp sự cố “{step}”", "{actor} retried the failed step “{step}”",
                       "Kết quả: {note}", "Result: {note}"),
    "event_thrown": ("Quy trình phát tín hiệu “{note}” tại “{step}”", "The process sent “{note}” at “{step}”"),
    "event_not_caught": ("Tín hiệu “{note}” tại “{step}” không có nơi nhận",
                         "Nothing received “{note}” sent at “{step}”"),
    "connector_call": ("Hệ thống gọi kết nối {connector} tại bước “{step}”",
                       "The system called the connector {connector} at the step “{step}”", "{note}", "{note}"),
    # the back office's administration (the audit page)
    "admin.login": ("{actor} đăng nhập trang quản trị", "{actor} signed in"),
    "admin.logout": ("{actor} đăng xuất", "{actor} signed out"),
    "procedure.upload": ("{actor} đã tải lên quy trình", "{actor} uploaded a procedure", "{note}", "{note}"),
    "procedure.derive": ("{actor} đã tạo biến thể của tỉnh", "{actor} made a provincial variant", "{note}", "{note}"),
    "procedure.copy": ("{actor} đã tạo bản nháp mới", "{actor} made a new draft", "{note}", "{note}"),
    "procedure.model": ("{actor} đã lưu sơ đồ thành bản nháp mới", "{actor} saved the diagram as a new draft",
                        "{note}", "{note}"),
    "procedure.meta": ("{actor} đã sửa thông tin thủ tục", "{actor} edited the procedure's details",
                       "{note}", "{note}"),
    "procedure.supplement_window": ("{actor} đã đặt thời hạn yêu cầu bổ sung",
                                    "{actor} set the supplement window", "{note}", "{note}"),
    "procedure.lanes": ("{actor} đã gán làn cho đơn vị và vai trò", "{actor} mapped the lanes", "{note}", "{note}"),
    "procedure.publish": ("{actor} đã công bố phiên bản", "{actor} published the version", "{note}", "{note}"),
    "procedure.rollback": ("{actor} đã áp dụng lại phiên bản cũ", "{actor} rolled back to the version",
                           "{note}", "{note}"),
    "procedure.executable": ("{actor} đã đánh dấu quy trình chạy được", "{actor} marked the process executable",
                             "{note}", "{note}"),
    "procedure.dry_run": ("{actor} đã chạy thử quy trình", "{actor} ran a dry run", "{note}", "{note}"),
    "procedure.delete_draft": ("{actor} đã xóa bản nháp", "{actor} deleted the draft", "{note}", "{note}"),
    "procedure.withdraw_variant": ("{actor} đã rút biến thể của tỉnh, quay về mẫu quốc gia",
                                   "{actor} withdrew the province's variant, back to the national template",
                                   "{note}", "{note}"),
    "procedure.lane_add": ("{actor} đã thêm làn", "{actor} added a lane", "{note}", "{note}"),
    "procedure.lane_delete": ("{actor} đã xóa làn", "{actor} deleted a lane", "{note}", "{note}"),
    "procedure.task_lane": ("{actor} đã chuyển bước sang làn khác", "{actor} moved a step to another lane",
                            "{note}", "{note}"),
    "procedure.condition": ("{actor} đã sửa điều kiện rẽ nhánh", "{actor} edited a branch condition",
                            "{note}", "{note}"),
    "procedure.form": ("{actor} đã chọn biểu mẫu cho bước", "{actor} chose a step's form", "{note}", "{note}"),
    "procedure.form_fields": ("{actor} đã sửa các trường của biểu mẫu", "{actor} edited a form's fields",
                              "{note}", "{note}"),
    "procedure.step_deadline": ("{actor} đã đặt thời hạn của bước", "{actor} set a step's time limit",
                                "{note}", "{note}"),
    "procedure.step_public_label": ("{actor} đã đặt tên bước hiển thị cho công dân",
                                    "{actor} set a step's name shown to citizens", "{note}", "{note}"),
    "procedure.decision": ("{actor} đã sửa bảng quyết định", "{actor} edited a decision table", "{note}", "{note}"),
    "procedure.schedule": ("{actor} đã đặt lịch mở hồ sơ tự động", "{actor} set the procedure's schedule",
                           "{note}", "{note}"),
    "procedure.documents": ("{actor} đã sửa danh sách thành phần hồ sơ", "{actor} edited the list of documents",
                            "{note}", "{note}"),
    "substitute_set": ("{actor} đã cử {substitute} làm thay {officer}",
                       "{actor} set {substitute} to stand in for {officer}",
                       "{note}", "{note}"),
    "substitute_ended": ("{actor} đã kết thúc việc {substitute} làm thay {officer}",
                         "{actor} ended {substitute}'s standing in for {officer}"),
    "connector.create": ("{actor} đã tạo kết nối", "{actor} created a connector", "{note}", "{note}"),
    "connector.update": ("{actor} đã sửa kết nối", "{actor} edited a connector", "{note}", "{note}"),
    "connector.enable": ("{actor} đã bật kết nối", "{actor} enabled a connector", "{note}", "{note}"),
    "connector.disable": ("{actor} đã tắt kết nối", "{actor} disabled a connector", "{note}", "{note}"),
    "job_requeue": ("{actor} đã chạy lại một tác vụ nền", "{actor} requeued a background job", "{note}", "{note}"),
    "api_key.create": ("{actor} đã tạo khóa API", "{actor} created an API key", "{note}", "{note}"),
    "api_key.rotate": ("{actor} đã đổi khóa API", "{actor} rotated an API key", "{note}", "{note}"),
    "api_key.revoke": ("{actor} đã thu hồi khóa API", "{actor} revoked an API key", "{note}", "{note}"),
    "webhook.redeliver": ("{actor} đã yêu cầu gửi lại một webhook", "{actor} asked for a webhook to be sent again",
                          "{note}", "{note}"),
    "message_template.save": ("{actor} đã sửa mẫu thông báo", "{actor} edited a message template", "{note}",
                              "{note}"),
    "message_template.reset": ("{actor} đã đặt lại mẫu thông báo mặc định", "{actor} reset a message template",
                               "{note}", "{note}"),
    "calendar.office_hours": ("{actor} đã đặt giờ làm việc", "{actor} set the office hours", "{note}", "{note}"),
    "calendar.declare": ("{actor} đã khai báo ngày nghỉ, ngày làm bù", "{actor} declared a calendar day",
                         "{note}", "{note}"),
    "calendar.remove": ("{actor} đã xóa một ngày đã khai báo", "{actor} removed a declared day", "{note}", "{note}"),
    "calendar.confirm": ("{actor} đã xác nhận lịch năm", "{actor} confirmed the year's calendar", "{note}", "{note}"),
    "user.create": ("{actor} đã tạo tài khoản", "{actor} created an account", "{note}", "{note}"),
    "user.role_add": ("{actor} đã thêm vai trò", "{actor} added a role", "{note}", "{note}"),
    "user.role_remove": ("{actor} đã bỏ vai trò", "{actor} removed a role", "{note}", "{note}"),
    "user.activate": ("{actor} đã mở lại tài khoản", "{actor} reactivated an account", "{note}", "{note}"),
    "user.deactivate": ("{actor} đã khóa tài khoản", "{actor} deactivated an account", "{note}", "{note}"),
    "user.profile": ("{actor} đã sửa họ tên, chức vụ", "{actor} edited a name and title", "{note}", "{note}"),
    "user.password": ("{actor} đã đặt lại mật khẩu", "{actor} reset a password", "{note}", "{note}"),
    "token.revoke": ("{actor} đã thu hồi một mã truy cập", "{actor} revoked an access token", "{note}", "{note}"),
    "token.revoke_all": ("{actor} đã đăng xuất một tài khoản khỏi mọi nơi", "{actor} logged an account out everywhere",
                         "{note}", "{note}"),
    "unit.validity": ("{actor} đã sửa thời gian hiệu lực của đơn vị", "{actor} edited a unit's validity",
                      "{note}", "{note}"),
    "unit.disadvantaged": ("{actor} đã sửa danh sách xã đặc biệt khó khăn",
                           "{actor} edited the disadvantaged-area mark", "{note}", "{note}"),
    "unit.contact": ("{actor} đã sửa địa chỉ, điện thoại của đơn vị", "{actor} edited the unit's address and phone",
                     "{note}", "{note}"),
}

SYSTEM_ACTORS = {  # actor -> (Vietnamese, English)
    "system": ("Hệ thống", "The system"),
    "system:timer": ("Hệ thống (hẹn giờ)", "The system (timer)"),
    "system:reminder": ("Hệ thống", "The system"),
    "system:connector": ("Hệ thống (kết nối)", "The system (connector)"),
    "system:schedule": ("Hệ thống (lịch mở hồ sơ)", "The system (schedule)"),
}
CHANNELS = {"1": (" nộp trực tiếp", " submitted in person"), "2": (" nộp trực tuyến", " submitted online"),
            "3": (" nộp qua bưu chính", " sent by post"), "4": (" theo lịch tự động", " on the schedule")}
EVENTS = {"supplement_submitted": ("công dân nộp bổ sung hồ sơ", "the citizen submitted the supplement"),
          "payment_received": ("công dân đã nộp phí, lệ phí", "the citizen paid the fees"),
          "withdrawn": ("công dân rút hồ sơ", "the citizen withdrew the dossier")}
UNKNOWN = ("{actor}: {action}", "{actor}: {action}")
PEOPLE_KEYS = ("officer", "substitute", "holder")  # the people an event's data names by username
_PORTAL = re.compile(r"portal|dvc|dich.?vu.?cong", re.I)


@dataclass(frozen=True)
class Context:
    """What sentences name: people (username -> full name, title), steps (id -> name), the step
    forms (decision labels)."""

    people: dict = field(default_factory=dict)
    step_names: dict = field(default_factory=dict)
    step_forms: dict = field(default_factory=dict)


def _i(lang: str) -> int:
    return 1 if lang == "en" else 0


def _assignee(event: AuditEvent) -> str | None:
    note = event.note or ""
    return note[len("giao cho "):].strip() or None if note.startswith("giao cho ") else None


def usernames(events: Iterable[AuditEvent]) -> set[str]:
    """The people a history names: its actors and those steps were given to."""
    names = set()
    for e in events:
        if e.actor and ":" not in e.actor and e.actor != "system":
            names.add(e.actor)
        if e.action == "assign" and _assignee(e):
            names.add(_assignee(e))
        if isinstance(e.data, dict):  # a substitution, a takeover request: the people it names
            names.update(v for k, v in e.data.items() if k in PEOPLE_KEYS and isinstance(v, str))
    return names


_people = TTLCache(max_size=20_000, ttl=60)


def people(session: Session, names: set[str]) -> dict[str, tuple[str | None, str | None]]:
    """username -> (full name, title), one query for a whole history; kept a minute (every
    answer about a dossier names the same officers; `forget_person` when a name changes here)."""
    if not names:
        return {}
    db = db_key(session)

    def load(keys: set) -> dict:
        rows = session.execute(select(User.username, User.full_name, User.title)
                               .where(User.username.in_([u for _db, u in keys])))
        return {(db, u): (n, t) for u, n, t in rows}

    found = _people.get_many({(db, u) for u in names}, load)
    return {u: value for (_db, u), value in found.items()}


def forget_person(session: Session, username: str) -> None:
    _people.pop((db_key(session), username))


def person(actor: str | None, ctx: Context, lang: str = "vi") -> str:
    """A person's full name with their title, a system or an integrator named plainly."""
    i = _i(lang)
    if not actor:
        return SYSTEM_ACTORS["system"][i]
    if actor in SYSTEM_ACTORS or actor.startswith("system:"):
        return SYSTEM_ACTORS.get(actor, SYSTEM_ACTORS["system"])[i]
    if actor.startswith("integrator:"):
        name = actor.split(":", 1)[1]
        if _PORTAL.search(name):
            return (f"Cổng dịch vụ công ({name})", f"The public service portal ({name})")[i]
        return (f"Hệ thống kết nối “{name}”", f"The connected system “{name}”")[i]
    full_name, title = ctx.people.get(actor, (None, None))
    if not full_name:
        return actor
    return f"{full_name} ({title})" if title else full_name


def _enum_label(form: dict | None, value: str, lang: str) -> str | None:
    for spec in ((form or {}).get("schema") or {}).get("properties", {}).values():
        if value in (spec.get("enum") or []):
            labels = spec.get("x-enum-labels") or {}
            names = labels.get(lang) or labels.get("vi") or []
            idx = spec["enum"].index(value)
            if idx < len(names):
                return names[idx]
    return None


_RETURN_FORM = forms.effective(None, "return")


def sentence(event: AuditEvent, ctx: Context, lang: str = "vi") -> str:
    """The event as one sentence in `lang` ("vi" or "en")."""
    i = _i(lang)
    note = event.note or ""
    overdue = event.action == "reminder" and note.startswith("quá hạn")
    parts = SENTENCES.get("reminder.overdue" if overdue else event.action, UNKNOWN)
    steps = [s for s in (event.step_id or "").split(",") if s]
    count = re.search(r"\d+", note)
    data = event.data if isinstance(event.data, dict) else {}
    values = {
        "actor": person(event.actor, ctx, lang), "action": event.action,
        "step": ", ".join(ctx.step_names.get(s, s) for s in steps) or "—", "note": note,
        "channel": "", "decision": "", "method": "", "event": note, "count": count.group(0) if count else "?",
        "assignee": person(_assignee(event), ctx, lang) if _assignee(event) else "?",
        "connector": f"“{(event.data or {}).get('connector')}”" if isinstance(event.data, dict) else "",
        **{k: person(data[k], ctx, lang) if isinstance(data.get(k), str) else "?" for k in PEOPLE_KEYS},
    }
    if event.action == "created":
        match = re.match(r"kênh (\d)", note)
        values["channel"] = CHANNELS.get(match.group(1), ("", ""))[i] if match else ""
    elif event.action == "decided" and note:
        label = _enum_label(ctx.step_forms.get(steps[0]) if steps else None, note, lang)
        values["decision"] = f" “{label or note}”"
    elif event.action in ("returned", "result_returned") and note:
        values["method"] = f" ({(_enum_label(_RETURN_FORM, note, lang) or note).lower()})"
    elif event.action == "event":
        values["event"] = EVENTS[note][i] if note in EVENTS else f"“{note}”"
    text = parts[i].format(**values)
    if len(parts) > 2 and note:
        text += ". " + parts[2 + i].format(**values)
    return text


def texts(session: Session, events: list[AuditEvent], version=None, lang: str = "vi") -> list[str]:
    """Each event's sentence, people read in one query; `version`: the dossier's
    `versions.Runtime` (step names and forms), or None for events outside a dossier."""
    ctx = context(session, events, version)
    return [sentence(e, ctx, lang) for e in events]


def context(session: Session, events: list[AuditEvent], version=None) -> Context:
    steps = version.steps if version is not None else {}
    return Context(people(session, usernames(events)), {sid: s.get("name") or sid for sid, s in steps.items()},
                   dict(version.step_forms) if version is not None else {})
