"""The back office's edits of a diagram, as pure functions: BPMN XML in, BPMN XML (UTF-8 bytes
with a declaration) out. No database and no validation of the result: the caller sends what comes
out through `check_diagram`, exactly like an upload, before storing it.

`xml` is what was stored (text) or bytes; `process_id` names the main process the edit applies
to; `dialect` ("spiff" or "camunda") says where a step's properties live. An id that is not in the
diagram raises `UnknownElement`; an edit the diagram cannot take raises `LaneInUse` or
`InvalidCondition`. The messages are the ones the back office shows.
"""
from __future__ import annotations

from lxml import etree

from .problems import DiagramRejected
from .sandbox import check_expression
from .xml import BPMN_NS, BPMNDI_NS, CAMUNDA_NS, DC_NS, DI_NS, NS, SPIFF_NS, parse_trusted, parse_untrusted

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
LANE_HEIGHT = 125
STEP_TAGS = ("userTask", "manualTask")


class UnknownElement(LookupError):
    """The diagram has no such element (of the kinds the edit accepts)."""

    def __init__(self, element_id: str):
        self.element_id = element_id
        super().__init__(f"Không có phần tử {element_id} trong sơ đồ.")


class LaneInUse(ValueError):
    """A lane that still holds elements cannot be deleted; the message names them."""

    def __init__(self, lane_id: str, message: str):
        self.lane_id = lane_id
        super().__init__(message)


class InvalidCondition(ValueError):
    """A gateway flow's condition the run-time sandbox refuses, or a missing one; `detail` is what
    the form shows beside the flow."""

    def __init__(self, flow_id: str, message: str, detail: str):
        self.flow_id, self.detail = flow_id, detail
        super().__init__(message)


# -- reading -----------------------------------------------------------------------------------

def _root(xml: str | bytes) -> etree._Element:
    return parse_trusted(xml)


def _out(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _process(root: etree._Element, process_id: str) -> etree._Element:
    found = root.xpath("./bpmn:process[@id=$pid]", namespaces=NS, pid=process_id)
    if not found:
        raise UnknownElement(process_id)
    return found[0]


def _element(process: etree._Element, element_id: str, *tags: str) -> etree._Element:
    for tag in tags:
        found = process.xpath(f".//bpmn:{tag}[@id=$eid]", namespaces=NS, eid=element_id)
        if found:
            return found[0]
    raise UnknownElement(element_id)


def _lane_shapes(root: etree._Element) -> dict[str, etree._Element]:
    return {s.get("bpmnElement"): s for s in root.iter(f"{{{BPMNDI_NS}}}BPMNShape")}


def _bounds(shape: etree._Element | None) -> etree._Element | None:
    return shape.find(f"{{{DC_NS}}}Bounds") if shape is not None else None


def lane_ids(data: bytes, max_bytes: int) -> set[str]:
    """The lanes of a diagram not stored yet (empty when it cannot be read: the upload that
    follows reports why): what a copied draft keeps of its source's lane map."""
    try:
        root = parse_untrusted(data, max_bytes)
    except DiagramRejected:
        return set()
    return {lane.get("id") for lane in root.iter(f"{{{BPMN_NS}}}lane")}


def gateways(xml: str | bytes, process_id: str) -> list[dict]:
    """Exclusive gateways with their outgoing flows, conditions and default: the conditions page."""
    root = _root(xml)
    process = _process(root, process_id)
    out = []
    for gw in process.iter(f"{{{BPMN_NS}}}exclusiveGateway"):
        flows = []
        for flow in process.xpath("./bpmn:sequenceFlow[@sourceRef=$g]", namespaces=NS, g=gw.get("id")):
            cond = flow.find(f"{{{BPMN_NS}}}conditionExpression")
            target = process.xpath("./*[@id=$t]", t=flow.get("targetRef"))
            flows.append({"id": flow.get("id"), "name": flow.get("name") or "",
                          "target": (target[0].get("name") or flow.get("targetRef")) if target else flow.get("targetRef"),
                          "condition": (cond.text or "").strip() if cond is not None else ""})
        if len(flows) > 1:
            out.append({"id": gw.get("id"), "name": gw.get("name") or gw.get("id"), "default": gw.get("default"),
                        "flows": flows})
    return out


def condition_errors(source: str) -> list[str]:
    """What the run-time sandbox would refuse in a condition (empty: it is accepted)."""
    return [str(err) for err in check_expression(source)]


# -- lanes -------------------------------------------------------------------------------------

def add_lane(xml: str | bytes, process_id: str, name: str) -> tuple[bytes, str]:
    """A new, empty lane named `name` at the bottom of the pool, with its diagram band so it can be
    drawn; returns the diagram and the new lane's id (`Lane_New<n>`, the first one free)."""
    root = _root(xml)
    process = _process(root, process_id)
    lane_set = process.find(f"{{{BPMN_NS}}}laneSet")
    if lane_set is None:
        lane_set = etree.Element(f"{{{BPMN_NS}}}laneSet", id=f"LaneSet_{process_id}")
        process.insert(0, lane_set)
    existing = {el.get("id") for el in root.iter() if isinstance(el.tag, str)}
    n = 1
    while f"Lane_New{n}" in existing:
        n += 1
    lane_id = f"Lane_New{n}"
    etree.SubElement(lane_set, f"{{{BPMN_NS}}}lane", id=lane_id, name=name)
    shapes = _lane_shapes(root)
    lane_bounds = [_bounds(shapes.get(lane.get("id"))) for lane in lane_set.findall(f"{{{BPMN_NS}}}lane")]
    lane_bounds = [b for b in lane_bounds if b is not None]
    if lane_bounds:
        last = max(lane_bounds, key=lambda b: float(b.get("y")) + float(b.get("height")))
        y = float(last.get("y")) + float(last.get("height"))
        shape = etree.SubElement(last.getparent().getparent(), f"{{{BPMNDI_NS}}}BPMNShape",
                                 id=f"{lane_id}_di", bpmnElement=lane_id, isHorizontal="true")
        etree.SubElement(shape, f"{{{DC_NS}}}Bounds", x=last.get("x"), y=f"{y:g}", width=last.get("width"),
                         height=str(LANE_HEIGHT))
        for participant in root.xpath("./bpmn:collaboration/bpmn:participant[@processRef=$pid]", namespaces=NS,
                                      pid=process_id):
            pb = _bounds(shapes.get(participant.get("id")))
            if pb is not None:
                pb.set("height", f"{float(pb.get('height')) + LANE_HEIGHT:g}")
    return _out(root), lane_id


def delete_lane(xml: str | bytes, process_id: str, lane_id: str) -> bytes:
    """Remove an empty lane and its band; one that still holds elements raises `LaneInUse` with
    their names."""
    root = _root(xml)
    process = _process(root, process_id)
    lane = _element(process, lane_id, "lane")
    refs = [r.text.strip() for r in lane.findall(f"{{{BPMN_NS}}}flowNodeRef") if r.text and r.text.strip()]
    if refs:
        names = []
        for ref in refs:
            found = process.xpath(".//*[@id=$eid]", eid=ref)
            names.append((found[0].get("name") or ref) if found else ref)
        raise LaneInUse(lane_id, f"Làn '{lane.get('name') or lane_id}' đang chứa {len(refs)} phần tử "
                                 f"({', '.join(names)}); hãy chuyển các bước sang làn khác trước khi xóa.")
    lane.getparent().remove(lane)
    shape = _lane_shapes(root).get(lane_id)
    if shape is not None:
        shape.getparent().remove(shape)
    return _out(root)


def move_task(xml: str | bytes, process_id: str, task_id: str, lane_id: str) -> bytes:
    """Move a step into another lane (its shape follows into the band, its flows' ends with it)."""
    root = _root(xml)
    process = _process(root, process_id)
    _element(process, task_id, *STEP_TAGS)
    target = _element(process, lane_id, "lane")
    for ref in process.iter(f"{{{BPMN_NS}}}flowNodeRef"):
        if (ref.text or "").strip() == task_id:
            ref.getparent().remove(ref)
    etree.SubElement(target, f"{{{BPMN_NS}}}flowNodeRef").text = task_id
    shapes = _lane_shapes(root)
    tb, lb = _bounds(shapes.get(task_id)), _bounds(shapes.get(lane_id))
    if tb is not None and lb is not None:
        y = float(lb.get("y")) + (float(lb.get("height")) - float(tb.get("height"))) / 2
        dy = y - float(tb.get("y"))
        tb.set("y", f"{y:g}")
        for edge in root.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
            flow = process.xpath(".//bpmn:sequenceFlow[@id=$fid]", namespaces=NS, fid=edge.get("bpmnElement"))
            if not flow:
                continue
            points = edge.findall(f"{{{DI_NS}}}waypoint")
            if points and flow[0].get("targetRef") == task_id:
                points[-1].set("y", f"{float(points[-1].get('y')) + dy:g}")
            if points and flow[0].get("sourceRef") == task_id:
                points[0].set("y", f"{float(points[0].get('y')) + dy:g}")
    return _out(root)


# -- gateway conditions ------------------------------------------------------------------------

def set_condition(xml: str | bytes, process_id: str, flow_id: str, source: str, default: bool = False) -> bytes:
    """The condition of a flow out of an exclusive gateway, checked by the run-time sandbox;
    `default` makes the flow the gateway's default (and drops its condition). Only the default
    flow may be left without a condition."""
    source = (source or "").strip()
    root = _root(xml)
    process = _process(root, process_id)
    flow = _element(process, flow_id, "sequenceFlow")
    gateway = _element(process, flow.get("sourceRef"), "exclusiveGateway")
    if source:
        errors = condition_errors(source)
        if errors:
            raise InvalidCondition(flow_id, "Điều kiện không hợp lệ: " + "; ".join(errors), "; ".join(errors))
    elif not default and gateway.get("default") != flow_id:
        raise InvalidCondition(flow_id, "Luồng không phải mặc định cần một điều kiện.", "bắt buộc")
    cond = flow.find(f"{{{BPMN_NS}}}conditionExpression")
    if default:
        gateway.set("default", flow_id)
        if cond is not None:
            flow.remove(cond)
    elif source:
        if cond is None:
            cond = etree.SubElement(flow, f"{{{BPMN_NS}}}conditionExpression")
            prefix = next((p for p, ns in root.nsmap.items() if ns == BPMN_NS), None)
            cond.set(XSI_TYPE, f"{prefix}:tFormalExpression" if prefix else "tFormalExpression")
        cond.text = source
        if gateway.get("default") == flow_id:
            del gateway.attrib["default"]
    return _out(root)


# -- a step's properties -----------------------------------------------------------------------

def _extension(task: etree._Element, dialect: str) -> etree._Element:
    """The task's properties container for its dialect, created where BPMN wants it (first child)."""
    ns, prefix = (CAMUNDA_NS, "camunda") if dialect == "camunda" else (SPIFF_NS, "spiffworkflow")
    ext = task.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is None:
        ext = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        docs = task.findall(f"{{{BPMN_NS}}}documentation")
        task.insert(len(docs), ext)
    props = ext.find(f"{{{ns}}}properties")
    if props is None:
        props = etree.SubElement(ext, f"{{{ns}}}properties", nsmap={prefix: ns})
    return props


def _put_property(task: etree._Element, dialect: str, name: str, value: str | None) -> None:
    for prop in task.xpath("./bpmn:extensionElements/*[local-name()='properties']/*[local-name()='property'][@name=$n]",
                           namespaces=NS, n=name):
        if value is None:
            prop.getparent().remove(prop)
        else:
            prop.set("value", value)
        return
    if value is not None:
        props = _extension(task, dialect)
        etree.SubElement(props, f"{{{etree.QName(props).namespace}}}property", name=name, value=value)


def _put_form_key(task: etree._Element, dialect: str, form_key: str) -> None:
    if dialect == "camunda" or task.get(f"{{{CAMUNDA_NS}}}formKey") is not None:
        task.set(f"{{{CAMUNDA_NS}}}formKey", form_key)
        _put_property(task, dialect, "formKey", None)
    else:
        _put_property(task, dialect, "formKey", form_key)


def set_property(xml: str | bytes, process_id: str, task_id: str, dialect: str, name: str,
                 value: str | None) -> bytes:
    """One extension property of a step (Spiff or Camunda properties); None removes it."""
    root = _root(xml)
    _put_property(_element(_process(root, process_id), task_id, *STEP_TAGS), dialect, name, value)
    return _out(root)


def set_step_form(xml: str | bytes, process_id: str, task_id: str, dialect: str, form_key: str) -> bytes:
    """The form a step's officers fill in: `camunda:formKey` in Camunda diagrams (or where the step
    already has one), else the `formKey` property."""
    root = _root(xml)
    _put_form_key(_element(_process(root, process_id), task_id, *STEP_TAGS), dialect, form_key)
    return _out(root)


def set_step_public_label(xml: str | bytes, process_id: str, task_id: str, dialect: str, label: str | None) -> bytes:
    """The step's name as citizens read it (`publicLabel`); empty: the generic label by its role."""
    root = _root(xml)
    task = _element(_process(root, process_id), task_id, *STEP_TAGS)
    _put_property(task, dialect, "publicLabel", label or None)
    return _out(root)


def set_step_deadline(xml: str | bytes, process_id: str, task_id: str, dialect: str, *, days: int | None = None,
                      hours: int | None = None) -> bytes:
    """A step's own deadline: the `stepDays` (working days) or `stepHours` (office hours)
    property; neither: the step is due with the dossier."""
    root = _root(xml)
    task = _element(_process(root, process_id), task_id, *STEP_TAGS)
    _put_property(task, dialect, "stepDays", str(days) if days else None)
    _put_property(task, dialect, "stepHours", str(hours) if hours else None)
    return _out(root)
