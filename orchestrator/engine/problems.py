"""Problems found in a diagram, each tied to a BPMN element and a line where known."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    message: str
    element_id: str | None = None
    line: int | None = None
    code: str | None = None  # what kind of problem, where a screen offers a fix (e.g. not_executable)
    field: str | None = None  # the upload field at fault, when it is not the diagram (process_id)

    def as_dict(self) -> dict:
        out = asdict(self)
        for key in ("code", "field"):
            if out[key] is None:
                del out[key]
        return out


class DiagramRejected(Exception):
    """The diagram cannot be stored: too large (413), not XML (400) or invalid (422)."""

    def __init__(self, problems: list[Problem], status: int = 422):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
        self.status = status
