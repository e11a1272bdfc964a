"""Multi-instance user tasks and standard loops, over HTTP on both databases: each instance is its
own work item routed by `{item}`, results gathered into the output collection, bounded counts,
an unknown department an incident naming it, unbounded loops refused at upload."""
from __future__ import annotations

import pytest

from orchestrator.extensions import db
from orchestrator.models import FormDefinition
from orchestrator.services.auth import create_user

from .admin_client import PASSWORD, BackOffice

from .flows import complete, definitions, lane_set, node, process, props, start, upload, upload_and_publish, user

CONSULT = "province/department:{item}/specialist"
OPINION = {"id": "MI-YKIEN", "title": {"vi": "Ý kiến", "en": "Opinion"},
           "schema": {"type": "object", "additionalProperties": False, "required": ["opinion"],
                      "properties": {"opinion": {"type": "string", "title": "Ý kiến", "maxLength": 2000}}}}


@pytest.fixture(autouse=True)
def opinion_form(app):
    """The consultation's form: each department's `opinion`, gathered into `opinions`."""
    with app.app_context():
        db.session.merge(FormDefinition(key="MI-YKIEN", definition=OPINION))
        for dept in ("STC", "SXD", "SNV"):  # a specialist in each department consulted
            create_user(db.session, f"specialist.01.{dept}", PASSWORD, [("specialist", f"01.{dept}")])
        db.session.commit()


def mi(collection: str = "departments", sequential: bool = False, condition: str = "", cardinality: str = "",
       output: bool = True) -> str:
    """Spiff's multi-instance marker over a collection of the dossier's data, or a cardinality."""
    seq = ' isSequential="true"' if sequential else ""
    source = (f"<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality>" if cardinality else
              f"<bpmn:loopDataInputRef>{collection}</bpmn:loopDataInputRef>"
              '<bpmn:inputDataItem id="department" name="department"/>')
    out = ('<bpmn:loopDataOutputRef>opinions</bpmn:loopDataOutputRef>'
           '<bpmn:outputDataItem id="opinion" name="opinion"/>') if output else ""
    cond = f"<bpmn:completionCondition>{condition}</bpmn:completionCondition>" if condition else ""
    return f"<bpmn:multiInstanceLoopCharacteristics{seq}>{source}{out}{cond}</bpmn:multiInstanceLoopCharacteristics>"


def consultation(marker: str, route: str = CONSULT) -> bytes:
    """Receive (desk) -> Consult (one drawn task, many instances) -> Sign (commune leader)."""
    lanes = lane_set({"Lane_R": ("commune/reception", ["Receive"]), "Lane_D": (route, ["Consult"]),
                      "Lane_L": ("commune/leader", ["Sign"])})
    consult = user("Consult", inner=props(formKey="MI-YKIEN") + marker, name="Xin ý kiến")
    return definitions(process([user("Receive"), consult, user("Sign")],
                               lanes=lanes))


def gathered(app, code: str, task_id: str) -> dict:
    """The workflow's data at an open task (the dossier's `data` holds the forms' fields only)."""
    from orchestrator.models import Dossier, DossierState
    from orchestrator.services.steps import workflow_of

    with app.app_context():
        dossier = db.session.scalar(db.select(Dossier).where(Dossier.code == code))
        return workflow_of(dossier, db.session.get(DossierState, dossier.id)).task_data(task_id)


def inbox(api, who: str) -> list[dict]:
    r = api.get("/tasks?view=available", who)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def test_parallel_consultation_of_two_departments_routed_by_item(app, api):
    upload_and_publish(api, consultation(mi()), "9.500001")
    body = start(api, "9.500001", data={"departments": ["STC", "SXD"]})
    consult = {t["unit_code"]: t for t in body["current_tasks"]}
    assert set(consult) == {"01.STC", "01.SXD"}
    assert {t["name"] for t in consult.values()} == {"Xin ý kiến (STC)", "Xin ý kiến (SXD)"}
    assert len({t["id"] for t in consult.values()}) == 2
    stc = inbox(api, "specialist.01.STC")
    assert [t["id"] for t in stc] == [consult["01.STC"]["id"]]
    assert stc[0]["name"] == "Xin ý kiến (STC)"
    assert [t["id"] for t in inbox(api, "specialist.01.SXD")] == [consult["01.SXD"]["id"]]
    assert api.post(f"/tasks/{consult['01.STC']['id']}/complete", "specialist.01.SXD",
                    json={"data": {"opinion": "x"}}).status_code in (403, 404), "each acts on its own instance"
    after = complete(api, consult["01.STC"], "specialist.01.STC", {"opinion": "Đồng ý"})
    assert [t["id"] for t in after["current_tasks"]] == [consult["01.SXD"]["id"]], "the other instance is untouched"
    sxd = api.get(f"/tasks/{consult['01.SXD']['id']}", "specialist.01.SXD").get_json()
    assert "opinion" not in (sxd.get("prefill") or {}), "another department's answer is not pre-filled"
    after = complete(api, consult["01.SXD"], "specialist.01.SXD", {"opinion": "Không ý kiến"})
    [sign] = after["current_tasks"]
    assert sign["step_id"] == "Sign" and sign["name"] == "Sign", "the step after the instances is no instance"
    assert sorted(gathered(app, body["code"], sign["id"])["opinions"]) == ["Không ý kiến", "Đồng ý"]
    done = complete(api, sign, "leader.00070")
    assert done["status"] == 10 and done["finished_at"]


def test_the_back_office_inbox_shows_each_instance(app, api, client):
    upload_and_publish(api, consultation(mi()), "9.500011")
    body = start(api, "9.500011", data={"departments": ["STC", "SXD"]})
    office = BackOffice(client)
    office.login("specialist.01.STC")
    page = office.text(office.get("/inbox"))
    assert body["code"] in page and "Xin ý kiến (STC)" in page and "Xin ý kiến (SXD)" not in page
    stc = next(t for t in body["current_tasks"] if t["unit_code"] == "01.STC")
    assert office.get(f"/tasks/{stc['id']}").status_code == 200


def test_camunda_collection_and_element_variable_route_each_instance(app, api):
    form = ('<bpmn:extensionElements><camunda:formData><camunda:formField id="opinion" label="Ý kiến" type="string"/>'
            '</camunda:formData></bpmn:extensionElements>')
    marker = ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="departments"'
              ' camunda:elementVariable="department"/>')
    nodes = [node("userTask", "Receive", 'camunda:candidateGroups="commune/reception"'),
             node("userTask", "Consult", f'camunda:candidateGroups="{CONSULT}"', form + marker, name="Xin ý kiến"),
             node("userTask", "Sign", 'camunda:candidateGroups="commune/leader"')]
    upload_and_publish(api, definitions(process(nodes), camunda=True), "9.500012")
    body = start(api, "9.500012", data={"departments": ["STC", "SXD"]})
    consult = {t["unit_code"]: t for t in body["current_tasks"]}
    assert {u: t["name"] for u, t in consult.items()} == {"01.STC": "Xin ý kiến (STC)", "01.SXD": "Xin ý kiến (SXD)"}
    complete(api, consult["01.SXD"], "specialist.01.SXD", {"opinion": "b"})
    after = complete(api, consult["01.STC"], "specialist.01.STC", {"opinion": "a"})
    assert [t["step_id"] for t in after["current_tasks"]] == ["Sign"]


def test_a_multi_instance_sub_process_runs_its_steps_once_per_department(app, api):
    inner = (mi(output=False) + '<bpmn:startEvent id="SubStart"><bpmn:outgoing>s1</bpmn:outgoing></bpmn:startEvent>'
             '<bpmn:userTask id="Ask" name="Góp ý"><bpmn:incoming>s1</bpmn:incoming><bpmn:outgoing>s2</bpmn:outgoing>'
             '</bpmn:userTask><bpmn:endEvent id="SubEnd"><bpmn:incoming>s2</bpmn:incoming></bpmn:endEvent>'
             '<bpmn:sequenceFlow id="s1" sourceRef="SubStart" targetRef="Ask"/>'
             '<bpmn:sequenceFlow id="s2" sourceRef="Ask" targetRef="SubEnd"/>')
    lanes = lane_set({"Lane_R": ("commune/reception", ["Receive"]), "Lane_D": (CONSULT, ["Sub", "Ask"]),
                      "Lane_L": ("commune/leader", ["Sign"])})
    xml = definitions(process([user("Receive"), node("subProcess", "Sub", "", inner), user("Sign")], lanes=lanes))
    upload_and_publish(api, xml, "9.500013")
    body = start(api, "9.500013", data={"departments": ["STC", "SXD"]})
    asks = {t["unit_code"]: t for t in body["current_tasks"]}
    assert {u: t["name"] for u, t in asks.items()} == {"01.STC": "Góp ý (STC)", "01.SXD": "Góp ý (SXD)"}
    complete(api, asks["01.STC"], "specialist.01.STC")
    after = complete(api, asks["01.SXD"], "specialist.01.SXD")
    assert [(t["step_id"], t["name"]) for t in after["current_tasks"]] == [("Sign", "Sign")]


def test_sequential_consultation_opens_one_instance_at_a_time(app, api):
    upload_and_publish(api, consultation(mi(sequential=True)), "9.500002")
    body = start(api, "9.500002", data={"departments": ["STC", "SXD"]})
    [first] = body["current_tasks"]
    assert first["unit_code"] == "01.STC" and first["name"] == "Xin ý kiến (STC)"
    after = complete(api, first, "specialist.01.STC", {"opinion": "một"})
    [second] = after["current_tasks"]
    assert second["unit_code"] == "01.SXD" and second["id"] != first["id"]
    after = complete(api, second, "specialist.01.SXD", {"opinion": "hai"})
    assert [t["step_id"] for t in after["current_tasks"]] == ["Sign"]
    assert gathered(app, body["code"], after["current_tasks"][0]["id"])["opinions"] == ["một", "hai"]


def test_cardinality_opens_numbered_instances(app, api):
    upload_and_publish(api, consultation(mi(cardinality="3"), route="commune/specialist"), "9.500003")
    body = start(api, "9.500003")
    tasks = body["current_tasks"]
    assert sorted(t["name"] for t in tasks) == ["Xin ý kiến #1", "Xin ý kiến #2", "Xin ý kiến #3"]
    for i, task in enumerate(tasks):
        after = complete(api, task, "specialist.00070", {"opinion": str(i)})
    assert [t["step_id"] for t in after["current_tasks"]] == ["Sign"]
    assert sorted(gathered(app, body["code"], after["current_tasks"][0]["id"])["opinions"]) == ["0", "1", "2"]


def test_completion_condition_ends_the_remaining_instances(app, api):
    upload_and_publish(api, consultation(mi(condition="opinion == 'đủ'")), "9.500004")
    body = start(api, "9.500004", data={"departments": ["STC", "SXD", "SNV"]})
    assert len(body["current_tasks"]) == 3
    stc = next(t for t in body["current_tasks"] if t["unit_code"] == "01.STC")
    after = complete(api, stc, "specialist.01.STC", {"opinion": "đủ"})
    assert [t["step_id"] for t in after["current_tasks"]] == ["Sign"], "the other instances are cancelled"
    assert inbox(api, "specialist.01.SXD") == [] and inbox(api, "specialist.01.SNV") == []


def test_an_unknown_department_at_run_time_is_an_incident_naming_it(app, api):
    upload_and_publish(api, consultation(mi()), "9.500005")
    body = start(api, "9.500005", data={"departments": ["STC", "NOPE"]})
    assert [t["unit_code"] for t in body["current_tasks"]] == ["01.STC"]
    dossier = api.get(f"/dossiers/{body['code']}", "reception.00070").get_json()
    assert dossier["incident"] is True
    assert "NOPE" in dossier["incident_message"]
    r = api.post(f"/dossiers/{body['code']}/actions/retry", "admin.01", json={})
    assert r.status_code == 200 and r.get_json()["incident"] is True, "still no such department: still an incident"


def test_publish_checks_the_departments_it_knows(app, api):
    xml = consultation(mi()).replace(b"<bpmn:userTask id=\"Consult\"",
                                     b"<bpmn:scriptTask id=\"Set\" scriptFormat=\"python\"><bpmn:script>"
                                     b"departments = ['STC', 'NOPE']</bpmn:script></bpmn:scriptTask>"
                                     b"<bpmn:userTask id=\"Consult\"")
    r = upload(api, xml, "9.500006")
    assert r.status_code == 201, r.get_json()
    p = api.post("/procedures/9.500006/versions/1/publish", "designer.01")
    assert p.status_code == 422
    assert "NOPE" in str(p.get_json())


def test_a_too_large_collection_is_an_incident_and_a_large_cardinality_is_refused(app, api):
    upload_and_publish(api, consultation(mi(), route="commune/specialist"), "9.500007")
    body = start(api, "9.500007", data={"departments": [str(i) for i in range(101)]})
    assert body["current_tasks"] == []
    dossier = api.get(f"/dossiers/{body['code']}", "reception.00070").get_json()
    assert dossier["incident"] is True and "101" in dossier["incident_message"]
    assert "Consult" in dossier["incident_message"]
    r = api.post(f"/dossiers/{body['code']}/actions/retry", "admin.01", json={"data": {"departments": ["a", "b"]}})
    assert r.status_code == 200, r.get_json()
    retried = r.get_json()
    assert retried["incident"] is False
    assert sorted(t["name"] for t in retried["current_tasks"]) == ["Xin ý kiến (a)", "Xin ý kiến (b)"]
    r = upload(api, consultation(mi(cardinality="500"), route="commune/specialist"), "9.500008")
    assert r.status_code == 422
    [problem] = r.get_json()["error"]["problems"]
    assert problem["element_id"] == "Consult" and problem["line"] and "500" in problem["message"]


def loop(maximum: str | None, condition: str = "") -> str:
    attr = f' loopMaximum="{maximum}"' if maximum is not None else ""
    cond = f"<bpmn:loopCondition>{condition}</bpmn:loopCondition>" if condition else ""
    return f"<bpmn:standardLoopCharacteristics{attr}>{cond}</bpmn:standardLoopCharacteristics>"


def test_a_standard_loop_runs_until_its_condition_or_its_maximum(app, api):
    upload_and_publish(api, consultation(loop("3", "opinion != 'xong'"), route="commune/specialist"), "9.500009")
    body = start(api, "9.500009")
    names = []
    for _ in range(3):
        [task] = body["current_tasks"]
        assert task["step_id"] == "Consult"
        names.append(task["name"])
        body = complete(api, task, "specialist.00070", {"opinion": "chưa"})
    assert names == ["Xin ý kiến #1", "Xin ý kiến #2", "Xin ý kiến #3"]
    assert [t["step_id"] for t in body["current_tasks"]] == ["Sign"], "stops at loopMaximum"
    body = start(api, "9.500009")
    [task] = body["current_tasks"]
    body = complete(api, task, "specialist.00070", {"opinion": "xong"})
    assert [t["step_id"] for t in body["current_tasks"]] == ["Sign"], "stops when the condition no longer holds"


def test_an_unbounded_loop_is_refused_at_upload_with_element_and_line(app, api):
    for marker in (loop(None, "opinion != 'xong'"), loop("1000", "True")):
        r = upload(api, consultation(marker, route="commune/specialist"), "9.500010")
        assert r.status_code == 422, r.get_json()
        [problem] = r.get_json()["error"]["problems"]
        assert problem["element_id"] == "Consult" and problem["line"] and "loopMaximum" in problem["message"]


def test_item_routing_on_a_step_without_multi_instance_is_refused_at_publish(app, api):
    xml = definitions(process([user("Receive"), user("Consult")], lanes=lane_set(
        {"Lane_R": ("commune/reception", ["Receive"]), "Lane_D": (CONSULT, ["Consult"])})))
    assert upload(api, xml, "9.500014").status_code == 201
    p = api.post("/procedures/9.500014/versions/1/publish", "designer.01")
    assert p.status_code == 422
    [problem] = p.get_json()["error"]["problems"]
    assert problem["element_id"] == "Consult" and "{item}" in problem["message"]


def test_sequential_instances_without_an_output_run_one_after_another(app, api):
    upload_and_publish(api, consultation(mi(sequential=True, output=False)), "9.500015")
    body = start(api, "9.500015", data={"departments": ["STC", "SXD"]})
    [first] = body["current_tasks"]
    [second] = complete(api, first, "specialist.01.STC", {"opinion": "một"})["current_tasks"]
    assert second["name"] == "Xin ý kiến (SXD)"
    assert [t["step_id"] for t in complete(api, second, "specialist.01.SXD", {"opinion": "hai"})["current_tasks"]] \
        == ["Sign"]


def test_publish_checks_the_choices_of_the_collections_form_field(app, api):
    choose = {"id": "MI-CHON", "title": {"vi": "Chọn sở", "en": "Departments"},
              "schema": {"type": "object", "additionalProperties": False,
                         "properties": {"departments": {"type": "array", "items": {"enum": ["STC", "NOPE"]}}}}}
    with app.app_context():
        db.session.merge(FormDefinition(key="MI-CHON", definition=choose))
        db.session.commit()
    xml = consultation(mi()).replace(b'<bpmn:userTask id="Receive" name="Receive" >',
                                     b'<bpmn:userTask id="Receive" name="Receive" >' + props(formKey="MI-CHON").encode())
    assert b"MI-CHON" in xml
    assert upload(api, xml, "9.500016").status_code == 201
    p = api.post("/procedures/9.500016/versions/1/publish", "designer.01")
    assert p.status_code == 422
    [problem] = p.get_json()["error"]["problems"]
    assert problem["element_id"] == "Consult" and "NOPE" in problem["message"] and "STC" not in problem["message"]


def test_cardinality_with_an_existing_output_list_is_not_a_server_error(app, api):
    upload_and_publish(api, consultation(mi(cardinality="2"), route="commune/specialist"), "9.500017")
    assert len(start(api, "9.500017", data={"opinions": []})["current_tasks"]) == 2
    body = start(api, "9.500017", data={"opinions": ["cũ"]})  # SpiffWorkflow 3 raised a NameError here
    dossier = api.get(f"/dossiers/{body['code']}", "reception.00070").get_json()
    assert dossier["incident"] is True and "Consult" in dossier["incident_message"]
