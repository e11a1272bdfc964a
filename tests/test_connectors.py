"""Service tasks through connectors (issue 17): an administrator registers the population
database's citizen-ID lookup, a diagram's service task calls it through the job queue, and the
dossier routes on the answer. Real HTTP on 127.0.0.1 (tests/population_server.py), both databases."""
from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select, update

from orchestrator.extensions import db
from orchestrator.models import Connector, Job
from orchestrator.models.jobs import DEAD, QUEUED
from orchestrator.models.types import utcnow
from orchestrator.services import checks
from orchestrator.worker import Worker

from .admin_client import BackOffice
from .conftest import ROOT, _config
from .diagrams import HEADER
from .population_server import PopulationServer

CITIZEN = "001203004567"
SECRET = "khoa-bi-mat-9f3a7c21e5"
FORM = ('<bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formKey" value="KS-KY"/>'
        '</spiffworkflow:properties></bpmn:extensionElements>')


def lookup_diagram(connector: str = "citizen_lookup", parameter: str = "citizen_id", camunda: bool = False) -> bytes:
    """Look the applicant up, then: found -> the leader signs; not found -> a specialist checks."""
    if camunda:
        task = (f'<bpmn:serviceTask id="Task_Lookup" name="Tra cứu dân cư" camunda:type="external" '
                f'camunda:topic="{connector}"><bpmn:extensionElements><camunda:inputOutput>'
                f'<camunda:inputParameter name="{parameter}">${{citizen_id}}</camunda:inputParameter>'
                '</camunda:inputOutput></bpmn:extensionElements>')
        found = "full_name != None"
        header = HEADER.replace('id="Defs"', 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs"')
    else:
        task = ('<bpmn:serviceTask id="Task_Lookup" name="Tra cứu dân cư"><bpmn:extensionElements>'
                f'<spiffworkflow:serviceTaskOperator id="{connector}" resultVariable="person">'
                f'<spiffworkflow:parameters><spiffworkflow:parameter id="{parameter}" type="str" value="citizen_id"/>'
                '</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>')
        found = 'person["full_name"] != None'
        header = HEADER
    return (header + f'''  <bpmn:process id="Process_Lookup" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_S" name="commune/specialist"><bpmn:flowNodeRef>Task_Check</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="Lane_L" name="commune/leader"><bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {task}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:exclusiveGateway id="Gateway_Found" default="f_missing"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_found</bpmn:outgoing><bpmn:outgoing>f_missing</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Task_Sign" name="Ký">{FORM}<bpmn:incoming>f_found</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Task_Check" name="Xác minh nhân thân">{FORM}<bpmn:incoming>f_missing</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="End_Signed"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_Checked"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Task_Lookup"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_Lookup" targetRef="Gateway_Found"/>
    <bpmn:sequenceFlow id="f_found" sourceRef="Gateway_Found" targetRef="Task_Sign">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{found.replace('"', '&quot;')}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_missing" sourceRef="Gateway_Found" targetRef="Task_Check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Task_Sign" targetRef="End_Signed"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Task_Check" targetRef="End_Checked"/>
  </bpmn:process>
</bpmn:definitions>
''').encode("utf-8")


# -- helpers -------------------------------------------------------------------------------------

@pytest.fixture
def population():
    server = PopulationServer()
    yield server
    server.close()


def seeded_connector(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Connector.id).where(Connector.name == "citizen_lookup",
                                                            Connector.scope == "VN"))


def configure(api, app, server: PopulationServer, **extra) -> dict:
    """The seeded national connector, pointed at the test server, with a secret header."""
    body = {"url_template": server.url_template, "method": "GET", "inputs": ["citizen_id"],
            "outputs": {"full_name": "/data/hoTen", "date_of_birth": "data.ngaySinh",
                        "permanent_address": "/data/noiThuongTru"},
            "headers": {"X-Client": "orchestrator"}, "secret_headers": {"X-Api-Key": SECRET},
            "timeout_seconds": 2, "max_attempts": 3, "allow_private": True, "active": True, **extra}
    r = api.put(f"/admin/connectors/{seeded_connector(app)}", "admin.VN", json=body)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def publish(api, code: str, xml: bytes) -> None:
    form = {"code": code, "name": "Tra cứu dân cư", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
            "file": (io.BytesIO(xml), "lookup.bpmn")}
    r = api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    r = api.post(f"/procedures/{code}/versions/1/publish", "designer.01")
    assert r.status_code == 200, r.get_json()


def start(api, key: str, code: str, citizen: str = CITIZEN) -> dict:
    r = api.post("/dossiers", key, json={"procedure_code": code, "province_code": "01", "commune_code": "00070",
                                         "applicant": {"full_name": "Nguyễn Văn An"},
                                         "data": {"citizen_id": citizen}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def work(app, rounds: int = 10) -> None:
    """Run the queue until nothing is due; backoffs are made due at once (no sleeping in tests)."""
    worker = Worker(app, name="w-test")
    for _ in range(rounds):
        worker.run_until_idle()
        with app.app_context():
            due = db.session.execute(update(Job).where(Job.state == QUEUED, Job.kind == "connector_call")
                                     .values(run_at=utcnow())).rowcount
            db.session.commit()
        if not due:
            return


def dossier(api, code: str) -> dict:
    r = api.get(f"/dossiers/{code}", "leader.00070")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def calls(body: dict) -> list[dict]:
    return [h for h in body["history"] if h["action"] == "connector_call"]


def finish(api, body: dict, step: str) -> dict:
    [task] = body["current_tasks"]
    assert task["step_id"] == step
    who = "leader.00070" if step == "Task_Sign" else "specialist.00070"
    r = api.post(f"/tasks/{task['id']}/complete", who, json={"data": {"decision": "approve"}})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


# -- tests -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("camunda", [False, True], ids=["spiff", "camunda"])
def test_service_task_looks_the_citizen_up_and_routes_on_the_answer(app, api, api_key, population, camunda, caplog):
    caplog.set_level(logging.DEBUG)
    configure(api, app, population)
    publish(api, "9.300001", lookup_diagram(camunda=camunda))
    key = api_key()
    body = start(api, key, "9.300001")
    assert body["current_tasks"] == []  # the dossier waits at the service task
    with app.app_context():  # `flask check` sees the call queued
        assert checks.check_all(db.session) == []
        db.session.execute(update(Job).where(Job.kind == "connector_call").values(state="done"))
        assert any("no connector call is queued" in p for p in checks.check_all(db.session))
        db.session.rollback()
    assert population.requests == []  # nothing is called inside the request's transaction
    work(app)
    assert len(population.requests) == 1
    sent = population.requests[0]
    assert sent["path"] == f"/citizens/{CITIZEN}"
    assert sent["headers"]["X-Api-Key"] == SECRET and sent["headers"]["X-Client"] == "orchestrator"
    assert sent["headers"]["Idempotency-Key"]
    after = dossier(api, body["code"])
    data = after["data"] if camunda else after["data"]["person"]
    assert data["full_name"] == "Nguyễn Văn An" and data["date_of_birth"] == "1990-05-17"
    [call] = calls(after)
    assert call["step_id"] == "Task_Lookup"
    assert call["note"].startswith("citizen_lookup: HTTP 200, ") and call["note"].endswith(" ms, lần 1")
    done = finish(api, after, "Task_Sign")
    assert done["finished_at"] is not None and done["current_tasks"] == []
    # the secret never comes back: not in the history, the API's answers, the queue nor the logs
    listed = api.get("/admin/connectors", "admin.VN")
    for text in (str(after), str(done), listed.get_data(as_text=True), caplog.text):
        assert SECRET not in text
    assert [c for c in listed.get_json()["items"] if c["name"] == "citizen_lookup"][0]["secret_headers"] == ["X-Api-Key"]
    with app.app_context():
        assert all(SECRET not in str(j.payload) + str(j.last_error) for j in db.session.scalars(select(Job)))
        stored = db.session.scalar(select(Connector).where(Connector.name == "citizen_lookup"))
        assert SECRET not in str(stored.secret_headers)  # encrypted at rest


def test_provider_4xx_is_final_an_incident_without_retries(app, api, api_key, population):
    configure(api, app, population)
    publish(api, "9.300002", lookup_diagram())
    body = start(api, api_key(), "9.300002", citizen="079000000001")
    population.fail_first = 0
    work(app)
    after = dossier(api, body["code"])
    # 404 is the provider's final answer: no retry, the call fails into an incident
    assert len(population.requests) == 1
    assert after["incident"] is True


def test_an_answer_over_the_size_limit_fails_the_call(app, api, api_key, population):
    configure(api, app, population)
    publish(api, "9.300009", lookup_diagram())
    body = start(api, api_key(), "9.300009", citizen="000000000000")
    work(app)
    after = dossier(api, body["code"])
    assert len(population.requests) == 1 and after["incident"] is True
    assert "256,000" in after["incident_message"] and "x" * 100 not in str(after)


def test_provider_error_then_success_is_retried_with_the_same_key(app, api, api_key, population):
    configure(api, app, population)
    population.fail_first = 1
    publish(api, "9.300003", lookup_diagram())
    body = start(api, api_key(), "9.300003")
    work(app)
    assert [r["status"] for r in population.requests] == [500, 200]
    assert len(set(population.keys())) == 1
    after = dossier(api, body["code"])
    assert [(c["note"].split(",")[0], c["note"].split("lần ")[1][:1]) for c in calls(after)] == [
        ("citizen_lookup: HTTP 500", "1"), ("citizen_lookup: HTTP 200", "2")]
    assert finish(api, after, "Task_Sign")["finished_at"] is not None


def test_always_failing_goes_dead_with_an_incident_then_the_back_office_retries(app, api, api_key, population, client):
    configure(api, app, population)
    population.always_fail = True
    publish(api, "9.300004", lookup_diagram())
    body = start(api, api_key(), "9.300004")
    work(app)
    assert len(population.requests) == 3  # max_attempts
    after = dossier(api, body["code"])
    assert after["incident"] is True and after["current_tasks"] == []
    assert "Task_Lookup" in after["incident_message"] and "citizen_lookup" in after["incident_message"]
    with app.app_context():
        assert db.session.scalar(select(Job.state).where(Job.kind == "connector_call")) == DEAD
    # the provider is fixed; the technician retries from the back office
    population.always_fail = False
    office = BackOffice(client)
    office.login("admin.VN")
    page = office.text(office.get("/operations"))
    assert body["code"] in page
    r = office.post(f"/operations/incidents/{body['code']}/retry", referrer="/operations")
    assert r.status_code in (302, 303), office.text(r)
    work(app)
    assert len(set(population.keys())) == 1  # the same call, the same key
    after = dossier(api, body["code"])
    assert after["incident"] is False
    assert finish(api, after, "Task_Sign")["finished_at"] is not None


def test_private_address_refused_without_the_flag(app, api, api_key, population):
    # https (plain http only goes with the flag), to the loopback address: refused at the call
    configure(api, app, population, allow_private=False,
              url_template=population.url_template.replace("http://", "https://"))
    publish(api, "9.300005", lookup_diagram())
    body = start(api, api_key(), "9.300005")
    work(app)
    assert population.requests == []
    after = dossier(api, body["code"])
    assert after["incident"] is True
    assert "Task_Lookup" in after["incident_message"] and "loopback" in after["incident_message"]


def test_connector_definitions_are_checked(app, api, population):
    base = {"name": "tax_lookup", "scope": "01", "url_template": "http://127.0.0.1:9/tax/{tax_code}",
            "inputs": ["tax_code"], "outputs": {"debt": "/data/debt"}}
    r = api.post("/admin/connectors", "admin.01", json=base)  # http to a private address, not allowed
    assert r.status_code == 400 and "url_template" in r.get_json()["error"]["fields"]
    r = api.post("/admin/connectors", "admin.01", json={**base, "url_template": "https://{host}/x"})
    assert r.status_code == 400 and "url_template" in r.get_json()["error"]["fields"]
    r = api.post("/admin/connectors", "admin.01", json={**base, "timeout_seconds": 600})
    assert r.status_code == 400 and "timeout_seconds" in r.get_json()["error"]["fields"]
    r = api.post("/admin/connectors", "admin.VN", json={**base, "scope": "XX"})
    assert r.status_code == 400 and "scope" in r.get_json()["error"]["fields"]
    r = api.post("/admin/connectors", "admin.01", json={**base, "scope": "79"})  # another province's admin
    assert r.status_code == 403
    r = api.post("/admin/connectors", "admin.01", json={**base, "allow_private": True,
                                                        "secret_headers": {"Authorization": "Bearer " + SECRET}})
    assert r.status_code == 201, r.get_json()
    assert SECRET not in r.get_data(as_text=True) and r.get_json()["secret_headers"] == ["Authorization"]
    connector_id = r.get_json()["id"]
    r = api.put(f"/admin/connectors/{connector_id}", "admin.01",
                json={**base, "allow_private": True, "secret_headers": {"Authorization": ""}})
    assert r.status_code == 200 and r.get_json()["secret_headers"] == ["Authorization"]  # kept
    assert api.post(f"/admin/connectors/{connector_id}/disable", "admin.01").get_json()["active"] is False
    assert api.get(f"/admin/connectors/{connector_id}", "specialist.00070").status_code == 403


def test_camunda_connector_property_and_a_province_connector(app, api, api_key, population):
    """A Camunda service task naming its connector by a `connector` property, its outputs mapped by
    `camunda:outputParameter`; the province's own connector of that name wins over the national one."""
    configure(api, app, population, active=False)  # the national one is off: only 01's may answer
    r = api.post("/admin/connectors", "admin.01", json={
        "name": "citizen_lookup", "scope": "01", "url_template": population.url_template, "inputs": ["citizen_id"],
        "outputs": {"full_name": "/data/hoTen", "date_of_birth": "/data/ngaySinh"}, "allow_private": True,
        "timeout_seconds": 2, "max_attempts": 2})
    assert r.status_code == 201, r.get_json()
    xml = lookup_diagram(camunda=True).replace(
        b'camunda:type="external" camunda:topic="citizen_lookup">',
        b'><bpmn:extensionElements><camunda:properties><camunda:property name="connector" value="citizen_lookup"/>'
        b'</camunda:properties></bpmn:extensionElements>').replace(b'</bpmn:extensionElements><bpmn:extensionElements>', b'')
    xml = xml.replace(b'</camunda:inputOutput>', b'<camunda:outputParameter name="full_name">${full_name}'
                      b'</camunda:outputParameter><camunda:outputParameter name="born">${date_of_birth[:4] if date_of_birth else None}'
                      b'</camunda:outputParameter></camunda:inputOutput>')
    publish(api, "9.300008", xml)
    body = start(api, api_key(), "9.300008")
    work(app)
    after = dossier(api, body["code"])
    assert after["data"]["full_name"] == "Nguyễn Văn An" and after["data"]["born"] == "1990"
    assert "date_of_birth" not in after["data"]  # only what the output parameters map
    assert [t["step_id"] for t in after["current_tasks"]] == ["Task_Sign"]


def test_upload_refuses_unknown_connectors_and_missing_inputs(app, api, population):
    configure(api, app, population)
    unsafe = lookup_diagram().replace(b'value="citizen_id"', b'value="__import__(&quot;os&quot;)"')
    for xml, code in ((lookup_diagram(connector="no_such_thing"), "unknown_connector"),
                      (lookup_diagram(parameter="cccd"), "connector_input"),
                      (unsafe, "unsafe_expression")):
        form = {"code": "9.300006", "name": "x", "scope": "01", "deadline_days": "5", "deadline_kind": "working",
                "file": (io.BytesIO(xml), "x.bpmn")}
        r = api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")
        assert r.status_code == 422, r.get_json()
        [problem] = r.get_json()["error"]["problems"]
        assert problem["element_id"] == "Task_Lookup" and problem["line"] and problem["code"] == code


def test_back_office_lists_creates_and_disables_connectors(app, client, population):
    office = BackOffice(client)
    office.login("admin.01")
    assert "Kết nối" in office.text(office.get("/connectors"))
    r = office.post("/connectors", {"scope": "01", "name": "land_lookup", "method": "GET",
                                    "url_template": population.base + "/land/{parcel}", "inputs": "parcel",
                                    "outputs": "owner = /data/owner", "headers": "X-Client: orchestrator",
                                    "secret_headers": "X-Api-Key: " + SECRET, "timeout_seconds": "5",
                                    "max_attempts": "3", "allow_private": "1"}, follow=True)
    page = office.text(r)
    assert r.status_code == 200 and "land_lookup" in page and SECRET not in page
    with app.app_context():
        connector_id = db.session.scalar(select(Connector.id).where(Connector.name == "land_lookup"))
    page = office.text(office.get(f"/connectors/{connector_id}"))
    assert "X-Api-Key" in page and SECRET not in page
    r = office.post(f"/connectors/{connector_id}/active", {"active": "0"}, follow=True)
    assert r.status_code == 200
    with app.app_context():
        assert db.session.get(Connector, connector_id).active is False
    # a refused form comes back without the secret: not on the page, not kept in the session cookie
    r = office.post("/connectors", {"scope": "01", "name": "bad name", "url_template": population.base + "/x",
                                    "secret_headers": "X-Api-Key: " + SECRET}, referrer="/connectors")
    assert r.status_code == 303
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    kept = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    assert kept["_form_values"]["name"] == "bad name" and SECRET not in str(kept)
    page = office.text(office.get("/connectors"))
    assert "name" in page and SECRET not in page
    # without the form's token, nothing changes
    r = client.post(f"/admin/connectors/{connector_id}/active", data={"active": "1"})
    assert r.status_code == 400


# -- crash: a worker killed mid-call ----------------------------------------------------------------

WORKER = """
import sys
from datetime import timedelta
from orchestrator import create_app
from orchestrator.worker import Worker
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": sys.argv[2], "TESTING": True})
Worker(app, name=sys.argv[3], lease=timedelta(seconds=1), max_sleep=0.2).run_forever()
"""


def start_worker(database_uri: str, name: str, log) -> subprocess.Popen:
    secret = _config(database_uri)["SECRET_KEY"]
    return subprocess.Popen([sys.executable, "-c", WORKER, database_uri, secret, name], cwd=ROOT,
                            env={**os.environ, "LOG_LEVEL": "INFO"}, stdout=log, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_worker_killed_mid_call_is_retried_with_the_same_key(app, api, api_key, population, database_uri, tmp_path):
    configure(api, app, population, timeout_seconds=3, max_attempts=5)  # the held request outlives no timeout
    publish(api, "9.300007", lookup_diagram())
    body = start(api, api_key(), "9.300007")
    population.hold.set()  # the first request stays open until the worker is dead
    log = open(tmp_path / "workers.log", "wb")
    first = start_worker(database_uri, "w-doomed", log)
    try:
        assert population.arrived.wait(30), (tmp_path / "workers.log").read_text()
        os.kill(first.pid, signal.SIGKILL)  # mid-call: the request is open, nothing committed after it
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    population.hold.clear()
    population.released.set()
    second = start_worker(database_uri, "w-survivor", log)
    try:
        assert wait_for(lambda: dossier(api, body["code"])["current_tasks"], 60), \
            (tmp_path / "workers.log").read_text()
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        log.close()
    assert len(population.requests) >= 2
    assert SECRET not in (tmp_path / "workers.log").read_text()  # the workers' logs never show it
    assert len(set(population.keys())) == 1  # every attempt of the one call carries the same key
    after = dossier(api, body["code"])
    assert [t["step_id"] for t in after["current_tasks"]] == ["Task_Sign"]
    assert [c["note"].split(",")[0] for c in calls(after)] == ["citizen_lookup: HTTP 200"]  # the killed attempt left nothing
    done = finish(api, after, "Task_Sign")
    assert done["finished_at"] is not None
    with app.app_context():
        assert [j.state for j in db.session.scalars(select(Job).where(Job.kind == "connector_call"))] == ["done"]
        assert checks.check_all(db.session) == []  # `flask check`: nothing waits on a call nobody makes
