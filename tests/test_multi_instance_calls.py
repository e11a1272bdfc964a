"""Multi-instance call activities, over HTTP on both databases: a call activity marked
multi-instance runs the called process once per item of a collection (parallel or sequential),
each instance's steps routed by `{item}` as their own work items with their own form data, the
outputs gathered; the same to a procedure of the library; an unknown department at run time is an
incident naming it; the back office inbox shows each instance."""
from __future__ import annotations

from .admin_client import BackOffice
from .flows import complete, definitions, lane_set, node, process, props, publish, start, upload, upload_and_publish, user
from .test_call_activities import MAIN_LANES, called
from .test_multi_instance import CONSULT, gathered, inbox, mi, opinion_form  # noqa: F401 (the autouse fixture)


def mi_call(node_id: str, target: str, marker: str) -> tuple:
    return node("callActivity", node_id, f'calledElement="{target}"', marker, name="Xin ý kiến các sở")


def consult_file(marker: str) -> bytes:
    """Receive (desk) -> call Sub_Consult once per department [Consult (the department's specialist,
    form MI-YKIEN)] -> Sign (commune leader)."""
    main = process([user("Receive"), mi_call("Call_Consult", "Sub_Consult", marker), user("Sign")],
                   process_id="Main", lanes=lane_set(MAIN_LANES))
    sub = called("Sub_Consult", [user("Consult", inner=props(formKey="MI-YKIEN"), name="Xin ý kiến")],
                 {"LD": (CONSULT, ["Consult"])})
    return definitions(main, sub)


def consulted(body: dict) -> dict[str, dict]:
    tasks = {t["unit_code"]: t for t in body["current_tasks"]}
    assert len(tasks) == len(body["current_tasks"])
    return tasks


def test_a_parallel_multi_instance_call_opens_one_work_item_per_department(app, api):
    upload_and_publish(api, consult_file(mi()), "9.800001")
    body = start(api, "9.800001", data={"departments": ["STC", "SXD"]})
    assert not body["incident"], body.get("incident_message")
    consult = consulted(body)
    assert set(consult) == {"01.STC", "01.SXD"}
    assert {t["step_id"] for t in consult.values()} == {"Consult"}
    assert len({t["id"] for t in consult.values()}) == 2
    assert [t["id"] for t in inbox(api, "specialist.01.STC")] == [consult["01.STC"]["id"]]
    assert [t["id"] for t in inbox(api, "specialist.01.SXD")] == [consult["01.SXD"]["id"]]
    assert api.post(f"/tasks/{consult['01.STC']['id']}/complete", "specialist.01.SXD",
                    json={"data": {"opinion": "x"}}).status_code in (403, 404), "each acts on its own instance"
    after = complete(api, consult["01.STC"], "specialist.01.STC", {"opinion": "Đồng ý"})
    assert not after["incident"], after.get("incident_message")
    assert [t["id"] for t in after["current_tasks"]] == [consult["01.SXD"]["id"]], "the other instance is untouched"
    sxd = api.get(f"/tasks/{consult['01.SXD']['id']}", "specialist.01.SXD").get_json()
    assert "opinion" not in (sxd.get("prefill") or {}), "another department's answer is not pre-filled"
    after = complete(api, consult["01.SXD"], "specialist.01.SXD", {"opinion": "Không ý kiến"})
    assert not after["incident"], after.get("incident_message")
    [sign] = after["current_tasks"]
    assert sign["step_id"] == "Sign", "the dossier goes on after all the instances"
    assert sorted(gathered(app, body["code"], sign["id"])["opinions"]) == ["Không ý kiến", "Đồng ý"]
    done = complete(api, sign, "leader.00070")
    assert done["status"] == 10 and done["finished_at"]


def test_a_sequential_multi_instance_call_opens_one_department_after_another(app, api):
    upload_and_publish(api, consult_file(mi(sequential=True)), "9.800002")
    body = start(api, "9.800002", data={"departments": ["STC", "SXD"]})
    [first] = body["current_tasks"]
    assert (first["step_id"], first["unit_code"]) == ("Consult", "01.STC")
    assert inbox(api, "specialist.01.SXD") == []
    after = complete(api, first, "specialist.01.STC", {"opinion": "một"})
    [second] = after["current_tasks"]
    assert (second["step_id"], second["unit_code"]) == ("Consult", "01.SXD") and second["id"] != first["id"]
    sxd = api.get(f"/tasks/{second['id']}", "specialist.01.SXD").get_json()
    assert "opinion" not in (sxd.get("prefill") or {}), "the first department's answer is not pre-filled"
    after = complete(api, second, "specialist.01.SXD", {"opinion": "hai"})
    [sign] = after["current_tasks"]
    assert sign["step_id"] == "Sign"
    assert gathered(app, body["code"], sign["id"])["opinions"] == ["một", "hai"]


def test_an_unknown_department_in_a_multi_instance_call_is_an_incident_naming_it(app, api):
    upload_and_publish(api, consult_file(mi()), "9.800003")
    body = start(api, "9.800003", data={"departments": ["STC", "NOPE"]})
    assert [t["unit_code"] for t in body["current_tasks"]] == ["01.STC"]
    dossier = api.get(f"/dossiers/{body['code']}", "reception.00070").get_json()
    assert dossier["incident"] is True and "NOPE" in dossier["incident_message"]


def test_publish_checks_the_departments_a_multi_instance_call_knows(app, api):
    xml = consult_file(mi()).replace(b'<bpmn:callActivity id="Call_Consult"',
                                     b'<bpmn:scriptTask id="Set" scriptFormat="python"><bpmn:script>'
                                     b"departments = ['STC', 'NOPE']</bpmn:script></bpmn:scriptTask>"
                                     b'<bpmn:callActivity id="Call_Consult"')
    assert b'id="Set"' in xml
    assert upload(api, xml, "9.800004").status_code == 201
    p = publish(api, "9.800004")
    assert p.status_code == 422 and "NOPE" in str(p.get_json())


def test_the_back_office_inbox_shows_each_instance_of_a_call(app, api, client):
    upload_and_publish(api, consult_file(mi()), "9.800005")
    body = start(api, "9.800005", data={"departments": ["STC", "SXD"]})
    consult = consulted(body)
    for dept in ("STC", "SXD"):
        office = BackOffice(client)
        office.login(f"specialist.01.{dept}")
        page = office.text(office.get("/inbox"))
        assert body["code"] in page and f"({dept})" in page
        other = "SXD" if dept == "STC" else "STC"
        assert f"({other})" not in page
        assert office.get(f"/tasks/{consult['01.' + dept]['id']}").status_code == 200
        office.get("/logout")


def test_a_multi_instance_call_to_a_library_procedure_runs_it_once_per_item(app, api):
    """The called procedure routes by its own lanes (its version pinned at the caller's publish);
    each instance is its own work item, named by its item, with its own form data."""
    sub = definitions(process([user("Consult", inner=props(formKey="MI-YKIEN"), name="Xin ý kiến")],
                              process_id="Library_Consult",
                              lanes=lane_set({"LS": ("commune/specialist", ["Consult"])})))
    upload_and_publish(api, sub, "9.800011")
    main = process([user("Receive"), mi_call("Call_Consult", "procedure:9.800011", mi()), user("Sign")],
                   process_id="Main", lanes=lane_set(MAIN_LANES))
    upload_and_publish(api, definitions(main), "9.800012")
    body = start(api, "9.800012", data={"departments": ["STC", "SXD"]})
    assert not body["incident"], body.get("incident_message")
    tasks = body["current_tasks"]
    assert sorted(t["name"] for t in tasks) == ["Xin ý kiến (STC)", "Xin ý kiến (SXD)"]
    assert {(t["step_id"], t["unit_code"]) for t in tasks} == {("Consult", "00070")}
    assert len({t["id"] for t in tasks}) == 2
    assert len(inbox(api, "specialist.00070")) == 2
    first, second = sorted(tasks, key=lambda t: t["name"])
    after = complete(api, first, "specialist.00070", {"opinion": "a"})
    assert [t["id"] for t in after["current_tasks"]] == [second["id"]]
    after = complete(api, second, "specialist.00070", {"opinion": "b"})
    [sign] = after["current_tasks"]
    assert sign["step_id"] == "Sign" and not after["incident"]
    assert sorted(gathered(app, body["code"], sign["id"])["opinions"]) == ["a", "b"]
    by = api.get("/procedures/9.800011/versions/1", "designer.01").get_json()["called_by"]
    assert [(c["code"], c["element_id"]) for c in by] == [("9.800012", "Call_Consult")]


def test_item_routing_in_a_library_procedure_is_refused_at_its_publish(app, api):
    """A library procedure is published on its own: `{item}` in its lanes has no instance there."""
    sub = definitions(process([user("Consult", inner=props(formKey="MI-YKIEN"))], process_id="Library_Consult",
                              lanes=lane_set({"LS": (CONSULT, ["Consult"])})))
    assert upload(api, sub, "9.800013").status_code == 201
    p = publish(api, "9.800013")
    assert p.status_code == 422
    [problem] = p.get_json()["error"]["problems"]
    assert problem["element_id"] == "Consult" and "{item}" in problem["message"]


def test_item_routing_in_a_process_also_called_without_multi_instance_is_refused_at_publish(app, api):
    """A plain call would open the step with no item to route it."""
    main = process([user("Receive"), mi_call("Call_Consult", "Sub_Consult", mi()),
                    node("callActivity", "Call_Again", 'calledElement="Sub_Consult"'), user("Sign")],
                   process_id="Main", lanes=lane_set(MAIN_LANES))
    sub = called("Sub_Consult", [user("Consult", inner=props(formKey="MI-YKIEN"))], {"LD": (CONSULT, ["Consult"])})
    assert upload(api, definitions(main, sub), "9.800014").status_code == 201
    p = publish(api, "9.800014")
    assert p.status_code == 422
    [problem] = p.get_json()["error"]["problems"]
    assert problem["element_id"] == "Consult" and "{item}" in problem["message"]
