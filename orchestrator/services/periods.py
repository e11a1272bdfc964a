"""A dossier's legal period: its variants and the waits it does not count (docs/domain.md).

The rules are data of the procedure version (`procedure_version.deadline_rules`, frozen at
publish), never code per procedure:

    {"variants": [{"when_data": {"with_certificate": false}, "days": 17},
                  {"when_commune_disadvantaged": true, "add_days": 10}],
     "not_counted": [{"reason": "public_posting", "waiting_at": ["Event_PublicPosting"],
                      "note": "Niêm yết công khai ..."}]}

- `variants`, in order: a rule applies when all its conditions hold (`when_data`: the dossier's
  data has these values; `when_commune_disadvantaged`: the receiving commune is marked, or not,
  by an administrator); the first applying `days` replaces `deadline_days`, every applying
  `add_days` is added. Without rules the period is `deadline_days`.
- `not_counted`: while the workflow waits at one of these elements (a timer, an event-based
  gateway), the time is a paused interval (`pauses.WAIT`; the status does not change); when it
  leaves them, the due dates move by the office hours waited, less those already not counted
  (a payment request in status 6 inside the wait).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import Dossier, Unit, WorkItem
from ..models.dossiers import OPEN
from ..models.types import utcnow
from . import audit, pauses
from .deadlines import calendar_for
from .errors import Invalid

REASON_NAMES = {"public_posting": "niêm yết công khai", "financial_obligation": "thực hiện nghĩa vụ tài chính"}
_VARIANT_KEYS = {"when_data", "when_commune_disadvantaged", "days", "add_days"}


def check_rules(rules) -> dict:
    """The rules as stored, or Invalid naming the field (`deadline_rules...`)."""
    if rules in (None, {}):
        return {}
    field = "deadline_rules"
    if not isinstance(rules, dict) or set(rules) - {"variants", "not_counted"}:
        raise Invalid(vi("Quy tắc thời hạn không hợp lệ."), fields={field: vi("{variants: [...], not_counted: [...]}")})
    variants = rules.get("variants") or []
    if not isinstance(variants, list):
        raise Invalid(vi("Quy tắc thời hạn không hợp lệ."), fields={f"{field}.variants": vi("danh sách")})
    for i, rule in enumerate(variants):
        where = f"{field}.variants[{i}]"
        if not isinstance(rule, dict) or set(rule) - _VARIANT_KEYS or not ({"days", "add_days"} & set(rule)):
            raise Invalid(vi("Biến thể thời hạn không hợp lệ."),
                          fields={where: vi("when_data / when_commune_disadvantaged với days hoặc add_days")})
        for key in ("days", "add_days"):
            value = rule.get(key)
            if key in rule and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 366):
                raise Invalid(vi("Số ngày không hợp lệ."), fields={f"{where}.{key}": vi("số nguyên 1..366")})
        data = rule.get("when_data", {})
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, bool, type(None)))
                                                 for k, v in data.items()):
            raise Invalid(vi("Điều kiện dữ liệu không hợp lệ."), fields={f"{where}.when_data": vi("{trường: giá trị}")})
        if "when_commune_disadvantaged" in rule and not isinstance(rule["when_commune_disadvantaged"], bool):
            raise Invalid(vi("Điều kiện xã khó khăn không hợp lệ."),
                          fields={f"{where}.when_commune_disadvantaged": vi("true | false")})
    waits = rules.get("not_counted") or []
    if not isinstance(waits, list):
        raise Invalid(vi("Quy tắc thời hạn không hợp lệ."), fields={f"{field}.not_counted": vi("danh sách")})
    for i, rule in enumerate(waits):
        where = f"{field}.not_counted[{i}]"
        ok = (isinstance(rule, dict) and set(rule) <= {"reason", "waiting_at", "note"}
              and isinstance(rule.get("reason"), str) and rule["reason"]
              and isinstance(rule.get("waiting_at"), list) and rule["waiting_at"]
              and all(isinstance(e, str) and e for e in rule["waiting_at"])
              and isinstance(rule.get("note", ""), str))
        if not ok:
            raise Invalid(vi("Khoảng chờ không tính thời hạn không hợp lệ."),
                          fields={where: vi("{reason, waiting_at: [mã phần tử], note}")})
    return {"variants": variants, "not_counted": waits}


def _receiving_commune(session: Session, dossier: Dossier) -> Unit | None:
    unit = session.get(Unit, dossier.received_by_unit) if dossier.received_by_unit else None
    if unit is not None and unit.level == "commune":
        return unit
    return session.get(Unit, dossier.commune_code) if dossier.commune_code else None


def _applies(session: Session, dossier: Dossier, rule: dict) -> bool:
    data = dossier.data or {}
    if any(data.get(k) != v for k, v in (rule.get("when_data") or {}).items()):
        return False
    if "when_commune_disadvantaged" in rule:
        commune = _receiving_commune(session, dossier)
        if bool(commune is not None and commune.disadvantaged) != rule["when_commune_disadvantaged"]:
            return False
    return True


def legal_period(session: Session, dossier: Dossier, version) -> tuple[str, int | None]:
    """(kind, days) of this dossier's legal period under `version` (a ProcedureVersion or its
    cached `versions.Runtime`); the one place the variants are read."""
    kind, days = version.deadline_kind, version.deadline_days
    variants = (getattr(version, "deadline_rules", None) or {}).get("variants") or []
    if kind == "same-day" or not days or not variants:
        return kind, days
    base, extra = None, 0
    for rule in variants:
        if not _applies(session, dossier, rule):
            continue
        if "days" in rule and base is None:
            base = rule["days"]
        extra += rule.get("add_days", 0)
    return kind, (base if base is not None else days) + extra


def _hours(cal, start: datetime, end: datetime) -> float:
    return cal.office_hours_between(start, end) if end > start else 0.0


def track_waits(session: Session, dossier: Dossier, rules: dict, waiting_at: set[str], actor: str) -> bool:
    """Open or close the paused intervals of the waits `rules` does not count, from where the
    workflow waits now (`waiting_at`: element ids); True when the due dates moved."""
    moved = False
    now = utcnow()
    for rule in (rules or {}).get("not_counted") or []:
        reason = rule["reason"]
        waits = bool(waiting_at & set(rule["waiting_at"]))
        entry = pauses.open_wait(dossier, reason)
        name = REASON_NAMES.get(reason, reason)
        if waits and entry is None and dossier.finished_at is None:
            pauses.open_pause(dossier, pauses.WAIT, now, reason=reason, note=rule.get("note"))
            audit.record(session, "period_paused", actor, dossier=dossier,
                         note=f"Bắt đầu {name}: thời gian này không tính vào thời hạn giải quyết.")
        elif not waits and entry is not None:
            moved |= _close(session, dossier, entry, now, actor, name)
    return moved


def _close(session: Session, dossier: Dossier, entry: dict, now: datetime, actor: str, name: str) -> bool:
    cal = calendar_for(session, dossier.province_code)
    start = pauses.started(entry)
    # a supplement during the wait restarted the period when it arrived: count from then
    for other in pauses.entries(dossier):
        if other.get("kind") == pauses.SUPPLEMENT and other.get("to") and start < datetime.fromisoformat(other["to"]) <= now:
            start = datetime.fromisoformat(other["to"])
    hours = _hours(cal, start, now)
    for other in pauses.entries(dossier):  # a payment request inside the wait already moved them
        if other.get("kind") == pauses.PAYMENT:
            to = datetime.fromisoformat(other["to"]) if other.get("to") else now
            hours -= _hours(cal, max(pauses.started(other), start), min(to, now))
    hours = max(int(hours * 60) / 60, 0.0)  # whole minutes, as a payment pause
    pauses.close_wait(dossier, entry["reason"], now, office_hours=round(hours, 2))
    audit.record(session, "period_resumed", actor, dossier=dossier,
                 note=f"Kết thúc {name}: {f'{hours:.2f}'.replace('.', ',')} giờ làm việc không tính vào thời hạn "
                      "giải quyết; hạn giải quyết lùi tương ứng.",
                 data={"office_hours": round(hours, 2)})
    if hours <= 0 or dossier.finished_at is not None:
        return False
    if dossier.legal_due_at is not None:
        dossier.legal_due_at = cal.add_office_hours(dossier.legal_due_at, hours)
    old = dossier.due_at
    if old is not None:
        dossier.due_at = cal.add_office_hours(old, hours)
        session.execute(update(WorkItem).where(WorkItem.dossier_id == dossier.id, WorkItem.state == OPEN,
                                               WorkItem.due_at == old).values(due_at=dossier.due_at)
                        .execution_options(synchronize_session="fetch"))
    return True
