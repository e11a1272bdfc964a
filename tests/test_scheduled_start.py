"""Procedures that open dossiers on a schedule (issue 17): a timer start event of the main process,
a version marked as scheduled with its receiving communes, the worker opening one dossier per
commune at each tick, idempotent, stopped when another version takes over. Time is driven by
moving the version's publication and its queued tick back (a day passes), as the worker's tests
make timers due."""
from __future__ import annotations

from datetime import timedelta

from orchestrator.extensions import db
from orchestrator.models import Dossier, Job, ProcedureVersion
from orchestrator.models.types import utcnow
from orchestrator.services import schedules
from orchestrator.worker import Worker

from .flows import definitions, process, props, publish, upload, user

CODE = "9.170001"
UNITS = ["00070", "00454"]


def scheduled_diagram(timer: str = "R12/P1D", plain: bool = False, kind: str = "timeCycle") -> bytes:
    """A commune's periodic inspection: timer start -> inspect (specialist) -> sign (leader) -> end;
    `plain`: a none start too (the same procedure can also be opened by the desk)."""
    extra = ('<bpmn:startEvent id="Start_Desk"><bpmn:outgoing>fd</bpmn:outgoing></bpmn:startEvent>'
             '<bpmn:sequenceFlow id="fd" sourceRef="Start_Desk" targetRef="Task_Inspect"/>') if plain else ""
    return definitions(f'''<bpmn:process id="Process_Inspection" name="Kiểm tra định kỳ" isExecutable="true">
<bpmn:startEvent id="Start_Monthly" name="Hằng tháng"><bpmn:outgoing>f0</bpmn:outgoing>
<bpmn:timerEventDefinition id="Timer_Def"><bpmn:{kind}>{timer}</bpmn:{kind}></bpmn:timerEventDefinition>
</bpmn:startEvent>{extra}
<bpmn:userTask id="Task_Inspect" name="Kiểm tra">{props(route="commune/specialist")}<bpmn:incoming>f0</bpmn:incoming>{'<bpmn:incoming>fd</bpmn:incoming>' if plain else ''}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
<bpmn:userTask id="Task_Sign" name="Ký báo cáo">{props(route="commune/leader")}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:endEvent id="End_1"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f0" sourceRef="Start_Monthly" targetRef="Task_Inspect"/>
<bpmn:sequenceFlow id="f1" sourceRef="Task_Inspect" targetRef="Task_Sign"/>
<bpmn:sequenceFlow id="f2" sourceRef="Task_Sign" targetRef="End_1"/>
</bpmn:process>''')


def days_pass(app, days: int) -> None:
    """Move the clock of every published schedule `days` forward: their publication and queued
    ticks move back (ticks are counted from the publication)."""
    with app.app_context():
        for version in db.session.query(ProcedureVersion).filter(ProcedureVersion.published_at.is_not(None)).all():
            version.published_at = version.published_at - timedelta(days=days)
        for job in db.session.query(Job).filter_by(kind=schedules.KIND, state="queued").all():
            job.run_at = job.run_at - timedelta(days=days)
        db.session.commit()


def scheduled_dossiers(app) -> list[tuple[str, str, int]]:
    with app.app_context():
        return [(d.code, d.received_by_unit, d.channel) for d in
                db.session.query(Dossier).filter(Dossier.created_by == schedules.SYSTEM_SCHEDULE).order_by(Dossier.id)]


def queued_ticks(app) -> list[dict]:
    with app.app_context():
        return [j.payload for j in db.session.query(Job).filter_by(kind=schedules.KIND, state="queued").all()]


def mark_and_publish(api, units=UNITS, **kw) -> dict:
    r = upload(api, scheduled_diagram(**kw), CODE)
    assert r.status_code == 201, r.get_json()
    r = api.put(f"/procedures/{CODE}/versions/1/schedule", "designer.01", json={"units": units})
    assert r.status_code == 200, r.get_json()
    r = publish(api, CODE)
    assert r.status_code == 200, r.get_json()
    return api.get(f"/procedures/{CODE}/versions/1", "designer.01").get_json()


def test_an_unmarked_timer_start_is_uploaded_but_publish_refuses_it_with_element_and_line(api):
    r = upload(api, scheduled_diagram(), CODE)
    assert r.status_code == 201, r.get_json()
    version = api.get(f"/procedures/{CODE}/versions/1", "designer.01").get_json()
    assert version["schedule"]["marked"] is False and version["schedule"]["element_id"] == "Start_Monthly"
    r = publish(api, CODE)
    assert r.status_code == 422
    [problem] = [p for p in r.get_json()["error"]["problems"] if p.get("code") == "schedule_unmarked"]
    assert problem["element_id"] == "Start_Monthly" and problem["line"] == 4
    assert "người nộp" in problem["message"] and "đơn vị nhận hồ sơ" in problem["message"]


def test_timer_start_values_that_cannot_run_as_a_schedule_are_refused_at_upload(api):
    for n, (timer, kind, words) in enumerate([("R/P1D", "timeCycle", "vô hạn"), ("R3/PT1H", "timeCycle", "1 ngày"),
                                              ("R2000/P1D", "timeCycle", "1000"),
                                              ("start_date + 'P1D'", "timeDate", "biểu thức")]):
        r = upload(api, scheduled_diagram(timer=timer, kind=kind), f"9.17010{n}")
        assert r.status_code == 422, (timer, r.get_json())
        problems = r.get_json()["error"]["problems"]
        assert any(p["element_id"] == "Start_Monthly" and words in p["message"] for p in problems), (timer, problems)


def test_marking_is_checked_authorised_and_frozen_once_published(api):
    assert upload(api, scheduled_diagram(), CODE).status_code == 201
    path = f"/procedures/{CODE}/versions/1/schedule"
    r = api.put(path, "designer.01", json={"units": ["05443"]})  # a commune of another province
    assert r.status_code == 400 and "units" in r.get_json()["error"]["fields"]
    assert api.put(path, "designer.01", json={"units": "00070"}).status_code == 400
    assert api.put(path, "specialist.00070", json={"units": ["00070"]}).status_code == 403
    assert api.put(path, "designer.01", json={"units": ["00070"]}).status_code == 200
    assert publish(api, CODE).status_code == 200
    r = api.put(path, "designer.01", json={"units": []})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "immutable"


def test_each_tick_opens_one_dossier_per_unit_that_runs_to_the_end_and_a_repeated_tick_opens_nothing(app, api):
    version = mark_and_publish(api)
    schedule = version["schedule"]
    assert schedule["running"] and schedule["next_tick_at"] and [u["code"] for u in schedule["units"]] == UNITS
    assert queued_ticks(app) == [{"version_id": queued_ticks(app)[0]["version_id"], "tick": 0}]
    worker = Worker(app, name="w1")
    worker.run_until_idle()
    assert scheduled_dossiers(app) == [], "nothing before the first tick"

    days_pass(app, 1)
    worker.run_until_idle()
    opened = scheduled_dossiers(app)
    assert [(unit, channel) for _code, unit, channel in opened] == [("00070", 4), ("00454", 4)]
    assert [t["tick"] for t in queued_ticks(app)] == [1], "the next tick is queued with the dossiers"

    code = opened[0][0]
    body = api.get(f"/dossiers/{code}", "specialist.00070").get_json()
    assert body["applicant"]["full_name"] and body["status"] == 2
    [created] = [h for h in body["history"] if h["action"] == "created"]
    assert created["actor"] == schedules.SYSTEM_SCHEDULE and "tạo theo lịch" in created["note"]
    assert "Start_Monthly" in created["note"]
    [task] = body["current_tasks"]
    assert task["step_id"] == "Task_Inspect"
    r = api.post(f"/tasks/{task['id']}/complete", "specialist.00070", json={"data": {}})
    assert r.status_code == 200, r.get_json()
    [sign] = r.get_json()["current_tasks"]
    r = api.post(f"/tasks/{sign['id']}/complete", "leader.00070", json={"data": {}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["finished_at"] is not None and r.get_json()["current_tasks"] == []

    # The same tick again (a duplicated or crashed job): no second dossier for a unit.
    with app.app_context():
        vid = db.session.query(ProcedureVersion).filter_by(procedure_code=CODE).one().id
        db.session.add(Job(kind=schedules.KIND, run_at=utcnow(), payload={"version_id": vid, "tick": 0},
                           state="queued", attempts=0, max_attempts=3))
        db.session.commit()
    worker.run_until_idle()
    assert len(scheduled_dossiers(app)) == 2

    # Downtime: five days pass, the missed ticks are opened once (the latest), not five times.
    days_pass(app, 5)
    worker.run_until_idle()
    assert len(scheduled_dossiers(app)) == 4
    assert [t["tick"] for t in queued_ticks(app)] == [6]


def test_a_newer_version_stops_the_schedule_and_a_rollback_resumes_it(app, api):
    mark_and_publish(api)
    r = upload(api, scheduled_diagram(plain=True), CODE)  # v2: a plain start too, not marked
    assert r.status_code == 201, r.get_json()
    assert publish(api, CODE, 2).status_code == 422, "its timer start still needs the schedule marked"
    r = api.put(f"/procedures/{CODE}/versions/2/schedule", "designer.01", json={"units": []})
    assert r.status_code == 200
    r = upload(api, definitions(process([user("Task_Inspect", inner=props(route="commune/specialist"))])), CODE)
    assert r.status_code == 201, r.get_json()
    assert publish(api, CODE, 3).status_code == 200
    assert queued_ticks(app) == [], "the replaced version's tick is gone"
    v1 = api.get(f"/procedures/{CODE}/versions/1", "designer.01").get_json()
    assert v1["schedule"]["running"] is False and v1["schedule"]["next_tick_at"] is None
    days_pass(app, 3)
    Worker(app, name="w1").run_until_idle()
    assert scheduled_dossiers(app) == []
    # Rolling back to v1 resumes its schedule: the latest tick due is opened once.
    assert publish(api, CODE, 1).status_code == 200
    Worker(app, name="w1").run_until_idle()
    assert len(scheduled_dossiers(app)) == 2


def test_a_procedure_started_only_by_its_schedule_refuses_applications_and_a_plain_start_still_works(app, api):
    mark_and_publish(api)
    r = api.post("/dossiers", "reception.00070", json={
        "procedure_code": CODE, "province_code": "01", "commune_code": "00070", "channel": 1,
        "applicant": {"full_name": "Nguyễn Văn A"}, "data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "scheduled_only"


def test_a_plain_start_beside_the_timer_start_opens_a_dossier_at_the_desk_without_the_timer(app, api):
    r = upload(api, scheduled_diagram(plain=True), CODE)
    assert r.status_code == 201
    assert api.put(f"/procedures/{CODE}/versions/1/schedule", "designer.01", json={"units": ["00070"]}).status_code == 200
    assert publish(api, CODE).status_code == 200
    r = api.post("/dossiers", "reception.00070", json={
        "procedure_code": CODE, "province_code": "01", "commune_code": "00070", "channel": 1,
        "applicant": {"full_name": "Nguyễn Văn A"}, "data": {}})
    assert r.status_code == 201, r.get_json()
    # received in person (its first step done at the desk); the timer start's path is not opened too
    assert [t["step_id"] for t in r.get_json()["current_tasks"]] == ["Task_Sign"]
    days_pass(app, 1)
    Worker(app, name="w1").run_until_idle()
    assert [unit for _c, unit, _ch in scheduled_dossiers(app)] == ["00070"]


def test_the_back_office_marks_the_draft_shows_the_schedule_and_new_drafts_keep_it(app, api, client):
    from .admin_client import BackOffice

    assert upload(api, scheduled_diagram(), CODE).status_code == 201
    office = BackOffice(client)
    office.login("designer.01")
    page = office.text(office.get(f"/procedures/{CODE}/v/1"))
    assert "Tạo hồ sơ theo lịch" in page and "Chưa đánh dấu" in page
    r = office.post(f"/procedures/{CODE}/v/1/schedule", {"units": "00070, 99999"}, referrer=f"/procedures/{CODE}/v/1",
                    follow=True)
    assert "99999" in office.text(r) and api.get(f"/procedures/{CODE}/versions/1", "designer.01").get_json()[
        "schedule"]["marked"] is False, "a unit outside the scope is refused, nothing stored"
    r = office.post(f"/procedures/{CODE}/v/1/schedule", {"units": "00070, 00454"}, follow=True)
    assert r.status_code == 200 and "Đã lưu lịch tạo hồ sơ" in office.text(r)
    r = office.post(f"/procedures/{CODE}/v/1/publish", {"confirm": "1"}, follow=True)
    page = office.text(r)
    assert "Đang chạy" in page and "Lần tạo hồ sơ tiếp theo" in page and "(00454)" in page
    r = office.post(f"/procedures/{CODE}/v/1/copy", follow=True)
    assert r.status_code == 200
    v2 = api.get(f"/procedures/{CODE}/versions/2", "designer.01").get_json()
    assert v2["state"] == "draft" and [u["code"] for u in v2["schedule"]["units"]] == UNITS


def test_a_duration_start_opens_its_dossiers_once_and_the_schedule_ends(app, api):
    mark_and_publish(api, units=["00454"], timer="P1D", kind="timeDuration")
    days_pass(app, 1)
    worker = Worker(app, name="w1")
    worker.run_until_idle()
    [(code, unit, _channel)] = scheduled_dossiers(app)
    assert unit == "00454" and queued_ticks(app) == []
    body = api.get(f"/dossiers/{code}", "specialist.00454").get_json()
    assert [t["step_id"] for t in body["current_tasks"]] == ["Task_Inspect"]
    days_pass(app, 30)
    worker.run_until_idle()
    assert len(scheduled_dossiers(app)) == 1
