"""A server-side SVG picture of a diagram from its BPMNDI, for when bpmn-js cannot run
(JavaScript off, or the npm install missing). Shapes, lanes, edges and labels only: enough to
see the flow and where the problems are, not a modeler.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from markupsafe import Markup

from orchestrator.services import diagrams

from .blueprint import bp

EVENTS = {"startEvent", "endEvent", "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
GATEWAY_MARK = {"exclusiveGateway": "×", "parallelGateway": "+", "inclusiveGateway": "○"}


def _wrap(text: str, width: float, size: int = 12) -> list[str]:
    per_line = max(6, int(width / (size * 0.55)))
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines[:5]


def _text(x: float, y: float, lines: list[str], cls: str = "label") -> str:
    if not lines:
        return ""
    top = y - (len(lines) - 1) * 7
    spans = "".join(f'<tspan x="{x:g}" y="{top + i * 14:g}">{escape(line)}</tspan>' for i, line in enumerate(lines))
    return f'<text class="{cls}" text-anchor="middle" dominant-baseline="middle">{spans}</text>'


def _done_mark(right: float, top: float) -> str:
    """The check mark of a done step, on its top right corner (the legend draws the same)."""
    return (f'<g class="done-mark"><circle cx="{right - 2:g}" cy="{top + 2:g}" r="9"/>'
            f'<path d="M{right - 7:g},{top + 2:g} l4,4 l7,-8"/></g>')


@bp.app_template_global("legend_svg")
def legend_svg(kind: str) -> Markup:
    """A small step drawn as the diagram draws a `done` or `on-path` (current) step, for the legend."""
    mark = _done_mark(44, 6) if kind == "done" else ""
    return Markup(f'<svg class="bpmn-svg legend-swatch" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 54 34" '
                  f'width="54" height="34" aria-hidden="true"><g class="task {kind}"><rect x="4" y="6" width="40" '
                  f'height="24" rx="6"/>{mark}</g></svg>')


def render_svg(xml: str, problems: set[str] | None = None, highlight: set[str] | None = None,
               done: set[str] | None = None) -> Markup | None:
    """SVG markup for the diagram, problem elements marked `problem`, highlighted ones `on-path`
    (a dry run's path, a dossier's current steps), completed steps `done`; None when the file has
    no diagram interchange to draw from."""
    problems, highlight, done = problems or set(), highlight or set(), done or set()
    picture = diagrams.drawing(xml)
    if picture is None:
        return None
    back, middle, front, xs, ys = [], [], [], [], []
    for shape in picture["shapes"]:
        x, y, w, h = shape["bounds"]
        xs += [x, x + w]
        ys += [y, y + h]
        kind, element_id, name = shape["kind"], shape["id"], shape["name"]
        eid = escape(element_id, {'"': "&quot;"})
        cls = " ".join(c for c in (kind, "problem" if element_id in problems else "",
                                   "on-path" if element_id in highlight else "",
                                   "done" if element_id in done else "") if c)
        title = f"<title>{escape(name or element_id)} ({eid})</title>"
        if kind in ("participant", "lane"):
            label_x, label_y = x + 15, y + h / 2
            spans = _text(0, 0, _wrap(name, h, 11), "lane-label")
            back.append(f'<g class="{cls}" data-element-id="{eid}">{title}<rect x="{x:g}" y="{y:g}" width="{w:g}" '
                        f'height="{h:g}"/><g transform="translate({label_x:g},{label_y:g}) rotate(-90)">{spans}</g></g>')
        elif kind in EVENTS:
            r = min(w, h) / 2
            label = _text(x + w / 2, y + h + 16, _wrap(name, 110, 11))
            front.append(f'<g class="{cls}" data-element-id="{eid}">{title}<circle cx="{x + r:g}" cy="{y + r:g}" '
                         f'r="{r:g}"/>{label}</g>')
        elif kind in GATEWAYS:
            cx, cy = x + w / 2, y + h / 2
            pts = f"{cx:g},{y:g} {x + w:g},{cy:g} {cx:g},{y + h:g} {x:g},{cy:g}"
            label = _text(cx, y - 14, _wrap(name, 140, 11))
            mark = GATEWAY_MARK.get(kind, "")
            front.append(f'<g class="{cls}" data-element-id="{eid}">{title}<polygon points="{pts}"/>'
                         f'<text class="mark" x="{cx:g}" y="{cy + 6:g}" text-anchor="middle">{mark}</text>{label}</g>')
        elif kind in ("textAnnotation",):
            text = shape["text"]
            middle.append(f'<g class="{cls}" data-element-id="{eid}"><path d="M{x + 15:g},{y:g} L{x:g},{y:g} '
                          f'L{x:g},{y + h:g} L{x + 15:g},{y + h:g}"/>'
                          f'{_text(x + w / 2, y + h / 2, _wrap(text, w, 10), "note")}</g>')
        else:
            mark = _done_mark(x + w, y) if element_id in done else ""
            front.append(f'<g class="{cls} task" data-element-id="{eid}">{title}<rect x="{x:g}" y="{y:g}" '
                         f'width="{w:g}" height="{h:g}" rx="10"/>{_text(x + w / 2, y + h / 2, _wrap(name, w - 8))}'
                         f'{mark}</g>')
    for edge in picture["edges"]:
        points = edge["points"]
        xs += [p[0] for p in points]
        ys += [p[1] for p in points]
        kind, element_id, name = edge["kind"], edge["id"], edge["name"]
        eid = escape(element_id, {'"': "&quot;"})
        cls = " ".join(c for c in ("edge", kind, "problem" if element_id in problems else "") if c)
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:g},{y:g}" for i, (x, y) in enumerate(points))
        marker = ' marker-end="url(#arrow)"' if kind == "sequenceFlow" else ""
        mx, my = points[len(points) // 2 - 1] if len(points) > 2 else points[0]
        label = _text(mx + 25, my - 10, _wrap(name, 100, 10), "edge-label") if name else ""
        middle.append(f'<g class="{cls}" data-element-id="{eid}"><title>{escape(name or element_id)}</title>'
                      f'<path d="{d}"{marker}/>{label}</g>')
    if not xs:
        return None
    x0, y0, x1, y1 = min(xs) - 20, min(ys) - 40, max(xs) + 20, max(ys) + 40
    return Markup(
        f'<svg class="bpmn-svg" xmlns="http://www.w3.org/2000/svg" viewBox="{x0:g} {y0:g} {x1 - x0:g} {y1 - y0:g}" '
        f'role="img" aria-label="BPMN"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        f'markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
        + "".join(back + middle + front) + "</svg>")
