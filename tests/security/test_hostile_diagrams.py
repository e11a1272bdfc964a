"""A hostile-diagram corpus, uploaded, published and run over HTTP as an attacker with a designer's
account would: code that tries to leave the sandbox, work without end, state bombs, timer spins and
XML attacks. Each is refused where it enters (upload, with the element and its line; else publish's
dry run), and what only a dossier's data can reach becomes that dossier's incident, with its stored
state small, never a spin, a 500 or a stuck worker."""
from __future__ import annotations

import io
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from orchestrator.engine import runner
from orchestrator.extensions import db
from orchestrator.models import Dossier, DossierState

from ..flows import complete, publish, start, upload

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
LANES = ('<bpmn:laneSet id="LS"><bpmn:lane id="Lane_R" name="commune/reception"><bpmn:flowNodeRef>Receive'
         '</bpmn:flowNodeRef></bpmn:lane><bpmn:lane id="Lane_S" name="commune/specialist"><bpmn:flowNodeRef>Review'
         '</bpmn:flowNodeRef></bpmn:lane><bpmn:lane id="Lane_L" name="commune/leader"><bpmn:flowNodeRef>Sign'
         '</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>')


def diagram(script: str = "checked = True", condition: str = "note == 'bomb'", timer: str = "",
            timer_kind: str = "timeCycle", loop: bool = False) -> bytes:
    """Receive -> Review -> gateway: when `condition` holds (a value only a dossier's officer types,
    never the dry run's sample), the hostile script runs (`loop`: again and again); otherwise
    straight to Sign. `timer`: a non-interrupting boundary timer on Sign."""
    boundary = ""
    if timer:
        boundary = (f'<bpmn:boundaryEvent id="Remind" attachedToRef="Sign" cancelActivity="false">'
                    f'<bpmn:outgoing>fr</bpmn:outgoing><bpmn:timerEventDefinition id="TD">'
                    f'<bpmn:{timer_kind} xsi:type="bpmn:tFormalExpression">{escape(timer)}</bpmn:{timer_kind}>'
                    f'</bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                    '<bpmn:endEvent id="End_R"><bpmn:incoming>fr</bpmn:incoming></bpmn:endEvent>'
                    '<bpmn:sequenceFlow id="fr" sourceRef="Remind" targetRef="End_R"/>')
    after_script = "Gate" if loop else "Sign"
    xml = f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="t">
<bpmn:process id="P" isExecutable="true">{LANES}
<bpmn:startEvent id="Start_1"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="Receive" name="Tiếp nhận"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
<bpmn:userTask id="Review" name="Thẩm định"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:exclusiveGateway id="Gate" default="f_ok"><bpmn:incoming>f2</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f_bad</bpmn:outgoing><bpmn:outgoing>f_ok</bpmn:outgoing></bpmn:exclusiveGateway>
<bpmn:scriptTask id="Hostile" name="Kịch bản"><bpmn:incoming>f_bad</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
<bpmn:userTask id="Sign" name="Ký duyệt"><bpmn:incoming>f_ok</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
{boundary}
<bpmn:endEvent id="End_1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f0" sourceRef="Start_1" targetRef="Receive"/>
<bpmn:sequenceFlow id="f1" sourceRef="Receive" targetRef="Review"/>
<bpmn:sequenceFlow id="f2" sourceRef="Review" targetRef="Gate"/>
<bpmn:sequenceFlow id="f_bad" sourceRef="Gate" targetRef="Hostile"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_ok" sourceRef="Gate" targetRef="Sign"/>
<bpmn:sequenceFlow id="f4" sourceRef="Hostile" targetRef="{after_script}"/>
<bpmn:sequenceFlow id="f3" sourceRef="Sign" targetRef="End_1"/>
</bpmn:process></bpmn:definitions>'''
    if not loop:  # the script leads on to Sign; the gateway's second incoming flow is then unused
        xml = xml.replace('<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f_bad', '<bpmn:outgoing>f_bad')
        xml = xml.replace('<bpmn:incoming>f5</bpmn:incoming>', '<bpmn:incoming>f4</bpmn:incoming>')
    else:
        xml = xml.replace('<bpmn:incoming>f5</bpmn:incoming>', '')
    return xml.encode("utf-8")


def problems(response) -> list[dict]:
    return response.get_json()["error"]["problems"]


# -- refused at upload, at the element and its line -------------------------------------------

ESCAPES = {
    "import": "import os",
    "dunder walk": "x = ().__class__.__bases__[0].__subclasses__()",
    "open a file": "x = open('/etc/passwd').read()",
    "format reaching attributes": "x = '{0.__class__.__init__.__globals__}'.format(note)",
    "format_map": "x = note.format_map({})",
    "eval": "x = eval('1 + 1')",
    "getattr": "x = getattr(note, 'upper')",
    "__import__": "x = __import__('os').system('id')",
    "type()": "x = type(note)",
    "lambda": "f = lambda: 1",
    "function definition": "def f():\n    return 1",
    "class definition": "class A:\n    pass",
    "globals": "x = globals()",
    "while loop": "while True:\n    pass",
}


@pytest.mark.parametrize("script", ESCAPES.values(), ids=ESCAPES.keys())
def test_code_that_tries_to_leave_the_sandbox_is_refused_at_upload(api, script):
    r = upload(api, diagram(script=script), "9.800001")
    assert r.status_code == 422, r.get_json()
    found = [p for p in problems(r) if p["element_id"] == "Hostile"]
    assert found and all(p["line"] for p in found), problems(r)


def test_a_condition_that_walks_dunders_is_refused_at_upload(api):
    r = upload(api, diagram(condition="note.__class__.__mro__ is not None"), "9.800002")
    assert r.status_code == 422
    assert any(p["element_id"] == "f_bad" for p in problems(r))


SPINS = {"zero interval, for ever": "R/PT0S", "zero interval, counted": "R5/PT0S",
         "every 30 seconds": "R10/PT30S", "every hour, for ever": "R/PT1H", "a million times": "R1000000/PT1H"}


@pytest.mark.parametrize("cycle", SPINS.values(), ids=SPINS.keys())
def test_a_timer_cycle_that_would_spin_is_refused_at_upload_with_its_line(api, cycle):
    r = upload(api, diagram(timer=cycle), "9.800003")
    assert r.status_code == 422, r.get_json()
    [problem] = problems(r)
    assert problem["element_id"] == "Remind" and problem["line"] and cycle in problem["message"]


def test_a_bounded_cycle_of_an_hour_is_accepted(api):
    r = upload(api, diagram(timer="R3/PT1H"), "9.800004")
    assert r.status_code == 201, r.get_json()
    assert publish(api, "9.800004").status_code == 200


@pytest.mark.parametrize("xml", [
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]><d>&x;</d>',
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><d>&d;</d>',
    b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd"><d/>',
], ids=["xxe file", "xxe network", "billion laughs", "external dtd"])
def test_xml_attacks_are_refused_at_upload(api, xml):
    r = upload(api, xml, "9.800005")
    assert r.status_code in (400, 422), r.get_json()
    assert "passwd" not in r.get_data(as_text=True) and "root:" not in r.get_data(as_text=True)


# -- refused at publish by the dry run ---------------------------------------------------------

RUNAWAY = {
    "huge power": "x = 10 ** 10 ** 10",
    "huge range": "x = [y for y in range(10 ** 9)]",
    "huge format width": "x = f'{note:>99999999}'",
    "state bomb": "s = 'a' * 100000\nnote = [s] * 100000",
    "nested state bomb": "s = 'a' * 100000\nrow = [s] * 9\nnote = [row] * 100000",
    "appended state bomb": "s = 'a' * 100000\nnote = []\nfor i in range(100000):\n    note.append(s)",
    "budget": "t = 0\nfor i in range(100000):\n    for j in range(100000):\n        t = t + 1",
}


@pytest.mark.parametrize("script", RUNAWAY.values(), ids=RUNAWAY.keys())
def test_runaway_scripts_on_the_dry_runs_path_are_refused_at_publish(api, script):
    """On the path the dry run takes, the script fails in the sandbox: publish names it."""
    assert upload(api, diagram(script=script, condition="True"), "9.800006").status_code == 201
    r = publish(api, "9.800006")
    assert r.status_code == 422, r.get_json()
    assert any(p["element_id"] == "Hostile" for p in problems(r)), problems(r)


def test_a_loop_of_scripts_without_end_is_refused_at_publish(api):
    assert upload(api, diagram(script="ticks = 1", condition="True", loop=True), "9.800007").status_code == 201
    r = publish(api, "9.800007")
    assert r.status_code == 422
    assert any("500 bước" in p["message"] for p in problems(r)), problems(r)


def test_a_computed_cycle_that_would_spin_is_refused_at_publish(api):
    r = upload(api, diagram(timer="'R/PT0S'"), "9.800008")
    assert r.status_code == 201, r.get_json()  # an expression: known only when it runs
    r = publish(api, "9.800008")
    assert r.status_code == 422 and any(p["element_id"] == "Remind" for p in problems(r)), r.get_json()


# -- forced into a dossier: an incident, a small state, no spin --------------------------------

def _stored_state(app, code: str) -> int:
    with app.app_context():
        dossier = db.session.scalar(select(Dossier).where(Dossier.code == code))
        return len(db.session.get(DossierState, dossier.id).state)


def _to_review(api, code: str) -> tuple[dict, dict]:
    r = upload(api, diagram(**FORCED[code]), code)
    assert r.status_code == 201, r.get_json()
    assert publish(api, code).status_code == 200, "the dry run's path never reaches the hostile part"
    body = start(api, code)
    [review] = body["current_tasks"]
    return body, review


FORCED = {
    "9.800010": {"script": "s = 'a' * 100000\nnote = [s] * 100000"},
    "9.800011": {"script": "ticks = 1", "condition": "note == 'bomb'", "loop": True},
    "9.800012": {"timer": "'R/PT0S' if note == 'bomb' else 'R2/PT1H'"},
}


def test_a_state_bomb_forced_into_a_dossier_is_an_incident_with_a_small_state(app, api):
    body, review = _to_review(api, "9.800010")
    before = _stored_state(app, body["code"])
    after = complete(api, review, "specialist.00070", {"note": "bomb"})
    assert after["incident"] is True and "Hostile" in after["incident_message"]
    assert "1,000,000" in after["incident_message"]
    assert _stored_state(app, body["code"]) < before + 20_000, "the bomb was not stored"
    assert api.get(f"/dossiers/{body['code']}", "specialist.00070").status_code == 200


def test_a_loop_forced_into_a_dossier_is_an_incident_not_a_spin(app, api):
    body, review = _to_review(api, "9.800011")
    after = complete(api, review, "specialist.00070", {"note": "bomb"})
    assert after["incident"] is True and "500 bước" in after["incident_message"], after["incident_message"]
    assert _stored_state(app, body["code"]) < 100_000


def test_a_heavy_loop_runs_out_of_time_not_of_patience(app, api, monkeypatch):
    """Each script uses most of its own budget: the call's CPU budget stops the loop first."""
    FORCED["9.800013"] = {"script": "t = 0\nfor i in range(5000):\n    t = t + i", "condition": "note == 'bomb'",
                          "loop": True}
    body, review = _to_review(api, "9.800013")
    monkeypatch.setattr(runner, "MAX_ENGINE_SECONDS", 0.5)
    after = complete(api, review, "specialist.00070", {"note": "bomb"})
    assert after["incident"] is True and "giây" in after["incident_message"], after["incident_message"]


def test_a_computed_spinning_cycle_forced_into_a_dossier_is_an_incident_and_no_timer_job(app, api):
    from orchestrator.models import Job

    body, review = _to_review(api, "9.800012")
    after = complete(api, review, "specialist.00070", {"note": "bomb"})
    assert after["incident"] is True and "Remind" in after["incident_message"]
    with app.app_context():
        dossier = db.session.scalar(select(Dossier).where(Dossier.code == body["code"]))
        timers = db.session.scalars(select(Job).where(Job.dossier_id == dossier.id, Job.kind == "timer",
                                                      Job.state != "done")).all()
        assert timers == [], "a spinning timer would be taken again by the worker at once"


def test_a_step_past_the_state_cap_is_refused_and_nothing_is_written(app, api, monkeypatch):
    body, review = _to_review(api, "9.800010")
    before = api.get(f"/dossiers/{body['code']}", "specialist.00070").get_json()
    monkeypatch.setattr(runner, "MAX_STATE_BYTES", 4_000)
    r = api.post(f"/tasks/{review['id']}/complete", "specialist.00070", json={"data": {"note": "x" * 1_500}})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "state_too_large", r.get_json()
    monkeypatch.setattr(runner, "MAX_STATE_BYTES", 8_000_000)
    now = api.get(f"/dossiers/{body['code']}", "specialist.00070").get_json()
    assert [t["id"] for t in now["current_tasks"]] == [review["id"]] and now["history"] == before["history"]
    assert now["data"] == before["data"] and not now["incident"]
