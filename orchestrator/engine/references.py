"""Dangling references in a diagram (issue 22): a flow or boundary event that names an element the
file does not contain. The engine would otherwise drop the arrow silently (the process runs without
it), so an upload naming a missing id is refused with the element and the reference at fault. A
drawing's shape or edge (BPMNDI), or a lane's flowNodeRef, left behind for a removed element changes
nothing the process does: modelers leave them in the files they save (SpiffWorkflow's own test
diagrams hold some), so they are dropped with a warning, not refused."""
from __future__ import annotations

from lxml import etree

from ..i18n import vi
from .problems import Problem
from .xml import BPMN_NS, BPMNDI_NS

_B = f"{{{BPMN_NS}}}"
_DI = f"{{{BPMNDI_NS}}}"
# (element tag, attribute naming another element)
_ATTRIBUTE_REFS = (
    (f"{_B}sequenceFlow", "sourceRef"), (f"{_B}sequenceFlow", "targetRef"),
    (f"{_B}messageFlow", "sourceRef"), (f"{_B}messageFlow", "targetRef"),
    (f"{_B}boundaryEvent", "attachedToRef"),
)
_DRAWING = (f"{_DI}BPMNEdge", f"{_DI}BPMNShape")


def _known(ref: str, ids: set[str]) -> bool:
    """A reference names an id, written plainly or as a QName (`prefix:id`)."""
    return ref in ids or (":" in ref and ref.split(":", 1)[1] in ids)


def reference_problems(root: etree._Element) -> list[Problem]:
    """One problem per reference to an id the file does not hold, naming the element and the
    reference (attribute or child) at fault."""
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    flows = {el.get("id") for el in root.iter(f"{_B}sequenceFlow") if el.get("id")}
    problems: list[Problem] = []

    def missing(el, what: str, ref: str):
        owner = el.get("id") or etree.QName(el).localname
        problems.append(Problem(vi("Phần tử '%(element)s' tham chiếu '%(ref)s' (%(what)s) không có trong sơ đồ.",
                                   element=owner, ref=ref, what=what), el.get("id"), el.sourceline,
                                code="dangling_reference"))

    for tag, attribute in _ATTRIBUTE_REFS:
        for el in root.iter(tag):
            ref = (el.get(attribute) or "").strip()
            if tag.startswith(_B) and not ref:
                missing(el, attribute, "")
            elif ref and not _known(ref, ids):
                missing(el, attribute, ref)
    for el in root.iter():  # a gateway's or activity's default flow must be one of the file's flows
        if isinstance(el.tag, str) and el.tag.startswith(_B) and el.get("default"):
            ref = el.get("default").strip()
            if not _known(ref, flows):
                missing(el, "default", ref)
    return problems


def drop_stale_shapes(root: etree._Element) -> list[str]:
    """Remove the drawing's shapes and edges, and the lanes' flowNodeRefs, for elements the file
    does not hold; the ids they named."""
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    stale = []
    for el in list(root.iter(f"{_B}flowNodeRef")):
        ref = (el.text or "").strip()
        if ref and not _known(ref, ids):
            stale.append(ref)
            el.getparent().remove(el)
    for tag in _DRAWING:
        for el in list(root.iter(tag)):
            ref = (el.get("bpmnElement") or "").strip()
            if ref and not _known(ref, ids):
                stale.append(ref)
                el.getparent().remove(el)
    return stale
