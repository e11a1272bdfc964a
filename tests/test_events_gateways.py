"""Events thrown and caught inside a dossier, and event-based gateways (issue 17), over HTTP on both
databases: signals (a throw in one branch interrupts a step of another), errors (an error end event
inside a sub-process caught by a boundary error event; one nothing catches is an incident at the
end event), escalations (non-interrupting boundary; one nothing catches goes on), messages thrown
to a receive task of the same dossier (send task; one nothing waits for is recorded and goes on),
receive tasks through the integrators' events route, event-based gateways (a message, a built-in
lifecycle name or a timer: the first wins, in both dialects), a built-in lifecycle event that the
diagram also waits for (both effects), inclusive gateways (two branches of three and the join), a
main process started by a message, a timer start refused with its reason."""
from __future__ import annotations

import time

import pytest

from orchestrator.extensions import db
from orchestrator.models import Dossier
from orchestrator.models.jobs import Job
from orchestrator.services.checks import check_all
from orchestrator.worker import Worker

from .flows import complete, definitions, lane_set, props, publish, start, upload, upload_and_publish
from .test_sub_processes import flows, line, user

LEADER, SPECIALIST, RECEPTION = "leader.00070", "specialist.00070", "reception.00070"


def diagram(body: str, pairs: list[tuple[str, str]], lanes: dict, head: str = "", start: str = "") -> bytes:
    """A main process P: Begin -> ... as `pairs` say, with its lanes; `head`: messages, signals,
    errors, escalations declared at the top of the file."""
    return definitions(head, f'<bpmn:process id="P" isExecutable="true">{lane_set(lanes)}'
                             f'<bpmn:startEvent id="Begin">{start}</bpmn:startEvent>{body}{flows(*pairs)}'
                             "</bpmn:process>")


def end(end_id: str, inner: str = "") -> str:
    return f'<bpmn:endEvent id="{end_id}">{inner}</bpmn:endEvent>'


def steps(body: dict) -> list[str]:
    return sorted(t["step_id"] for t in body["current_tasks"])


def task(body: dict, step_id: str) -> dict:
    return next(t for t in body["current_tasks"] if t["step_id"] == step_id)


def history(api, code: str, action: str) -> list[dict]:
    return [h for h in api.get(f"/dossiers/{code}", LEADER).get_json()["history"] if h["action"] == action]


def queued_timers(app, code: str) -> int:
    with app.app_context():
        dossier_id = db.session.query(Dossier.id).filter_by(code=code).scalar()
        return db.session.query(Job).filter_by(kind="timer", dossier_id=dossier_id, state="queued").count()


def finish(api, body: dict, step_id: str, who: str = RECEPTION) -> dict:
    done = complete(api, task(body, step_id), who, {"delivery_method": "in_person"} if who == RECEPTION else {})
    assert done["finished_at"] and done["current_tasks"] == [], done
    return done


# -- signals ---------------------------------------------------------------------------------

SIGNAL = '<bpmn:signal id="Sig_Stop" name="dừng thẩm định"/>'


def signal_diagram() -> bytes:
    """Receive -> split: Review (a signal boundary, interrupting -> Note) | Check -> throw the
    signal -> end. Checking stops the review."""
    body = (user("Receive", props(milestone="reception")) + '<bpmn:parallelGateway id="Split"/>'
            + user("Review") + end("ReviewEnd") + user("Check")
            + '<bpmn:intermediateThrowEvent id="Stop"><bpmn:signalEventDefinition signalRef="Sig_Stop"/>'
              "</bpmn:intermediateThrowEvent>" + end("CheckEnd")
            + '<bpmn:boundaryEvent id="Stopped" attachedToRef="Review"><bpmn:signalEventDefinition '
              'signalRef="Sig_Stop"/></bpmn:boundaryEvent>' + user("Note", props(milestone="return")) + end("NoteEnd"))
    return diagram(body, line("Begin", "Receive", "Split", "Review", "ReviewEnd")
                   + line("Split", "Check", "Stop", "CheckEnd") + line("Stopped", "Note", "NoteEnd"),
                   {"R": ("commune/reception", ["Receive", "Note"]), "S": ("commune/specialist", ["Review"]),
                    "L": ("commune/leader", ["Check"])}, SIGNAL)


def test_a_signal_thrown_in_one_branch_interrupts_a_step_of_another(app, api):
    upload_and_publish(api, signal_diagram(), "9.417001")
    body = start(api, "9.417001")
    assert steps(body) == ["Check", "Review"]
    after = complete(api, task(body, "Check"), LEADER)
    assert steps(after) == ["Note"]
    assert [h["step_id"] for h in after["history"] if h["action"] == "step_cancelled"] == ["Review"]
    [thrown] = [h for h in after["history"] if h["action"] == "event_thrown"]
    assert thrown["step_id"] == "Stop" and thrown["note"] == "dừng thẩm định"
    done = finish(api, after, "Note")
    assert done["status"] == 10
    with app.app_context():
        assert check_all(db.session) == []


# -- errors ----------------------------------------------------------------------------------

ERROR = '<bpmn:error id="Err_Invalid" name="Hồ sơ sai" errorCode="E_INVALID"/>'


def error_diagram(caught: bool = True) -> bytes:
    """Receive -> Work [Verify -> gateway: note == 'sai' -> error end Invalid; else -> Work_E] ->
    Handover; a boundary error event on Work (E_INVALID) -> Fix -> end."""
    work = ('<bpmn:subProcess id="Work"><bpmn:startEvent id="Work_S"/>' + user("Verify")
            + '<bpmn:exclusiveGateway id="Valid" default="Valid_Work_E"/>'
            + end("Work_E") + end("Invalid", '<bpmn:errorEventDefinition errorRef="Err_Invalid"/>')
            + flows(("Work_S", "Verify"), ("Verify", "Valid"), ("Valid", "Work_E"))
            + '<bpmn:sequenceFlow id="Valid_Invalid" sourceRef="Valid" targetRef="Invalid">'
              "<bpmn:conditionExpression>note == 'sai'</bpmn:conditionExpression></bpmn:sequenceFlow>"
            + "</bpmn:subProcess>")
    boundary = ('<bpmn:boundaryEvent id="Caught" attachedToRef="Work"><bpmn:errorEventDefinition '
                'errorRef="Err_Invalid"/></bpmn:boundaryEvent>' + user("Fix") + end("FixEnd")) if caught else ""
    pairs = line("Begin", "Receive", "Work", "Handover", "Finish") + (line("Caught", "Fix", "FixEnd") if caught else [])
    return diagram(user("Receive", props(milestone="reception")) + work + boundary
                   + user("Handover", props(milestone="return")) + end("Finish"), pairs,
                   {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Work"]),
                    "L": ("commune/leader", ["Fix"] if caught else [])}, ERROR)


def test_an_error_end_event_in_a_sub_process_is_caught_by_its_boundary_error_event(app, api):
    upload_and_publish(api, error_diagram(), "9.417002")
    body = start(api, "9.417002")
    assert steps(body) == ["Verify"]
    after = complete(api, task(body, "Verify"), SPECIALIST, {"note": "sai"})
    assert steps(after) == ["Fix"] and not after["finished_at"]
    done = complete(api, task(after, "Fix"), LEADER)
    assert done["finished_at"] and done["current_tasks"] == []
    # the path without the error: the sub-process ends normally and Handover follows
    body = start(api, "9.417002")
    after = complete(api, task(body, "Verify"), SPECIALIST, {"note": "đúng"})
    assert steps(after) == ["Handover"]
    assert finish(api, after, "Handover")["status"] == 10


def test_an_error_nothing_catches_is_an_incident_at_the_end_event(app, api):
    upload_and_publish(api, error_diagram(caught=False), "9.417003")
    body = start(api, "9.417003")
    r = api.post(f"/tasks/{task(body, 'Verify')['id']}/complete", SPECIALIST, json={"data": {"note": "sai"}})
    assert r.status_code == 200, r.get_json()
    after = api.get(f"/dossiers/{body['code']}", LEADER).get_json()
    [incident] = [h for h in after["history"] if h["action"] == "incident"]
    assert incident["step_id"] == "Invalid" and "E_INVALID" in incident["note"]
    assert not after["finished_at"] and after["incident"] is True
    r = api.post(f"/dossiers/{body['code']}/actions/retry", "admin.01", json={})
    assert r.status_code == 200 and r.get_json()["incident"] is True, "still nothing catches it: still an incident"


# -- escalations -----------------------------------------------------------------------------

ESCALATION = '<bpmn:escalation id="Esc_Late" name="Chậm" escalationCode="CHAM"/>'


def escalation_diagram(caught: bool = True) -> bytes:
    """Receive -> Work [Review -> throw escalation CHAM -> Sign] -> Handover; a non-interrupting
    boundary escalation on Work -> Notify (leaders) -> end."""
    work = ('<bpmn:subProcess id="Work"><bpmn:startEvent id="Work_S"/>' + user("Review")
            + '<bpmn:intermediateThrowEvent id="Raise"><bpmn:escalationEventDefinition escalationRef="Esc_Late"/>'
              "</bpmn:intermediateThrowEvent>" + user("Sign") + end("Work_E")
            + flows(*line("Work_S", "Review", "Raise", "Sign", "Work_E")) + "</bpmn:subProcess>")
    boundary = ('<bpmn:boundaryEvent id="Escalated" attachedToRef="Work" cancelActivity="false">'
                '<bpmn:escalationEventDefinition escalationRef="Esc_Late"/></bpmn:boundaryEvent>'
                + user("Notify") + end("NotifyEnd")) if caught else ""
    pairs = line("Begin", "Receive", "Work", "Handover", "Finish") + (line("Escalated", "Notify", "NotifyEnd")
                                                                      if caught else [])
    return diagram(user("Receive", props(milestone="reception")) + work + boundary
                   + user("Handover", props(milestone="return")) + end("Finish"), pairs,
                   {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Review"]),
                    "L": ("commune/leader", ["Sign", "Notify"] if caught else ["Sign"])}, ESCALATION)


def test_an_escalation_opens_a_step_beside_the_sub_process(app, api):
    upload_and_publish(api, escalation_diagram(), "9.417004")
    body = start(api, "9.417004")
    after = complete(api, task(body, "Review"), SPECIALIST)
    assert steps(after) == ["Notify", "Sign"]
    assert not [h for h in after["history"] if h["action"] == "step_cancelled"]
    after = complete(api, task(after, "Notify"), LEADER)
    after = complete(api, task(after, "Sign"), LEADER)
    assert steps(after) == ["Handover"]
    assert finish(api, after, "Handover")["status"] == 10


def test_an_escalation_nothing_catches_goes_on_and_is_recorded(app, api):
    upload_and_publish(api, escalation_diagram(caught=False), "9.417005")
    body = start(api, "9.417005")
    after = complete(api, task(body, "Review"), SPECIALIST)
    assert steps(after) == ["Sign"]
    [missed] = [h for h in after["history"] if h["action"] == "event_not_caught"]
    assert missed["step_id"] == "Raise" and missed["note"] == "CHAM"
    after = complete(api, task(after, "Sign"), LEADER)
    assert finish(api, after, "Handover")["status"] == 10


# -- messages in the dossier: send and receive tasks ------------------------------------------

MESSAGES = ('<bpmn:message id="M_Result" name="kết quả thẩm định"/><bpmn:message id="M_Ack" name="xác nhận"/>'
            '<bpmn:message id="M_Nobody" name="không ai chờ"/>')


def send_receive_diagram() -> bytes:
    """Receive -> split: Check -> send task (kết quả thẩm định) -> throw (không ai chờ) -> end |
    receive task (kết quả thẩm định) -> receive task (xác nhận, from an integrator) -> Handover."""
    body = (user("Receive", props(milestone="reception")) + '<bpmn:parallelGateway id="Split"/>'
            + user("Check") + '<bpmn:sendTask id="Send" messageRef="M_Result"/>'
            + '<bpmn:intermediateThrowEvent id="Shout"><bpmn:messageEventDefinition messageRef="M_Nobody"/>'
              "</bpmn:intermediateThrowEvent>" + end("CheckEnd")
            + '<bpmn:receiveTask id="Result" messageRef="M_Result"/><bpmn:receiveTask id="Ack" messageRef="M_Ack"/>'
            + user("Handover", props(milestone="return")) + end("Finish"))
    return diagram(body, line("Begin", "Receive", "Split", "Check", "Send", "Shout", "CheckEnd")
                   + line("Split", "Result", "Ack", "Handover", "Finish"),
                   {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Check"])},
                   MESSAGES)


def test_a_send_task_delivers_to_a_receive_task_of_the_same_dossier(app, api, api_key):
    upload_and_publish(api, send_receive_diagram(), "9.417006")
    key = api_key()
    body = start(api, "9.417006")
    assert steps(body) == ["Check"]
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "nope", "data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == ["kết quả thẩm định"]
    after = complete(api, task(body, "Check"), SPECIALIST)
    assert steps(after) == [] and not after["finished_at"]
    actions = {(h["action"], h["step_id"]) for h in after["history"]}
    assert ("event_thrown", "Send") in actions and ("event_not_caught", "Shout") in actions
    # the receive task waits for the integrator's message, as a message catch event does
    r = api.post(f"/dossiers/{body['code']}/events/message", key,
                 json={"message": "xác nhận", "data": {"receipt": "BN-1"}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert steps(after) == ["Handover"] and after["data"]["receipt"] == "BN-1"
    assert finish(api, after, "Handover")["status"] == 10
    with app.app_context():
        assert check_all(db.session) == []


# -- event-based gateways --------------------------------------------------------------------

EBG_MESSAGES = ('<bpmn:message id="M_Pay" name="payment_received"/>'
                '<bpmn:message id="M_Tax" name="tax_notice"/>')


def gateway_diagram(duration: str = "PT1S", camunda: bool = False) -> bytes:
    """Receive -> Post (specialist) -> event-based gateway: payment_received -> Issue | a timer
    (`duration`) -> Remind | tax_notice -> Assess; each then Handover. `camunda`: the same in
    Camunda's dialect."""
    timer = (f'<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{duration}'
             "</bpmn:timeDuration></bpmn:timerEventDefinition>")
    body = (user("Receive", props(milestone="reception")) + user("Post") + '<bpmn:eventBasedGateway id="Wait"/>'
            + '<bpmn:intermediateCatchEvent id="Paid"><bpmn:messageEventDefinition messageRef="M_Pay"/>'
              "</bpmn:intermediateCatchEvent>"
            + f'<bpmn:intermediateCatchEvent id="Expired">{timer}</bpmn:intermediateCatchEvent>'
            + '<bpmn:intermediateCatchEvent id="Taxed"><bpmn:messageEventDefinition messageRef="M_Tax"/>'
              "</bpmn:intermediateCatchEvent>"
            + user("Issue") + user("Remind") + user("Assess") + '<bpmn:exclusiveGateway id="Merge"/>'
            + user("Handover", props(milestone="return")) + end("Finish"))
    pairs = (line("Begin", "Receive", "Post", "Wait") + line("Wait", "Paid", "Issue", "Merge")
             + line("Wait", "Expired", "Remind", "Merge") + line("Wait", "Taxed", "Assess", "Merge")
             + line("Merge", "Handover", "Finish"))
    xml = diagram(body, pairs, {"R": ("commune/reception", ["Receive", "Handover"]),
                                "S": ("commune/specialist", ["Post", "Issue", "Remind", "Assess"])}, EBG_MESSAGES)
    if camunda:
        xml = definitions(xml.split(b"?>", 1)[1].decode().split(">", 1)[1].rsplit("</bpmn:definitions>", 1)[0]
                          .replace('<bpmn:eventBasedGateway id="Wait"/>',
                                   '<bpmn:eventBasedGateway id="Wait" camunda:asyncBefore="false"/>'), camunda=True)
    return xml


def test_event_based_gateway_a_message_first_cancels_the_timer(app, api, api_key):
    r = upload(api, gateway_diagram("P15D"), "9.417007")
    assert r.status_code == 201, r.get_json()
    warned = [w for w in r.get_json()["warnings"] if w.get("code") == "message_builtin_name"]
    assert [w["element_id"] for w in warned] == ["Paid"] and warned[0]["line"]
    assert publish(api, "9.417007").status_code == 200
    key = api_key()
    body = start(api, "9.417007")
    after = complete(api, task(body, "Post"), SPECIALIST)
    assert steps(after) == [] and queued_timers(app, body["code"]) == 1
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "nope", "data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == ["payment_received", "tax_notice"]
    r = api.post(f"/dossiers/{body['code']}/events/message", key,
                 json={"message": "tax_notice", "data": {"tax_amount": 1250000}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert steps(after) == ["Assess"] and after["data"]["tax_amount"] == 1250000
    assert queued_timers(app, body["code"]) == 0  # the 15-day wait is cancelled
    r = api.post(f"/dossiers/{body['code']}/events/payment_received", key, json={"data": {}})
    assert r.status_code == 409  # neither the built-in nor the diagram waits for it now
    after = complete(api, task(after, "Assess"), SPECIALIST)
    assert finish(api, after, "Handover")["status"] == 10


@pytest.mark.parametrize("camunda", [False, True], ids=["spiff", "camunda"])
def test_event_based_gateway_the_timer_first_cancels_the_messages(app, api, api_key, camunda):
    code = "9.417018" if camunda else "9.417008"
    upload_and_publish(api, gateway_diagram("PT1S", camunda), code)
    key = api_key()
    body = start(api, code)
    complete(api, task(body, "Post"), SPECIALIST)
    time.sleep(1.1)
    Worker(app, name="w1").run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", LEADER).get_json()
    assert steps(after) == ["Remind"]
    assert [h["step_id"] for h in after["history"] if h["action"] == "timer"] == ["Expired"]
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "tax_notice", "data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == []
    after = complete(api, task(after, "Remind"), SPECIALIST)
    assert finish(api, after, "Handover")["status"] == 10


def test_a_built_in_event_name_gets_the_built_in_effect_then_the_diagram(app, api, api_key):
    """payment_received while the dossier waits in status 6: back to 4 (built-in), then the
    gateway's branch; while in status 4, the diagram's wait alone."""
    upload_and_publish(api, gateway_diagram("P15D"), "9.417009")
    key = api_key()
    body = start(api, "9.417009")
    complete(api, task(body, "Post"), SPECIALIST)
    r = api.post(f"/dossiers/{body['code']}/actions/request-payment", SPECIALIST, json={"amount": 50000})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == 6
    r = api.post(f"/dossiers/{body['code']}/events/payment_received", key, json={"data": {"receipt_number": "BL-9"}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert after["status"] == 4 and steps(after) == ["Issue"]
    assert queued_timers(app, body["code"]) == 0
    after = complete(api, task(after, "Issue"), SPECIALIST)
    assert finish(api, after, "Handover")["status"] == 10
    # status 4: the built-in does not apply, the diagram's wait does
    body = start(api, "9.417009")
    complete(api, task(body, "Post"), SPECIALIST)
    r = api.post(f"/dossiers/{body['code']}/events/payment_received", key, json={"data": {}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == 4 and steps(r.get_json()) == ["Issue"]


# -- inclusive gateways, start events --------------------------------------------------------

def test_inclusive_gateway_two_branches_of_three_and_the_join(app, api):
    cond = ("<bpmn:sequenceFlow id=\"Or_{0}\" sourceRef=\"Or\" targetRef=\"{0}\"><bpmn:conditionExpression>"
            "{1}</bpmn:conditionExpression></bpmn:sequenceFlow>")
    body = (user("Receive", props(milestone="reception")) + '<bpmn:scriptTask id="Plan" scriptFormat="python">'
            "<bpmn:script>land = True\nbuilding = True\nforest = False</bpmn:script></bpmn:scriptTask>"
            + '<bpmn:inclusiveGateway id="Or"/>' + user("Land") + user("Building") + user("Forest")
            + '<bpmn:inclusiveGateway id="OrJoin"/>' + user("Handover", props(milestone="return")) + end("Finish")
            + cond.format("Land", "land") + cond.format("Building", "building") + cond.format("Forest", "forest"))
    xml = diagram(body, line("Begin", "Receive", "Plan", "Or") + line("Land", "OrJoin") + line("Building", "OrJoin")
                  + line("Forest", "OrJoin") + line("OrJoin", "Handover", "Finish"),
                  {"R": ("commune/reception", ["Receive", "Handover"]),
                   "S": ("commune/specialist", ["Land", "Building", "Forest"])})
    upload_and_publish(api, xml, "9.417010")
    body = start(api, "9.417010")
    assert steps(body) == ["Building", "Land"]
    after = complete(api, task(body, "Land"), SPECIALIST)
    assert steps(after) == ["Building"]
    after = complete(api, task(after, "Building"), SPECIALIST)
    assert steps(after) == ["Handover"]
    assert finish(api, after, "Handover")["status"] == 10


def test_a_main_process_may_start_by_a_message(app, api):
    xml = diagram(user("Receive", props(milestone="reception")) + user("Handover", props(milestone="return"))
                  + end("Finish"), line("Begin", "Receive", "Handover", "Finish"),
                  {"R": ("commune/reception", ["Receive", "Handover"])},
                  '<bpmn:message id="M_Filed" name="hồ sơ nộp"/>', '<bpmn:messageEventDefinition messageRef="M_Filed"/>')
    upload_and_publish(api, xml, "9.417011")
    body = start(api, "9.417011")
    assert steps(body) == ["Handover"]
    assert finish(api, body, "Handover")["status"] == 10


def test_a_signal_start_of_the_main_process_is_refused_with_element_and_line(app, api):
    """A timer start runs as a schedule (tests/test_scheduled_start.py); a signal start has nothing
    in a dossier's life to come from."""
    signal = '<bpmn:signalEventDefinition signalRef="Sig_Stop"/>'
    r = upload(api, diagram(user("Receive") + end("Finish"), line("Begin", "Receive", "Finish"),
                            {"R": ("commune/reception", ["Receive"])}, SIGNAL, start=signal), "9.417013")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Begin" and problem["line"]


def test_an_error_from_a_called_process_is_caught_on_the_call_activity(app, api):
    """The called process Check ends with an error: the boundary on the call activity takes it."""
    callee = ('<bpmn:process id="Check" isExecutable="true"><bpmn:startEvent id="Check_S"/>' + user("Verify")
              + end("Check_E", '<bpmn:errorEventDefinition errorRef="Err_Invalid"/>')
              + flows(*line("Check_S", "Verify", "Check_E"))
              + lane_set({"CS": ("commune/specialist", ["Verify"])}).replace("LaneSet_1", "LaneSet_2") + "</bpmn:process>")
    main = diagram(user("Receive", props(milestone="reception")) + '<bpmn:callActivity id="Call" calledElement="Check"/>'
                   + '<bpmn:boundaryEvent id="Caught" attachedToRef="Call"><bpmn:errorEventDefinition '
                     'errorRef="Err_Invalid"/></bpmn:boundaryEvent>' + user("Fix") + end("FixEnd")
                   + user("Handover", props(milestone="return")) + end("Finish"),
                   line("Begin", "Receive", "Call", "Handover", "Finish") + line("Caught", "Fix", "FixEnd"),
                   {"R": ("commune/reception", ["Receive", "Handover"]), "L": ("commune/leader", ["Fix"])}, ERROR)
    xml = main.replace(b"</bpmn:definitions>", callee.encode() + b"</bpmn:definitions>")
    upload_and_publish(api, xml, "9.417014", process_id="P")
    body = start(api, "9.417014")
    after = complete(api, task(body, "Verify"), SPECIALIST)
    assert steps(after) == ["Fix"]
    assert ("event_thrown", "Check_E") in {(h["action"], h["step_id"]) for h in after["history"]}
    done = complete(api, task(after, "Fix"), LEADER)
    assert done["finished_at"] and done["current_tasks"] == []


def test_a_message_start_beside_another_start_is_refused(app, api):
    message = '<bpmn:messageEventDefinition messageRef="M_Filed"/>'
    xml = diagram(user("Receive") + '<bpmn:startEvent id="ByMessage">' + message + "</bpmn:startEvent>" + end("Finish"),
                  line("Begin", "Receive", "Finish") + line("ByMessage", "Receive"),
                  {"R": ("commune/reception", ["Receive"])}, '<bpmn:message id="M_Filed" name="hồ sơ nộp"/>')
    r = upload(api, xml, "9.417015")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "ByMessage" and problem["line"] and "duy nhất" in problem["message"]


def test_a_timer_cycle_after_an_event_based_gateway_is_refused(app, api):
    """SpiffWorkflow never fires a cycle there (and the worker would look at it for ever)."""
    xml = gateway_diagram("P1D").replace(b'<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P1D</bpmn:timeDuration>',
                                         b"<bpmn:timeCycle>R3/PT1H</bpmn:timeCycle>")
    r = upload(api, xml, "9.417016")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Expired" and "timeCycle" in problem["message"]


def test_supplement_submitted_during_processing_gets_both_effects(app, api, api_key):
    """The diagram waits for `supplement_submitted` after Post; the officer asks for a supplement
    (status 5); when it comes, the dossier is back in processing (4) and the diagram goes on."""
    body = (user("Receive", props(milestone="reception")) + user("Post")
            + '<bpmn:intermediateCatchEvent id="Supplemented"><bpmn:messageEventDefinition messageRef="M_Sup"/>'
              "</bpmn:intermediateCatchEvent>" + user("Review") + user("Handover", props(milestone="return"))
            + end("Finish"))
    xml = diagram(body, line("Begin", "Receive", "Post", "Supplemented", "Review", "Handover", "Finish"),
                  {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Post", "Review"])},
                  '<bpmn:message id="M_Sup" name="supplement_submitted"/>')
    r = upload(api, xml, "9.417017")
    assert r.status_code == 201 and "message_builtin_name" in {w.get("code") for w in r.get_json()["warnings"]}
    assert publish(api, "9.417017").status_code == 200
    body = start(api, "9.417017")
    after = complete(api, task(body, "Post"), SPECIALIST)
    assert steps(after) == [] and after["status"] == 4
    r = api.post(f"/dossiers/{body['code']}/actions/request-supplement", SPECIALIST,
                 json={"items": ["Bản đồ thửa đất"], "reason": "Thiếu bản đồ"})
    assert r.status_code == 200 and r.get_json()["status"] == 5, r.get_json()
    # received at the desk: its reception officer records the supplement (a key may only for its own dossiers)
    r = api.post(f"/dossiers/{body['code']}/events/supplement_submitted", "reception.00070",
                 json={"data": {"note": "Đã bổ sung"}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert after["status"] == 4 and steps(after) == ["Review"]
    after = complete(api, task(after, "Review"), SPECIALIST)
    assert finish(api, after, "Handover")["status"] == 10
