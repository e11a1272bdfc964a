"""Problems found in a diagram, each tied to a BPMN element and a line where known."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    message: str
    element_id: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class DiagramRejected(Exception):
    """The diagram cannot be stored: too large (413), not XML (400) or invalid (422)."""

    def __init__(self, problems: list[Problem], status: int = 422):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
        self.status = status
