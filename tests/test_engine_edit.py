"""The back office's diagram edits as pure functions (engine/edit.py): each gives a diagram that an
upload would accept (`check_diagram`) and carries the change; an unknown id is refused with the
message the back office shows."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from lxml import etree

from orchestrator.engine import check_diagram, edit
from orchestrator.engine.xml import NS
from orchestrator.services import designer
from orchestrator.services.errors import Conflict, Invalid, NotFound

from .diagrams import diagram
from .flows import definitions, lane_set, process, props, user

PID = "Process_1"
DI = ('<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
      'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
      'id="Diagram_1"><bpmndi:BPMNPlane id="Plane_1" bpmnElement="Collab_1">'
      '<bpmndi:BPMNShape id="Pool_di" bpmnElement="Pool" isHorizontal="true">'
      '<dc:Bounds x="100" y="100" width="800" height="250"/></bpmndi:BPMNShape>'
      '<bpmndi:BPMNShape id="Lane_A_di" bpmnElement="Lane_A" isHorizontal="true">'
      '<dc:Bounds x="130" y="100" width="770" height="125"/></bpmndi:BPMNShape>'
      '<bpmndi:BPMNShape id="Lane_B_di" bpmnElement="Lane_B" isHorizontal="true">'
      '<dc:Bounds x="130" y="225" width="770" height="125"/></bpmndi:BPMNShape>'
      '<bpmndi:BPMNShape id="Task_1_di" bpmnElement="Task_1"><dc:Bounds x="300" y="122" width="100" height="80"/>'
      '</bpmndi:BPMNShape>'
      '<bpmndi:BPMNShape id="Task_2_di" bpmnElement="Task_2"><dc:Bounds x="500" y="122" width="100" height="80"/>'
      '</bpmndi:BPMNShape>'
      '<bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="400" y="162"/><di:waypoint x="500" y="162"/>'
      '</bpmndi:BPMNEdge>'
      '<bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="600" y="162"/><di:waypoint x="700" y="162"/>'
      '</bpmndi:BPMNEdge>'
      '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>')


def drawn() -> bytes:
    """A pool with two lanes, drawn: Task_1 and Task_2 in Lane_A (commune/reception), Lane_B empty."""
    lanes = lane_set({"Lane_A": ("commune/reception", ["Start_1", "Task_1", "Task_2", "End_1"]),
                      "Lane_B": ("commune/leader", [])})
    collaboration = f'<bpmn:collaboration id="Collab_1"><bpmn:participant id="Pool" processRef="{PID}"/></bpmn:collaboration>'
    return definitions(collaboration, process([user("Task_1", inner=props(formKey="KS-KY")), user("Task_2")],
                                             lanes=lanes), DI)


def accepted(xml: bytes, process_id: str = PID) -> tuple[etree._Element, dict]:
    """The edited diagram as an upload reads it: its tree and its description."""
    assert xml.startswith(b"<?xml")
    checked = check_diagram(xml, 10**7, process_id)
    return etree.fromstring(xml), checked.model


def one(root: etree._Element, path: str, **variables):
    found = root.xpath(path, namespaces=NS, **variables)
    assert len(found) == 1, (path, found)
    return found[0]


def bounds(root: etree._Element, element_id: str) -> dict[str, float]:
    b = one(root, "//bpmndi:BPMNShape[@bpmnElement=$e]/dc:Bounds", e=element_id)
    return {k: float(b.get(k)) for k in ("x", "y", "width", "height")}


def test_add_lane_appends_a_band_below_the_last_and_grows_the_pool():
    xml, lane_id = edit.add_lane(drawn(), PID, "Thẩm định hồ sơ")
    assert lane_id == "Lane_New1"
    root, model = accepted(xml)
    assert one(root, "//bpmn:laneSet/bpmn:lane[@id='Lane_New1']").get("name") == "Thẩm định hồ sơ"
    assert "Lane_New1" in {lane["id"] for lane in model["lanes"]}
    assert bounds(root, "Lane_New1") == {"x": 130, "y": 350, "width": 770, "height": edit.LANE_HEIGHT}
    assert bounds(root, "Pool")["height"] == 250 + edit.LANE_HEIGHT
    again, second = edit.add_lane(xml.decode("utf-8"), PID, "Ký")  # text in works as well as bytes
    assert second == "Lane_New2"
    assert bounds(accepted(again)[0], "Lane_New2")["y"] == 350 + edit.LANE_HEIGHT


def test_add_lane_to_a_process_without_lanes_creates_the_lane_set():
    xml, lane_id = edit.add_lane(definitions(process([user("Task_1")])), PID, "Một cửa")
    root, model = accepted(xml)
    assert one(root, "//bpmn:process/bpmn:laneSet[@id=$s]/bpmn:lane", s=f"LaneSet_{PID}").get("id") == lane_id
    assert [lane["id"] for lane in model["lanes"]] == [lane_id]


def test_delete_lane_removes_an_empty_lane_and_its_band():
    root, model = accepted(edit.delete_lane(drawn(), PID, "Lane_B"))
    assert root.xpath("//bpmn:lane[@id='Lane_B'] | //bpmndi:BPMNShape[@bpmnElement='Lane_B']", namespaces=NS) == []
    assert [lane["id"] for lane in model["lanes"]] == ["Lane_A"]


def test_a_lane_that_holds_steps_is_not_deleted():
    with pytest.raises(edit.LaneInUse) as refused:
        edit.delete_lane(drawn(), PID, "Lane_A")
    assert refused.value.lane_id == "Lane_A"
    assert str(refused.value).startswith("Làn 'commune/reception' đang chứa 4 phần tử (Start_1, Task_1, Task_2, End_1)")


def test_move_task_changes_its_lane_and_brings_its_shape_and_flow_ends_into_the_band():
    root, model = accepted(edit.move_task(drawn(), PID, "Task_2", "Lane_B"))
    assert one(root, "//bpmn:lane[bpmn:flowNodeRef='Task_2']").get("id") == "Lane_B"
    assert {t["id"]: t["lane_id"] for t in model["user_tasks"]} == {"Task_1": "Lane_A", "Task_2": "Lane_B"}
    assert bounds(root, "Task_2")["y"] == 225 + (125 - 80) / 2
    dy = 225 + (125 - 80) / 2 - 122
    assert float(one(root, "//bpmndi:BPMNEdge[@bpmnElement='f1']/di:waypoint[last()]").get("y")) == 162 + dy
    assert float(one(root, "//bpmndi:BPMNEdge[@bpmnElement='f2']/di:waypoint[1]").get("y")) == 162 + dy
    assert float(one(root, "//bpmndi:BPMNEdge[@bpmnElement='f1']/di:waypoint[1]").get("y")) == 162


def test_gateways_lists_each_exclusive_gateway_with_its_flows_conditions_and_default():
    (gateway,) = edit.gateways(diagram(), "Process_Test")
    assert gateway["id"] == "Gateway" and gateway["default"] == "F_no"
    assert [(f["id"], f["target"], f["condition"]) for f in gateway["flows"]] == [
        ("F_yes", "Ký", "decision == 'approve'"), ("F_no", "End_No", "")]


def test_set_condition_writes_the_expression_and_moves_the_default():
    xml = edit.set_condition(diagram(), "Process_Test", "F_no", "  decision == 'refuse' ")
    root, model = accepted(xml, "Process_Test")
    cond = one(root, "//bpmn:sequenceFlow[@id='F_no']/bpmn:conditionExpression")
    assert cond.text == "decision == 'refuse'"
    assert cond.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "bpmn:tFormalExpression"
    assert one(root, "//bpmn:exclusiveGateway").get("default") is None
    assert {"element_id": "F_no", "kind": "condition", "source": "decision == 'refuse'"}.items() <= next(
        e for e in model["expressions"] if e["element_id"] == "F_no").items()
    root, _ = accepted(edit.set_condition(xml, "Process_Test", "F_yes", "", default=True), "Process_Test")
    assert one(root, "//bpmn:exclusiveGateway").get("default") == "F_yes"
    assert root.xpath("//bpmn:sequenceFlow[@id='F_yes']/bpmn:conditionExpression", namespaces=NS) == []


def test_set_condition_refuses_what_the_sandbox_refuses_and_a_missing_condition():
    with pytest.raises(edit.InvalidCondition) as bad:
        edit.set_condition(diagram(), "Process_Test", "F_yes", "__import__('os')")
    assert bad.value.flow_id == "F_yes" and str(bad.value).startswith("Điều kiện không hợp lệ: ")
    assert bad.value.detail and bad.value.detail in str(bad.value)
    with pytest.raises(edit.InvalidCondition, match="Luồng không phải mặc định cần một điều kiện."):
        edit.set_condition(diagram(), "Process_Test", "F_yes", "  ")
    assert edit.condition_errors("decision == 'approve'") == []


def test_set_step_form_uses_the_property_in_spiff_and_the_attribute_in_camunda():
    root, model = accepted(edit.set_step_form(drawn(), PID, "Task_1", "spiff", "HK-01.01.v2"))
    assert one(root, "//bpmn:userTask[@id='Task_1']//spiffworkflow:property[@name='formKey']").get("value") == "HK-01.01.v2"
    assert {t["id"]: t["form_key"] for t in model["user_tasks"]} == {"Task_1": "HK-01.01.v2", "Task_2": None}
    camunda = definitions(process([user("Task_1", 'camunda:candidateGroups="commune/specialist"')]), camunda=True)
    root, model = accepted(edit.set_step_form(camunda, PID, "Task_1", "camunda", "KS-KY"))
    assert one(root, "//bpmn:userTask[@id='Task_1']").get("{http://camunda.org/schema/1.0/bpmn}formKey") == "KS-KY"
    assert model["dialect"] == "camunda" and model["user_tasks"][0]["form_key"] == "KS-KY"


def test_set_step_deadline_sets_one_of_step_days_and_step_hours():
    xml = edit.set_step_deadline(drawn(), PID, "Task_2", "spiff", days=3)
    root, model = accepted(xml)
    assert one(root, "//bpmn:userTask[@id='Task_2']//spiffworkflow:property[@name='stepDays']").get("value") == "3"
    assert (model["user_tasks"][1]["step_days"], model["user_tasks"][1]["step_hours"]) == (3, None)
    root, model = accepted(edit.set_step_deadline(xml, PID, "Task_2", "spiff", hours=4))
    assert root.xpath("//spiffworkflow:property[@name='stepDays']", namespaces=NS) == []
    assert (model["user_tasks"][1]["step_days"], model["user_tasks"][1]["step_hours"]) == (None, 4)
    root, model = accepted(edit.set_step_deadline(xml, PID, "Task_2", "spiff"))
    assert root.xpath("//spiffworkflow:property[starts-with(@name, 'step')]", namespaces=NS) == []


def test_set_property_creates_the_container_after_the_documentation_and_removes_with_none():
    task = user("Task_1", inner="<bpmn:documentation>Ghi chú</bpmn:documentation>")
    root, model = accepted(edit.set_property(definitions(process([task])), PID, "Task_1", "spiff", "milestone", "decision"))
    first, second = one(root, "//bpmn:userTask[@id='Task_1']")[:2]
    assert (etree.QName(first).localname, etree.QName(second).localname) == ("documentation", "extensionElements")
    assert model["user_tasks"][0]["milestone"] == "decision"
    root, _ = accepted(edit.set_property(etree.tostring(root), PID, "Task_1", "spiff", "milestone", None))
    assert root.xpath("//spiffworkflow:property", namespaces=NS) == []


def test_lane_ids_of_a_file_not_stored_yet():
    assert edit.lane_ids(drawn(), 10**6) == {"Lane_A", "Lane_B"}
    assert edit.lane_ids(b"<not-bpmn/>", 10**6) == set()


UNKNOWN = [
    (edit.delete_lane, ("Nope",)),
    (edit.move_task, ("Nope", "Lane_B")),
    (edit.move_task, ("Task_1", "Nope")),
    (edit.set_condition, ("Nope", "a == 1")),
    (edit.set_step_form, ("Nope", "spiff", "KS-KY")),
    (edit.set_step_deadline, ("Nope", "spiff")),
    (edit.set_property, ("Nope", "spiff", "route", "commune/leader")),
]


@pytest.mark.parametrize(("change", "args"), UNKNOWN, ids=lambda v: getattr(v, "__name__", ""))
def test_an_unknown_element_is_refused_with_the_back_offices_message(change, args):
    with pytest.raises(edit.UnknownElement, match="^Không có phần tử Nope trong sơ đồ.$") as refused:
        change(drawn(), PID, *args)
    assert refused.value.element_id == "Nope"
    draft = SimpleNamespace(bpmn_xml=drawn().decode("utf-8"), process_id=PID)
    with pytest.raises(NotFound, match="^Không có phần tử Nope trong sơ đồ.$") as shown:  # the 404 page's text
        designer._edited(draft, change, *args)
    assert shown.value.status == 404


def test_the_service_shows_the_other_refusals_as_before():
    draft = SimpleNamespace(bpmn_xml=drawn().decode("utf-8"), process_id=PID)
    with pytest.raises(Conflict) as in_use:
        designer._edited(draft, edit.delete_lane, "Lane_A")
    assert (in_use.value.code, in_use.value.fields) == ("lane_in_use", {"Lane_A": "đang được sử dụng"})
    gateway = SimpleNamespace(bpmn_xml=diagram().decode("utf-8"), process_id="Process_Test")
    with pytest.raises(Invalid) as missing:
        designer._edited(gateway, edit.set_condition, "F_yes", "")
    assert missing.value.fields == {"F_yes": "bắt buộc"}
