"""Call activities (issue 16, point 1): a process calls another process of the same file; its
steps are routed by its own lanes for the same dossier, its scripts run in the sandbox, a failure
is an incident naming the element, and only the main process's end events end the dossier. Calls
to nothing and cycles of calls are refused at upload with the element and its line. Over HTTP on
both databases."""
from __future__ import annotations

import re

from .flows import complete, definitions, lane_set, node, process, props, publish, start, upload, upload_and_publish, user


def called(process_id: str, nodes: list[tuple], lanes: dict | None = None, **kw) -> str:
    """A process for a call activity to call, its start, end and flow ids prefixed with its own id
    (ids are unique in a file)."""
    xml = process(nodes, process_id=process_id, lanes=lane_set(lanes) if lanes else "", **kw)
    xml = xml.replace('"Start_1"', f'"{process_id}_Start"').replace('"End_1"', f'"{process_id}_End"')
    xml = xml.replace(">Start_1<", f">{process_id}_Start<").replace(">End_1<", f">{process_id}_End<")
    return re.sub(r'(["> ])f(\d+)(["<])', rf"\1{process_id}_f\2\3", xml)


def call(node_id: str, target: str) -> tuple:
    return node("callActivity", node_id, f'calledElement="{target}"', name=f"Gọi {target}")


MAIN_LANES = {"LR": ("commune/reception", ["Receive"]), "LL": ("commune/leader", ["Sign"])}


def review_file(script: str = "fee = 10", review_props: str = "", prepare: bool = False) -> bytes:
    """Receive (desk) -> call Sub_Review [Review (specialist lane of the called process) -> script]
    -> a script reading what the called one computed -> Sign (leader)."""
    main = process([user("Receive", inner=props(milestone="reception")), *([user("Prepare")] if prepare else []),
                    call("Call_Review", "Sub_Review"),
                    node("scriptTask", "Total", 'scriptFormat="python"', "<bpmn:script>total = fee * 2</bpmn:script>"),
                    user("Sign", inner=props(milestone="decision"))], process_id="Main",
                   lanes=lane_set({**MAIN_LANES, **({"LP": ("commune/specialist", ["Prepare"])} if prepare else {})}))
    sub = called("Sub_Review", [user("Review", inner=review_props),
                                node("scriptTask", "Calc", 'scriptFormat="python"', f"<bpmn:script>{script}</bpmn:script>")],
                 {"LS": ("commune/specialist", ["Review"])})
    return definitions(main, sub)


def test_a_call_to_a_process_of_the_same_file_runs_with_its_own_lanes(app, api):
    r = upload(api, review_file(), "9.600001")
    assert r.status_code == 201, r.get_json()
    assert not [w for w in r.get_json()["warnings"] if "quy trình" in w["message"] and "Tệp có" in w["message"]], \
        "a called process is a sub-procedure, not another candidate"
    version = api.get("/procedures/9.600001/versions/1", "designer.01").get_json()
    assert version["process_id"] == "Main"
    assert {s["id"]: (s["lane_id"], s["route"]) for s in version["steps"]} == {
        "Receive": ("LR", "commune/reception"), "Review": ("LS", "commune/specialist"), "Sign": ("LL", "commune/leader")}
    assert publish(api, "9.600001").status_code == 200  # with its dry run through the called process
    body = start(api, "9.600001")
    [review] = body["current_tasks"]
    assert (review["step_id"], review["role"], review["unit_code"]) == ("Review", "specialist", "00070")
    assert api.get("/tasks?view=available", "specialist.00070").get_json()["items"][0]["id"] == review["id"]
    after = complete(api, review, "specialist.00070", {"note": "đủ điều kiện"})
    [sign] = after["current_tasks"]
    assert (sign["step_id"], sign["role"]) == ("Sign", "leader")
    assert not after["incident"], "the called process's data (fee) comes back to the caller's script"
    done = complete(api, sign, "leader.00070")
    assert done["status"] in (9, 10) and done["finished_at"] and done["current_tasks"] == []
    steps = [h["step_id"] for h in done["history"] if h["action"] == "complete"]
    assert steps.index("Receive") < steps.index("Review") < steps.index("Sign"), "the history shows the called step"


def test_the_end_of_the_called_process_does_not_end_the_dossier(app, api):
    main = process([user("Receive"), call("Call_Check", "Sub_Check"), user("Handover")], process_id="Main",
                   lanes=lane_set({"LR": ("commune/reception", ["Receive", "Handover"])}))
    sub = called("Sub_Check", [user("Check")], {"LS": ("commune/specialist", ["Check"])},
                 end=props(outcome="refused"))
    upload_and_publish(api, definitions(main, sub), "9.600002")
    body = start(api, "9.600002")
    after = complete(api, body["current_tasks"][0], "specialist.00070")
    # Check is the decision by default (the step before the last); the called end's `outcome` is not the dossier's
    assert not after["finished_at"] and after["status"] == 9, "the called process's end event is not the dossier's"
    assert [t["step_id"] for t in after["current_tasks"]] == ["Handover"]
    done = complete(api, after["current_tasks"][0], "reception.00070", {"delivery_method": "in_person"})
    assert done["status"] == 10 and done["finished_at"]


def test_calls_to_nothing_and_cycles_of_calls_are_refused_at_upload_with_element_and_line(app, api):
    main = process([user("Receive"), call("Call_Missing", "Nowhere")], process_id="Main",
                   lanes=lane_set({"LR": ("commune/reception", ["Receive"])}))
    r = upload(api, definitions(main), "9.600003")
    assert r.status_code == 422, r.get_json()
    [problem] = [p for p in r.get_json()["error"]["problems"] if p["element_id"] == "Call_Missing"]
    assert "Nowhere" in problem["message"] and problem["line"] and problem["code"] == "call_target_missing"
    # a calls b calls a
    main = process([user("Receive"), call("Call_B", "Proc_B")], process_id="Main",
                   lanes=lane_set({"LR": ("commune/reception", ["Receive"])}))
    b = called("Proc_B", [call("Call_Back", "Proc_C")])
    c = called("Proc_C", [call("Call_Again", "Proc_B")])
    r = upload(api, definitions(main, b, c), "9.600004")
    assert r.status_code == 422, r.get_json()
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Call_Again" and problem["code"] == "call_cycle" and problem["line"]
    assert "Proc_B → Proc_C → Proc_B" in problem["message"]
    # a process calling itself (plain SpiffWorkflow would run it for ever)
    me = process([user("Receive"), call("Call_Me", "Main")], process_id="Main",
                 lanes=lane_set({"LR": ("commune/reception", ["Receive"])}))
    r = upload(api, definitions(me), "9.600005")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Call_Me" and problem["code"] == "call_cycle"
    # what a called process holds is checked as the main process is: here a refused element, with its line
    bad = called("Proc_Bad", [node("serviceTask", "Remote")])
    main = process([user("Receive"), call("Call_Bad", "Proc_Bad")], process_id="Main",
                   lanes=lane_set({"LR": ("commune/reception", ["Receive"])}))
    r = upload(api, definitions(main, bad), "9.600006")
    assert r.status_code == 422
    assert [p["element_id"] for p in r.get_json()["error"]["problems"]] == ["Remote"]


def test_a_step_of_a_called_process_without_a_route_blocks_publishing(app, api):
    main = process([user("Receive"), call("Call_Review", "Sub_Review")], process_id="Main",
                   lanes=lane_set({"LR": ("commune/reception", ["Receive"])}))
    sub = called("Sub_Review", [user("Review")], {"LX": ("Phòng chuyên môn", ["Review"])})
    r = upload(api, definitions(main, sub), "9.600007")
    assert r.status_code == 201
    assert "LX" in {w["element_id"] for w in r.get_json()["warnings"]}
    refused = publish(api, "9.600007")
    assert refused.status_code == 422 and "LX" in {p["element_id"] for p in refused.get_json()["error"]["problems"]}
    assert api.put("/procedures/9.600007/versions/1/lanes", "designer.01",
                   json={"LX": "commune/specialist"}).status_code == 200
    assert publish(api, "9.600007").status_code == 200


def test_a_script_failing_inside_the_called_process_is_an_incident_naming_the_element(app, api):
    # Passes the dry run (sample note "x"), fails for a note of four characters.
    upload_and_publish(api, review_file(script="fee = 100 / (len(note) - 4)"), "9.600008")
    body = start(api, "9.600008")
    [review] = body["current_tasks"]
    r = api.post(f"/tasks/{review['id']}/complete", "specialist.00070", json={"data": {"note": "abcd"}})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()
    assert after["incident"] is True and "Calc" in after["incident_message"] and "division by zero" in after["incident_message"]
    assert any(h["action"] == "incident" and h["step_id"] == "Calc" for h in after["history"])
    assert api.get(f"/dossiers/{after['code']}", "reception.00070").status_code == 200


def _shapes(plane_of: str, ids: list[str], y: int) -> str:
    """A BPMNDiagram of its own for process `plane_of`: one shape per element, in a row."""
    shapes = "".join(f'<bpmndi:BPMNShape id="{i}_di" bpmnElement="{i}"><dc:Bounds x="{100 + 150 * n}" y="{y}" '
                     'width="100" height="80"/></bpmndi:BPMNShape>' for n, i in enumerate(ids))
    return (f'<bpmndi:BPMNDiagram id="D_{plane_of}" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
            f'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane id="P_{plane_of}" '
            f'bpmnElement="{plane_of}">{shapes}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>')


def test_the_back_office_draws_the_called_process_and_its_step_in_the_history(app, api, client):
    from .admin_client import BackOffice

    xml = review_file().replace(b"</bpmn:definitions>", (_shapes("Main", ["Receive", "Call_Review", "Sign"], 100)
                                                          + _shapes("Sub_Review", ["Review", "Calc"], 100)
                                                          + "</bpmn:definitions>").encode())
    upload_and_publish(api, xml, "9.600009")
    body = start(api, "9.600009")
    office = BackOffice(client)
    assert office.login("specialist.00070").status_code == 302
    page = office.text(office.get(f"/dossiers/{body['code']}"))
    # the called process's diagram is drawn below the caller's, its open step marked on the path
    review = re.search(r'<g class="userTask on-path task" data-element-id="Review">.*?<rect x="[\d.]+" y="([\d.]+)"', page)
    assert review and float(review.group(1)) > 180, "drawn below the main process (its own diagram starts at y=100)"
    assert 'data-element-id="Call_Review"' in page
    complete(api, body["current_tasks"][0], "specialist.00070")
    page = office.text(office.get(f"/dossiers/{body['code']}"))
    assert re.search(r'<g class="userTask done task" data-element-id="Review">', page), "the called step is done"


# -- calling a procedure of the library: calledElement="procedure:<code>" --------------------------

def appraisal(extra: bool = False, mark: str = "v1") -> bytes:
    """A sub-procedure: Appraise (specialist) -> a script marking its version [-> Double (leader)]."""
    nodes = [user("Appraise"), node("scriptTask", "Mark", 'scriptFormat="python"',
                                    f"<bpmn:script>appraised = '{mark}'</bpmn:script>")]
    lanes = {"LA": ("commune/specialist", ["Appraise"])}
    if extra:
        nodes.append(user("Double"))
        lanes["LD"] = ("commune/leader", ["Double"])
    return definitions(process(nodes, process_id="Appraisal", lanes=lane_set(lanes)))


def caller(target: str, check: str = "appraised in ('v1', 'v2')") -> bytes:
    """Receive (desk) -> call the library's `target` -> a script reading what it computed -> Sign."""
    return definitions(process([
        user("Receive", inner=props(milestone="reception")), call("Call_Appraisal", f"procedure:{target}"),
        node("scriptTask", "Check", 'scriptFormat="python"', f"<bpmn:script>checked = {check}</bpmn:script>"),
        user("Sign", inner=props(milestone="decision"))],
        process_id="Caller", lanes=lane_set(MAIN_LANES)))


def _steps_until_signed(api, dossier: dict) -> list[str]:
    """Complete each open step in turn up to Sign; the step ids in order."""
    seen, officer = [], {"specialist": "specialist.00070", "leader": "leader.00070"}
    body = dossier
    while body["current_tasks"]:
        task = body["current_tasks"][0]
        seen.append(task["step_id"])
        if task["step_id"] == "Sign":
            break
        body = complete(api, task, officer[task["role"]])
        assert not body["incident"], body["incident_message"]
    return seen


def test_a_call_to_a_library_procedure_runs_with_the_version_pinned_at_publish(app, api):
    upload_and_publish(api, appraisal(), "9.700001")
    upload_and_publish(api, caller("9.700001"), "9.700002")
    running = start(api, "9.700002")
    [appraise] = running["current_tasks"]
    assert (appraise["step_id"], appraise["role"]) == ("Appraise", "specialist"), "routed by the called lanes"
    # a new version of the sub-procedure: its page names who calls it, and which version they pinned
    r = upload(api, appraisal(extra=True, mark="v2"), "9.700001")
    assert r.status_code == 201
    draft = api.get("/procedures/9.700001/versions/2", "designer.01").get_json()
    assert draft["called_by"] == [{"code": "9.700002", "version": 1, "scope": "01", "element_id": "Call_Appraisal",
                                   "calls_version": 1, "state": "published"}]
    assert publish(api, "9.700001", 2).status_code == 200
    # the running dossier keeps the version pinned when its procedure was published, as do new ones
    after = complete(api, appraise, "specialist.00070")
    assert after["status"] == 4 and not after["incident"], "the called step's own milestone is not the caller's"
    assert [t["step_id"] for t in after["current_tasks"]] == ["Sign"], "no step of the newer sub-procedure"
    assert _steps_until_signed(api, start(api, "9.700002")) == ["Appraise", "Sign"]
    # publishing the caller again picks up the sub-procedure in force now
    assert upload(api, caller("9.700001", "appraised == 'v2'"), "9.700002").status_code == 201
    assert publish(api, "9.700002", 2).status_code == 200
    assert _steps_until_signed(api, start(api, "9.700002")) == ["Appraise", "Double", "Sign"]
    by = api.get("/procedures/9.700001/versions/2", "designer.01").get_json()["called_by"]
    assert [(c["version"], c["calls_version"]) for c in by] == [(1, 1), (2, 2)]
    history = api.get(f"/dossiers/{after['code']}", "reception.00070").get_json()["history"]
    assert "Appraise" in [h["step_id"] for h in history if h["action"] == "complete"]


def test_drafts_that_call_a_procedure_are_listed_among_its_callers_as_drafts(app, api, client):
    from .admin_client import BackOffice

    upload_and_publish(api, appraisal(), "9.700031")
    assert upload(api, caller("9.700031"), "9.700032").status_code == 201  # a draft caller
    upload_and_publish(api, caller("9.700031"), "9.700033")
    assert upload(api, caller("9.700031").replace(b"<bpmn:definitions ", b'<bpmn:definitions exporterVersion="2" ', 1), "9.700033").status_code == 201  # its next version, a draft
    assert upload(api, caller("9.700039"), "9.700034").status_code == 201  # a draft calling another procedure
    by = api.get("/procedures/9.700031/versions/1", "designer.01").get_json()["called_by"]
    assert by == [
        {"code": "9.700033", "version": 1, "scope": "01", "element_id": "Call_Appraisal", "calls_version": 1,
         "state": "published"},
        {"code": "9.700032", "version": 1, "scope": "01", "element_id": "Call_Appraisal", "calls_version": 1,
         "state": "draft"},
        {"code": "9.700033", "version": 2, "scope": "01", "element_id": "Call_Appraisal", "calls_version": 1,
         "state": "draft"}]
    # a new version of the sub-procedure in force: the drafts would pin it, the published caller keeps v1
    assert upload(api, appraisal(extra=True, mark="v2"), "9.700031").status_code == 201
    assert publish(api, "9.700031", 2).status_code == 200
    by = api.get("/procedures/9.700031/versions/2", "designer.01").get_json()["called_by"]
    assert [(c["code"], c["version"], c["state"], c["calls_version"]) for c in by] == [
        ("9.700033", 1, "published", 1), ("9.700032", 1, "draft", 2), ("9.700033", 2, "draft", 2)]
    office = BackOffice(client)
    assert office.login("designer.01").status_code == 302
    page = office.text(office.get("/procedures/9.700031/v/2"))
    called = page[page.index('id="called-by"'):]
    called = called[:called.index("</p>")]
    assert "9.700032" in called and "bản nháp" in called and "khi công bố sẽ gọi" in called
    assert called.count("bản nháp") == 2 and "9.700034" not in called
    # once published, the draft is listed as a published caller with the version it pinned
    assert publish(api, "9.700032").status_code == 200
    by = api.get("/procedures/9.700031/versions/2", "designer.01").get_json()["called_by"]
    assert [(c["code"], c["version"], c["state"], c["calls_version"]) for c in by] == [
        ("9.700032", 1, "published", 2), ("9.700033", 1, "published", 1), ("9.700033", 2, "draft", 2)]


def test_a_call_to_a_missing_procedure_or_a_cycle_is_refused_at_publish_with_element_and_line(app, api):
    assert upload(api, caller("9.799999"), "9.700011").status_code == 201
    r = publish(api, "9.700011")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Call_Appraisal" and problem["line"] and problem["code"] == "call_target_missing"
    assert "9.799999" in problem["message"]
    # itself
    assert upload(api, caller("9.700012"), "9.700012").status_code == 201
    [problem] = publish(api, "9.700012").get_json()["error"]["problems"]
    assert (problem["element_id"], problem["code"]) == ("Call_Appraisal", "call_cycle")
    # a calls b calls a: a v1 calls nothing, b calls a, then a v2 calls b
    upload_and_publish(api, appraisal(), "9.700013")
    b = definitions(process([user("Receive"), call("Call_A", "procedure:9.700013")], process_id="B",
                            lanes=lane_set({"LR": ("commune/reception", ["Receive"])})))
    upload_and_publish(api, b, "9.700014")
    a2 = definitions(process([user("Appraise"), call("Call_B", "procedure:9.700014")], process_id="A",
                             lanes=lane_set({"LA": ("commune/specialist", ["Appraise"])})))
    assert upload(api, a2, "9.700013").status_code == 201
    r = publish(api, "9.700013", 2)
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Call_B" and problem["code"] == "call_cycle" and problem["line"]
    assert "9.700013 → 9.700014 → 9.700013" in problem["message"]


def test_the_back_office_shows_callers_and_dry_runs_through_the_called_procedure(app, api, client):
    from .admin_client import BackOffice

    upload_and_publish(api, appraisal(extra=True), "9.700021")
    assert upload(api, caller("9.700021"), "9.700022").status_code == 201  # a draft: calls what is in force now
    office = BackOffice(client)
    assert office.login("designer.01").status_code == 302
    r = office.post("/procedures/9.700022/v/1/dry-run", {"commune_code": "00070"})
    page = office.text(r)
    assert r.status_code == 200 and "Appraise" in page and "Double" in page and "Quy trình kết thúc" in page
    assert publish(api, "9.700022").status_code == 200
    page = office.text(office.get("/procedures/9.700021/v/1"))
    assert 'id="called-by"' in page and "9.700022" in page and "Call_Appraisal" in page


def test_a_loop_without_exit_in_the_called_process_is_refused_by_the_publish_dry_run(app, api):
    spin = ('<bpmn:process id="Spinner" isExecutable="true">'
            '<bpmn:startEvent id="SP_S"><bpmn:outgoing>sp0</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:scriptTask id="Spin" scriptFormat="python"><bpmn:incoming>sp0</bpmn:incoming>'
            '<bpmn:incoming>sp2</bpmn:incoming><bpmn:outgoing>sp1</bpmn:outgoing><bpmn:script>n = 1</bpmn:script>'
            '</bpmn:scriptTask><bpmn:exclusiveGateway id="SP_G" default="sp3"><bpmn:incoming>sp1</bpmn:incoming>'
            '<bpmn:outgoing>sp2</bpmn:outgoing><bpmn:outgoing>sp3</bpmn:outgoing></bpmn:exclusiveGateway>'
            '<bpmn:endEvent id="SP_E"><bpmn:incoming>sp3</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="sp0" sourceRef="SP_S" targetRef="Spin"/>'
            '<bpmn:sequenceFlow id="sp1" sourceRef="Spin" targetRef="SP_G"/>'
            '<bpmn:sequenceFlow id="sp2" sourceRef="SP_G" targetRef="Spin"><bpmn:conditionExpression>n &gt; 0'
            '</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="sp3" sourceRef="SP_G" targetRef="SP_E"/></bpmn:process>')
    main = process([user("Receive"), call("Call_Spin", "Spinner"), user("Sign")], process_id="Main",
                   lanes=lane_set(MAIN_LANES))
    assert upload(api, definitions(main, spin), "9.600010").status_code == 201
    r = publish(api, "9.600010")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert "500" in problem["message"] and problem["element_id"] in ("Spin", "SP_G", "Call_Spin")


def test_the_data_of_a_called_process_counts_in_the_state_cap(monkeypatch):
    """Engine level: the state a dossier may store counts what waits inside a called process."""
    import pytest

    from orchestrator.engine import StateTooLarge, WorkflowRun, check_diagram
    from orchestrator.engine import runner

    main = process([call("Call_Review", "Sub_Review")], process_id="Main")
    sub = called("Sub_Review", [node("scriptTask", "Fill", 'scriptFormat="python"',
                                     "<bpmn:script>blob = 'x' * 60000</bpmn:script>"), user("Review")],
                 {"LS": ("commune/specialist", ["Review"])})
    bundle = check_diagram(definitions(main, sub), 10**6).bundle
    run = WorkflowRun.start(bundle, {})
    assert [t.step_id for t in run.ready_human_tasks()] == ["Review"]
    monkeypatch.setattr(runner, "MAX_STATE_BYTES", 50_000)
    with pytest.raises(StateTooLarge):
        run.check_size()


def test_return_to_a_step_of_the_called_process_and_back_out_of_it(app, api):
    upload_and_publish(api, review_file(prepare=True), "9.600011")
    body = start(api, "9.600011")
    body = complete(api, body["current_tasks"][0], "specialist.00070")  # Prepare, in the caller
    after = complete(api, body["current_tasks"][0], "specialist.00070", {"note": "lần 1"})
    assert [t["step_id"] for t in after["current_tasks"]] == ["Sign"]
    r = api.post(f"/dossiers/{after['code']}/actions/return-to-step", "leader.00070",
                 json={"step_id": "Review", "reason": "Thẩm định lại"})
    assert r.status_code == 200, r.get_json()
    [review] = r.get_json()["current_tasks"]
    assert (review["step_id"], review["role"]) == ("Review", "specialist") and review["id"] != body["current_tasks"][0]["id"]
    again = complete(api, review, "specialist.00070", {"note": "lần 2"})
    assert [t["step_id"] for t in again["current_tasks"]] == ["Sign"] and not again["incident"]
    # from inside the call, back to a step of the caller before it
    r = api.post(f"/dossiers/{after['code']}/actions/return-to-step", "leader.00070",
                 json={"step_id": "Review", "reason": "Lần nữa"})
    [review] = r.get_json()["current_tasks"]
    assert review["step_id"] == "Review"
    # the specialist who holds (claimed) the current step may send it back too
    assert api.post(f"/tasks/{review['id']}/claim", "specialist.00070").status_code == 200
    r = api.post(f"/dossiers/{after['code']}/actions/return-to-step", "specialist.00070",
                 json={"step_id": "Prepare", "reason": "Chuẩn bị lại"})
    assert r.status_code == 200, r.get_json()
    [prepare] = r.get_json()["current_tasks"]
    assert prepare["step_id"] == "Prepare"
    body = complete(api, prepare, "specialist.00070")
    body = complete(api, body["current_tasks"][0], "specialist.00070", {"note": "lần 3"})
    done = complete(api, body["current_tasks"][0], "leader.00070")
    assert done["finished_at"] and not done["incident"] and done["current_tasks"] == []
