"""The land procedure (1.013978, formerly 1.004227) end to end over HTTP: commune reception ->
commune verification and its 15-day public posting, land registration branch -> the wait for
the tax authority and the payment -> commune leader signs -> commune returns, with different
officers at each step; the ways out of the wait (the tax notice then the payment, the payment
alone, 15 days without either); the period (17 / 20, +10 in a disadvantaged commune) and the
waits it does not count (issue 18)."""
from __future__ import annotations

from datetime import datetime, timedelta


from orchestrator.extensions import db
from orchestrator.models import Dossier
from orchestrator.models.jobs import Job
from orchestrator.services.auth import create_user
from orchestrator.services.calendar import TZ
from orchestrator.services.deadlines import calendar_for
from orchestrator.services.steps import Step
from orchestrator.worker import Worker

LAND, OLD_CODE = "1.013978", "1.004227"
COMMUNE = "00454"          # Xã Đông Anh, Hà Nội
BRANCH = "01.VPDKDD.CN11"  # land registration branch serving the former Đông Anh district
OTHER_COMMUNE = "00070"    # Phường Hoàn Kiếm: no part in this dossier

APPLICANT = {"full_name": "Nguyễn Văn An", "id_number": "001085012345", "phone": "0912345678",
             "address": "Thôn Đông, xã Đông Anh, Hà Nội"}

STEP_DATA = {
    "Task_Reception": {"reception_result": "accept", "applicant_full_name": "Nguyễn Văn An",
                       "applicant_id_number": "001085012345", "applicant_residence": "Thôn Đông, xã Đông Anh",
                       "parcel_number": 125, "map_sheet_number": 12, "parcel_address": "Thôn Đông",
                       "declared_area_m2": 150.5, "land_use_purpose": "ONT", "land_origin": "before_1993",
                       "land_use_start_year": 1990},
    "Task_CommuneVerification": {"origin_confirmed": "confirmed", "use_stability": "stable",
                                 "planning_conformity": "conform", "dispute_status": "none"},
    "Task_FileCheck": {"cadastral_check_result": "match", "measured_area_m2": 148.2, "land_price_per_m2": 15000000,
                       "registration_fee_exempt": False},
    "Task_TaxFollowUp": {"follow_up_result": "paid", "receipt_number": "BL-2026-0044"},
    "Task_Draft": {"certificate_serial": "AA 01234567", "land_use_form": "private", "land_use_term": "long_term"},
    "Task_Sign": {"decision": "approve", "certificate_number": "CS 00123"},
    "Task_UpdateCadastre": {"cadastral_db_updated": True},
    "Task_Return": {"delivery_method": "in_person", "result_number": "KQ-2026-001"},
}


def _only_task(body, step_id):
    tasks = [t for t in body["current_tasks"] if t["step_id"] == step_id]
    assert len(tasks) == 1, body["current_tasks"]
    return tasks[0]


def _complete(api, who, task_id, step_id):
    r = api.post(f"/tasks/{task_id}/complete", who, json={"data": STEP_DATA[step_id]})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    # docs/api.md: the answer is the dossier as GET shows it (its open steps are taken from the step
    # itself, not read again: they must be the same, in the same order).
    assert body == api.get(f"/dossiers/{body['code']}", who).get_json()
    return body


def test_land_procedure_commune_to_province_and_back(app, api, api_key):
    with app.app_context():
        create_user(db.session, "reception2.00454", "demo1234", [("reception", COMMUNE)])
        db.session.commit()
    key = api_key(provinces=["01"])
    r = api.post("/dossiers", key, json={"procedure_code": LAND, "province_code": "01",
                                         "commune_code": COMMUNE, "channel": 2, "applicant": APPLICANT,
                                         "data": {"declared_area_m2": 150.5}})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    code = body["code"]
    assert code.startswith(f"{COMMUNE}-") and code.endswith("-0001")
    assert body["status"] == 1 and body["due_at"] is None and body["received_at"] is None
    reception = _only_task(body, "Task_Reception")
    assert (reception["unit_code"], reception["role"]) == (COMMUNE, "reception")

    # The reception officer sees it in the inbox, claims and accepts it.
    inbox = api.get("/tasks?view=available", "reception.00454").get_json()
    assert reception["id"] in [t["id"] for t in inbox["items"]]
    assert api.post(f"/tasks/{reception['id']}/claim", "reception.00454").status_code == 200
    body = _complete(api, "reception.00454", reception["id"], "Task_Reception")
    assert body["status"] == 4, "accepted (2), then the first processing step began (4)"
    received = datetime.fromisoformat(body["received_at"])
    with app.app_context():
        expected_due = calendar_for(db.session, "01").due_at(received, "working", 20)
    assert datetime.fromisoformat(body["due_at"]) == expected_due == datetime.fromisoformat(body["legal_due_at"])
    assert expected_due.astimezone(TZ).hour == 17

    # Parallel: the commune verifies, the land registration branch checks the file.
    verification = _only_task(body, "Task_CommuneVerification")
    file_check = _only_task(body, "Task_FileCheck")
    assert (verification["unit_code"], verification["role"]) == (COMMUNE, "specialist")
    assert (file_check["unit_code"], file_check["role"]) == (BRANCH, "specialist")

    # An officer of an unrelated commune sees nothing and can do nothing.
    assert api.get(f"/dossiers/{code}", "specialist.00070").status_code == 404
    assert api.get(f"/tasks/{verification['id']}", "specialist.00070").status_code == 404
    assert api.post(f"/tasks/{verification['id']}/complete", "specialist.00070",
                    json={"data": STEP_DATA["Task_CommuneVerification"]}).status_code in (403, 404)
    assert api.post(f"/tasks/{verification['id']}/claim", "specialist.00070").status_code in (403, 404)
    assert verification["id"] not in [t["id"] for t in api.get("/tasks?view=available", "specialist.00070")
                                      .get_json()["items"]]

    # A commune officer of the right unit but the wrong role cannot complete it.
    assert api.post(f"/tasks/{verification['id']}/complete", "leader.00454",
                    json={"data": STEP_DATA["Task_CommuneVerification"]}).status_code == 403

    body = _complete(api, "specialist.00454", verification["id"], "Task_CommuneVerification")
    assert [t["step_id"] for t in body["current_tasks"]] == ["Task_FileCheck"]
    branch_officer = f"specialist.{BRANCH}"
    assert file_check["id"] in [t["id"] for t in api.get("/tasks?view=available", branch_officer).get_json()["items"]]
    body = _complete(api, branch_officer, file_check["id"], "Task_FileCheck")
    assert "fee" not in body["data"]  # set by the province and the tax notice, not computed
    # The commune's public posting (15 days), then the branch waits for the tax authority or the
    # payment: here the applicant pays at once.
    assert body["status"] == 4 and body["current_tasks"] == []
    _fifteen_days_pass(app, code)
    r = api.post(f"/dossiers/{code}/events/payment_received", key, json={"data": {"receipt_number": "BL-2026-001"}})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    draft = _only_task(body, "Task_Draft")
    assert draft["unit_code"] == BRANCH
    body = _complete(api, branch_officer, draft["id"], "Task_Draft")

    sign = _only_task(body, "Task_Sign")
    assert (sign["unit_code"], sign["role"]) == (COMMUNE, "leader")
    assert body["status"] == 4
    body = _complete(api, "leader.00454", sign["id"], "Task_Sign")
    assert body["status"] == 9, "the signature is the decision"
    update = _only_task(body, "Task_UpdateCadastre")
    body = _complete(api, branch_officer, update["id"], "Task_UpdateCadastre")

    ret = _only_task(body, "Task_Return")
    assert (ret["unit_code"], ret["role"]) == (COMMUNE, "reception")
    body = _complete(api, "reception2.00454", ret["id"], "Task_Return")
    assert body["status"] == 10 and body["finished_at"] is not None and body["current_tasks"] == []

    # History: every action, by whom, with the status moves.
    history = body["history"]
    completes = [(h["actor"], h["step_id"]) for h in history if h["action"] == "complete"]
    assert completes == [("reception.00454", "Task_Reception"), ("specialist.00454", "Task_CommuneVerification"),
                         (branch_officer, "Task_FileCheck"), (branch_officer, "Task_Draft"),
                         ("leader.00454", "Task_Sign"), (branch_officer, "Task_UpdateCadastre"),
                         ("reception2.00454", "Task_Return")]
    moves = [(h["from_status"], h["to_status"]) for h in history if h["to_status"] is not None
             and h["action"] != "complete"]
    assert moves == [(None, 1), (1, 2), (2, 4), (4, 9), (9, 10)]

    # The citizen's view: progress without personal data.
    public = api.get(f"/public/dossiers/{code}").get_json()
    assert public["status"] == 10 and public["status_name"] == "Đã trả kết quả"
    assert set(public) == {"code", "status", "status_name", "received_at", "due_at", "finished_at"}

    # The branch took part, so its officers can read the dossier afterwards; others still cannot.
    assert api.get(f"/dossiers/{code}", branch_officer).status_code == 200
    assert api.get(f"/dossiers/{code}", "leader.00070").status_code == 404


def test_a_unit_new_to_the_dossier_takes_part_from_its_first_step(app, api, api_key):
    """Units take part (and may read the dossier) from the step routed to them. The lock reads the
    units already taking part so each step adds only new ones; a unit missing from that list (a
    dossier started before its lane was routed to this unit) is added when its step opens."""
    from sqlalchemy import delete

    from orchestrator.models import Dossier, DossierParticipant

    key = api_key(provinces=["01"])
    body = api.post("/dossiers", key, json={"procedure_code": LAND, "province_code": "01",
                                            "commune_code": COMMUNE, "channel": 2, "applicant": APPLICANT,
                                            "data": {}}).get_json()
    branch_officer = f"specialist.{BRANCH}"
    with app.app_context():
        dossier_id = db.session.query(Dossier.id).filter_by(code=body["code"]).scalar()
        db.session.execute(delete(DossierParticipant).where(DossierParticipant.dossier_id == dossier_id,
                                                            DossierParticipant.unit_code == BRANCH))
        db.session.commit()
    assert api.get(f"/dossiers/{body['code']}", branch_officer).status_code == 404

    body = _complete(api, "reception.00454", _only_task(body, "Task_Reception")["id"], "Task_Reception")
    assert _only_task(body, "Task_FileCheck")["unit_code"] == BRANCH
    assert api.get(f"/dossiers/{body['code']}", branch_officer).status_code == 200
    with app.app_context():
        units = set(db.session.scalars(db.select(DossierParticipant.unit_code)
                                       .where(DossierParticipant.dossier_id == dossier_id)))
    assert units == {COMMUNE, BRANCH}


# -- the wait for the tax authority and the payment (issue 17) ---------------------------------

BRANCH_OFFICER = f"specialist.{BRANCH}"


def _event(api, who, code, name, data=None):
    r = api.post(f"/dossiers/{code}/events/{name}", who, json={"data": data or {}})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _waiting_for(api, who, code) -> list[str]:
    """What the dossier waits for, as an integrator learns it: the 409 of a message it does not wait for."""
    r = api.post(f"/dossiers/{code}/events/message", who, json={"message": "không có", "data": {}})
    assert r.status_code == 409, r.get_json()
    return r.get_json()["error"]["waiting_for"]


def _queued_timers(app, code: str) -> int:
    with app.app_context():
        dossier_id = db.session.query(Dossier.id).filter_by(code=code).scalar()
        return db.session.query(Job).filter_by(kind="timer", dossier_id=dossier_id, state="queued").count()


def _at_the_tax_wait(app, api, key) -> dict:
    """A land dossier accepted, verified by the commune and checked by the branch: the fee is
    estimated and the branch waits (event-based gateway) for the tax authority or the payment."""
    body = api.post("/dossiers", key, json={"procedure_code": LAND, "province_code": "01",
                                            "commune_code": COMMUNE, "channel": 2, "applicant": APPLICANT,
                                            "data": {"declared_area_m2": 150.5}}).get_json()
    body = _complete(api, "reception.00454", _only_task(body, "Task_Reception")["id"], "Task_Reception")
    body = _complete(api, "specialist.00454", _only_task(body, "Task_CommuneVerification")["id"],
                     "Task_CommuneVerification")
    body = _complete(api, BRANCH_OFFICER, _only_task(body, "Task_FileCheck")["id"], "Task_FileCheck")
    assert body["status"] == 4 and body["current_tasks"] == []
    assert _waiting_for(api, key, body["code"]) == [] and _queued_timers(app, body["code"]) == 1  # the posting
    _fifteen_days_pass(app, body["code"])
    body = api.get(f"/dossiers/{body['code']}", BRANCH_OFFICER).get_json()
    assert body["status"] == 4 and body["current_tasks"] == []
    assert _waiting_for(api, key, body["code"]) == ["payment_received", "tax_notice"]
    assert _queued_timers(app, body["code"]) == 1  # the 15-day wait
    return body


def _finish(api, body) -> dict:
    """Draft, signature, cadastre update and return: the dossier is finished (status 10)."""
    body = _complete(api, BRANCH_OFFICER, _only_task(body, "Task_Draft")["id"], "Task_Draft")
    body = _complete(api, "leader.00454", _only_task(body, "Task_Sign")["id"], "Task_Sign")
    body = _complete(api, BRANCH_OFFICER, _only_task(body, "Task_UpdateCadastre")["id"], "Task_UpdateCadastre")
    body = _complete(api, "reception.00454", _only_task(body, "Task_Return")["id"], "Task_Return")
    assert body["status"] == 10 and body["finished_at"] is not None and body["current_tasks"] == []
    return body


def _events(body) -> list[str]:
    return [h["note"] for h in body["history"] if h["action"] == "event"]


def _moves(body) -> list[tuple]:
    return [(h["from_status"], h["to_status"]) for h in body["history"]
            if h["to_status"] is not None and h["action"] != "complete"]


def test_tax_notice_then_payment_pauses_the_deadline(app, api, api_key):
    """The tax authority's notice comes (integrator), the officer asks the applicant to pay the
    amount it states (status 6: the deadline stops), the payment comes: back to 4, the due dates
    moved by the time waited, and the branch prepares the certificate."""
    key = api_key(provinces=["01"])
    body = _at_the_tax_wait(app, api, key)
    code = body["code"]
    body = _event(api, key, code, "tax_notice", {"tax_notice_number": "TB-2026-0042", "tax_amount": 3705000})
    assert body["status"] == 4 and body["current_tasks"] == []
    assert body["data"]["tax_notice_number"] == "TB-2026-0042" and body["data"]["tax_amount"] == 3705000
    assert _waiting_for(api, key, code) == ["payment_received"]
    assert _queued_timers(app, code) == 1  # the notice came first: the 15-day timer is dropped, 30 days to pay

    amount = body["data"]["tax_amount"]  # what the notice says the applicant owes
    r = api.post(f"/dossiers/{code}/actions/request-payment", BRANCH_OFFICER,
                 json={"amount": amount, "note": "Theo thông báo thuế TB-2026-0042"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 6 and body["paused"][-1]["amount"] == amount
    due_before, legal_before = datetime.fromisoformat(body["due_at"]), datetime.fromisoformat(body["legal_due_at"])
    with app.app_context():  # the applicant was told one working day ago
        d = db.session.query(Dossier).filter_by(code=code).one()
        cal = calendar_for(db.session, "01")
        start = datetime.fromisoformat(d.paused[-1]["from"])
        day = start.astimezone(TZ).date() - timedelta(days=1)
        while not cal.is_working_day(day):
            day -= timedelta(days=1)
        d.paused = [*d.paused[:-1], {**d.paused[-1], "from": datetime.combine(day, start.astimezone(TZ).time(),
                                                                              tzinfo=TZ).isoformat()}]
        db.session.commit()

    body = _event(api, key, code, "payment_received", {"receipt_number": "BL-2026-0042"})
    assert body["status"] == 4
    draft = _only_task(body, "Task_Draft")
    assert draft["unit_code"] == BRANCH
    hours = body["paused"][-1]["office_hours"]
    assert hours >= 7.9 and body["paused"][-1]["receipt_number"] == "BL-2026-0042"
    with app.app_context():
        cal = calendar_for(db.session, "01")
        assert abs((datetime.fromisoformat(body["due_at"]) - cal.add_office_hours(due_before, hours))
                   .total_seconds()) < 60
        assert abs((datetime.fromisoformat(body["legal_due_at"]) - cal.add_office_hours(legal_before, hours))
                   .total_seconds()) < 60
    assert _waiting_for(api, key, code) == []

    body = _finish(api, body)
    assert _events(body) == ["tax_notice", "payment_received"]  # one entry per event
    assert _moves(body) == [(None, 1), (1, 2), (2, 4), (4, 6), (6, 4), (4, 9), (9, 10)]
    assert "Task_TaxFollowUp" not in [h["step_id"] for h in body["history"]]


def test_payment_without_a_notice_goes_straight_on(app, api, api_key):
    """The applicant pays while the dossier is in processing (no notice, no request): only the
    diagram's wait takes it; the status does not move."""
    key = api_key(provinces=["01"])
    body = _at_the_tax_wait(app, api, key)
    code = body["code"]
    body = _event(api, key, code, "payment_received", {"receipt_number": "BL-2026-0043"})
    assert body["status"] == 4 and [t["step_id"] for t in body["current_tasks"]] == ["Task_Draft"]
    assert _queued_timers(app, code) == 0
    r = api.post(f"/dossiers/{code}/events/tax_notice", key, json={"data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == []
    body = _finish(api, body)
    assert _events(body) == ["payment_received"]
    assert _moves(body) == [(None, 1), (1, 2), (2, 4), (4, 9), (9, 10)]


def _fifteen_days_pass(app, code: str) -> None:
    """The dossier's timers are due now, as 15 days later (its workflow is stored with their due
    times); then the worker runs, as it does in production."""
    with app.app_context():
        dossier_id = db.session.query(Dossier.id).filter_by(code=code).scalar()
        step = Step.lock(db.session, dossier_id, "test:clock")
        run = step.run
        for task_id in run._waiting_timers():
            run.workflow.get_task_from_id(task_id)._set_internal_data(event_value="1970-01-01T00:00:00+00:00")
        step.save()
        db.session.commit()
    Worker(app, name="w1").run_until_idle()


def test_fifteen_days_without_notice_or_payment_opens_a_follow_up(app, api, api_key):
    key = api_key(provinces=["01"])
    body = _at_the_tax_wait(app, api, key)
    code = body["code"]
    _fifteen_days_pass(app, code)
    body = api.get(f"/dossiers/{code}", BRANCH_OFFICER).get_json()
    follow_up = _only_task(body, "Task_TaxFollowUp")
    assert (follow_up["unit_code"], follow_up["role"]) == (BRANCH, "specialist") and body["status"] == 4
    assert [h["step_id"] for h in body["history"] if h["action"] == "timer"] == ["Event_PublicPosting",
                                                                                   "Event_TaxTimeout"]
    r = api.post(f"/dossiers/{code}/events/tax_notice", key, json={"data": {}})
    assert r.status_code == 409 and r.get_json()["error"]["waiting_for"] == []  # the messages are dropped
    assert _queued_timers(app, code) == 0
    # another commune's officer cannot do the follow-up
    assert api.post(f"/tasks/{follow_up['id']}/complete", "specialist.00070",
                    json={"data": STEP_DATA["Task_TaxFollowUp"]}).status_code in (403, 404)
    body = _complete(api, BRANCH_OFFICER, follow_up["id"], "Task_TaxFollowUp")
    assert body["data"]["follow_up_result"] == "paid"
    body = _finish(api, body)
    assert _events(body) == []
    completes = [h["step_id"] for h in body["history"] if h["action"] == "complete"]
    assert completes.index("Task_TaxFollowUp") == completes.index("Task_Draft") - 1


# -- issue 18: the code, the period and the waits it does not count ------------------------------

def _start(api, key, code=LAND, data=None) -> dict:
    r = api.post("/dossiers", key, json={"procedure_code": code, "province_code": "01", "commune_code": COMMUNE,
                                         "channel": 2, "applicant": APPLICANT,
                                         "data": {"declared_area_m2": 150.5, **(data or {})}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_the_old_code_starts_the_new_procedure(app, api, api_key):
    """Integrators still sending 1.004227 start 1.013978; the dossier reports the new code."""
    key = api_key(provinces=["01"])
    body = _start(api, key, OLD_CODE)
    assert body["procedure_code"] == LAND
    got = api.get(f"/dossiers/{body['code']}", "reception.00454")
    assert got.status_code == 200 and got.get_json()["procedure_code"] == LAND
    body = _complete(api, "reception.00454", _only_task(body, "Task_Reception")["id"], "Task_Reception")
    assert {t["step_id"] for t in body["current_tasks"]} == {"Task_CommuneVerification", "Task_FileCheck"}


def _due_days(app, body) -> int:
    """The working days from reception to the legal due date (as the calendar counts them)."""
    received, due = datetime.fromisoformat(body["received_at"]), datetime.fromisoformat(body["legal_due_at"])
    with app.app_context():
        cal = calendar_for(db.session, "01")
        return next(n for n in range(1, 60) if cal.due_at(received, "working", n) == due)


def _received(api, key, data=None) -> dict:
    body = _start(api, key, data=data)
    return _complete(api, "reception.00454", _only_task(body, "Task_Reception")["id"], "Task_Reception")


def test_period_with_and_without_the_certificate_and_in_a_disadvantaged_commune(app, api, api_key):
    """20 working days with the certificate (the default), 17 for the registration only; 30 and
    27 once an administrator marks the commune on the units page (audited)."""
    from .admin_client import BackOffice

    key = api_key(provinces=["01"])
    assert _due_days(app, _received(api, key)) == 20
    assert _due_days(app, _received(api, key, {"with_certificate": False})) == 17

    office = BackOffice(app.test_client())
    office.login("admin.01")
    page = office.text(office.get(f"/units/{COMMUNE}"))  # the commune's own page (issue 22)
    assert "Xã có điều kiện kinh tế - xã hội đặc biệt khó khăn" in page and "checked" not in page
    r = office.post(f"/units/{COMMUNE}/disadvantaged", {"disadvantaged": "1", "q": COMMUNE}, referrer="/units")
    assert r.status_code == 303
    assert "checked" in office.text(office.get(f"/units/{COMMUNE}"))
    assert _due_days(app, _received(api, key)) == 30
    assert _due_days(app, _received(api, key, {"with_certificate": False})) == 27
    # only communes; an administrator of another province does not see the unit
    assert office.post(f"/units/{BRANCH}/disadvantaged", {"disadvantaged": "1"}, referrer="/units",
                       follow=True).status_code in (400, 422, 200)
    with app.app_context():
        from orchestrator.models import AuditEvent, Unit

        assert db.session.get(Unit, BRANCH).disadvantaged is False
        assert db.session.query(AuditEvent).filter_by(action="unit.disadvantaged", unit_code=COMMUNE).count() == 1
    other = BackOffice(app.test_client())
    other.login("admin.19")
    assert other.post(f"/units/{COMMUNE}/disadvantaged", {"disadvantaged": "0"}).status_code == 404
    office.post(f"/units/{COMMUNE}/disadvantaged", {"q": COMMUNE}, referrer="/units")  # unticked: unmarked
    assert _due_days(app, _received(api, key)) == 20


def _wait_started_a_working_day_ago(app, code: str, reason: str) -> None:
    """The open wait of the workflow (`reason`) began one working day earlier, at the same time."""
    with app.app_context():
        d = db.session.query(Dossier).filter_by(code=code).one()
        cal = calendar_for(db.session, "01")
        [i] = [n for n, e in enumerate(d.paused) if e.get("reason") == reason and e["to"] is None]
        start = datetime.fromisoformat(d.paused[i]["from"])
        day = start.astimezone(TZ).date() - timedelta(days=1)
        while not cal.is_working_day(day):
            day -= timedelta(days=1)
        entries = [dict(e) for e in d.paused]
        entries[i]["from"] = datetime.combine(day, start.astimezone(TZ).time(), tzinfo=TZ).isoformat()
        d.paused = entries
        db.session.commit()


def _moved_by_the_wait(app, before: dict, after: dict, reason: str) -> float:
    [entry] = [e for e in after["paused"] if e.get("reason") == reason]
    hours = entry["office_hours"]
    with app.app_context():
        cal = calendar_for(db.session, "01")
        for field in ("due_at", "legal_due_at"):
            expected = cal.add_office_hours(datetime.fromisoformat(before[field]), hours)
            assert abs((datetime.fromisoformat(after[field]) - expected).total_seconds()) < 60, field
    return hours


def test_the_posting_and_the_tax_wait_are_not_counted(app, api, api_key):
    """The due date does not move while officers work; it moves by the office time of the public
    posting and of the wait for the tax notice and the payment; the history says so."""
    key = api_key(provinces=["01"])
    body = _received(api, key)
    code, due = body["code"], body["due_at"]
    body = _complete(api, "specialist.00454", _only_task(body, "Task_CommuneVerification")["id"],
                     "Task_CommuneVerification")
    assert [e["reason"] for e in body["paused"] if e["to"] is None] == ["public_posting"]
    _wait_started_a_working_day_ago(app, code, "public_posting")
    body = _complete(api, BRANCH_OFFICER, _only_task(body, "Task_FileCheck")["id"], "Task_FileCheck")
    assert body["due_at"] == due and body["status"] == 4  # normal processing: no move
    before = body
    _fifteen_days_pass(app, code)
    body = api.get(f"/dossiers/{code}", BRANCH_OFFICER).get_json()
    assert _moved_by_the_wait(app, before, body, "public_posting") >= 7.9
    assert [e["reason"] for e in body["paused"] if e["to"] is None] == ["financial_obligation"]

    _wait_started_a_working_day_ago(app, code, "financial_obligation")
    before = api.get(f"/dossiers/{code}", BRANCH_OFFICER).get_json()
    body = _event(api, key, code, "payment_received", {"receipt_number": "BL-2026-0050"})
    assert _moved_by_the_wait(app, before, body, "financial_obligation") >= 7.9
    assert all(e["to"] is not None for e in body["paused"])
    assert _events(body) == ["payment_received"]
    notes = [(h["action"], h["note"]) for h in body["history"] if h["action"].startswith("period_")]
    assert [a for a, _n in notes] == ["period_paused", "period_resumed", "period_paused", "period_resumed"]
    assert "niêm yết công khai" in notes[0][1] and "không tính vào thời hạn giải quyết" in notes[1][1]
    assert "nghĩa vụ tài chính" in notes[2][1]
    # the next steps carry the moved due date
    assert _only_task(body, "Task_Draft")["due_at"] is not None


def test_the_land_office_records_the_tax_notice_in_the_back_office(app, api, api_key):
    """The branch's officer records the tax authority's notice with its amount from the dossier
    page (the events route's service); the payment request then needs the amount (provincial fee)."""
    from .admin_client import BackOffice

    key = api_key(provinces=["01"])
    code = _at_the_tax_wait(app, api, key)["code"]
    r = api.post(f"/dossiers/{code}/actions/request-payment", BRANCH_OFFICER, json={})
    assert r.status_code == 400 and "amount" in r.get_json()["error"]["fields"]

    office = BackOffice(app.test_client())
    office.login(BRANCH_OFFICER)
    page = office.text(office.get(f"/dossiers/{code}"))
    assert 'id="message-tax_notice"' in page and "Ghi nhận thông báo nghĩa vụ tài chính" in page
    r = office.post(f"/dossiers/{code}/events/tax_notice", {"tax_amount": "abc"}, referrer=f"/dossiers/{code}")
    assert r.status_code in (302, 303, 400)  # a message, never a 500
    r = office.post(f"/dossiers/{code}/events/tax_notice", {"tax_notice_number": "TB-2026-0077",
                                                            "tax_amount": "3.705.000"}, referrer=f"/dossiers/{code}")
    assert r.status_code in (302, 303)
    body = api.get(f"/dossiers/{code}", BRANCH_OFFICER).get_json()
    assert body["data"]["tax_amount"] == 3705000 and body["data"]["tax_notice_number"] == "TB-2026-0077"
    assert _waiting_for(api, key, code) == ["payment_received"]
    [event] = [h for h in body["history"] if h["action"] == "event"]
    assert (event["actor"], event["note"]) == (BRANCH_OFFICER, "tax_notice")
    assert 'id="message-tax_notice"' not in office.text(office.get(f"/dossiers/{code}"))

    # an officer of another commune cannot record it
    stranger = BackOffice(app.test_client())
    stranger.login("specialist.00070")
    assert stranger.post(f"/dossiers/{code}/events/tax_notice", {"tax_amount": "1"}).status_code == 404

    r = api.post(f"/dossiers/{code}/actions/request-payment", BRANCH_OFFICER, json={"amount": 3705000})
    assert r.status_code == 200 and r.get_json()["status"] == 6
