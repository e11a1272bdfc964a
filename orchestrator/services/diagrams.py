"""What the HTTP layers show of a diagram, so that they never read BPMN themselves: the data the
back office's server-side picture is drawn from, and what can still be shown of a refused upload."""
from __future__ import annotations

from dataclasses import dataclass

from .. import engine
from ..engine.xml import parse_untrusted


def drawing(xml: str | bytes) -> dict | None:
    """Shapes and edges of a diagram's BPMNDI (`engine.model.drawing`); None when there is
    nothing to draw."""
    return engine.drawing(xml)


@dataclass(frozen=True)
class ReadableUpload:
    xml: str  # the file as text, for the diagram and the modeler
    processes: list[tuple[str, str]]  # (process id, what a designer calls it): the choice offered


def readable_upload(data: bytes, max_bytes: int) -> ReadableUpload | None:
    """A refused upload that is still a readable BPMN file (so its problems can be shown on the
    diagram); None when it is not."""
    try:
        text = data.decode("utf-8", "replace")
        root = parse_untrusted(data, max_bytes)
        return ReadableUpload(text, engine.process_labels(root))
    except (engine.DiagramRejected, ValueError):
        return None
