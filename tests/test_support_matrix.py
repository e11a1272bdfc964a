"""docs/bpmn-support.md's support matrix is the validator's own table: they cannot drift apart."""
from __future__ import annotations

import re
from pathlib import Path

from orchestrator.engine import SUPPORT, check_diagram, DiagramRejected

DOC = Path(__file__).resolve().parents[1] / "docs" / "bpmn-support.md"
ROW = re.compile(r"^\| `(?P<element>\w+)` \| (?P<status>\w+) \| (?P<note>.*) \|$")


def test_the_documented_matrix_is_the_validators():
    rows = {m["element"]: (m["status"], m["note"]) for m in map(ROW.match, DOC.read_text(encoding="utf-8").splitlines())
            if m}
    assert rows == SUPPORT


def _diagram(inner: str) -> bytes:
    return ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">'
            f'<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S"/>{inner}</bpmn:process>'
            '</bpmn:definitions>').encode()


def test_every_element_marked_refused_is_refused_with_its_reason():
    """Each refused element, drawn alone in a process, is refused at upload with the matrix's words."""
    for element, (status, reason) in SUPPORT.items():
        if status != "refused":
            continue
        inner = (f'<bpmn:intermediateCatchEvent id="E"><bpmn:{element}/></bpmn:intermediateCatchEvent>'
                 if element.endswith("EventDefinition") else
                 f'<bpmn:task id="T"><bpmn:{element}/></bpmn:task>' if element.endswith("Characteristics") else
                 f'<bpmn:{element} id="X"/>')
        try:
            check_diagram(_diagram(inner), 10**6)
        except DiagramRejected as exc:
            assert reason in [p.message for p in exc.problems], element
        else:
            raise AssertionError(f"{element} was accepted")
