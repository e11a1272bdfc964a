"""The period rules of a procedure version (services/periods.py): their shape is checked before
they are stored, and the shipped land procedure's rules read as the reported decision says."""
from __future__ import annotations

import json

import pytest

from orchestrator.services.errors import Invalid
from orchestrator.services.periods import check_rules

from .conftest import ROOT

LAND = next(e for e in json.loads((ROOT / "bpmn" / "catalog.json").read_text(encoding="utf-8"))
            if e["code"] == "1.013978")


@pytest.mark.parametrize("rules, field", [
    ([{"days": 17}], "deadline_rules"),
    ({"variants": [{"when_data": {"with_certificate": False}}]}, "deadline_rules.variants[0]"),
    ({"variants": [{"days": 0}]}, "deadline_rules.variants[0].days"),
    ({"variants": [{"add_days": True}]}, "deadline_rules.variants[0].add_days"),
    ({"variants": [{"when_commune_disadvantaged": "yes", "add_days": 10}]},
     "deadline_rules.variants[0].when_commune_disadvantaged"),
    ({"variants": [{"when": "with_certificate == False", "days": 17}]}, "deadline_rules.variants[0]"),
    ({"not_counted": [{"reason": "public_posting", "waiting_at": []}]}, "deadline_rules.not_counted[0]"),
])
def test_a_bad_rule_is_refused_naming_the_field(rules, field):
    with pytest.raises(Invalid) as exc:
        check_rules(rules)
    assert field in exc.value.fields


def test_the_land_rules_are_valid_and_unconfirmed():
    rules = check_rules(LAND["deadline_rules"])
    assert LAND["deadline_days"] == 20 and LAND["aliases"] == ["1.004227"] and LAND["confirmed"] is False
    assert {"with_certificate": False} in [v.get("when_data") for v in rules["variants"]]
    assert {r["reason"] for r in rules["not_counted"]} == {"public_posting", "financial_obligation"}
    assert LAND["fee"]["kind"] == "provincial" and "amount" not in LAND["fee"]
    assert all(s["status"] == "reported by a provincial publication, to confirm" for s in LAND["sources"])
    assert check_rules(None) == {} and check_rules({}) == {}
