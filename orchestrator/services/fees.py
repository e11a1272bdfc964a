"""Fees and charges from a procedure version's fee rule (data, never code per procedure).

A rule is the JSON frozen into `procedure_version.fee_rule` at publish:

- `{"kind": "free"}`
- `{"kind": "fixed", "amount": 100000}`
- `{"kind": "field", "field": "obligation_total"}`: an amount the workflow computed (a script
  task, a tax notice) and stored in the dossier's data
- `{"kind": "tiered", "quantity_field": "page_count", "tiers": [{"from": 1, "price": 2000},
  {"from": 3, "price": 1000}], "max": 200000, "multiplier_field": "copy_count"}`: a price per
  unit that changes from a given unit on, capped per item and multiplied by a count (certified
  copies: 2,000 VND a page, 1,000 from page 3, at most 200,000 a copy, times the copies)
- `{"kind": "decision", "decision": "fee_table", "output": "fee"}`: a DMN decision table uploaded
  with the diagram, evaluated against the dossier's data by the engine (the sandbox); `output`
  names the table's output holding the amount (optional when the table has one output)
- `{"kind": "provincial", "note": "..."}`: set by each province (its People's Council) and by the
  tax authority's notice; no amount here: the officer states it when requesting the payment
  (400 naming `amount` without it)

Amounts are whole VND.
"""
from __future__ import annotations

from ..engine import decisions as dmn
from ..i18n import vi
from .errors import Conflict, Invalid

KINDS = ("free", "fixed", "field", "tiered", "decision", "provincial")


def _count(data: dict, field: str | None, default: int | None = None) -> int:
    if not field:
        return 1
    value = data.get(field, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise Invalid(vi("Thiếu hoặc sai số lượng '%(field)s' để tính phí.", field=field),
                      fields={field: vi("số nguyên ≥ 0")})
    return int(value)


def tiered_amount(quantity: int, tiers: list[dict], cap: int | None = None) -> int:
    """Sum of each unit's price, the price of unit n being that of the last tier starting at or
    before n; then capped."""
    ordered = sorted(tiers, key=lambda t: t["from"])
    total = 0
    for n in range(1, quantity + 1):
        price = 0
        for tier in ordered:
            if tier["from"] <= n:
                price = tier["price"]
        total += price
    return min(total, cap) if cap is not None else total


def check_rule(rule: dict, decisions: dict | None = None) -> None:
    """Raise Invalid when a rule cannot be computed (so a bad rule is caught at the edge);
    `decisions`: the version's DMN documents, {decision id: XML}, a `decision` rule must name one."""
    kind = (rule or {}).get("kind", "free")
    if kind not in KINDS:
        raise Invalid(vi("Loại quy tắc lệ phí không hợp lệ: %(kind)s", kind=kind), fields={"fee.kind": " | ".join(KINDS)})
    if kind == "fixed" and (not isinstance(rule.get("amount"), int) or rule["amount"] < 0):
        raise Invalid(vi("Lệ phí cố định phải là số nguyên ≥ 0."), fields={"fee.amount": vi("số nguyên ≥ 0")})
    if kind == "decision":
        if not isinstance(rule.get("decision"), str) or (decisions is not None and rule["decision"] not in decisions):
            raise Invalid(vi("Quy tắc lệ phí theo bảng quyết định cần mã một bảng quyết định DMN tải lên cùng sơ đồ "
                             "(có: %(decisions)s).", decisions=", ".join(sorted(decisions or {})) or vi("không có")),
                          fields={"fee.decision": vi("bắt buộc")})
        if rule.get("output") is not None and not isinstance(rule["output"], str):
            raise Invalid(vi("Tên cột kết quả của bảng phí phải là chuỗi."), fields={"fee.output": vi("chuỗi")})
    if kind == "provincial" and not isinstance(rule.get("note", ""), str):
        raise Invalid(vi("Ghi chú lệ phí do tỉnh quy định phải là chuỗi."), fields={"fee.note": vi("chuỗi")})
    if kind == "field" and not isinstance(rule.get("field"), str):
        raise Invalid(vi("Quy tắc lệ phí theo trường cần tên trường."), fields={"fee.field": vi("bắt buộc")})
    if kind == "tiered":
        tiers = rule.get("tiers")
        ok = isinstance(tiers, list) and tiers and all(
            isinstance(t, dict) and isinstance(t.get("from"), int) and t["from"] >= 1
            and isinstance(t.get("price"), int) and t["price"] >= 0 for t in tiers)
        if not ok or not isinstance(rule.get("quantity_field"), str):
            raise Invalid(vi("Quy tắc lệ phí theo bậc cần quantity_field và tiers [{from ≥ 1, price ≥ 0}]."),
                          fields={"fee.tiers": vi("[{from, price}]")})
        if rule.get("max") is not None and (not isinstance(rule["max"], int) or rule["max"] < 0):
            raise Invalid(vi("Mức trần lệ phí phải là số nguyên ≥ 0."), fields={"fee.max": vi("số nguyên ≥ 0")})


def compute(rule: dict, data: dict, decisions: dict | None = None) -> int:
    """The amount due for a dossier with these data (400 when the data lack what the rule reads);
    `decisions`: the version's DMN documents, for a `decision` rule."""
    rule = rule or {"kind": "free"}
    try:
        check_rule(rule, decisions or {} if rule.get("kind") == "decision" else None)
    except Invalid as exc:
        raise Conflict(vi("Quy tắc lệ phí của thủ tục không dùng được: %(reason)s", reason=exc.message),
                       code="bad_fee_rule") from None
    kind = rule.get("kind", "free")
    if kind == "free":
        return 0
    if kind == "fixed":
        return rule["amount"]
    if kind == "provincial":
        raise Invalid(vi("Phí, lệ phí của thủ tục này do tỉnh quy định và theo thông báo của cơ quan thuế: hãy nhập "
                         "số tiền."), fields={"amount": vi("bắt buộc: số tiền (VND) theo thông báo thuế")})
    if kind == "decision":
        return _by_decision(rule, data, decisions or {})
    if kind == "field":
        value = data.get(rule["field"])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise Invalid(vi("Hồ sơ chưa có số tiền '%(field)s' để tính nghĩa vụ tài chính.", field=rule["field"]),
                          fields={rule["field"]: vi("số tiền ≥ 0")})
        return int(round(value))
    per_item = tiered_amount(_count(data, rule["quantity_field"]), rule["tiers"], rule.get("max"))
    return per_item * _count(data, rule.get("multiplier_field"), default=1)


def _by_decision(rule: dict, data: dict, decisions: dict) -> int:
    """The amount a DMN table gives for these data (the engine evaluates it in the sandbox)."""
    name = rule["decision"]
    try:
        outputs = dmn.evaluate(decisions.values(), name, dict(data or {}))
    except dmn.DecisionError as exc:
        raise Conflict(vi("Không tính được lệ phí theo bảng quyết định: %(reason)s", reason=exc.args[0]
                          if len(exc.args) == 1 else str(exc)), code="fee_decision") from None
    key = rule.get("output") or (next(iter(outputs)) if len(outputs) == 1 else None)
    value = outputs.get(key) if key else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise Conflict(vi("Bảng quyết định '%(decision)s' không cho số tiền (cột '%(column)s': %(value)s); cần số ≥ 0.",
                          decision=name, column=key or "?", value=repr(value)), code="fee_decision")
    return int(round(value))
