"""Numbers as each language writes them (issue 22): "1.234" and "95,5 %" in Vietnamese, "1,234"
and "95.5%" in English, through Flask-Babel's locale data; and a step's generic public label for
the designer's page (`services.public_steps`)."""
from __future__ import annotations

from flask_babel import format_decimal, get_locale

from orchestrator.services import public_steps

from .blueprint import bp


def _english() -> bool:
    return str(get_locale() or "vi").startswith("en")


@bp.app_template_filter("num")
def num(value) -> str:
    """An integer or a decimal with the page language's group and decimal signs; None: "—"."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.#")


@bp.app_template_filter("score")
def score(value) -> str:
    """An average rating with two decimals as the page language writes it: "4,67" / "4.67"."""
    return "—" if value is None else format_decimal(value, format="0.00")


@bp.app_template_filter("pct")
def pct(rate) -> str:
    """A share (0..1) as a percentage with at most one decimal: "95,5 %" / "95.5%"; None: "—"."""
    if rate is None:
        return "—"
    text = format_decimal(round(rate * 100, 1), format="#,##0.#")
    return f"{text}%" if _english() else f"{text}\u00a0%"


@bp.app_template_filter("generic_step_label")
def generic_step_label(task: dict) -> str:
    """What citizens read for a step whose designer set no public label."""
    return public_steps.generic_label(task)
