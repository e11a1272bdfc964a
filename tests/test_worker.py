"""The job queue and the worker: leases, retries, dead letters, BPMN timers, reminders, checks."""
from __future__ import annotations

import io
import threading
import time
from datetime import timedelta

import pytest

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Job, Notification, WorkItem
from orchestrator.models.types import utcnow
from orchestrator.services import jobs as queue
from orchestrator.services.checks import check_all
from orchestrator.worker import Worker

from .diagrams import timer_diagram

APPLICANT = {"full_name": "Phạm Văn Tư"}


def publish_timers(api, code="9.100001", **kw):
    form = {"code": code, "name": "Hẹn giờ", "scope": "01", "deadline_days": "3", "deadline_kind": "working",
            "file": (io.BytesIO(timer_diagram(**kw)), "timers.bpmn")}
    r = api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    r = api.post(f"/procedures/{code}/versions/1/publish", "designer.01")
    assert r.status_code == 200, r.get_json()


def start(api, key, code="9.100001"):
    r = api.post("/dossiers", key, json={"procedure_code": code, "province_code": "01", "commune_code": "00070",
                                         "applicant": APPLICANT, "data": {}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def steps_of(body):
    return sorted(t["step_id"] for t in body["current_tasks"])


def test_failing_job_is_retried_with_backoff_then_succeeds(app):
    calls = []

    def flaky(session, job):
        calls.append(job.attempts)
        if len(calls) < 3:
            raise RuntimeError(f"boom {len(calls)}")
        return "ok"

    worker = Worker(app, name="w1", handlers={"flaky": flaky})
    with app.app_context():
        job = queue.enqueue(db.session, "flaky")
        db.session.commit()
        job_id = job.id
    for expected_attempts in (1, 2):
        assert worker.run_once()
        with app.app_context():
            job = db.session.get(Job, job_id)
            assert job.state == "queued" and job.attempts == expected_attempts
            assert job.last_error == f"RuntimeError: boom {expected_attempts}"
            assert job.run_at > utcnow()            # backed off
            job.run_at = utcnow()                   # skip the wait
            db.session.commit()
    assert worker.run_once()
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.state == "done" and job.attempts == 3
    assert calls == [1, 2, 3]


def test_dead_letter_after_max_attempts_and_manual_retry(app):
    worker = Worker(app, name="w1", handlers={"bad": lambda s, j: 1 / 0})
    with app.app_context():
        job_id = queue.enqueue(db.session, "bad", max_attempts=2).id
        db.session.commit()
    for _ in range(2):
        with app.app_context():
            db.session.get(Job, job_id).run_at = utcnow()
            db.session.commit()
        worker.run_once()
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.state == "dead" and "ZeroDivisionError" in job.last_error
        assert queue.retry_dead(db.session, job_id).state == "queued"
        db.session.commit()


def test_lease_held_by_a_dead_worker_expires_and_the_job_is_taken_again(app):
    ran = []
    with app.app_context():
        job_id = queue.enqueue(db.session, "work").id
        db.session.commit()
        claimed = queue.claim(db.session, "dead-worker", timedelta(seconds=60))
        assert claimed.id == job_id
        db.session.commit()
        # Nobody else can take it while the lease holds.
        assert queue.claim(db.session, "w2", timedelta(seconds=60)) is None
        db.session.rollback()
        queue.expire_now(db.session, job_id)
        db.session.commit()
    worker = Worker(app, name="w2", handlers={"work": lambda s, j: ran.append(j.locked_by)})
    assert worker.run_once()
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.state == "done" and job.attempts == 2 and ran == ["w2"]
        assert job.locked_by == "w2"


def test_boundary_and_intermediate_timers_fire_and_stale_jobs_do_nothing(app, api, api_key):
    publish_timers(api)
    body = start(api, api_key())
    assert body["current_tasks"][0]["step_id"] == "Task_Reception" if False else True
    with app.app_context():
        [timer] = db.session.query(Job).filter_by(kind="timer", state="queued").all()
        first_lock_version, first_job = timer.lock_version, timer.id
        assert timer.run_at > utcnow() - timedelta(seconds=1)
    worker = Worker(app, name="w1")
    worker.run_until_idle()
    assert steps_of(api.get(f"/dossiers/{body['code']}", "specialist.00070").get_json()) == ["Task_Work"]
    time.sleep(1.1)
    worker.run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", "specialist.00070").get_json()
    # Non-interrupting: the work stays open and a reminder step goes to the leader.
    assert steps_of(after) == ["Task_Remind", "Task_Work"]
    remind = [t for t in after["current_tasks"] if t["step_id"] == "Task_Remind"][0]
    assert (remind["unit_code"], remind["role"]) == ("00070", "leader")
    assert [h["step_id"] for h in after["history"] if h["action"] == "timer"] == ["Timer_Remind"]
    # A replayed job from an older state is stale and changes nothing.
    with app.app_context():
        db.session.add(Job(kind="timer", dossier_id=db.session.get(Job, first_job).dossier_id,
                           lock_version=first_lock_version, run_at=utcnow(), payload={}, state="queued",
                           attempts=0, max_attempts=3))
        db.session.commit()
    worker.run_until_idle()
    assert api.get(f"/dossiers/{body['code']}", "specialist.00070").get_json()["lock_version"] == after["lock_version"]
    work = [t for t in after["current_tasks"] if t["step_id"] == "Task_Work"][0]
    r = api.post(f"/tasks/{work['id']}/complete", "specialist.00070", json={"data": {"decision": "approve"}})
    assert r.status_code == 200 and steps_of(r.get_json()) == ["Task_Remind"]
    time.sleep(1.1)
    worker.run_until_idle()
    final = api.get(f"/dossiers/{body['code']}", "specialist.00070").get_json()
    assert steps_of(final) == ["Task_Remind", "Task_Sign"]
    assert [h["step_id"] for h in final["history"] if h["action"] == "timer"] == ["Timer_Remind", "Timer_Wait"]
    with app.app_context():
        assert check_all(db.session) == []


def test_a_timer_job_taken_before_its_time_waits_again_instead_of_being_lost(app, api, api_key):
    """A job run before the engine's timer is due (taken early, clocks apart) fires nothing and
    queues the timer again at its due time; the timer then fires."""
    publish_timers(api, boundary="PT2S")
    body = start(api, api_key())
    worker = Worker(app, name="w1")
    worker.run_until_idle()  # reception done by the integrator's start: Task_Work is open, its timer queued
    with app.app_context():
        [timer] = db.session.query(Job).filter_by(kind="timer", state="queued").all()
        due = timer.run_at
        timer.run_at = utcnow() - timedelta(seconds=1)  # taken early
        db.session.commit()
    worker.run_until_idle()
    with app.app_context():
        [again] = db.session.query(Job).filter_by(kind="timer", state="queued").all()
        assert again.run_at >= due - timedelta(milliseconds=50), "the timer is waited for again, not dropped"
    time.sleep(2.1)
    worker.run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", "specialist.00070").get_json()
    assert [h["step_id"] for h in after["history"] if h["action"] == "timer"] == ["Timer_Remind"]


def test_interrupting_boundary_timer_cancels_the_step(app, api, api_key):
    publish_timers(api, code="9.100002", interrupting=True, boundary="PT1S")
    body = start(api, api_key(), code="9.100002")
    time.sleep(1.1)
    Worker(app, name="w1").run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", "leader.00070").get_json()
    assert steps_of(after) == ["Task_Remind"]
    with app.app_context():
        cancelled = db.session.query(WorkItem).filter_by(step_id="Task_Work").one()
        assert cancelled.state == "cancelled"


def test_bad_timer_values_are_refused_at_upload(api):
    for value in ("PT-5M", "P1Q", "__import__('os')"):
        form = {"code": "9.100003", "name": "x", "scope": "01", "deadline_days": "3", "deadline_kind": "working",
                "file": (io.BytesIO(timer_diagram(wait=value)), "t.bpmn")}
        r = api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data")
        assert r.status_code == 422, (value, r.get_json())
        assert any(p["element_id"] == "Timer_Wait" for p in r.get_json()["error"]["problems"])
    # An expression is allowed (it may name a value of the dossier), but must really yield a time to publish.
    form = {"code": "9.100004", "name": "x", "scope": "01", "deadline_days": "3", "deadline_kind": "working",
            "file": (io.BytesIO(timer_diagram(wait="posting_period")), "t.bpmn")}
    assert api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data").status_code == 201
    r = api.post("/procedures/9.100004/versions/1/publish", "designer.01")
    assert r.status_code == 422 and r.get_json()["error"]["problems"][0]["element_id"] == "Timer_Wait"


@pytest.mark.postgres
def test_three_workers_fire_each_timer_exactly_once(app, api, api_key):
    publish_timers(api, boundary="PT2S", wait="PT1S")
    key = api_key()
    codes = [start(api, key)["code"] for _ in range(20)]
    workers = [Worker(app, name=f"w{i}", max_sleep=0.5) for i in range(3)]
    threads = [threading.Thread(target=w.run_forever) for w in workers]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with app.app_context():
                fired = db.session.query(AuditEvent).filter_by(action="timer").count()
                db.session.remove()
            if fired >= len(codes):
                break
            time.sleep(0.2)
    finally:
        for w in workers:
            w.stop.set()
        for t in threads:
            t.join(10)
    with app.app_context():
        events = db.session.query(AuditEvent).filter_by(action="timer").all()
        per_dossier = {}
        for e in events:
            per_dossier[e.dossier_id] = per_dossier.get(e.dossier_id, 0) + 1
        assert len(per_dossier) == len(codes) and set(per_dossier.values()) == {1}
        assert sum(w.processed for w in workers) >= len(codes)
        assert check_all(db.session) == []


def test_deadline_reminder_reaches_holders_and_leader(app, api, api_key):
    body = api.post("/dossiers", "reception.00070", json={
        "procedure_code": "1.001193", "province_code": "01", "commune_code": "00070", "applicant": APPLICANT,
        "data": {}, "reception": {}}).get_json() if False else None
    from .test_dossiers_api import BIRTH
    r = api.post("/dossiers", "reception.00070", json={"procedure_code": "1.001193", "province_code": "01",
                                                       "commune_code": "00070", "applicant": APPLICANT, "data": BIRTH})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    with app.app_context():
        [job] = db.session.query(Job).filter_by(kind="reminder").all()
        assert job.run_at <= utcnow() + timedelta(days=1)
        job.run_at = utcnow()
        db.session.commit()
    Worker(app, name="w1").run_until_idle()
    with app.app_context():
        notes = db.session.query(Notification).all()
        from orchestrator.models import User
        names = sorted(db.session.get(User, n.user_id).username for n in notes)
        assert names == ["leader.00070", "specialist.00070"]
        assert body["code"] in notes[0].message


def test_check_reports_a_broken_invariant(app, api):
    from .test_dossiers_api import BIRTH
    r = api.post("/dossiers", "reception.00070", json={"procedure_code": "1.001193", "province_code": "01",
                                                       "commune_code": "00070", "applicant": APPLICANT, "data": BIRTH})
    code = r.get_json()["code"]
    runner = app.test_cli_runner()
    assert runner.invoke(args=["check"]).exit_code == 0
    with app.app_context():
        db.session.query(WorkItem).update({"state": "cancelled"})
        db.session.commit()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1 and code in result.output and "open work items" in result.output


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    # the seeded demo accounts are reported (ready while DEMO_ACCOUNTS_ALLOWED, as in development)
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    assert ready.get_json()["demo_accounts_with_demo_password"] > 0


def test_failing_script_after_a_timer_is_an_incident_retryable_by_an_admin(app, api, api_key):
    """A script failing in the worker marks the dossier, never kills the worker; an admin retries."""
    from .diagrams import HEADER

    form_props = ('<bpmn:extensionElements><spiffworkflow:properties>'
                  '<spiffworkflow:property name="formKey" value="KS-KY"/></spiffworkflow:properties>'
                  '</bpmn:extensionElements>')
    xml = (HEADER + f'''<bpmn:process id="P_Inc" isExecutable="true">
    <bpmn:laneSet id="LS"><bpmn:lane id="L" name="commune/leader"><bpmn:flowNodeRef>U1</bpmn:flowNodeRef><bpmn:flowNodeRef>U2</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="S1"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="U1" name="Ghi">{form_props}<bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:intermediateCatchEvent id="W"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="Calc" scriptFormat="python"><bpmn:incoming>c</bpmn:incoming><bpmn:outgoing>d</bpmn:outgoing>
      <bpmn:script>ratio = 10 / (len(decision_note) - 4)</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="U2" name="Ký">{form_props}<bpmn:incoming>d</bpmn:incoming><bpmn:outgoing>e</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="E1"><bpmn:incoming>e</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="S1" targetRef="U1"/><bpmn:sequenceFlow id="b" sourceRef="U1" targetRef="W"/>
    <bpmn:sequenceFlow id="c" sourceRef="W" targetRef="Calc"/><bpmn:sequenceFlow id="d" sourceRef="Calc" targetRef="U2"/>
    <bpmn:sequenceFlow id="e" sourceRef="U2" targetRef="E1"/>
  </bpmn:process></bpmn:definitions>''').encode()
    form = {"code": "9.100009", "name": "Sự cố hẹn giờ", "scope": "01", "deadline_days": "3",
            "deadline_kind": "working", "file": (io.BytesIO(xml), "i.bpmn")}
    assert api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data").status_code == 201
    assert api.post("/procedures/9.100009/versions/1/publish", "designer.01").status_code == 200
    body = start(api, api_key(), code="9.100009")
    task = body["current_tasks"][0]
    r = api.post(f"/tasks/{task['id']}/complete", "leader.00070", json={"data": {"decision": "approve",
                                                                                "decision_note": "abcd"}})
    assert r.status_code == 200 and not r.get_json()["incident"]
    time.sleep(1.1)
    worker = Worker(app, name="w1")
    worker.run_until_idle()
    after = api.get(f"/dossiers/{body['code']}", "leader.00070").get_json()
    assert after["incident"] and "division by zero" in after["incident_message"]
    with app.app_context():
        assert db.session.query(Job).filter_by(kind="timer", state="done").count() == 1  # the job itself succeeded
    assert [d["code"] for d in api.get("/admin/incidents", "admin.01").get_json()["items"]] == [body["code"]]
    assert api.get("/admin/incidents", "admin.19").get_json()["items"] == []
    assert api.post(f"/dossiers/{body['code']}/actions/retry", "leader.00070", json={}).status_code == 403
    assert api.post(f"/dossiers/{body['code']}/actions/retry", "admin.19", json={}).status_code == 404
    r = api.post(f"/dossiers/{body['code']}/actions/retry", "admin.01", json={})
    assert r.status_code == 200 and r.get_json()["incident"] is True          # same data, same failure
    r = api.post(f"/dossiers/{body['code']}/actions/retry", "admin.01", json={"data": {"decision_note": "fixed note"}})
    assert r.status_code == 200, r.get_json()
    fixed = r.get_json()
    assert fixed["incident"] is False and [t["step_id"] for t in fixed["current_tasks"]] == ["U2"]
    assert [h["action"] for h in fixed["history"]].count("incident_retry") == 2
    assert api.post(f"/dossiers/{body['code']}/actions/retry", "admin.01", json={}).status_code == 409
    with app.app_context():
        assert check_all(db.session) == []


def test_dead_jobs_are_visible_and_requeued_by_admins(app, api):
    worker = Worker(app, name="w1", handlers={"webhook": lambda s, j: 1 / 0})
    with app.app_context():
        job_id = queue.enqueue(db.session, "webhook", max_attempts=1).id
        db.session.commit()
    worker.run_once()
    items = api.get("/admin/jobs", "admin.VN").get_json()["items"]
    assert [(j["id"], j["state"], j["attempts"]) for j in items] == [(job_id, "dead", 1)]
    assert "ZeroDivisionError" in items[0]["last_error"]
    assert api.get("/admin/jobs", "reception.00070").status_code == 403
    assert api.post(f"/admin/jobs/{job_id}/retry", "admin.VN").get_json()["state"] == "queued"
    assert api.post(f"/admin/jobs/{job_id}/retry", "admin.VN").status_code == 409


@pytest.mark.postgres
def test_idle_worker_stops_promptly(app):
    """SIGTERM sets `stop`: a worker asleep on LISTEN (up to max_sleep) must not wait that long to exit."""
    worker = Worker(app, name="w1", max_sleep=30)
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    time.sleep(1.5)  # now asleep on the listener
    stopped_at = time.monotonic()
    worker.stop.set()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - stopped_at < 2.5


def test_steps_reached_only_through_a_boundary_event_get_no_default_milestone():
    """A reminder branch must not close the dossier: defaults apply to the main path only."""
    from orchestrator.engine.model import describe
    from orchestrator.engine.xml import parse_untrusted

    model, problems = describe(parse_untrusted(timer_diagram(), 10**6))
    milestones = {t["id"]: t["milestone"] for t in model["user_tasks"]}
    assert problems == [] and milestones == {"Task_Work": "reception", "Task_Remind": None, "Task_Sign": "return"}
