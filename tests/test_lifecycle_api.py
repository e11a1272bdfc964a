"""The legal lifecycle over the JSON API: supplements, payment, apology, withdrawal, stop,
refusal, return to a step, return of the result; every rule violation answers a clear error and
changes nothing (both backends)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from orchestrator.extensions import db
from orchestrator.models import Dossier
from orchestrator.services.calendar import TZ
from orchestrator.services.deadlines import calendar_for

from .lifecycle_helpers import paid_at_once
from .lifecycle_helpers import (
    BRANCH_LEADER, BRANCH_OFFICER, RECEPTION, accepted, action, complete, event, set_due, shift_reception, snapshot,
    start_online, task,
)
from .test_land_e2e import STEP_DATA


def test_reception_supplement_once_then_the_supplement_reopens_reception(app, api, api_key):
    key = api_key()
    body = start_online(api, key)
    code = body["code"]
    assert action(api, RECEPTION, code, "request-supplement", items=[]).status_code == 400
    r = action(api, RECEPTION, code, "request-supplement", items=["Bản sao giấy tờ về quyền sử dụng đất",
                                                                  "Mảnh trích đo địa chính"])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 5 and body["current_tasks"] == [] and body["due_at"] is None
    assert body["paused"][0]["stage"] == "reception" and len(body["paused"][0]["items"]) == 2
    page = api.get(f"/dossiers/{code}/documents/supplement", RECEPTION).get_data(as_text=True)
    assert "Mảnh trích đo địa chính" in page and code in page

    # the citizen supplements through the portal: the reception step opens again (status 1)
    r = event(api, key, code, "supplement_submitted", {"note": "đã nộp đủ"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 1 and [t["step_id"] for t in body["current_tasks"]] == ["Task_Reception"]
    assert body["paused"][0]["to"] is not None and body["finished_at"] is None
    assert event(api, key, code, "supplement_submitted").status_code == 409  # not waiting any more

    # a second supplement request at reception is refused and changes nothing
    before = snapshot(app, code)
    r = action(api, RECEPTION, code, "request-supplement", items=["Giấy tờ khác"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "supplement_already_requested"
    assert snapshot(app, code) == before
    body = complete(api, RECEPTION, body, "Task_Reception")
    assert body["status"] == 4 and body["due_at"] is not None


def test_processing_supplement_once_per_unit_and_the_period_counts_again(app, api, api_key):
    key = api_key()
    code = accepted(api, key)["code"]
    shift_reception(app, code, 2)  # received two working days ago (no window unless the version sets one)
    old_due = datetime.fromisoformat(api.get(f"/dossiers/{code}", RECEPTION).get_json()["due_at"])
    r = action(api, BRANCH_OFFICER, code, "request-supplement", items=["Bản vẽ sơ đồ tài sản"], reason="thiếu")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 5 and body["paused"][-1]["stage"] == "processing"
    # the open steps wait: completing one now is a clear 409
    r = api.post(f"/tasks/{task(body, 'Task_FileCheck')['id']}/complete", BRANCH_OFFICER,
                 json={"data": STEP_DATA["Task_FileCheck"]})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "dossier_paused"

    r = event(api, RECEPTION, code, "supplement_submitted", {"note": "bổ sung tại quầy"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 4
    new_due = datetime.fromisoformat(body["due_at"])
    with app.app_context():
        submitted = datetime.fromisoformat(body["paused"][-1]["to"])
        assert new_due == calendar_for(db.session, "01").due_at(submitted, "working", 20)
    assert new_due > old_due and body["legal_due_at"] == body["due_at"]
    assert {t["step_id"]: t["due_at"] for t in body["current_tasks"]}  # steps still open

    before = snapshot(app, code)
    r = action(api, BRANCH_OFFICER, code, "request-supplement", items=["lần hai"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "supplement_already_requested"
    assert snapshot(app, code) == before
    actions = [h["action"] for h in body["history"]]
    assert "supplement_requested" in actions and "supplement_submitted" in actions


def test_no_supplement_window_unless_the_version_sets_one(app, api, api_key):
    """Issue 18: no general rule limits when a supplement may be asked; the version may set a
    window (tests/test_supplements.py)."""
    code = accepted(api, api_key())["code"]
    shift_reception(app, code, 4)
    r = action(api, BRANCH_OFFICER, code, "request-supplement", items=["Bản vẽ"])
    assert r.status_code == 200 and r.get_json()["status"] == 5


def test_financial_obligation_pauses_the_deadline(app, api, api_key):
    key = api_key()
    code = accepted(api, key)["code"]
    assert event(api, key, code, "payment_received").status_code == 409  # not waiting for it
    r = action(api, BRANCH_OFFICER, code, "request-payment")  # set by the province: the amount is needed
    assert r.status_code == 400 and "amount" in r.get_json()["error"]["fields"]
    r = action(api, BRANCH_OFFICER, code, "request-payment", amount=100000)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 6 and body["paused"][-1]["amount"] == 100000
    due_before = datetime.fromisoformat(body["due_at"])
    with app.app_context():  # the notice went out one working day ago
        d = db.session.query(Dossier).filter_by(code=code).one()
        cal = calendar_for(db.session, "01")
        start = datetime.fromisoformat(d.paused[-1]["from"])
        day = start.astimezone(TZ).date() - timedelta(days=1)
        while not cal.is_working_day(day):
            day -= timedelta(days=1)
        earlier = datetime.combine(day, start.astimezone(TZ).time(), tzinfo=TZ)
        d.paused = [{**d.paused[-1], "from": earlier.isoformat()}]
        db.session.commit()
    r = event(api, key, code, "payment_received", {"receipt_number": "BL-001"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 4
    hours = body["paused"][-1]["office_hours"]
    assert hours >= 7.9
    with app.app_context():
        expected = calendar_for(db.session, "01").add_office_hours(due_before, hours)
    assert abs((datetime.fromisoformat(body["due_at"]) - expected).total_seconds()) < 60
    assert body["legal_due_at"] == body["due_at"]  # time in status 6 is not counted at all
    assert action(api, BRANCH_OFFICER, code, "request-payment", amount=-1).status_code == 400


def test_apology_once_at_least_one_working_day_before_the_due_date(app, api, api_key):
    key = api_key()
    code = accepted(api, key)["code"]
    body = api.get(f"/dossiers/{code}", RECEPTION).get_json()
    legal = body["legal_due_at"]
    new_date = (datetime.fromisoformat(legal) + timedelta(days=10)).date().isoformat()
    # a leader of a unit holding the dossier apologises (tests/test_lifecycle_permissions.py)
    assert action(api, BRANCH_OFFICER, code, "apologize", new_due_at=new_date, reason="x").status_code == 403
    assert action(api, BRANCH_LEADER, code, "apologize", new_due_at=new_date).status_code == 400  # no reason
    assert action(api, BRANCH_LEADER, code, "apologize", new_due_at="2020-01-01",
                  reason="x").status_code == 400  # not after the due date
    r = action(api, BRANCH_LEADER, code, "apologize", new_due_at=new_date, reason="Chờ ý kiến cơ quan thuế")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["due_at"].startswith(new_date + "T17:00") and body["legal_due_at"] == legal
    assert body["apologized_at"] is not None
    assert "Chờ ý kiến cơ quan thuế" in api.get(f"/dossiers/{code}/documents/apology", RECEPTION).get_data(as_text=True)
    before = snapshot(app, code)
    r = action(api, BRANCH_LEADER, code, "apologize", new_due_at=new_date, reason="lần hai")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "apology_already_sent"
    assert snapshot(app, code) == before

    # another dossier due today: too late for an apology
    other = accepted(api, key)["code"]
    set_due(app, other, datetime.combine(datetime.now(TZ).date(), time(17, 0), tzinfo=TZ))
    before = snapshot(app, other)
    r = action(api, BRANCH_LEADER, other, "apologize", new_due_at=new_date, reason="trễ")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "apology_too_late"
    assert snapshot(app, other) == before


def test_withdrawal_stop_and_refusal(app, api, api_key):
    key = api_key()
    code = accepted(api, key)["code"]
    r = event(api, key, code, "withdrawn", {"reason": "Công dân rút hồ sơ"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 7 and body["current_tasks"] == [] and body["finished_at"]
    assert event(api, key, code, "withdrawn").status_code == 409
    # nothing open: the unit of the last step done (the commune's reception) is asked, and told it is too late
    assert action(api, "leader.00454", code, "stop", reason="x").status_code == 409

    code = accepted(api, key)["code"]
    assert action(api, BRANCH_LEADER, code, "stop").status_code == 400
    r = action(api, BRANCH_LEADER, code, "stop", reason="Có tranh chấp đất đai được Tòa án thụ lý")
    assert r.status_code == 200 and r.get_json()["status"] == 8
    notice = api.get(f"/dossiers/{code}/documents/stop", RECEPTION).get_data(as_text=True)
    assert "Có tranh chấp đất đai" in notice and "Điều 21" in notice
    pdf = api.get(f"/dossiers/{code}/documents/stop?format=pdf", RECEPTION)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    online = start_online(api, key)["code"]
    assert action(api, RECEPTION, online, "refuse").status_code == 400
    r = action(api, RECEPTION, online, "refuse", reason="Thửa đất không thuộc địa bàn xã")
    assert r.status_code == 200 and r.get_json()["status"] == 3
    refusal = api.get(f"/dossiers/{online}/documents/refusal", RECEPTION).get_data(as_text=True)
    assert "Thửa đất không thuộc địa bàn xã" in refusal
    processing = accepted(api, key)["code"]
    r = action(api, RECEPTION, processing, "refuse", reason="muộn")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_allowed_in_status"


def _to_sign(api, key) -> dict:
    body = accepted(api, key)
    body = complete(api, "specialist.00454", body, "Task_CommuneVerification")
    body = paid_at_once(api, BRANCH_OFFICER, complete(api, BRANCH_OFFICER, body, "Task_FileCheck"))
    return complete(api, BRANCH_OFFICER, body, "Task_Draft")


def test_return_to_an_earlier_step_with_a_reason(app, api, api_key):
    body = _to_sign(api, api_key())
    code = body["code"]
    assert action(api, "leader.00454", code, "return-to-step", step_id="Task_Draft").status_code == 400
    assert action(api, "leader.00454", code, "return-to-step", step_id="Nope", reason="x").status_code == 400
    r = action(api, "leader.00454", code, "return-to-step", step_id="Task_Reception", reason="x")
    assert r.status_code == 409
    assert action(api, "leader.00070", code, "return-to-step", step_id="Task_Draft", reason="x").status_code == 404
    r = action(api, RECEPTION, code, "return-to-step", step_id="Task_Draft", reason="x")
    assert r.status_code == 403  # takes part, but does not hold the current step
    before = snapshot(app, code)
    r = action(api, "leader.00454", code, "return-to-step", step_id="Task_UpdateCadastre", reason="x")
    assert r.status_code == 409 and snapshot(app, code) == before  # never done: not an earlier step
    r = action(api, "leader.00454", code, "return-to-step", step_id="Task_Draft", reason="Sai số thửa trên GCN")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert [t["step_id"] for t in body["current_tasks"]] == ["Task_Draft"]
    ret = [h for h in body["history"] if h["action"] == "return_to_step"]
    assert ret and ret[0]["note"] == "Sai số thửa trên GCN" and ret[0]["step_id"] == "Task_Draft"
    body = complete(api, BRANCH_OFFICER, body, "Task_Draft")
    assert [t["step_id"] for t in body["current_tasks"]] == ["Task_Sign"]


def test_decision_and_return_of_the_result_with_documents(app, api, api_key):
    body = _to_sign(api, api_key())
    code = body["code"]
    assert action(api, RECEPTION, code, "return-result", method="in_person").status_code == 409  # no decision yet
    body = complete(api, "leader.00454", body, "Task_Sign")
    assert body["status"] == 9
    r = action(api, RECEPTION, code, "return-result", method="in_person", data={"result_number": "KQ-1"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "steps_open"
    body = complete(api, BRANCH_OFFICER, body, "Task_UpdateCadastre")
    before = snapshot(app, code)
    r = action(api, RECEPTION, code, "return-result", method="online", data={"result_number": "KQ-1"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "result_missing"
    assert snapshot(app, code) == before
    up = api.post(f"/dossiers/{code}/attachments", RECEPTION, data={"kind": "result", "file": (
        __import__("io").BytesIO(b"%PDF-1.4 giay chung nhan"), "GCN.pdf")}, content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    r = action(api, RECEPTION, code, "return-result", method="online", data={"result_number": "KQ-1"},
               attachment_ids=[up.get_json()["id"]])
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == 10 and body["finished_at"] and body["current_tasks"] == []
    slip = api.get(f"/dossiers/{code}/documents/control", RECEPTION).get_data(as_text=True)
    for step in ("Task_Reception", "Task_FileCheck", "Task_Sign", "Task_Return"):
        assert f'data-step="{step}"' in slip
    assert "Đúng hạn" in slip or "Trước hạn" in slip


def test_events_and_actions_authorisation(app, api, api_key):
    key = api_key()
    code = accepted(api, key)["code"]
    r = event(api, key, code, "tax_notice")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_waiting"
    assert "tax_notice" in r.get_json()["error"]["message"]
    assert event(api, api_key(permissions=("dossiers:read",), name="reader"), code, "withdrawn").status_code == 403
    assert event(api, api_key(provinces=("19",), name="other"), code, "withdrawn").status_code == 404
    assert event(api, key, code, "bad%01name").status_code == 400, "a control character in the name"
    assert event(api, key, code, "x" * 201).status_code == 400, "a name over 200 characters"
    assert action(api, key, code, "stop", reason="x").status_code == 403
    assert action(api, "supervisor.01", code, "stop", reason="x").status_code == 403
    assert action(api, "leader.00070", code, "stop", reason="x").status_code == 404
    assert action(api, RECEPTION, code, "fly", reason="x").status_code == 404
    assert action(api, RECEPTION, code, "stop", bogus=1).status_code == 400
    assert action(api, RECEPTION, "NOPE-1", "stop", reason="x").status_code == 404
    assert action(api, RECEPTION, code, "apologize", new_due_at="not a date", reason="x").status_code == 400
    assert api.post(f"/dossiers/{code}/events/withdrawn").status_code == 401


def test_inbox_filters_counts_marks_and_leader_reassignment(app, api, api_key):
    key = api_key()
    a = accepted(api, key)
    b = accepted(api, key)
    with app.app_context():
        from orchestrator.models import WorkItem

        item = db.session.get(WorkItem, task(a, "Task_FileCheck")["id"])
        item.due_at = datetime.now(TZ) - timedelta(days=1)  # overdue once its due day has ended
        db.session.commit()
    body = api.get("/tasks?view=available", BRANCH_OFFICER).get_json()
    assert body["counts"]["all"] == 2 and body["counts"]["overdue"] == 1
    assert body["items"][0]["dossier_code"] == a["code"] and body["items"][0]["due_mark"] == "overdue"
    assert api.get("/tasks?due=overdue", BRANCH_OFFICER).get_json()["total"] == 1
    assert api.get("/tasks?overdue=true", BRANCH_OFFICER).get_json()["total"] == 1
    assert api.get("/tasks?procedure_code=1.001193", BRANCH_OFFICER).get_json()["total"] == 0
    assert api.get("/tasks?status=4&received_by_unit=00454", BRANCH_OFFICER).get_json()["total"] == 2
    assert api.get("/tasks?due=someday", BRANCH_OFFICER).status_code == 400
    # the leader of the branch sees the whole unit's work and reassigns
    leader = "leader.01.VPDKDD.CN11"
    tid = task(b, "Task_FileCheck")["id"]
    assert api.post(f"/tasks/{tid}/claim", BRANCH_OFFICER).status_code == 200
    unit = api.get("/tasks?view=unit", leader).get_json()
    assert tid in [t["id"] for t in unit["items"]] and unit["total"] == 2
    assert api.post(f"/tasks/{tid}/assign", BRANCH_OFFICER, json={"username": BRANCH_OFFICER}).status_code == 403
    r = api.post(f"/tasks/{tid}/complete", "specialist.00454", json={"data": STEP_DATA["Task_FileCheck"]})
    assert r.status_code in (403, 409)
    with app.app_context():
        from orchestrator.services.auth import create_user

        create_user(db.session, "specialist2.CN11", "demo1234", [("specialist", "01.VPDKDD.CN11")])
        db.session.commit()
    r = api.post(f"/tasks/{tid}/assign", leader, json={"username": "specialist2.CN11"})
    assert r.status_code == 200 and r.get_json()["assignee"] == "specialist2.CN11"
    r = api.post(f"/tasks/{tid}/complete", BRANCH_OFFICER, json={"data": STEP_DATA["Task_FileCheck"]})
    assert r.status_code == 409 and r.get_json()["error"]["holder"] == "specialist2.CN11"


def test_attachments_on_disk_type_size_and_authorisation(app, api, api_key, tmp_path):
    import io

    app.config.update(ATTACHMENT_STORAGE="disk", ATTACHMENT_DIR=str(tmp_path), ATTACHMENT_MAX_BYTES=1024)
    key = api_key()
    code = accepted(api, key)["code"]

    def upload(who, name, data, kind="applicant"):
        return api.post(f"/dossiers/{code}/attachments", who, data={"kind": kind, "file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")

    assert upload(RECEPTION, "a.exe", b"MZ").status_code == 400
    assert upload(RECEPTION, "a.pdf", b"<html>").status_code == 400
    assert upload(RECEPTION, "a.pdf", b"%PDF-" + b"x" * 2000).status_code == 413
    assert upload("reception.00070", "a.pdf", b"%PDF-1").status_code == 404
    assert upload(key, "r.pdf", b"%PDF-1", kind="result").status_code == 403  # integrators: applicant's only
    r = upload(key, "scan.png", b"\x89PNG\r\n\x1a\nrest")
    assert r.status_code == 201 and r.get_json()["uploaded_by"] == "integrator:portal"
    assert list(tmp_path.rglob("*"))  # the bytes are on disk
    aid = r.get_json()["id"]
    got = api.get(f"/attachments/{aid}", BRANCH_OFFICER)
    assert got.status_code == 200 and got.data == b"\x89PNG\r\n\x1a\nrest" and got.mimetype == "image/png"
    assert api.get(f"/attachments/{aid}", "specialist.00070").status_code == 404
    assert api.get("/attachments/999999", RECEPTION).status_code == 404
    assert [d["kind"] for d in api.get(f"/dossiers/{code}/documents", RECEPTION).get_json()["items"]] == [
        "receipt", "control"]
    assert api.get(f"/dossiers/{code}/documents/stop", RECEPTION).status_code == 404
    assert api.get(f"/dossiers/{code}/documents/receipt?format=doc", RECEPTION).status_code == 400


def test_a_file_written_by_a_rolled_back_upload_is_deleted(app, api, api_key, tmp_path):
    from dataclasses import replace

    from orchestrator.services import attachments
    from orchestrator.services.auth import Actor

    code = accepted(api, api_key())["code"]
    portal = Actor("integrator", "integrator:portal", provinces=("01",), permissions=frozenset({"dossiers:create"}))
    root = tmp_path / "files"
    store = attachments.DiskStorage(root)

    def files():
        return sorted(f.name for f in root.rglob("*") if f.is_file())

    with app.app_context():
        dossier = db.session.query(Dossier).filter_by(code=code).one()
        portal = replace(portal, integrator_id=dossier.created_by_integrator_id)  # the portal submitted it
        attachments.upload(db.session, portal, dossier, "applicant", "a.pdf", b"%PDF-1 kept", store)
        db.session.commit()
        kept = files()
        assert len(kept) == 1
        dossier = db.session.query(Dossier).filter_by(code=code).one()
        attachments.upload(db.session, portal, dossier, "applicant", "b.pdf", b"%PDF-1 dropped", store)
        assert len(files()) == 2  # written before the commit ...
        db.session.rollback()
        assert files() == kept  # ... and deleted with the transaction that did not commit
        dossier = db.session.query(Dossier).filter_by(code=code).one()
        attachments.upload(db.session, portal, dossier, "applicant", "c.pdf", b"%PDF-1 closed", store)
        db.session.remove()  # a request that ends without committing
        assert files() == kept
        assert len(attachments.list_for(db.session, db.session.query(Dossier).filter_by(code=code).one())) == 1
