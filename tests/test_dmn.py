"""Business rule tasks with DMN decision tables, end to end over HTTP on both databases: a diagram
uploaded with its .dmn files, published (the dry run goes through the table) and run to a finished
dossier whose path a table's output chooses; a task calling a decision nobody uploaded refused at
its element and line; a cell the sandbox refuses named by rule and column; no rule matched: an
incident naming the task and the decision; the back office shows the table as a grid and edits a
draft's rules; a fee computed by a table. The public table is SpiffWorkflow's own test data
(tests/external/spiffworkflow/, LGPL-3.0, LICENSE beside it)."""
from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

from orchestrator.extensions import db
from orchestrator.models import Dossier, DossierState

from .admin_client import BackOffice
from .flows import complete, definitions, lane_set, publish

EXTERNAL = Path(__file__).parent / "external" / "spiffworkflow"
RECEPTION, SPECIALIST, LEADER = "reception.00070", "specialist.00070", "leader.00070"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table(rules: str, hit_policy: str = "FIRST", decision: str = "uu_tien", defaults: str = "") -> bytes:
    """A decision table as Camunda Modeler writes it: inputs age and kind, outputs track and fee."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{DMN13}" id="Defs_{decision}" name="DRD" '
            f'namespace="http://camunda.org/schema/1.0/dmn">\n'
            f'<decision id="{decision}" name="Ưu tiên xử lý">\n<decisionTable id="Table_{decision}" hitPolicy="{hit_policy}">\n'
            '<input id="In_age" label="Tuổi"><inputExpression id="E_age" typeRef="integer"><text>age</text>'
            '</inputExpression></input>\n'
            '<input id="In_kind" label="Đối tượng"><inputExpression id="E_kind" typeRef="string"><text>kind</text>'
            '</inputExpression></input>\n'
            f'<output id="Out_track" label="Luồng" name="track" typeRef="string">{defaults}</output>\n'
            '<output id="Out_fee" label="Lệ phí" name="fee" typeRef="integer"/>\n'
            f'{rules}</decisionTable>\n</decision>\n</definitions>\n').encode("utf-8")


def rule(rule_id: str, age: str, kind: str, track: str, fee: str, note: str = "") -> str:
    described = f"<description>{note}</description>" if note else ""
    return (f'<rule id="{rule_id}">{described}<inputEntry id="{rule_id}_a"><text>{age}</text></inputEntry>'
            f'<inputEntry id="{rule_id}_k"><text>{kind}</text></inputEntry>'
            f'<outputEntry id="{rule_id}_t"><text>{track}</text></outputEntry>'
            f'<outputEntry id="{rule_id}_f"><text>{fee}</text></outputEntry></rule>\n')


RULES = (rule("R_minor", "[0..18[", "-", '"minor"', "0", "Trẻ em: miễn phí")
         + rule("R_merit", "[60..150]", '"veteran","disabled"', '"senior"', "0", "Người có công, khuyết tật")
         + rule("R_senior", ">= 60", "", '"senior"', "50000")
         + rule("R_adult", "[18..60[", "-", '"adult"', "100000"))


def diagram(decision: str = "uu_tien") -> bytes:
    """Camunda style: Receive -> Decide (the table) -> gateway: track == "senior" -> LeaderReview,
    else Review -> Merge -> Handover."""
    lanes = lane_set({"R": ("commune/reception", ["Receive", "Handover"]), "S": ("commune/specialist", ["Review"]),
                      "L": ("commune/leader", ["LeaderReview"])})
    body = ('<bpmn:startEvent id="Begin"/>'
            '<bpmn:userTask id="Receive" name="Tiếp nhận"/>'
            f'<bpmn:businessRuleTask id="Decide" name="Xác định ưu tiên" camunda:decisionRef="{decision}"/>'
            '<bpmn:exclusiveGateway id="Route" default="to_review"/>'
            '<bpmn:userTask id="Review" name="Thẩm định"/>'
            '<bpmn:userTask id="LeaderReview" name="Lãnh đạo xem xét"/>'
            '<bpmn:exclusiveGateway id="Merge"/>'
            '<bpmn:userTask id="Handover" name="Trả kết quả"/>'
            '<bpmn:endEvent id="Finish"/>')
    flows = [("Begin", "Receive"), ("Receive", "Decide"), ("Decide", "Route"), ("Review", "Merge"),
             ("LeaderReview", "Merge"), ("Merge", "Handover"), ("Handover", "Finish")]
    edges = "".join(f'<bpmn:sequenceFlow id="{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b in flows)
    edges += ('<bpmn:sequenceFlow id="to_review" sourceRef="Route" targetRef="Review"/>'
              '<bpmn:sequenceFlow id="to_leader" sourceRef="Route" targetRef="LeaderReview">'
              '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">track == "senior"</bpmn:conditionExpression>'
              '</bpmn:sequenceFlow>')
    return definitions(f'<bpmn:process id="P" isExecutable="true">{lanes}{body}{edges}</bpmn:process>', camunda=True)


def upload(api, xml: bytes, code: str, dmn: list[tuple[bytes, str]], **fields):
    form = {"code": code, "name": f"Thủ tục {code}", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(xml), f"{code}.bpmn"),
            "dmn": [(io.BytesIO(data), name) for data, name in dmn], **fields}
    return api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")


def start(api, code: str, data: dict) -> dict:
    r = api.post("/dossiers", RECEPTION, json={"procedure_code": code, "province_code": "01", "commune_code": "00070",
                                               "channel": 1, "applicant": {"full_name": "Nguyễn Văn A"}, "data": data})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def steps(body: dict) -> list[str]:
    return sorted(t["step_id"] for t in body["current_tasks"])


def task(body: dict, step_id: str) -> dict:
    return next(t for t in body["current_tasks"] if t["step_id"] == step_id)


def test_a_table_routes_the_dossier_to_the_end(app, api):
    r = upload(api, diagram(), "9.170001", [(table(RULES), "uu_tien.dmn")])
    assert r.status_code == 201, r.get_json()
    assert api.get("/procedures/9.170001/versions/1", "designer.01").get_json()["decisions"] == ["uu_tien"]
    grid = api.get("/procedures/9.170001/versions/1/decisions/uu_tien", "designer.01").get_json()
    assert grid["hit_policy"] == "FIRST" and grid["used_by"] == ["Decide"] and "<decision" in grid["xml"]
    assert [r["inputs"] for r in grid["rules"]][1] == ["[60..150]", '"veteran","disabled"']
    assert api.get("/procedures/9.170001/versions/1/decisions/nope", "designer.01").status_code == 404
    p = publish(api, "9.170001")
    assert p.status_code == 200, p.get_json()  # the dry run went through the table
    senior = start(api, "9.170001", {"age": 70, "kind": "veteran"})  # rule 2: a list of values and a range
    assert steps(senior) == ["LeaderReview"], senior
    body = complete(api, task(senior, "LeaderReview"), LEADER)
    body = complete(api, task(body, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert body["status"] == 10 and body["finished_at"] and body["current_tasks"] == []
    adult = start(api, "9.170001", {"age": 30, "kind": "other"})  # rule 4, after `>= 60` failed
    assert steps(adult) == ["Review"]
    body = complete(api, task(adult, "Review"), SPECIALIST)
    body = complete(api, task(body, "Handover"), RECEPTION, {"delivery_method": "in_person"})
    assert body["status"] == 10 and body["finished_at"]


def test_a_published_version_keeps_its_table_and_a_new_draft_carries_it(app, api, client):
    assert upload(api, diagram(), "9.170002", [(table(RULES), "uu_tien.dmn")]).status_code == 201
    assert publish(api, "9.170002").status_code == 200
    office = BackOffice(client)
    office.login("designer.01")
    r = office.post("/procedures/9.170002/v/1/decisions/uu_tien", {"count": "0"}, follow=True)
    assert "không thể sửa" in office.text(r)  # published: immutable, every rule still there
    page = office.text(office.get("/procedures/9.170002/v/1"))
    assert "Sửa bảng" not in page and all(f'id="rule-{r}"' in page for r in ("R_minor", "R_merit", "R_adult"))
    r = office.post("/procedures/9.170002/v/1/copy", follow=True)
    assert r.status_code == 200
    v2 = api.get("/procedures/9.170002/versions/2", "designer.01").get_json()
    assert v2["state"] == "draft" and v2["decisions"] == ["uu_tien"]


def test_a_task_calling_a_decision_not_uploaded_is_refused_at_its_line(app, api):
    r = upload(api, diagram("khong_co"), "9.170003", [(table(RULES), "uu_tien.dmn")])
    assert r.status_code == 422, r.get_json()
    [problem] = [p for p in r.get_json()["error"]["problems"] if p["element_id"] == "Decide"]
    assert "khong_co" in problem["message"] and "uu_tien" in problem["message"] and problem["line"] == 2
    r = upload(api, diagram(), "9.170003", [])
    assert r.status_code == 422 and "uu_tien" in r.get_json()["error"]["problems"][0]["message"]


def test_an_unsafe_cell_is_refused_naming_its_rule_and_column(app, api):
    bad = RULES + rule("R_evil", "-", '__import__("os").system("id")', '"x"', "0")
    r = upload(api, diagram(), "9.170004", [(table(bad), "uu_tien.dmn")])
    assert r.status_code == 422, r.get_json()
    problems = r.get_json()["error"]["problems"]
    assert {p["element_id"] for p in problems} == {"R_evil"} and all(p["line"] == 13 for p in problems)
    assert all("quy tắc 5" in p["message"] and "Đối tượng" in p["message"] for p in problems)
    assert any("__import__" in p["message"] for p in problems)
    output = RULES.replace('"adult"', "().__class__")
    r = upload(api, diagram(), "9.170004", [(table(output), "uu_tien.dmn")])
    assert r.status_code == 422 and r.get_json()["error"]["problems"][0]["element_id"] == "R_adult"
    for hostile in (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><definitions xmlns="' + DMN13.encode()
                    + b'">&e;</definitions>', b"not xml", table(RULES, hit_policy="PRIORITY")):
        r = upload(api, diagram(), "9.170004", [(hostile, "x.dmn")])
        assert r.status_code in (400, 422), r.get_json()
        assert "x.dmn" in r.get_json()["error"]["message"] + str(r.get_json()["error"].get("problems"))
    too_many = [(table(RULES, decision=f"d{i}"), f"d{i}.dmn") for i in range(21)]
    assert upload(api, diagram(), "9.170004", too_many).status_code == 413


def test_no_rule_matched_is_an_incident_naming_the_task_and_the_decision(app, api):
    assert upload(api, diagram(), "9.170005", [(table(RULES), "uu_tien.dmn")]).status_code == 201
    assert publish(api, "9.170005").status_code == 200
    body = start(api, "9.170005", {"age": -3, "kind": "other"})
    assert body["incident"], body
    assert "Decide" in body["incident_message"] and "uu_tien" in body["incident_message"]
    assert [h["step_id"] for h in body["history"] if h["action"] == "incident"] == ["Decide"]
    r = api.post(f"/dossiers/{body['code']}/actions/retry", "admin.01", json={"data": {"age": 30}})
    assert r.status_code == 200 and r.get_json()["incident"] is False, r.get_json()  # the table runs again
    assert steps(r.get_json()) == ["Review"]
    # with a default output the same data goes on: the table's default, then the gateway's default flow
    defaults = '<defaultOutputEntry id="Def_track"><text>"adult"</text></defaultOutputEntry>'
    assert upload(api, diagram(), "9.170006", [(table(RULES, defaults=defaults), "uu_tien.dmn")]).status_code == 201
    assert publish(api, "9.170006").status_code == 200
    assert steps(start(api, "9.170006", {"age": -3, "kind": "other"})) == ["Review"]


def test_hit_policy_collect_gathers_every_matching_rule(app, api):
    collect = table(RULES.replace('"senior"', '"leader"'), hit_policy="COLLECT")
    xml = diagram().replace(b'track == "senior"', b'"leader" in track')
    assert upload(api, xml, "9.170007", [(collect, "uu_tien.dmn")]).status_code == 201
    assert publish(api, "9.170007").status_code == 200
    body = start(api, "9.170007", {"age": 70, "kind": "veteran"})  # rules 2 and 3
    assert steps(body) == ["LeaderReview"]


def test_the_back_office_shows_the_grid_and_edits_a_drafts_rules(app, api, client):
    office = BackOffice(client)
    office.login("designer.01")
    r = office.post("/procedures/upload", {"code": "9.170008", "name": "Thủ tục 9.170008", "scope": "01",
                                           "deadline_days": "5", "deadline_kind": "working",
                                           "file": (io.BytesIO(diagram()), "d.bpmn"),
                                           "dmn": [(io.BytesIO(table(RULES)), "uu_tien.dmn")]},
                    content_type="multipart/form-data")
    assert r.status_code == 302, office.text(r)
    r = office.post("/procedures/upload", {"code": "9.170012", "name": "Thủ tục 9.170012", "scope": "01",
                                           "deadline_days": "5", "deadline_kind": "working",
                                           "file": (io.BytesIO(diagram("khac")), "d.bpmn"),
                                           "dmn": [(io.BytesIO(table(RULES)), "uu_tien.dmn")]},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "khac" in office.text(r) and "Decide" in office.text(r)
    page = office.text(office.get("/procedures/9.170008/v/1"))
    assert "Bảng quyết định" in page and "Ưu tiên xử lý" in page and "Trẻ em: miễn phí" in page
    assert "[60..150]" in page and "Tuổi" in page and "Luồng" in page and "FIRST" in page
    edit = office.get("/procedures/9.170008/v/1/decisions/uu_tien")
    assert edit.status_code == 200
    form = office.text(edit)
    values = dict(re.findall(r'name="((?:id|in|out|note)_[^"]+)"[^>]*value="([^"]*)"', form))
    assert html.unescape(values["in_1_1"]) == "[0..18[" and values["out_4_2"] == "100000"
    values = {k: html.unescape(v) for k, v in values.items()}
    # a refused cell: the page names it, nothing stored
    bad = {**values, "count": "4", "in_2_2": 'open("/etc/passwd")'}
    r = office.post("/procedures/9.170008/v/1/decisions/uu_tien", bad)
    assert r.status_code == 400
    text = office.text(r)
    assert "Quy tắc 2" in text and "Đối tượng" in text and "open" in text
    # edit a cell, remove rule 1, add a rule
    good = {**values, "count": "4", "out_4_2": "120000", "remove_1": "1",
            "in_5_1": "> 150", "in_5_2": "", "out_5_1": '"senior"', "out_5_2": "0", "note_5": "Quá tuổi"}
    r = office.post("/procedures/9.170008/v/1/decisions/uu_tien", good)
    assert r.status_code == 303, office.text(r)
    page = office.text(office.get("/procedures/9.170008/v/1"))
    assert "120000" in page and "Quá tuổi" in page and "Trẻ em: miễn phí" not in page
    assert publish(api, "9.170008").status_code == 200
    assert office.post("/procedures/9.170008/v/1/copy").status_code == 303
    r = office.post("/procedures/9.170008/v/2/decisions/uu_tien", {**good, "remove_5": "1"})
    assert r.status_code == 303, office.text(r)
    diff = office.text(office.get("/procedures/9.170008/v/2/compare"))
    assert "Bảng quyết định uu_tien: 4 quy tắc → 3 quy tắc" in diff
    body = start(api, "9.170008", {"age": 30, "kind": "x"})
    assert steps(body) == ["Review"]
    # another province's designer may not edit it
    other = BackOffice(app.test_client())
    other.login("designer.19")
    assert other.post("/procedures/9.170008/v/1/decisions/uu_tien", good).status_code in (403, 404)


def test_a_fee_computed_by_a_decision_table(app, api, client):
    fee = '{"kind": "decision", "decision": "uu_tien", "output": "fee"}'
    r = upload(api, diagram(), "9.170009", [(table(RULES), "uu_tien.dmn")], fee=fee)
    assert r.status_code == 201, r.get_json()
    assert publish(api, "9.170009").status_code == 200
    body = start(api, "9.170009", {"age": 30, "kind": "other"})
    r = api.post(f"/dossiers/{body['code']}/actions/request-payment", SPECIALIST, json={})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == 6 and r.get_json()["paused"][-1]["amount"] == 100000
    office = BackOffice(client)  # the back office sets the same rule on a draft
    office.login("designer.01")
    assert office.post("/procedures/9.170009/v/1/copy").status_code == 303
    r = office.post("/procedures/9.170009/v/2/meta", {"deadline_days": "5", "deadline_kind": "working",
                                                      "fee_kind": "fixed", "fee_amount": "1"})
    assert r.status_code == 303
    page = office.text(office.get("/procedures/9.170009/v/2"))
    assert "theo bảng quyết định (DMN)" in page and 'name="fee_decision"' in page
    r = office.post("/procedures/9.170009/v/2/meta", {"deadline_days": "5", "deadline_kind": "working",
                                                      "fee_kind": "decision", "fee_decision": "uu_tien",
                                                      "fee_output": "fee"})
    assert r.status_code == 303
    v2 = api.get("/procedures/9.170009/versions/2", "designer.01").get_json()
    assert v2["fee_rule"] == {"kind": "decision", "decision": "uu_tien", "output": "fee"}
    wrong = upload(api, diagram(), "9.170010", [(table(RULES), "uu_tien.dmn")],
                   fee='{"kind": "decision", "decision": "nope"}')
    assert wrong.status_code == 400 and "fee.decision" in wrong.get_json()["error"]["fields"]


def test_spiffworkflows_own_table_runs(app, api, api_key):
    """SpiffWorkflow's business_rule_task.bpmn (Spiff style, `calledDecisionId`) with its
    business_rules.dmn: a script sets the question, the table answers."""
    xml = (EXTERNAL / "business_rule_task.bpmn").read_bytes()
    dmn = (EXTERNAL / "business_rules.dmn").read_bytes()
    r = upload(api, xml, "9.170011", [(dmn, "business_rules.dmn")])
    assert r.status_code == 201, r.get_json()
    assert publish(api, "9.170011").status_code == 200
    key = api_key()
    d = api.post("/dossiers", key, json={"procedure_code": "9.170011", "province_code": "01", "commune_code": "00070",
                                         "channel": 2, "applicant": {"full_name": "Nguyễn Văn A"}, "data": {}})
    assert d.status_code == 201, d.get_json()
    assert d.get_json()["finished_at"] and d.get_json()["status"] == 10, d.get_json()
    with app.app_context():  # the table's output is in the workflow's data, as the script's is
        state = db.session.query(DossierState.state).join(Dossier, Dossier.id == DossierState.dossier_id).filter(
            Dossier.code == d.get_json()["code"]).scalar()
    assert json.loads(state)["data"] | {"question": "X", "answer": "Y"} == json.loads(state)["data"]


def test_publish_dry_run_goes_through_the_table_in_the_sandbox(app, api):
    """A cell that passes the static check but that the sandbox stops at run time (a string of a
    billion characters): publish's dry run runs the table and refuses, naming the task, the
    decision, the rule and the column."""
    heavy = RULES.replace('"minor"', '"x" * 10**9')
    r = upload(api, diagram(), "9.170013", [(table(heavy), "uu_tien.dmn")])
    assert r.status_code == 201, r.get_json()
    p = publish(api, "9.170013")
    assert p.status_code == 422, p.get_json()
    [problem] = p.get_json()["error"]["problems"]
    assert problem["element_id"] == "Decide"
    assert "uu_tien" in problem["message"] and "quy tắc 1" in problem["message"] and "track" in problem["message"]


def test_a_library_procedure_with_a_table_runs_its_table_when_another_procedure_calls_it(app, api):
    from .flows import node, process, props, upload_and_publish, user

    r = upload(api, diagram(), "9.170050", [(table(RULES), "uu_tien.dmn")])
    assert r.status_code == 201, r.get_json()
    assert publish(api, "9.170050").status_code == 200
    caller = definitions(process(
        [user("Intake", inner=props(milestone="reception")),
         node("callActivity", "Call_Priority", 'calledElement="procedure:9.170050" camunda:calledElementBinding="latest"', name="Xét ưu tiên"),
         user("Sign", inner=props(milestone="decision"))],
        process_id="Caller", lanes=lane_set({"R": ("commune/reception", ["Intake"]), "L": ("commune/leader", ["Sign"])})),
        camunda=True)  # a call joins diagrams of one style
    upload_and_publish(api, caller, "9.170051")  # the dry run goes through the called procedure's table
    body = start(api, "9.170051", {"age": 70, "kind": "veteran"})  # received at the desk: Intake done
    assert steps(body) == ["Receive"], body
    body = complete(api, task(body, "Receive"), RECEPTION)
    assert steps(body) == ["LeaderReview"], "the called procedure's own table chose its path"
    body = complete(api, task(body, "LeaderReview"), LEADER)
    body = complete(api, task(body, "Handover"), RECEPTION)  # a called step: no milestone of the caller
    assert steps(body) == ["Sign"] and not body["incident"]
