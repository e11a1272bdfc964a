"""Embedded sub-processes end to end over HTTP, on both databases: steps inside routed by lanes
(the sub-process's lane, or their own), milestones inside (only the end of the main workflow ends
the dossier), nested sub-processes in a parallel branch, timer and message boundary events on a
sub-process (interrupting: the open inner steps are cancelled, and the history says so; non-
interrupting: a parallel step), a failing script inside (an incident naming the element), a dossier
looping through a sub-process (bounded state); event sub-processes of the main process started by a
message or a timer, interrupting or not, and those of an embedded sub-process or a called process
(interrupting: only the enclosing sub-process's steps are cancelled and it completes; never started:
they do not hold the dossier open nor grow its state; one nested in an event sub-process is refused
at upload)."""
from __future__ import annotations

import time

from orchestrator.extensions import db
from orchestrator.models import Dossier, DossierState, WorkItem
from orchestrator.services.checks import check_all
from orchestrator.worker import Worker

from .admin_client import BackOffice
from .flows import complete, definitions, lane_set, props, publish, start, upload, upload_and_publish

LEADER, SPECIALIST, RECEPTION = "leader.00070", "specialist.00070", "reception.00070"


def user(task_id: str, inner: str = "") -> str:
    return f'<bpmn:userTask id="{task_id}" name="{task_id}">{inner}</bpmn:userTask>'


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b in pairs)


def line(*ids: str) -> list[tuple[str, str]]:
    return list(zip(ids, ids[1:]))


def sub(sub_id: str, body: str, pairs: list[tuple[str, str]]) -> str:
    """An embedded sub-process `sub_id` with start `<sub_id>_S`, end `<sub_id>_E` and its flows."""
    return (f'<bpmn:subProcess id="{sub_id}" name="{sub_id}"><bpmn:startEvent id="{sub_id}_S"/>{body}'
            f'<bpmn:endEvent id="{sub_id}_E"/>{flows(*pairs)}</bpmn:subProcess>')


def diagram(body: str, pairs: list[tuple[str, str]], lanes: dict, messages: str = "") -> bytes:
    """A main process P: Begin -> ... -> Finish as `pairs` say, with its lanes."""
    return definitions(messages, f'<bpmn:process id="P" isExecutable="true">{lane_set(lanes)}'
                                 f'<bpmn:startEvent id="Begin"/>{body}<bpmn:endEvent id="Finish"/>{flows(*pairs)}'
                                 "</bpmn:process>")


def steps(body: dict) -> list[str]:
    return sorted(t["step_id"] for t in body["current_tasks"])


def task(body: dict, step_id: str) -> dict:
    return next(t for t in body["current_tasks"] if t["step_id"] == step_id)


def items(app, code: str) -> dict[str, tuple[str, str]]:
    """step id -> (state, role) of each work item of the dossier (the latest per step)."""
    with app.app_context():
        dossier_id = db.session.query(Dossier.id).filter_by(code=code).scalar()
        rows = db.session.query(WorkItem).filter_by(dossier_id=dossier_id).order_by(WorkItem.created_at).all()
        return {w.step_id: (w.state, w.role) for w in rows}


def test_steps_inside_take_the_lane_of_the_sub_process_unless_listed_themselves(app, api):
    """Receive (reception) -> Work [Review, Sign (decision)] -> Handover (return). The lane of the
    specialists lists only the sub-process: Review goes there; Sign is listed in the leaders' lane."""
    work = sub("Work", user("Review") + user("Sign", props(milestone="decision")), line("Work_S", "Review", "Sign", "Work_E"))
    xml = diagram(user("Receive", props(milestone="reception")) + work + user("Handover", props(milestone="return")),
                  line("Begin", "Receive", "Work", "Handover", "Finish"),
                  {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Work"]),
                   "L": ("commune/leader", ["Sign"])})
    r = upload(api, xml, "9.310001")
    assert r.status_code == 201, r.get_json()
    assert not [w for w in r.get_json()["warnings"] if w.get("code") != "builtin_form"], r.get_json()["warnings"]
    assert publish(api, "9.310001").status_code == 200
    body = start(api, "9.310001")
    assert body["status"] == 4 and steps(body) == ["Review"]
    assert api.post(f"/tasks/{task(body, 'Review')['id']}/complete", LEADER, json={"data": {}}).status_code == 403
    body = complete(api, task(body, "Review"), SPECIALIST)
    assert steps(body) == ["Sign"] and body["status"] == 4
    body = complete(api, task(body, "Sign"), LEADER)
    assert body["status"] == 9 and not body["finished_at"] and steps(body) == ["Handover"]
    body = complete(api, task(body, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert body["status"] == 10 and body["finished_at"] and body["current_tasks"] == []
    assert items(app, body["code"]) == {"Receive": ("completed", "reception"), "Review": ("completed", "specialist"),
                                        "Sign": ("completed", "leader"), "Handover": ("completed", "reception")}


def test_default_milestones_follow_the_steps_inside_a_sub_process_in_their_place(app, api):
    """No milestone written: the first step receives, the last returns, the one before decides,
    counting the steps of a sub-process where the sub-process stands."""
    work = sub("Work", user("Review") + user("Sign"), line("Work_S", "Review", "Sign", "Work_E"))
    xml = diagram(user("Receive") + work + user("Handover"), line("Begin", "Receive", "Work", "Handover", "Finish"),
                  {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Review"]),
                   "L": ("commune/leader", ["Sign"])})
    upload_and_publish(api, xml, "9.310002")
    body = start(api, "9.310002")
    body = complete(api, task(body, "Review"), SPECIALIST)
    assert body["status"] == 4
    body = complete(api, task(body, "Sign"), LEADER)
    assert body["status"] == 9 and steps(body) == ["Handover"]
    body = complete(api, task(body, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert body["status"] == 10 and body["finished_at"]


def test_nested_sub_processes_in_a_parallel_branch_finish_the_dossier_only_at_the_end(app, api):
    """Receive -> split: [Outer [Inner [Sign (decision), Handover (return)]]] and [Archive] -> join
    -> End. Returning inside the nested sub-process leaves the dossier open while Archive is open."""
    inner = sub("Inner", user("Sign", props(milestone="decision")) + user("Handover", props(milestone="return")),
                line("Inner_S", "Sign", "Handover", "Inner_E"))
    outer = sub("Outer", inner, line("Outer_S", "Inner", "Outer_E"))
    body = (user("Receive", props(milestone="reception")) + '<bpmn:parallelGateway id="Split"/>' + outer
            + user("Archive") + '<bpmn:parallelGateway id="Join"/>')
    xml = diagram(body, line("Begin", "Receive", "Split", "Outer", "Join", "Finish") + [("Split", "Archive"),
                                                                                     ("Archive", "Join")],
                  {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Archive"]),
                   "L": ("commune/leader", ["Outer"])})
    upload_and_publish(api, xml, "9.310003")
    body = start(api, "9.310003")
    assert steps(body) == ["Archive", "Sign"]
    body = complete(api, task(body, "Sign"), LEADER)
    assert body["status"] == 9 and steps(body) == ["Archive", "Handover"]
    body = complete(api, task(body, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert body["status"] == 9 and not body["finished_at"] and steps(body) == ["Archive"]
    body = complete(api, task(body, "Archive"), SPECIALIST)
    assert body["status"] == 10 and body["finished_at"] and body["current_tasks"] == []


def boundary_diagram(event: str, interrupting: bool) -> bytes:
    """Receive -> Work [split: Review | Verify -> join] -> Handover; a boundary event on Work leads
    to Escalate (leaders) -> an end of its own (with outcome `withdrawn` for a message)."""
    work = sub("Work", '<bpmn:parallelGateway id="WSplit"/>' + user("Review") + user("Verify")
               + '<bpmn:parallelGateway id="WJoin"/>',
               line("Work_S", "WSplit", "Review", "WJoin", "Work_E") + line("WSplit", "Verify", "WJoin"))
    if event == "timer":
        definition = ('<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S'
                      "</bpmn:timeDuration></bpmn:timerEventDefinition>")
        end = ""
    else:
        definition = '<bpmn:messageEventDefinition messageRef="M_Withdraw"/>'
        end = props(outcome="withdrawn")
    cancel = "true" if interrupting else "false"
    body = (user("Receive", props(milestone="reception")) + work
            + f'<bpmn:boundaryEvent id="Late" attachedToRef="Work" cancelActivity="{cancel}">{definition}'
              "</bpmn:boundaryEvent>"
            + user("Escalate") + f'<bpmn:endEvent id="EscalateEnd">{end}</bpmn:endEvent>'
            + user("Handover", props(milestone="return")))
    return diagram(body, line("Begin", "Receive", "Work", "Handover", "Finish") + line("Late", "Escalate", "EscalateEnd"),
                   {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Work"]),
                    "L": ("commune/leader", ["Escalate"])},
                   messages='<bpmn:message id="M_Withdraw" name="rút hồ sơ"/>')


def test_interrupting_timer_on_a_sub_process_cancels_its_open_steps(app, api):
    upload_and_publish(api, boundary_diagram("timer", interrupting=True), "9.310004")
    body = start(api, "9.310004")
    assert steps(body) == ["Review", "Verify"]
    body = complete(api, task(body, "Review"), SPECIALIST)
    assert steps(body) == ["Verify"]
    time.sleep(1.1)
    Worker(app, name="w1").run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", LEADER).get_json()
    assert steps(after) == ["Escalate"]
    states = items(app, body["code"])
    assert states["Review"][0] == "completed" and states["Verify"][0] == "cancelled"
    history = after["history"]
    assert [h["step_id"] for h in history if h["action"] == "timer"] == ["Late"]
    assert [h["step_id"] for h in history if h["action"] == "step_cancelled"] == ["Verify"]
    done = complete(api, task(after, "Escalate"), LEADER)
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []
    with app.app_context():
        assert check_all(db.session) == []


def test_non_interrupting_timer_on_a_sub_process_opens_a_parallel_step(app, api):
    upload_and_publish(api, boundary_diagram("timer", interrupting=False), "9.310005")
    body = start(api, "9.310005")
    time.sleep(1.1)
    Worker(app, name="w1").run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", LEADER).get_json()
    assert steps(after) == ["Escalate", "Review", "Verify"]
    assert not [h for h in after["history"] if h["action"] == "step_cancelled"]
    after = complete(api, task(after, "Escalate"), LEADER)
    assert steps(after) == ["Review", "Verify"] and not after["finished_at"]
    after = complete(api, task(after, "Review"), SPECIALIST)
    after = complete(api, task(after, "Verify"), SPECIALIST)
    assert steps(after) == ["Handover"]
    done = complete(api, task(after, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []


def test_message_on_a_sub_process_through_the_events_route(app, api, api_key):
    """The citizen withdraws while the sub-process runs: its steps are cancelled, the leader's
    step opens, and the end event's `withdrawn` outcome finishes the dossier with status 7."""
    upload_and_publish(api, boundary_diagram("message", interrupting=True), "9.310006")
    key = api_key()
    body = start(api, "9.310006")
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "nope", "data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == ["rút hồ sơ"]
    r = api.post(f"/dossiers/{body['code']}/events/message", key,
                 json={"message": "rút hồ sơ", "data": {"withdraw_reason": "Đổi ý"}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert steps(after) == ["Escalate"] and after["data"]["withdraw_reason"] == "Đổi ý"
    assert sorted(h["step_id"] for h in after["history"] if h["action"] == "step_cancelled") == ["Review", "Verify"]
    assert {s for s, (state, _role) in items(app, body["code"]).items() if state == "cancelled"} == {"Review", "Verify"}
    done = complete(api, task(after, "Escalate"), LEADER)
    assert done["status"] == 7 and done["finished_at"] and done["current_tasks"] == []


def test_a_script_failing_inside_a_sub_process_fails_the_publish_dry_run_naming_it(app, api):
    work = sub("Work", user("Review") + '<bpmn:scriptTask id="Ratio" scriptFormat="python">'
               "<bpmn:script>ratio = 10 / 0</bpmn:script></bpmn:scriptTask>",
               line("Work_S", "Review", "Ratio", "Work_E"))
    xml = diagram(user("Receive", props(milestone="reception")) + work + user("Handover", props(milestone="return")),
                  line("Begin", "Receive", "Work", "Handover", "Finish"),
                  {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Work"])})
    r = upload(api, xml, "9.310007")
    assert r.status_code == 201, r.get_json()
    p = publish(api, "9.310007")
    assert p.status_code == 422, p.get_json()
    [problem] = p.get_json()["error"]["problems"]
    assert problem["element_id"] == "Ratio" and "division by zero" in problem["message"]


def test_a_script_failing_inside_a_sub_process_at_run_time_is_an_incident_naming_it(app, api):
    """The dry run's sample data passes; the officer's data makes the script fail."""
    work = sub("Work", user("Review") + '<bpmn:scriptTask id="Ratio" scriptFormat="python">'
               "<bpmn:script>ratio = 10 / (len(note) - 4)</bpmn:script></bpmn:scriptTask>",
               line("Work_S", "Review", "Ratio", "Work_E"))
    xml = diagram(user("Receive", props(milestone="reception")) + work + user("Handover", props(milestone="return")),
                  line("Begin", "Receive", "Work", "Handover", "Finish"),
                  {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Work"])})
    upload_and_publish(api, xml, "9.310008")
    body = start(api, "9.310008")
    after = complete(api, task(body, "Review"), SPECIALIST, {"note": "abcd"})
    assert after["incident"] and "Ratio" in after["incident_message"] and "division by zero" in after["incident_message"]
    assert [h["step_id"] for h in after["history"] if h["action"] == "incident"] == ["Ratio"]
    r = api.post(f"/dossiers/{body['code']}/actions/retry", "admin.01", json={"data": {"note": "fixed note"}})
    assert r.status_code == 200 and r.get_json()["incident"] is False, r.get_json()
    assert steps(r.get_json()) == ["Handover"]


def event_diagram(event: str, interrupting: bool, outcome: str | None = None) -> bytes:
    """Receive -> Work [Review | Verify] -> Handover, and an event sub-process Withdrawal started by
    the message "rút hồ sơ" or a 1-second timer: Note (leaders, the lane lists the event
    sub-process) -> its end (with `outcome` when given)."""
    work = sub("Work", '<bpmn:parallelGateway id="WSplit"/>' + user("Review") + user("Verify")
               + '<bpmn:parallelGateway id="WJoin"/>',
               line("Work_S", "WSplit", "Review", "WJoin", "Work_E") + line("WSplit", "Verify", "WJoin"))
    definition = ('<bpmn:messageEventDefinition messageRef="M_Withdraw"/>' if event == "message" else
                  '<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S'
                  "</bpmn:timeDuration></bpmn:timerEventDefinition>")
    end = props(outcome=outcome) if outcome else ""
    withdrawal = (f'<bpmn:subProcess id="Withdrawal" name="Rút hồ sơ" triggeredByEvent="true">'
                  f'<bpmn:startEvent id="W_S" isInterrupting="{"true" if interrupting else "false"}">{definition}'
                  f'</bpmn:startEvent>{user("Note")}<bpmn:endEvent id="W_E">{end}</bpmn:endEvent>'
                  f'{flows(*line("W_S", "Note", "W_E"))}</bpmn:subProcess>')
    body = (user("Receive", props(milestone="reception")) + work + user("Handover", props(milestone="return"))
            + withdrawal)
    return diagram(body, line("Begin", "Receive", "Work", "Handover", "Finish"),
                   {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Work"]),
                    "L": ("commune/leader", ["Withdrawal"])},
                   messages='<bpmn:message id="M_Withdraw" name="rút hồ sơ"/>')


def test_event_sub_process_by_message_interrupting_withdraws_the_dossier(app, api, api_key):
    r = upload(api, event_diagram("message", interrupting=True, outcome="withdrawn"), "9.310011")
    assert r.status_code == 201, r.get_json()
    assert not [w for w in r.get_json()["warnings"] if w.get("code") != "builtin_form"], r.get_json()["warnings"]
    assert publish(api, "9.310011").status_code == 200  # the dry run's main path ends
    key = api_key()
    body = start(api, "9.310011")
    body = complete(api, task(body, "Review"), SPECIALIST, {"note": "đã xem"})
    assert steps(body) == ["Verify"]
    r = api.post(f"/dossiers/{body['code']}/events/message", key,
                 json={"message": "rút hồ sơ", "data": {"withdraw_reason": "Đổi ý"}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert steps(after) == ["Note"] and after["data"]["withdraw_reason"] == "Đổi ý"
    assert [h["step_id"] for h in after["history"] if h["action"] == "step_cancelled"] == ["Verify"]
    assert items(app, body["code"])["Note"] == ("open", "leader")
    note = api.get(f"/tasks/{task(after, 'Note')['id']}", LEADER).get_json()
    assert note["step_id"] == "Note"
    # interrupted: the message starts nothing more
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "rút hồ sơ", "data": {}})
    assert r.status_code == 409
    done = complete(api, task(after, "Note"), LEADER)
    assert done["status"] == 7 and done["finished_at"] and done["current_tasks"] == []
    with app.app_context():
        assert check_all(db.session) == []
    office = BackOffice(app.test_client())
    assert office.login(LEADER).status_code == 302
    page = office.get(f"/dossiers/{body['code']}")
    assert page.status_code == 200
    html = office.text(page)
    assert 'data-action="step_cancelled"' in html and "Bước “Verify” được hủy" in html and "rút hồ sơ" in html


def test_event_sub_process_by_message_not_interrupting_runs_beside(app, api, api_key):
    upload_and_publish(api, event_diagram("message", interrupting=False), "9.310012")
    key = api_key()
    body = start(api, "9.310012")
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "rút hồ sơ", "data": {}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert steps(after) == ["Note", "Review", "Verify"]
    assert not [h for h in after["history"] if h["action"] == "step_cancelled"]
    after = complete(api, task(after, "Review"), SPECIALIST)
    after = complete(api, task(after, "Verify"), SPECIALIST)
    after = complete(api, task(after, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert steps(after) == ["Note"] and not after["finished_at"], "the main path waits for the event sub-process"
    done = complete(api, task(after, "Note"), LEADER)
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []


def test_event_sub_process_by_timer_interrupting_escalates(app, api):
    upload_and_publish(api, event_diagram("timer", interrupting=True), "9.310013")
    body = start(api, "9.310013")
    assert steps(body) == ["Review", "Verify"]
    time.sleep(1.1)
    Worker(app, name="w1").run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", LEADER).get_json()
    assert steps(after) == ["Note"]
    assert [h["step_id"] for h in after["history"] if h["action"] == "timer"] == ["W_S"]
    assert sorted(h["step_id"] for h in after["history"] if h["action"] == "step_cancelled") == ["Review", "Verify"]
    done = complete(api, task(after, "Note"), LEADER)
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []


def test_event_sub_process_by_timer_not_triggered_lets_the_dossier_finish(app, api):
    """The main path ends before the timer: the dossier finishes, no timer job is left."""
    from orchestrator.models import Job

    upload_and_publish(api, event_diagram("timer", interrupting=False), "9.310014")
    body = start(api, "9.310014")
    body = complete(api, task(body, "Review"), SPECIALIST)
    body = complete(api, task(body, "Verify"), SPECIALIST)
    done = complete(api, task(body, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []
    with app.app_context():
        dossier_id = db.session.query(Dossier.id).filter_by(code=done["code"]).scalar()
        assert db.session.query(Job).filter_by(kind="timer", dossier_id=dossier_id, state="queued").count() == 0
        assert check_all(db.session) == []


def test_event_sub_process_by_timer_not_interrupting_opens_a_step_beside(app, api):
    upload_and_publish(api, event_diagram("timer", interrupting=False), "9.310015")
    body = start(api, "9.310015")
    time.sleep(1.1)
    Worker(app, name="w1").run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", LEADER).get_json()
    assert steps(after) == ["Note", "Review", "Verify"]
    after = complete(api, task(after, "Note"), LEADER)
    after = complete(api, task(after, "Review"), SPECIALIST)
    after = complete(api, task(after, "Verify"), SPECIALIST)
    done = complete(api, task(after, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []


def inner_event(sub_id: str, event: str, interrupting: bool, duration: str = "PT1S") -> str:
    """An event sub-process `sub_id` started by the message "huỷ kiểm tra" or a timer (`duration`):
    a step `<sub_id>_Note`, then its end."""
    definition = ('<bpmn:messageEventDefinition messageRef="M_Stop"/>' if event == "message" else
                  '<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">'
                  f"{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>")
    return (f'<bpmn:subProcess id="{sub_id}" name="{sub_id}" triggeredByEvent="true">'
            f'<bpmn:startEvent id="{sub_id}_S" isInterrupting="{"true" if interrupting else "false"}">{definition}'
            f'</bpmn:startEvent>{user(sub_id + "_Note")}<bpmn:endEvent id="{sub_id}_E"/>'
            f'{flows(*line(sub_id + "_S", sub_id + "_Note", sub_id + "_E"))}</bpmn:subProcess>')


STOP = '<bpmn:message id="M_Stop" name="huỷ kiểm tra"/>'


def inner_event_diagram(*events: str) -> bytes:
    """Receive -> Work [Review | Verify, and the event sub-processes `events`] -> Handover; the
    steps of Work, those of its event sub-processes too, are the specialists'."""
    work = sub("Work", '<bpmn:parallelGateway id="WSplit"/>' + user("Review") + user("Verify")
               + '<bpmn:parallelGateway id="WJoin"/>' + "".join(events),
               line("Work_S", "WSplit", "Review", "WJoin", "Work_E") + line("WSplit", "Verify", "WJoin"))
    body = user("Receive", props(milestone="reception")) + work + user("Handover", props(milestone="return"))
    return diagram(body, line("Begin", "Receive", "Work", "Handover", "Finish"),
                   {"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Work"])},
                   messages=STOP)


def test_event_sub_process_by_message_interrupting_inside_a_sub_process_completes_only_it(app, api, api_key):
    """The message cancels the steps open in Work only; Work then completes through the event
    sub-process's end (with its data) and the main path goes on to Handover."""
    r = upload(api, inner_event_diagram(inner_event("Stop", "message", interrupting=True)), "9.310016")
    assert r.status_code == 201, r.get_json()
    assert publish(api, "9.310016").status_code == 200
    key = api_key()
    body = start(api, "9.310016")
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "nope", "data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == ["huỷ kiểm tra"]
    body = complete(api, task(body, "Review"), SPECIALIST, {"note": "đã xem"})
    assert steps(body) == ["Verify"]
    r = api.post(f"/dossiers/{body['code']}/events/message", key,
                 json={"message": "huỷ kiểm tra", "data": {"stop_reason": "Sai hồ sơ"}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert steps(after) == ["Stop_Note"] and after["data"]["stop_reason"] == "Sai hồ sơ"
    assert [h["step_id"] for h in after["history"] if h["action"] == "step_cancelled"] == ["Verify"]
    assert items(app, body["code"])["Stop_Note"] == ("open", "specialist")
    # interrupted: the message starts nothing more
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "huỷ kiểm tra", "data": {}})
    assert r.status_code == 409
    after = complete(api, task(after, "Stop_Note"), SPECIALIST)
    assert steps(after) == ["Handover"] and not after["finished_at"], "the sub-process completed, the main path goes on"
    handover = api.get(f"/tasks/{task(after, 'Handover')['id']}", RECEPTION).get_json()
    assert handover["step_id"] == "Handover"
    assert after["data"]["stop_reason"] == "Sai hồ sơ" and after["data"]["note"] == "đã xem"
    done = complete(api, task(after, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []
    with app.app_context():
        assert check_all(db.session) == []


def called_event_diagram(event: str, interrupting: bool) -> bytes:
    """Receive -> Call (calls Checking: Check, and the event sub-process Remind) -> Handover."""
    checking = ('<bpmn:process id="Checking" isExecutable="true">'
                + lane_set({"CS": ("commune/specialist", ["C_S", "Check", "C_E", "Remind"])})
                + '<bpmn:startEvent id="C_S"/>' + user("Check") + '<bpmn:endEvent id="C_E"/>'
                + flows(*line("C_S", "Check", "C_E")) + inner_event("Remind", event, interrupting) + "</bpmn:process>")
    main = ('<bpmn:process id="P" isExecutable="true">'
            + lane_set({"R": ("commune/reception", ["Begin", "Receive", "Call", "Handover", "Finish"])})
            + '<bpmn:startEvent id="Begin"/>' + user("Receive", props(milestone="reception"))
            + '<bpmn:callActivity id="Call" name="Kiểm tra" calledElement="Checking"/>'
            + user("Handover", props(milestone="return")) + '<bpmn:endEvent id="Finish"/>'
            + flows(*line("Begin", "Receive", "Call", "Handover", "Finish")) + "</bpmn:process>")
    return definitions(STOP, main, checking)


def test_event_sub_process_by_timer_not_interrupting_inside_a_called_process_runs_beside(app, api):
    """The timer counts from the called process's start; its step opens beside Check, and the call
    ends (the main path goes on) once both have ended."""
    upload_and_publish(api, called_event_diagram("timer", interrupting=False), "9.310017")
    body = start(api, "9.310017")
    assert steps(body) == ["Check"]
    time.sleep(1.1)
    Worker(app, name="w1").run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", LEADER).get_json()
    assert steps(after) == ["Check", "Remind_Note"]
    assert [h["step_id"] for h in after["history"] if h["action"] == "timer"] == ["Remind_S"]
    assert not [h for h in after["history"] if h["action"] == "step_cancelled"]
    assert items(app, body["code"])["Remind_Note"] == ("open", "specialist")
    after = complete(api, task(after, "Check"), SPECIALIST, {"note": "kiểm tra xong"})
    assert steps(after) == ["Remind_Note"] and not after["finished_at"], "the call waits for its event sub-process"
    after = complete(api, task(after, "Remind_Note"), SPECIALIST)
    assert steps(after) == ["Handover"]
    assert after["data"]["note"] == "kiểm tra xong"
    done = complete(api, task(after, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []
    with app.app_context():
        assert check_all(db.session) == []


def test_untriggered_event_sub_processes_inside_sub_processes_do_not_block_finishing(app, api, api_key):
    """A 10-day timer and a message, in Work and in a called process: neither fires; each
    enclosing process ends when its path does, the message is no longer awaited, no timer job is
    left and the dossier finishes."""
    from orchestrator.models import Job

    upload_and_publish(api, inner_event_diagram(inner_event("Late", "timer", False, "P10D"),
                                                inner_event("Stop", "message", interrupting=True)), "9.310018")
    key = api_key()
    body = start(api, "9.310018")
    body = complete(api, task(body, "Review"), SPECIALIST)
    body = complete(api, task(body, "Verify"), SPECIALIST)
    assert steps(body) == ["Handover"]
    r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "huỷ kiểm tra", "data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == []
    done = complete(api, task(body, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []
    upload_and_publish(api, called_event_diagram("message", interrupting=False), "9.310019")
    body = start(api, "9.310019")
    body = complete(api, task(body, "Check"), SPECIALIST)
    assert steps(body) == ["Handover"]
    done2 = complete(api, task(body, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert done2["status"] == 10 and done2["finished_at"] and done2["current_tasks"] == []
    with app.app_context():
        for code in (done["code"], done2["code"]):
            dossier_id = db.session.query(Dossier.id).filter_by(code=code).scalar()
            assert db.session.query(Job).filter_by(kind="timer", dossier_id=dossier_id, state="queued").count() == 0
        assert check_all(db.session) == []


def test_an_event_sub_process_inside_an_event_sub_process_is_refused_with_element_and_line(app, api):
    nested = inner_event("Inner_Escalation", "timer", False, "P10D")
    outer = inner_event("Stop", "message", interrupting=True).replace(
        '<bpmn:endEvent id="Stop_E"/>', nested + '<bpmn:endEvent id="Stop_E"/>')
    r = upload(api, inner_event_diagram(outer), "9.310020")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Inner_Escalation" and problem["line"] and "triggeredByEvent" in problem["message"]


LOOPS = 30


def test_a_dossier_looping_through_a_sub_process_keeps_a_bounded_state(app, api):
    """Receive -> Work [Review] -> decision refused? back to Work : Sign, with a 10-day escalation
    (an event sub-process) waiting all along. 30 rounds through the sub-process: the state stays
    bounded, the steps are all in the history, and the end finishes the dossier with the
    escalation never started."""
    work = sub("Work", user("Review", props(formKey="KS-KY")), line("Work_S", "Review", "Work_E"))
    gateway = '<bpmn:exclusiveGateway id="Again" default="Again_Sign"/>'
    escalation = ('<bpmn:subProcess id="Escalation" triggeredByEvent="true"><bpmn:startEvent id="E_S" '
                  'isInterrupting="false"><bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration>'
                  f'</bpmn:timerEventDefinition></bpmn:startEvent>{user("Remind")}<bpmn:endEvent id="E_E"/>'
                  f'{flows(*line("E_S", "Remind", "E_E"))}</bpmn:subProcess>')
    body = (user("Receive", props(milestone="reception")) + work + gateway
            + user("Sign", props(milestone="decision", formKey="KS-KY")) + escalation)
    pairs = line("Begin", "Receive", "Work", "Again") + [("Sign", "Finish")]
    xml = diagram(body, pairs, {"R": ("commune/reception", ["Receive"]), "S": ("commune/specialist", ["Work"]),
                                "L": ("commune/leader", ["Sign", "Escalation"])})
    xml = xml.replace(b"</bpmn:process>",
                      b'<bpmn:sequenceFlow id="Again_Sign" sourceRef="Again" targetRef="Sign"/>'
                      b'<bpmn:sequenceFlow id="Again_Work" sourceRef="Again" targetRef="Work"><bpmn:conditionExpression>'
                      b"decision == 'refuse'</bpmn:conditionExpression></bpmn:sequenceFlow></bpmn:process>")
    upload_and_publish(api, xml, "9.310010")
    body = start(api, "9.310010")
    sizes = []
    for _ in range(LOOPS):
        assert steps(body) == ["Review"]
        body = complete(api, task(body, "Review"), SPECIALIST, {"decision": "refuse", "decision_note": "Bổ sung"})
        with app.app_context():
            dossier_id = db.session.query(Dossier.id).filter_by(code=body["code"]).scalar()
            sizes.append(len(db.session.get(DossierState, dossier_id).state))
    assert max(sizes[10:]) <= sizes[9] * 1.2, sizes
    body = complete(api, task(body, "Review"), SPECIALIST, {"decision": "approve"})
    assert steps(body) == ["Sign"]
    body = complete(api, task(body, "Sign"), LEADER, {"decision": "approve"})
    assert body["status"] in (9, 10) and body["finished_at"]
    assert sum(1 for h in body["history"] if h["action"] == "complete" and h["step_id"] == "Review") == LOOPS + 1


def test_a_dossier_looping_through_a_sub_process_with_event_sub_processes_keeps_a_bounded_state(app, api, api_key):
    """Receive -> Work [Review, a 10-day timer and a non-interrupting message event sub-process]
    -> decision refused? back to Work : Sign. Each of 30 rounds starts the message's event
    sub-process (its step done) and leaves the timer's untriggered: the state stays bounded and
    the end finishes the dossier."""
    work = sub("Work", user("Review", props(formKey="KS-KY")) + inner_event("Late", "timer", False, "P10D")
               + inner_event("Stop", "message", interrupting=False), line("Work_S", "Review", "Work_E"))
    gateway = '<bpmn:exclusiveGateway id="Again" default="Again_Sign"/>'
    body = user("Receive", props(milestone="reception")) + work + gateway + user("Sign", props(milestone="decision",
                                                                                              formKey="KS-KY"))
    pairs = line("Begin", "Receive", "Work", "Again") + [("Sign", "Finish")]
    xml = diagram(body, pairs, {"R": ("commune/reception", ["Receive"]), "S": ("commune/specialist", ["Work"]),
                                "L": ("commune/leader", ["Sign"])}, messages=STOP)
    xml = xml.replace(b"</bpmn:process>",
                      b'<bpmn:sequenceFlow id="Again_Sign" sourceRef="Again" targetRef="Sign"/>'
                      b'<bpmn:sequenceFlow id="Again_Work" sourceRef="Again" targetRef="Work"><bpmn:conditionExpression>'
                      b"decision == 'refuse'</bpmn:conditionExpression></bpmn:sequenceFlow></bpmn:process>")
    upload_and_publish(api, xml, "9.310021")
    key = api_key()
    body = start(api, "9.310021")
    sizes = []
    for _ in range(LOOPS):
        assert steps(body) == ["Review"]
        r = api.post(f"/dossiers/{body['code']}/events/message", key, json={"message": "huỷ kiểm tra", "data": {}})
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert steps(body) == ["Review", "Stop_Note"]
        body = complete(api, task(body, "Stop_Note"), SPECIALIST)
        body = complete(api, task(body, "Review"), SPECIALIST, {"decision": "refuse", "decision_note": "Bổ sung"})
        with app.app_context():
            dossier_id = db.session.query(Dossier.id).filter_by(code=body["code"]).scalar()
            sizes.append(len(db.session.get(DossierState, dossier_id).state))
    assert max(sizes[10:]) <= sizes[9] * 1.2, sizes
    body = complete(api, task(body, "Review"), SPECIALIST, {"decision": "approve"})
    assert steps(body) == ["Sign"]
    body = complete(api, task(body, "Sign"), LEADER, {"decision": "approve"})
    assert body["status"] in (9, 10) and body["finished_at"]
    assert sum(1 for h in body["history"] if h["action"] == "complete" and h["step_id"] == "Stop_Note") == LOOPS


def test_a_started_event_sub_process_of_a_sub_process_goes_on_in_a_process_that_parsed_the_diagram_afresh():
    """The state saved after a message started an event sub-process of Work is restored with a spec
    parsed anew (another worker, a restart): the event sub-process's end still completes Work."""
    from orchestrator.engine.runner import WorkflowRun
    from orchestrator.engine.specs import build_spec
    from orchestrator.engine.xml import parse_trusted

    xml = inner_event_diagram(inner_event("Stop", "message", interrupting=True))
    run = WorkflowRun.start(build_spec(parse_trusted(xml), "spiff", "P"), {})

    def do(run, step_id):
        ready = next(t for t in run.ready_human_tasks() if t.step_id == step_id)
        run.complete(ready.id, {})
        return run

    run = do(run, "Receive")
    assert run.deliver_message("huỷ kiểm tra", {"stop_reason": "x"})
    state = run.dumps()
    run = WorkflowRun.restore(build_spec(parse_trusted(xml), "spiff", "P"), state)
    assert sorted(t.step_id for t in run.ready_human_tasks()) == ["Stop_Note"]
    run = do(run, "Stop_Note")
    assert [t.step_id for t in run.ready_human_tasks()] == ["Handover"] and run.final_data()["stop_reason"] == "x"
    run = do(run, "Handover")
    assert run.completed and run.ended_at() == ["Finish"]
