"""What a citizen is told (issue 24, services/citizen_notices.py): only with consent, in the step's
transaction, in Vietnamese; a real SMTP server (aiosmtpd) and a real HTTP SMS provider on 127.0.0.1,
drained by the real worker."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import CitizenMessage, Dossier, Job, User
from orchestrator.services import lifecycle, messages
from orchestrator.services.auth import actor_for_user
from orchestrator.timezone import TZ

from .flows import definitions, lane_set, process, props, upload_and_publish, user
from .lifecycle_helpers import action, event
from .test_desk_page import _dossier, _error_at, _office, _receive, _result, _saved
from .test_messages_outbox import drain, provider, smtp  # noqa: F401 - the shared fixtures

CODE = "9.424001"
EMAIL, PHONE = "tran.thi.binh@example.vn", "0987654321"
RECEPTION, SPECIALIST = "reception.00070", "specialist.00070"
NOTIFY = {"channels": ["email", "sms"], "email": "Tran.Thi.Binh@Example.VN", "phone": "+84 987 654 321"}


def _publish(api):
    steps = [user("Receive", inner=props(milestone="reception")), user("Review"),
             user("Decide", inner=props(milestone="decision")), user("Hand", inner=props(milestone="return"))]
    lanes = lane_set({"R": ("commune/reception", ["Receive"]),
                      "S": ("commune/specialist", ["Review", "Decide", "Hand"])})
    upload_and_publish(api, definitions(process(steps, lanes=lanes)), CODE)


def _start(api, who, notify=None):
    body = {"procedure_code": CODE, "province_code": "01", "commune_code": "00070",
            "applicant": {"full_name": "Trần Thị Bình", "id_number": "001190012345", "address": "12 Hàng Bạc"},
            "data": {}}
    if notify is not None:
        body["notify"] = notify
    return api.post("/dossiers", who, json=body)


def _complete(api, who, body, step_id, data=None):
    task = next(t for t in body["current_tasks"] if t["step_id"] == step_id)
    r = api.post(f"/tasks/{task['id']}/complete", who, json={"data": data or {}})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _messages(app, code):
    with app.app_context():
        dossier_id = db.session.scalar(select(Dossier.id).where(Dossier.code == code))
        return [(m.event, m.channel, m.recipient, m.state) for m in db.session.scalars(
            select(CitizenMessage).where(CitizenMessage.dossier_id == dossier_id).order_by(CitizenMessage.id))]


def test_a_dossiers_life_tells_the_citizen_on_the_channels_chosen(app, api, api_key, smtp, provider):  # noqa: F811
    sms = provider()
    app.config.update(SMS_PROVIDER_URL=sms.url, PUBLIC_BASE_URL="https://dichvucong.example.vn/")
    _publish(api)
    r = _start(api, api_key(), NOTIFY)  # online: the integrator passes on the citizen's choice
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    code = body["code"]
    assert _messages(app, code) == []  # submitted, not yet received: nothing to tell

    body = _complete(api, RECEPTION, body, "Receive")  # accepted at reception
    due = api.get(f"/dossiers/{code}", RECEPTION).get_json()["due_at"]
    due_day = datetime.fromisoformat(due).astimezone(TZ).strftime("%d/%m/%Y")
    r = action(api, SPECIALIST, code, "request-supplement", items=["Bản sao giấy chứng sinh", "Tờ khai có chữ ký"])
    assert r.status_code == 200, r.get_json()
    r = event(api, RECEPTION, code, "supplement_submitted", {"note": "đã bổ sung"})
    assert r.status_code == 200, r.get_json()
    body = _complete(api, SPECIALIST, r.get_json(), "Review")
    body = _complete(api, SPECIALIST, body, "Decide")
    assert body["status"] == 9
    body = _complete(api, SPECIALIST, body, "Hand")
    assert body["status"] == 10
    drain(app)

    events = ["dossier.received", "supplement.requested", "result.ready", "result.ready"]
    assert [(e, c, r) for e, c, r, _s in _messages(app, code)] == [
        (e, c, EMAIL if c == "email" else PHONE) for e in events for c in ("email", "sms")]
    assert {s for *_x, s in _messages(app, code)} == {"sent"}

    mails = {m["Subject"]: m.get_body().get_content() for m in smtp.messages}
    assert [m["To"] for m in smtp.messages] == [EMAIL] * 4
    received = mails[f"Đã tiếp nhận hồ sơ {code}"]
    assert f"đã tiếp nhận hồ sơ {code}" in received and f"Ngày hẹn trả kết quả: {due_day}." in received
    assert f"https://dichvucong.example.vn/tra-cuu?code={code}" in received
    supplement = mails[f"Đề nghị bổ sung hồ sơ {code}"]
    assert "- Bản sao giấy chứng sinh\n- Tờ khai có chữ ký\n" in supplement
    assert f"Đã có kết quả hồ sơ {code}" in mails and f"Đã trả kết quả hồ sơ {code}" in mails
    for text in mails.values():  # the least personal data: no ID number, no address, no name
        assert "001190012345" not in text and "Hàng Bạc" not in text and "Trần Thị Bình" not in text

    texts = [d["json"]["text"] for d in sms.delivered]
    assert [d["json"]["to"] for d in sms.delivered] == [PHONE] * 4
    assert texts[0] == (f"Hồ sơ {code} đã được tiếp nhận, hẹn trả {due_day}. "
                        f"Tra cứu: https://dichvucong.example.vn/tra-cuu?code={code}")
    assert texts[1].startswith(f"Hồ sơ {code} cần bổ sung: Bản sao giấy chứng sinh, Tờ khai có chữ ký. Nộp tại ")
    assert texts[3] == f"Hồ sơ {code} đã trả kết quả. Cảm ơn Ông/Bà."


def test_no_consent_sends_nothing_and_a_rolled_back_step_sends_nothing(app, api, api_key, smtp):  # noqa: F811
    _publish(api)
    silent = _start(api, api_key()).get_json()  # no `notify`: the citizen is never told
    silent = _complete(api, RECEPTION, silent, "Receive")
    assert action(api, SPECIALIST, silent["code"], "request-supplement", items=["Bản sao"]).status_code == 200
    told = _complete(api, RECEPTION, _start(api, api_key(), {"channels": ["email"], "email": EMAIL}).get_json(),
                     "Receive")
    with app.app_context():  # a step that queues its message, then rolls back
        actor = actor_for_user(db.session, db.session.scalar(select(User).where(User.username == SPECIALIST)))
        step = lifecycle.step_for_action(db.session, actor, told["code"])
        lifecycle.request_supplement(step, actor, ["Bản sao"])
        assert db.session.query(CitizenMessage).filter_by(event="supplement.requested").count() == 1
        db.session.rollback()
    drain(app)
    assert _messages(app, silent["code"]) == []
    assert [e for e, *_x in _messages(app, told["code"])] == ["dossier.received"]
    assert [m["Subject"] for m in smtp.messages] == [f"Đã tiếp nhận hồ sơ {told['code']}"]
    with app.app_context():
        assert db.session.query(Job).filter_by(kind=messages.KIND).count() == 1


@pytest.mark.sqlite_only  # checks at the edge and in the service, before any write: one backend is enough
def test_the_api_refuses_a_channel_without_its_contact(app, api, api_key):
    _publish(api)
    key = api_key()
    r = _start(api, key, {"channels": ["email", "zalo"], "email": EMAIL})
    assert r.status_code == 422, r.get_json()
    assert set(r.get_json()["error"]["fields"]) == {"notify.phone"}
    r = _start(api, key, {"channels": ["email"], "phone": PHONE})
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"notify.email"}
    r = _start(api, key, {"channels": ["fax"], "email": EMAIL})
    assert r.status_code == 400 and any(f.startswith("notify.channels") for f in r.get_json()["error"]["fields"])
    r = _start(api, key, {"channels": ["sms"], "phone": "0123"})
    assert r.status_code == 400 and "notify.phone" in r.get_json()["error"]["fields"]
    r = _start(api, key, {"channels": ["sms"], "phone": "+84 12 3456 7890"})  # well-formed, not Vietnamese
    assert r.status_code == 400 and "notify.phone" in r.get_json()["error"]["fields"]
    r = _start(api, key, {"channels": ["email"], "email": "not-an-address"})
    assert r.status_code == 400 and "notify.email" in r.get_json()["error"]["fields"]
    with app.app_context():
        assert db.session.query(Dossier).filter_by(procedure_code=CODE).count() == 0
        assert db.session.query(CitizenMessage).count() == 0


@pytest.mark.sqlite_only
def test_the_desk_records_the_citizens_choice_and_names_a_missing_contact(app, client):
    office = _office(client)
    page = office.text(office.get("/desk?procedure=1.001193&unit=00070"))
    assert 'name="notify-channels" value="sms"' in page and 'id="notify-phone"' in page
    # SMS chosen, the contact left empty: the applicant's phone given above is used
    r = _receive(office, {"reception_result": "accept", "notify-channels": ["sms"]})
    code, _page = _result(office, r)
    assert _dossier(app, code).notify == {"channels": ["sms"], "phone": "0987654321"}
    assert [(e, c, to) for e, c, to, _s in _messages(app, code)] == [("dossier.received", "sms", "0987654321")]
    # email chosen, no address anywhere: named next to its field, nothing saved
    before = _saved(app)
    r = _receive(office, {"reception_result": "accept", "notify-channels": ["email"]})
    assert r.status_code == 400 and _error_at(office.text(r), "notify-email")
    assert _saved(app) == before
