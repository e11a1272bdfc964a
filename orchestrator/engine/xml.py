"""Untrusted XML in: lxml with entities, DTDs and network off, and a size limit."""
from __future__ import annotations

from lxml import etree

from ..i18n import vi
from .problems import DiagramRejected, Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "camunda": CAMUNDA_NS, "spiffworkflow": SPIFF_NS}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
        dtd_validation=False, remove_comments=False,
    )


def parse_untrusted(data: bytes, max_bytes: int) -> etree._Element:
    """Parse a diagram someone uploaded, refusing what could hurt the server."""
    if len(data) > max_bytes:
        raise DiagramRejected([Problem(vi("Tệp quá lớn: %(size)s byte, tối đa %(limit)s byte.", size=len(data),
                                          limit=max_bytes))], 413)
    if not data.strip():
        raise DiagramRejected([Problem(vi("Tệp rỗng: không có nội dung XML."))], 400)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if hasattr(exc, "lineno") else None
        raise DiagramRejected([Problem(vi("XML không hợp lệ: %(error)s", error=exc.msg), line=line)], 400) from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise DiagramRejected([Problem(vi("Tệp chứa khai báo DTD/thực thể (DOCTYPE), không được chấp nhận."), line=1)], 422)
    for el in root.iter(etree.Entity):
        raise DiagramRejected([Problem(vi("Tệp chứa tham chiếu thực thể XML, không được chấp nhận."), line=el.sourceline)], 422)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise DiagramRejected([Problem(vi("Không phải sơ đồ BPMN 2.0: phần tử gốc phải là bpmn:definitions."), line=root.sourceline)], 422)
    return root


def parse_trusted(text: str | bytes) -> etree._Element:
    """Re-read a diagram we stored ourselves (it passed parse_untrusted at upload), or made from one."""
    return etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, _parser())
