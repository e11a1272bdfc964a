"""Diagrams as designers draw them in Camunda Modeler, bpmn-js or SpiffArena: steps without forms,
routes outside lanes, nested lanes, non-executable and multi-process files, none tasks, ends
that finish the dossier, other script languages. Each point over HTTP on both databases."""
from __future__ import annotations

from sqlalchemy import update

from orchestrator.extensions import db
from orchestrator.models import Dossier, WorkItem
from orchestrator.services import checks

from .flows import (
    complete, definitions, lane_set, node, process, props, publish, start, start_online, upload, upload_and_publish,
    user,
)

LANES = {"Lane_R": ("commune/reception", ["Receive"]), "Lane_S": ("commune/specialist", ["Review"]),
         "Lane_L": ("commune/leader", ["Sign"])}


def three_steps(**kw) -> bytes:
    """Receive, Review, Sign in routed lanes, none with a form."""
    return definitions(process([user("Receive"), user("Review"), user("Sign")], lanes=lane_set(LANES), **kw))


def test_a_step_without_a_form_gets_the_built_in_one(app, api):
    r = upload(api, three_steps(), "9.300001")
    assert r.status_code == 201, r.get_json()
    warned = {w["element_id"] for w in r.get_json()["warnings"] if w.get("code") == "builtin_form"}
    assert warned == {"Receive", "Review", "Sign"}
    assert publish(api, "9.300001").status_code == 200
    body = start(api, "9.300001")
    [review] = body["current_tasks"]
    task = api.get(f"/tasks/{review['id']}", "specialist.00070").get_json()
    assert set(task["form"]["schema"]["properties"]) == {"note"}
    bad = api.post(f"/tasks/{review['id']}/complete", "specialist.00070", json={"data": {"colour": "red"}})
    assert bad.status_code == 400 and "colour" in bad.get_json()["error"]["fields"]
    after = complete(api, review, "specialist.00070", {"note": "Hồ sơ đủ điều kiện"})
    assert [t["step_id"] for t in after["current_tasks"]] == ["Sign"]
    assert after["data"]["note"] == "Hồ sơ đủ điều kiện"


def test_reception_outcomes_and_legal_actions_work_without_reception_fields(app, api, api_key):
    upload_and_publish(api, three_steps(), "9.300002")
    key = api_key()
    # refuse at reception, although no form has refusal_reason
    refused = start_online(api, key, "9.300002")
    r = api.post(f"/dossiers/{refused['code']}/actions/refuse", "reception.00070", json={"reason": "Sai thủ tục"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 3 and body["finished_at"] and body["current_tasks"] == []
    # supplement at reception: the workflow waits at its reception step, then goes on
    held = start_online(api, key, "9.300002")
    r = api.post(f"/dossiers/{held['code']}/actions/request-supplement", "reception.00070",
                 json={"items": ["Bản sao giấy tờ tùy thân"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == 5 and not r.get_json()["finished_at"]
    assert [t["step_id"] for t in r.get_json()["current_tasks"]] == ["Receive"], "no processing step opened"
    r = api.post(f"/dossiers/{held['code']}/events/supplement_submitted", key, json={"data": {"note": "đã bổ sung"}})
    assert r.status_code == 200 and r.get_json()["status"] == 1
    [receive] = r.get_json()["current_tasks"]
    after = complete(api, receive, "reception.00070", {"reception_result": "accept"})
    assert after["status"] == 4 and [t["step_id"] for t in after["current_tasks"]] == ["Review"]
    # stop during processing, then nothing is open
    r = api.post(f"/dossiers/{held['code']}/actions/stop", "leader.00070", json={"reason": "Người dân đề nghị"})
    assert r.status_code == 200 and r.get_json()["status"] == 8 and r.get_json()["current_tasks"] == []


def test_return_result_on_a_procedure_without_decision_or_return_fields(app, api):
    xml = definitions(process([user("Receive"), user("Handover")],
                              lanes=lane_set({"Lane_R": ("commune/reception", ["Receive", "Handover"])})))
    upload_and_publish(api, xml, "9.300003")
    body = start(api, "9.300003")
    assert [t["step_id"] for t in body["current_tasks"]] == ["Handover"]
    r = api.post(f"/dossiers/{body['code']}/actions/return-result", "reception.00070", json={"method": "in_person"})
    assert r.status_code == 200, r.get_json()
    done = r.get_json()
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []


def test_camunda_candidate_groups_route_tasks_drawn_without_lanes(app, api):
    nodes = [node("userTask", "Check", 'camunda:candidateGroups="commune/specialist"'),
             node("userTask", "Approve", 'camunda:candidateGroups="commune/leader"')]
    r = upload(api, definitions(process(nodes), camunda=True), "9.300004")
    assert r.status_code == 201, r.get_json()
    assert not [w for w in r.get_json()["warnings"] if "tuyến" in w["message"]]
    assert publish(api, "9.300004").status_code == 200
    key_body = start(api, "9.300004")  # in person: Check is the reception step, done at the desk
    [approve] = key_body["current_tasks"]
    assert approve["step_id"] == "Approve"
    assert api.get("/tasks?view=available", "leader.00070").get_json()["items"][0]["id"] == approve["id"]
    assert complete(api, approve, "leader.00070")["status"] == 10


def test_nested_lanes_route_by_the_innermost_lane(app, api):
    lanes = ('<bpmn:laneSet id="LS"><bpmn:lane id="Lane_Commune" name="UBND xã">'
             '<bpmn:flowNodeRef>Receive</bpmn:flowNodeRef><bpmn:flowNodeRef>Review</bpmn:flowNodeRef>'
             '<bpmn:flowNodeRef>Sign</bpmn:flowNodeRef>'
             '<bpmn:childLaneSet id="LS2">'
             '<bpmn:lane id="Lane_Desk" name="commune/reception"><bpmn:flowNodeRef>Receive</bpmn:flowNodeRef></bpmn:lane>'
             '<bpmn:lane id="Lane_Staff" name="commune/specialist"><bpmn:flowNodeRef>Review</bpmn:flowNodeRef></bpmn:lane>'
             '</bpmn:childLaneSet></bpmn:lane>'
             '<bpmn:lane id="Lane_Boss" name="commune/leader"><bpmn:flowNodeRef>Sign</bpmn:flowNodeRef>'
             '<bpmn:childLaneSet id="Empty"/></bpmn:lane></bpmn:laneSet>')
    r = upload(api, definitions(process([user("Receive"), user("Review"), user("Sign")], lanes=lanes)), "9.300005")
    assert r.status_code == 201, r.get_json()
    version = api.get("/procedures/9.300005/versions/1", "designer.01").get_json()
    assert {s["id"]: s["lane_id"] for s in version["steps"]} == {
        "Receive": "Lane_Desk", "Review": "Lane_Staff", "Sign": "Lane_Boss"}, "a lane with an empty childLaneSet holds its tasks"
    assert publish(api, "9.300005").status_code == 200
    body = start(api, "9.300005")
    after = complete(api, body["current_tasks"][0], "specialist.00070")
    assert [t["step_id"] for t in after["current_tasks"]] == ["Sign"]


def test_steps_outside_every_lane_are_drafted_then_routed_by_the_default_mapping(app, api):
    xml = definitions(process([user("Receive"), user("Decide")]))
    r = upload(api, xml, "9.300006")
    assert r.status_code == 201
    assert {w["element_id"] for w in r.get_json()["warnings"] if "ngoài mọi làn" in w["message"]} == {"Receive", "Decide"}
    refused = publish(api, "9.300006")
    assert refused.status_code == 422
    assert {p["element_id"] for p in refused.get_json()["error"]["problems"]} >= {"Receive", "Decide"}
    r = api.put("/procedures/9.300006/versions/1/lanes", "designer.01",
                json={"_default": "commune/specialist", "Receive": "commune/reception"})
    assert r.status_code == 200, r.get_json()
    assert {s["id"]: s["route"] for s in r.get_json()["steps"]} == {
        "Receive": "commune/reception", "Decide": "commune/specialist"}
    assert api.put("/procedures/9.300006/versions/1/lanes", "designer.01",
                   json={"NoSuchThing": "commune/leader"}).status_code == 400
    assert publish(api, "9.300006").status_code == 200
    body = start(api, "9.300006")
    assert [(t["step_id"], t["role"]) for t in body["current_tasks"]] == [("Decide", "specialist")]


def test_a_process_marked_not_executable_is_drafted_then_marked(app, api):
    xml = definitions(process([user("Receive"), user("Sign")], executable="false",
                              lanes=lane_set({"L": ("commune/reception", ["Receive"]), "M": ("commune/leader", ["Sign"])})))
    r = upload(api, xml, "9.300007")
    assert r.status_code == 201, r.get_json()
    assert [w["code"] for w in r.get_json()["warnings"] if w.get("code") == "not_executable"] == ["not_executable"]
    refused = publish(api, "9.300007")
    assert refused.status_code == 422
    assert any(p.get("code") == "not_executable" for p in refused.get_json()["error"]["problems"])
    marked = api.post("/procedures/9.300007/versions/1/executable", "designer.01")
    assert marked.status_code == 200 and marked.get_json()["executable"] is True
    assert not any(w.get("code") == "not_executable" for w in marked.get_json()["warnings"])
    assert api.post("/procedures/9.300007/versions/1/executable", "designer.19").status_code == 403
    assert publish(api, "9.300007").status_code == 200
    assert start(api, "9.300007")["current_tasks"][0]["step_id"] == "Sign"


def test_several_processes_the_designer_picks_the_main_one(app, api):
    a = process([user("A1")], process_id="Proc_A", lanes=lane_set({"LA": ("commune/reception", ["A1"])}))
    b = process([user("B1"), user("B2")], process_id="Proc_B",
                lanes=lane_set({"LB": ("commune/reception", ["B1"]), "LC": ("commune/leader", ["B2"])}))
    xml = definitions(a, b)
    r = upload(api, xml, "9.300008")
    assert r.status_code == 422
    assert "process_id" in r.get_json()["error"]["fields"] and "Proc_A" in r.get_json()["error"]["fields"]["process_id"]
    assert upload(api, xml, "9.300008", process_id="Nope").status_code == 422
    r = upload(api, xml, "9.300008", process_id="Proc_B")
    assert r.status_code == 201, r.get_json()
    assert any("Proc_A" in w["message"] for w in r.get_json()["warnings"]), "the others are kept and named"
    assert publish(api, "9.300008").status_code == 200
    assert start(api, "9.300008")["current_tasks"][0]["step_id"] == "B2"
    # the single participant names the main process by default
    collaboration = ('<bpmn:collaboration id="C"><bpmn:participant id="P" name="UBND xã" processRef="Proc_B"/>'
                     '</bpmn:collaboration>')
    r = upload(api, definitions(collaboration, a, b), "9.300009")
    assert r.status_code == 201 and api.get("/procedures/9.300009/versions/1", "designer.01").get_json()[
        "process_id"] == "Proc_B"


def test_none_tasks_pass_through_and_manual_tasks_are_steps(app, api):
    nodes = [user("Receive"), node("task", "Archive_Copy"), node("manualTask", "Stamp"), node("task", "Notify")]
    xml = definitions(process(nodes, lanes=lane_set({"L": ("commune/reception", ["Receive", "Stamp"]),
                                                     "N": ("commune/specialist", ["Archive_Copy", "Notify"])})))
    upload_and_publish(api, xml, "9.300010")
    body = start(api, "9.300010")
    [stamp] = body["current_tasks"]
    assert stamp["step_id"] == "Stamp"
    done = complete(api, stamp, "reception.00070")
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []


def test_the_end_of_the_workflow_finishes_the_dossier(app, api, api_key):
    lanes = lane_set({"L": ("commune/reception", ["Only"])})
    upload_and_publish(api, definitions(process([], lanes="")), "9.300011")
    upload_and_publish(api, definitions(process([user("Only")], lanes=lanes)), "9.300012")
    key = api_key()
    none = start_online(api, key, "9.300011")
    assert none["status"] == 10 and none["finished_at"] and none["current_tasks"] == [], "no step at all"
    one = start_online(api, key, "9.300012")
    assert one["status"] == 1
    done = complete(api, one["current_tasks"][0], "reception.00070", {"reception_result": "accept"})
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == [], "one step"
    in_person = start(api, "9.300012")
    assert in_person["status"] == 10 and in_person["finished_at"], "one step done at the desk"
    upload_and_publish(api, three_steps(), "9.300013")
    many = start(api, "9.300013")
    for who in ("specialist.00070", "leader.00070"):
        many = complete(api, many["current_tasks"][0], who)
    assert many["status"] == 10 and many["finished_at"] and many["current_tasks"] == [], "n steps"


def test_an_end_event_outcome_sets_the_final_status(app, api):
    end = props(outcome="stopped")
    xml = definitions(process([user("Receive"), user("Review")], end=end,
                              lanes=lane_set({"L": ("commune/reception", ["Receive"]), "S": ("commune/specialist", ["Review"])})))
    upload_and_publish(api, xml, "9.300014")
    body = start(api, "9.300014")
    done = complete(api, body["current_tasks"][0], "specialist.00070")
    assert done["status"] == 8 and done["finished_at"]
    bad = definitions(process([user("Receive")], end=props(outcome="exploded"),
                              lanes=lane_set({"L": ("commune/reception", ["Receive"])})))
    r = upload(api, bad, "9.300015")
    assert r.status_code == 422 and r.get_json()["error"]["problems"][0]["element_id"] == "End_1"


def test_a_return_inside_a_sub_process_does_not_end_the_dossier_while_steps_are_open(app, api):
    """Receive, then in parallel: a sub-process whose only step is the return milestone, and a
    Review step. Returning first must leave the dossier open with Review; the end finishes it."""
    sub = ('<bpmn:subProcess id="Sub" name="Trả kết quả"><bpmn:incoming>p1</bpmn:incoming><bpmn:outgoing>p3</bpmn:outgoing>'
           '<bpmn:startEvent id="SubStart"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>'
           f'<bpmn:userTask id="Handover" name="Trả kết quả">{props(milestone="return")}'
           '<bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing></bpmn:userTask>'
           '<bpmn:endEvent id="SubEnd"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>'
           '<bpmn:sequenceFlow id="s1" sourceRef="SubStart" targetRef="Handover"/>'
           '<bpmn:sequenceFlow id="s2" sourceRef="Handover" targetRef="SubEnd"/></bpmn:subProcess>')
    body = ('<bpmn:startEvent id="Start_1"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>'
            f'<bpmn:userTask id="Receive" name="Tiếp nhận">{props(milestone="reception")}<bpmn:incoming>f0</bpmn:incoming>'
            '<bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>'
            '<bpmn:parallelGateway id="Split"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>p1</bpmn:outgoing>'
            '<bpmn:outgoing>p2</bpmn:outgoing></bpmn:parallelGateway>' + sub +
            '<bpmn:userTask id="Review" name="Lưu hồ sơ"><bpmn:incoming>p2</bpmn:incoming><bpmn:outgoing>p4</bpmn:outgoing>'
            '</bpmn:userTask>'
            '<bpmn:parallelGateway id="Join"><bpmn:incoming>p3</bpmn:incoming><bpmn:incoming>p4</bpmn:incoming>'
            '<bpmn:outgoing>f9</bpmn:outgoing></bpmn:parallelGateway>'
            '<bpmn:endEvent id="End_1"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>'
            + "".join(f'<bpmn:sequenceFlow id="{i}" sourceRef="{a}" targetRef="{b}"/>' for i, a, b in (
                ("f0", "Start_1", "Receive"), ("f1", "Receive", "Split"), ("p1", "Split", "Sub"),
                ("p2", "Split", "Review"), ("p3", "Sub", "Join"), ("p4", "Review", "Join"), ("f9", "Join", "End_1"))))
    lanes = lane_set({"L": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Review"])})
    xml = definitions(f'<bpmn:process id="P" isExecutable="true">{lanes}{body}</bpmn:process>')
    upload_and_publish(api, xml, "9.300016")
    started = start(api, "9.300016")
    handover = next(t for t in started["current_tasks"] if t["step_id"] == "Handover")
    after = complete(api, handover, "reception.00070", {"delivery_method": "in_person"})
    assert after["status"] != 10 and not after["finished_at"]
    [review] = after["current_tasks"]
    assert review["step_id"] == "Review"
    done = complete(api, review, "specialist.00070")
    assert done["status"] == 10 and done["finished_at"] and done["current_tasks"] == []


def test_scripts_in_other_languages_are_refused_with_the_language(app, api):
    script = node("scriptTask", "Compute", 'scriptFormat="groovy"', "<bpmn:script>def x = 1</bpmn:script>")
    r = upload(api, definitions(process([user("Receive"), script],
                                        lanes=lane_set({"L": ("commune/reception", ["Receive"])}))), "9.300017")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Compute" and "'groovy'" in problem["message"]
    assert problem["code"] == "language_not_supported"


def test_fields_named_like_python_builtins_work_in_conditions(app, api):
    """`input` and `type` are ordinary data names in Camunda diagrams."""
    gateway = ('<bpmn:exclusiveGateway id="G" default="fno"><bpmn:incoming>f1</bpmn:incoming>'
               '<bpmn:outgoing>fyes</bpmn:outgoing><bpmn:outgoing>fno</bpmn:outgoing></bpmn:exclusiveGateway>')
    xml = definitions(
        '<bpmn:process id="P" isExecutable="true">'
        + lane_set({"L": ("commune/reception", ["Receive"]), "S": ("commune/specialist", ["Yes", "No"])})
        + '<bpmn:startEvent id="S0"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="Set" scriptFormat="python"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>fa</bpmn:outgoing>'
        '<bpmn:script>input = 1\ntype = "a"</bpmn:script></bpmn:scriptTask>'
        '<bpmn:userTask id="Receive" camunda:candidateGroups="commune/reception"><bpmn:incoming>fa</bpmn:incoming>'
        '<bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>' + gateway
        + '<bpmn:userTask id="Yes"><bpmn:incoming>fyes</bpmn:incoming><bpmn:outgoing>fy</bpmn:outgoing></bpmn:userTask>'
        '<bpmn:userTask id="No"><bpmn:incoming>fno</bpmn:incoming><bpmn:outgoing>fn</bpmn:outgoing></bpmn:userTask>'
        '<bpmn:endEvent id="E1"><bpmn:incoming>fy</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:endEvent id="E2"><bpmn:incoming>fn</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f0" sourceRef="S0" targetRef="Set"/><bpmn:sequenceFlow id="fa" sourceRef="Set" targetRef="Receive"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="Receive" targetRef="G"/>'
        '<bpmn:sequenceFlow id="fyes" sourceRef="G" targetRef="Yes"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
        '${input == 1 &amp;&amp; type == "a"}</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="fno" sourceRef="G" targetRef="No"/>'
        '<bpmn:sequenceFlow id="fy" sourceRef="Yes" targetRef="E1"/><bpmn:sequenceFlow id="fn" sourceRef="No" targetRef="E2"/>'
        '</bpmn:process>', camunda=True)
    upload_and_publish(api, xml, "9.300018")
    assert [t["step_id"] for t in start(api, "9.300018")["current_tasks"]] == ["Yes"]


def test_flask_check_reports_ended_workflows_left_open_and_open_steps_of_finished_dossiers(app, api):
    upload_and_publish(api, three_steps(), "9.300019")
    body = start(api, "9.300019")
    with app.app_context():
        assert not [p for p in checks.check_all(db.session) if body["code"] in p]
        db.session.execute(update(Dossier).where(Dossier.code == body["code"]).values(finished_at=Dossier.submitted_at))
        db.session.commit()
        assert any(body["code"] in p and "still open" in p for p in checks.check_all(db.session))
        db.session.execute(update(Dossier).where(Dossier.code == body["code"]).values(finished_at=None))
        dossier_id = db.session.query(Dossier.id).filter_by(code=body["code"]).scalar()
        db.session.execute(update(WorkItem).where(WorkItem.dossier_id == dossier_id).values(state="cancelled"))
        db.session.commit()
    # complete the workflow behind the dossier's back: the engine's state says ended, the row says open
    with app.app_context():
        from orchestrator.services import steps
        step = steps.Step.lock(db.session, dossier_id, "test")
        step.run.cancel()
        step.state_row.state = step.run.dumps()
        db.session.commit()
        assert any(body["code"] in p and "workflow complete" in p for p in checks.check_all(db.session))


def test_the_back_office_dry_run_and_publish_agree_on_waits(app, api):
    """A diagram waiting on a timer and a message: publish succeeds, and so does the dry-run page's
    simulation (it used to stop at the first wait)."""
    from orchestrator.models import User
    from orchestrator.services import designer
    from orchestrator.services.auth import actor_for_user

    timer = node("intermediateCatchEvent", "Wait", "",
                 '<bpmn:timerEventDefinition><bpmn:timeDuration>P15D</bpmn:timeDuration></bpmn:timerEventDefinition>')
    message = node("intermediateCatchEvent", "Tax", "", '<bpmn:messageEventDefinition messageRef="M"/>')
    xml = definitions('<bpmn:message id="M" name="Thông báo thuế"/>',
                      process([user("Receive"), timer, message, user("Sign")],
                              lanes=lane_set({"L": ("commune/reception", ["Receive"]), "S": ("commune/leader", ["Sign"])})))
    r = upload(api, xml, "9.300020")
    assert r.status_code == 201, r.get_json()
    with app.app_context():
        actor = actor_for_user(db.session, db.session.query(User).filter_by(username="designer.01").one())
        report = designer.dry_run(db.session, actor, "9.300020", 1, "00070", {})
        assert report.completed and report.problem is None
        assert [s.step_id for s in report.steps] == ["Receive", "Sign"]
        db.session.rollback()
    assert publish(api, "9.300020").status_code == 200


def test_a_route_property_routes_a_step_as_spiffarena_writes_it(app, api):
    xml = definitions(process([user("Receive", inner=props(route="commune/reception")),
                               user("Approve", inner=props(laneOwner="commune/leader"))]))
    upload_and_publish(api, xml, "9.300021")
    assert [(t["step_id"], t["role"]) for t in start(api, "9.300021")["current_tasks"]] == [("Approve", "leader")]


def test_the_back_office_routes_steps_outside_lanes_and_marks_a_process_executable(app, client, api):
    """The designer's page offers the `_default` row for steps outside every lane and the button for
    a process drawn with isExecutable="false"; both work without touching XML."""
    from .admin_client import BackOffice

    xml = definitions(process([user("Receive"), user("Decide")], executable="false"))
    assert upload(api, xml, "9.300022").status_code == 201
    office = BackOffice(client)
    office.login("designer.01")
    page = office.text(office.get("/procedures/9.300022/v/1"))
    assert 'id="mark-executable"' in page and 'id="lane-_default"' in page
    base = "/procedures/9.300022/v/1"
    r = office.post(f"{base}/lanes/_default", {"level": "commune", "unit_type": "", "dept_code": "", "role": "specialist"},
                    referrer=base)
    assert r.status_code == 303, office.text(r)
    assert office.post(f"{base}/executable", referrer=base).status_code == 303
    page = office.text(office.get(base))
    assert 'id="mark-executable"' not in page and "commune/specialist" in page
    assert publish(api, "9.300022").status_code == 200


def test_what_the_engine_cannot_build_is_explained_at_the_element(app, api):
    """A task with two outgoing flows (an implicit split, legal BPMN) is refused with what to draw
    instead, the element and its line, not only the engine's English sentence."""
    xml = definitions('<bpmn:process id="P" isExecutable="true"><bpmn:startEvent id="S"><bpmn:outgoing>a</bpmn:outgoing>'
                      '</bpmn:startEvent><bpmn:task id="Split"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>'
                      '<bpmn:outgoing>c</bpmn:outgoing></bpmn:task><bpmn:endEvent id="E1"><bpmn:incoming>b</bpmn:incoming>'
                      '</bpmn:endEvent><bpmn:endEvent id="E2"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>'
                      '<bpmn:sequenceFlow id="a" sourceRef="S" targetRef="Split"/><bpmn:sequenceFlow id="b" sourceRef="Split" '
                      'targetRef="E1"/><bpmn:sequenceFlow id="c" sourceRef="Split" targetRef="E2"/></bpmn:process>')
    r = upload(api, xml, "9.300023")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Split" and problem["line"] == 2, "the line after the XML declaration"
    assert "cổng song song (parallelGateway)" in problem["message"]


def test_the_upload_page_offers_the_pools_by_name_when_the_file_holds_several(app, client):
    import io

    from .admin_client import BackOffice

    a = process([user("A1")], process_id="Proc_A")
    b = process([user("B1")], process_id="Proc_B")
    collaboration = ('<bpmn:collaboration id="C"><bpmn:participant id="PA" name="UBND xã" processRef="Proc_A"/>'
                     '<bpmn:participant id="PB" name="Sở Tư pháp" processRef="Proc_B"/></bpmn:collaboration>')
    office = BackOffice(client)
    office.login("designer.01")
    form = {"code": "9.300024", "name": "Hai bể", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(definitions(collaboration, a, b)), "two.bpmn")}
    r = office.post("/procedures/upload", form, content_type="multipart/form-data")
    assert r.status_code == 422
    page = office.text(r)
    assert '<option value="Proc_A">UBND xã (Proc_A)</option>' in page
    assert '<option value="Proc_B">Sở Tư pháp (Proc_B)</option>' in page
    form["file"] = (io.BytesIO(definitions(collaboration, a, b)), "two.bpmn")
    r = office.post("/procedures/upload", {**form, "process_id": "Proc_B"}, content_type="multipart/form-data")
    assert r.status_code in (302, 303), office.text(r)[:500]


def test_the_officer_fills_the_built_in_reception_form_in_the_back_office(app, client, api, api_key):
    """The officer's page shows the built-in form of a step drawn without one: the reception
    outcome opens on its default (accept), and submitting it receives the dossier."""
    import re

    from .admin_client import BackOffice

    upload_and_publish(api, three_steps(), "9.300025")
    body = start_online(api, api_key(), "9.300025")
    [receive] = body["current_tasks"]
    office = BackOffice(client)
    office.login("reception.00070")
    page = office.text(office.get(f"/tasks/{receive['id']}"))
    assert re.search(r'name="reception_result" value="accept"[^>]*checked', page), "accept is preselected"
    assert 'name="note"' in page and 'name="refusal_reason"' in page
    r = office.post(f"/tasks/{receive['id']}/complete", {"reception_result": "accept", "note": "Đủ giấy tờ"},
                    referrer=f"/tasks/{receive['id']}")
    assert r.status_code == 302, office.text(r)[:800]
    after = api.get(f"/dossiers/{body['code']}", "reception.00070").get_json()
    assert after["status"] == 4 and [t["step_id"] for t in after["current_tasks"]] == ["Review"]


def test_camunda_group_names_are_mapped_to_routes(app, api):
    """Camunda files name groups (`management`), not routing paths: the designer maps each group."""
    nodes = [node("userTask", "Check", 'camunda:candidateGroups="accounting"'),
             node("userTask", "Approve", 'camunda:candidateGroups="management"')]
    r = upload(api, definitions(process(nodes), camunda=True), "9.300026")
    assert {w["element_id"] for w in r.get_json()["warnings"] if "ngoài mọi làn" in w["message"]} == {"Check", "Approve"}
    assert any("'management'" in w["message"] for w in r.get_json()["warnings"]), "the warning names the group"
    m = api.put("/procedures/9.300026/versions/1/lanes", "designer.01",
                json={"accounting": "commune/reception", "management": "commune/leader"})
    assert {s["id"]: s["route"] for s in m.get_json()["steps"]} == {"Check": "commune/reception",
                                                                     "Approve": "commune/leader"}
    assert publish(api, "9.300026").status_code == 200
    assert [(t["step_id"], t["role"]) for t in start(api, "9.300026")["current_tasks"]] == [("Approve", "leader")]
