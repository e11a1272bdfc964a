"""Small BPMN documents built in tests, to exercise validation and routing rules."""
from __future__ import annotations

from xml.sax.saxutils import escape

HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
          'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://example.org/bpmn">\n')


def diagram(lanes: dict[str, str] | None = None, script: str = "fee = 0", condition: str = "decision == 'approve'",
            form: str = "KS-KY", process_id: str = "Process_Test") -> bytes:
    """start -> Reception (lane A) -> script -> gateway(cond) -> Review (lane B) -> end | -> end.

    `lanes` maps lane id to its name (a routing path or a team name).
    """
    lanes = lanes or {"Lane_A": "commune/reception", "Lane_B": "commune/leader"}
    (lane_a, name_a), (lane_b, name_b) = list(lanes.items())[:2]
    props = ('<bpmn:extensionElements><spiffworkflow:properties>'
             f'<spiffworkflow:property name="formKey" value="{form}"/>'
             '</spiffworkflow:properties></bpmn:extensionElements>')
    review_props = ('<bpmn:extensionElements><spiffworkflow:properties>'
                    '<spiffworkflow:property name="formKey" value="KS-KY"/>'
                    '</spiffworkflow:properties></bpmn:extensionElements>')
    return (HEADER + f'''  <bpmn:process id="{process_id}" name="Test" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="{lane_a}" name="{escape(name_a)}"><bpmn:flowNodeRef>Task_Reception</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="{lane_b}" name="{escape(name_b)}"><bpmn:flowNodeRef>Task_Review</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Reception" name="Tiếp nhận">{props}<bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="Task_Script" name="Tính phí" scriptFormat="python"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="Gateway" default="F_no"><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F_yes</bpmn:outgoing><bpmn:outgoing>F_no</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_1" targetRef="Task_Reception"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Task_Reception" targetRef="Task_Script"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Task_Script" targetRef="Gateway"/>
    <bpmn:sequenceFlow id="F_yes" sourceRef="Gateway" targetRef="Task_Review">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_no" sourceRef="Gateway" targetRef="End_No"/>
    <bpmn:userTask id="Task_Review" name="Ký">{review_props}<bpmn:incoming>F_yes</bpmn:incoming><bpmn:outgoing>F5</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="F5" sourceRef="Task_Review" targetRef="EndEvent_1"/>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>F5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_No"><bpmn:incoming>F_no</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
''').encode("utf-8")


def timer_diagram(boundary: str = "PT1S", wait: str = "PT1S", interrupting: bool = False) -> bytes:
    """Work (commune/specialist) with a boundary timer that sends a reminder step to the leader,
    then an intermediate timer, then Sign (commune/leader)."""
    form = ('<bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formKey" value="KS-KY"/>'
            '</spiffworkflow:properties></bpmn:extensionElements>')
    cancel = "true" if interrupting else "false"
    return (HEADER + f'''  <bpmn:process id="Process_Timers" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_S" name="commune/specialist"><bpmn:flowNodeRef>Task_Work</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_L" name="commune/leader"><bpmn:flowNodeRef>Task_Remind</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Work" name="Xử lý">{form}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="Timer_Remind" name="Nhắc việc" attachedToRef="Task_Work" cancelActivity="{cancel}"><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{boundary}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="Task_Remind" name="Đôn đốc">{form}<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_Remind"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:intermediateCatchEvent id="Timer_Wait" name="Chờ niêm yết"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{wait}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Task_Sign" name="Ký">{form}<bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Work" targetRef="Timer_Wait"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Timer_Remind" targetRef="Task_Remind"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Task_Remind" targetRef="EndEvent_Remind"/>
    <bpmn:sequenceFlow id="f5" sourceRef="Timer_Wait" targetRef="Task_Sign"/>
    <bpmn:sequenceFlow id="f6" sourceRef="Task_Sign" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
''').encode("utf-8")


def message_diagram() -> bytes:
    """Work, then wait for the tax authority's notice (a message), then Sign."""
    form = ('<bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formKey" value="KS-KY"/>'
            '</spiffworkflow:properties></bpmn:extensionElements>')
    return (HEADER + f'''  <bpmn:message id="Msg_Tax" name="tax_notice"/>
  <bpmn:process id="Process_Msg" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_S" name="commune/specialist"><bpmn:flowNodeRef>Task_Work</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_L" name="commune/leader"><bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Work" name="Chuyển cơ quan thuế">{form}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateCatchEvent id="Wait_Tax" name="Chờ thông báo thuế"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Msg_Tax"/></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Task_Sign" name="Ký">{form}<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Work" targetRef="Wait_Tax"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Wait_Tax" targetRef="Task_Sign"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Task_Sign" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
''').encode("utf-8")


def loop_diagram() -> bytes:
    """Receive -> Review (loops back to itself while decision == 'refuse') -> Sign: a dossier
    returned for revision many times."""
    def props(form, milestone=None):
        extra = f'<spiffworkflow:property name="milestone" value="{milestone}"/>' if milestone else ""
        return ('<bpmn:extensionElements><spiffworkflow:properties>'
                f'<spiffworkflow:property name="formKey" value="{form}"/>{extra}'
                '</spiffworkflow:properties></bpmn:extensionElements>')
    return (HEADER + f'''  <bpmn:process id="Process_Loop" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_R" name="commune/reception"><bpmn:flowNodeRef>Task_Receive</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_S" name="commune/specialist"><bpmn:flowNodeRef>Task_Review</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_L" name="commune/leader"><bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Receive" name="Tiếp nhận">{props("KS-KY", "reception")}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Task_Review" name="Thẩm định">{props("KS-KY")}<bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>back</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_Again" default="f4"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Task_Sign" name="Ký">{props("KS-KY", "decision")}<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Receive"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Receive" targetRef="Task_Review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Task_Review" targetRef="Gateway_Again"/>
    <bpmn:sequenceFlow id="back" sourceRef="Gateway_Again" targetRef="Task_Review">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == 'refuse'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="Gateway_Again" targetRef="Task_Sign"/>
    <bpmn:sequenceFlow id="f5" sourceRef="Task_Sign" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
''').encode("utf-8")


def named_messages_diagram(first: str = "tax notice", second: str = "Thuế đã có") -> bytes:
    """Work (commune/specialist), then wait for message `first`, then for message `second`, then
    Sign (commune/leader): message names as designers write them (spaces, Vietnamese)."""
    form = ('<bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formKey" value="KS-KY"/>'
            '</spiffworkflow:properties></bpmn:extensionElements>')
    return (HEADER + f'''  <bpmn:message id="Msg_First" name="{escape(first, {'"': '&quot;'})}"/>
  <bpmn:message id="Msg_Second" name="{escape(second, {'"': '&quot;'})}"/>
  <bpmn:process id="Process_Named" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_S" name="commune/specialist"><bpmn:flowNodeRef>Task_Work</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_L" name="commune/leader"><bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Work" name="Chuyển cơ quan thuế">{form}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateCatchEvent id="Wait_First" name="Chờ thông báo"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Msg_First"/></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="Wait_Second" name="Chờ thuế"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Msg_Second"/></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Task_Sign" name="Ký">{form}<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Work" targetRef="Wait_First"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Wait_First" targetRef="Wait_Second"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Wait_Second" targetRef="Task_Sign"/>
    <bpmn:sequenceFlow id="f5" sourceRef="Task_Sign" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
''').encode("utf-8")


CAMUNDA_HEADER = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
                  'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
                  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_Camunda" '
                  'targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0">\n')


def camunda_message_diagram(message: str = "Thông báo thuế") -> bytes:
    """Camunda Modeler style (parsed by CamundaParser): Work (commune/specialist,
    camunda:formKey), an intermediate message catch event for `message`, then Sign
    (commune/leader, camunda:formKey)."""
    return (CAMUNDA_HEADER + f'''  <bpmn:message id="Message_Tax" name="{escape(message, {'"': '&quot;'})}"/>
  <bpmn:process id="Process_CamundaMsg" name="Chờ thuế (Camunda)" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_S" name="commune/specialist"><bpmn:flowNodeRef>Task_Work</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_L" name="commune/leader"><bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_Work" name="Chuyển cơ quan thuế" camunda:formKey="KS-KY"><bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateCatchEvent id="Wait_Tax" name="Chờ thông báo thuế"><bpmn:incoming>Flow_2</bpmn:incoming><bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:messageEventDefinition id="MessageEventDefinition_1" messageRef="Message_Tax"/></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Task_Sign" name="Ký" camunda:formKey="KS-KY"><bpmn:incoming>Flow_3</bpmn:incoming><bpmn:outgoing>Flow_4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_Work"/>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_Work" targetRef="Wait_Tax"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Wait_Tax" targetRef="Task_Sign"/>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Task_Sign" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
''').encode("utf-8")
