"""The land procedure end to end over HTTP: commune reception -> land registration branch ->
the wait for the tax authority and the payment -> commune leader signs -> commune returns, with
different officers at each step; the three ways out of the wait (the tax notice then the payment,
the payment alone, 15 days without either)."""
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
    # API.md: the answer is the dossier as GET shows it (its open steps are taken from the step
    # itself, not read again: they must be the same, in the same order).
    assert body == api.get(f"/dossiers/{body['code']}", who).get_json()
    return body


def test_land_procedure_commune_to_province_and_back(app, api, api_key):
    with app.app_context():
        create_user(db.session, "reception2.00454", "demo1234", [("reception", COMMUNE)])
        db.session.commit()
    key = api_key(provinces=["01"])
    r = api.post("/dossiers", key, json={"procedure_code": "1.004227", "province_code": "01",
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
    assert body["data"]["fee"] >= 0 if "fee" in body["data"] else True
    # The branch waits for the tax authority or the payment: here the applicant pays at once.
    assert body["status"] == 4 and body["current_tasks"] == []
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
    body = api.post("/dossiers", key, json={"procedure_code": "1.004227", "province_code": "01",
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
    body = api.post("/dossiers", key, json={"procedure_code": "1.004227", "province_code": "01",
                                            "commune_code": COMMUNE, "channel": 2, "applicant": APPLICANT,
                                            "data": {"declared_area_m2": 150.5}}).get_json()
    body = _complete(api, "reception.00454", _only_task(body, "Task_Reception")["id"], "Task_Reception")
    body = _complete(api, "specialist.00454", _only_task(body, "Task_CommuneVerification")["id"],
                     "Task_CommuneVerification")
    body = _complete(api, BRANCH_OFFICER, _only_task(body, "Task_FileCheck")["id"], "Task_FileCheck")
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
    assert _queued_timers(app, code) == 0  # the notice came first: the 15-day timer is dropped

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
    assert _events(body)[0] == "tax_notice" and set(_events(body)[1:]) == {"payment_received"}
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
    assert [h["step_id"] for h in body["history"] if h["action"] == "timer"] == ["Event_TaxTimeout"]
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
