"""Issue 24, points 4 and 5: the officers' daily email digest (opt-in on the account page, the
recurring `officer_digest` job, a real SMTP server on 127.0.0.1) and a dossier's delivery log for
its administrators (back office and API), contacts masked."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from orchestrator.extensions import db
from orchestrator.models import CitizenMessage, Dossier, Job, Notification, User
from orchestrator.models.types import utcnow
from orchestrator.services import (
    message_templates,
    messages,
    notifications,
    officer_digest,
)
from orchestrator.services.auth import actor_for_user
from orchestrator.timezone import TZ

from .admin_client import BackOffice
from .test_integrations import START
from .test_messages_outbox import EMAIL, PHONE, drain, smtp  # noqa: F401 - the SMTP sink fixture

OFFICER, OTHER = "specialist.00070", "leader.00070"
DIGEST_EMAIL = "an.nguyen@hoankiem.example.vn"


def office(app, username: str) -> BackOffice:
    bo = BackOffice(app.test_client())
    bo.login(username)
    return bo


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def opt_in(app, username: str, address: str = DIGEST_EMAIL) -> None:
    r = office(app, username).post("/account/digest", {"digest_enabled": "1", "digest_email": address},
                                   referrer="/account")
    assert r.status_code == 303, r.get_data(as_text=True)


def start_dossier(api) -> str:
    return api.post("/dossiers", "reception.00070", json=START).get_json()["code"]


def notify(app, username: str, kind: str, code: str, message: str) -> None:
    with app.app_context():
        dossier = db.session.scalar(select(Dossier).where(Dossier.code == code))
        notifications.notify(db.session, [user(username).id], kind, dossier, message)
        db.session.commit()


def digests(app) -> list[CitizenMessage]:
    with app.app_context():
        rows = db.session.scalars(select(CitizenMessage).where(CitizenMessage.event == officer_digest.EVENT)
                                  .order_by(CitizenMessage.id)).all()
        db.session.expunge_all()
        return rows


def run_job(app) -> None:
    """The recurring job as the worker runs it: queued at worker start, taken when due."""
    from orchestrator.worker import Worker

    worker = Worker(app, name="digest")
    worker.start_periodic()
    with app.app_context():
        db.session.query(Job).filter(Job.kind == officer_digest.KIND, Job.state == "queued").update({"run_at": utcnow()})
        db.session.commit()
    worker.run_until_idle()


def test_opt_in_on_the_account_page(app):
    bo = office(app, OFFICER)
    page = bo.text(bo.get("/account"))
    assert 'id="digest-form"' in page and "Bản tổng hợp thông báo qua email" in page
    # without the CSRF token: refused, nothing saved
    r = bo.client.post("/admin/account/digest", data={"digest_enabled": "1", "digest_email": DIGEST_EMAIL})
    assert r.status_code == 400
    # a bad address: refused with a message naming the field, the typed value kept
    r = bo.post("/account/digest", {"digest_enabled": "1", "digest_email": "không phải email"}, referrer="/account",
                follow=True)
    text = bo.text(r)
    assert "Địa chỉ email không hợp lệ." in text and 'aria-invalid="true"' in text
    r = bo.post("/account/digest", {"digest_enabled": "1", "digest_email": ""}, referrer="/account", follow=True)
    assert "Cần địa chỉ email" in bo.text(r)
    with app.app_context():
        assert not user(OFFICER).digest_enabled
    r = bo.post("/account/digest", {"digest_enabled": "1", "digest_email": DIGEST_EMAIL}, referrer="/account",
                follow=True)
    assert "Đã lưu lựa chọn" in bo.text(r) and f'value="{DIGEST_EMAIL}"' in bo.text(r)
    with app.app_context():
        me = user(OFFICER)
        assert me.digest_enabled and me.digest_email == DIGEST_EMAIL and me.digest_since is not None
    bo.post("/account/digest", {"digest_email": DIGEST_EMAIL}, referrer="/account")  # off, address kept
    with app.app_context():
        assert not user(OFFICER).digest_enabled and user(OFFICER).digest_email == DIGEST_EMAIL


def test_the_job_sends_one_digest_per_opted_in_officer_then_nothing_new(app, api, smtp):  # noqa: F811
    code = start_dossier(api)
    opt_in(app, OFFICER)
    notify(app, OFFICER, "assigned", code, f"Bạn được giao bước «Thẩm định» của hồ sơ {code}.")
    notify(app, OFFICER, "overdue", code, f"Bước «Thẩm định» của hồ sơ {code} đã quá hạn.")
    notify(app, OFFICER, "supplement_received", code, f"Công dân đã bổ sung hồ sơ {code}.")
    notify(app, OTHER, "assigned", code, f"Bạn được giao bước «Phê duyệt» của hồ sơ {code}.")  # did not opt in
    run_job(app)
    sent = digests(app)
    assert len(sent) == 1 and sent[0].recipient == DIGEST_EMAIL and sent[0].dossier_id is None
    body = sent[0].body
    for heading in ("Được giao xử lý (1):", "Đã quá hạn (1):", "Công dân đã bổ sung hồ sơ (1):"):
        assert heading in body
    # each line is its event's template (built-in here), with the dossier's procedure and due date
    assert f"- {code} (" in body and "): được giao xử lý bước «Thẩm định», hạn " in body and "Phê duyệt" not in body
    assert "): đã quá hạn " in body and "(bước «Thẩm định»), đề nghị xử lý ngay." in body
    # (the worker also ran the dossier's own reminder: due tomorrow, a fourth row, told the same way)
    listed = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(listed) >= 3 and f"{len(listed)} thông báo mới" in sent[0].subject
    with app.app_context():
        rows = db.session.scalars(select(Notification).where(Notification.user_id == user(OFFICER).id)).all()
        assert all(n.digested_at is not None for n in rows)
        assert db.session.scalar(select(Notification.digested_at).where(
            Notification.user_id == user(OTHER).id)) is None
        # the job queued its next run at 07:00 Vietnam time
        nxt = db.session.scalar(select(Job.run_at).where(Job.kind == officer_digest.KIND, Job.state == "queued"))
        assert nxt.astimezone(TZ).time().hour == 7 and nxt > utcnow()
    # the email arrives through the real SMTP server
    drain(app)
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["To"] == DIGEST_EMAIL and "thông báo mới" in mail["Subject"]
    assert "): công dân đã bổ sung hồ sơ." in mail.get_body().get_content()
    # a second run: nothing new, nothing sent
    run_job(app)
    assert len(digests(app)) == 1
    # a new row goes in the next digest, alone
    notify(app, OFFICER, "due_soon", code, f"Hồ sơ {code} đến hạn ngày mai.")
    run_job(app)
    sent = digests(app)
    assert len(sent) == 2 and "Đến hạn vào ngày mai (1):" in sent[1].body and "Thẩm định" not in sent[1].body


def test_a_province_override_of_task_assigned_words_that_province_only(app, api):
    code = start_dossier(api)  # a dossier of province 01
    elsewhere = "specialist.19.SCT"  # an officer of province 19
    opt_in(app, OFFICER)
    opt_in(app, elsewhere, "chuyen.vien@bacninh.example.vn")
    with app.app_context():
        admin = actor_for_user(db.session, user("admin.01"))
        message_templates.save_template(db.session, admin, "01", "task.assigned", "email", "Việc mới",
                                        "HÀ NỘI: {{ officer_name }} nhận {{ code }}{% if due_date %}, hạn"
                                        " {{ due_date }}{% endif %}{% if not code %} ({{ message }}){% endif %}")
        due = db.session.scalar(select(Dossier.due_at).where(Dossier.code == code)).astimezone(TZ)
        db.session.commit()
    notify(app, OFFICER, "assigned", code, f"Bạn được giao bước «Thẩm định» của hồ sơ {code}.")
    notify(app, OFFICER, "takeover_request", code, f"Lê Văn B đề nghị được nhận bước «Thẩm định» của hồ sơ {code}.")
    with app.app_context():  # a row without a dossier: the officer's own province (19) says it, unchanged
        notifications.notify(db.session, [user(elsewhere).id], "assigned", None, "Bạn nhận 2 việc của Trần Văn C.")
        name = user(OFFICER).full_name or OFFICER
        assert officer_digest.send_digests(db.session) == 2
        db.session.commit()
    mine, theirs = digests(app)
    assert f"- HÀ NỘI: {name} nhận {code}, hạn {due:%d/%m/%Y}" in mine.body
    assert f"- Lê Văn B đề nghị được nhận bước «Thẩm định» của hồ sơ {code}." in mine.body  # the bell's message
    assert "- Bạn nhận 2 việc của Trần Văn C." in theirs.body and "HÀ NỘI" not in theirs.body
    # a stored row that cannot render is passed over, never stops a digest
    with app.app_context():
        row = message_templates.stored(db.session, "01", "task.assigned", "email")
        row.body = "{{ ''.__class__.__mro__ }}"
        db.session.commit()
    notify(app, OFFICER, "assigned", code, f"Bạn được giao bước «Phê duyệt» của hồ sơ {code}.")
    with app.app_context():
        assert officer_digest.send_digests(db.session) == 1
        db.session.commit()
    assert "): được giao xử lý bước «Phê duyệt»" in digests(app)[-1].body


def test_rows_before_opting_in_are_not_sent(app, api):
    code = start_dossier(api)
    notify(app, OFFICER, "assigned", code, f"Việc cũ của hồ sơ {code}.")
    opt_in(app, OFFICER)
    with app.app_context():  # an earlier notification: before `digest_since`
        db.session.query(Notification).update({"created_at": utcnow() - timedelta(days=3)})
        db.session.commit()
        assert officer_digest.send_digests(db.session) == 0
        db.session.rollback()


def test_next_run_is_the_next_seven_oclock_in_vietnam():
    before = datetime(2026, 12, 1, 6, 59, tzinfo=TZ)
    assert officer_digest.next_run_at(before) == datetime(2026, 12, 1, 7, 0, tzinfo=TZ)
    assert officer_digest.next_run_at(before + timedelta(minutes=1)) == datetime(2026, 12, 2, 7, 0, tzinfo=TZ)


def _with_messages(app, api) -> str:
    code = start_dossier(api)
    with app.app_context():
        dossier = db.session.scalar(select(Dossier).where(Dossier.code == code))
        messages.queue_message(db.session, dossier=dossier, channel="email", recipient=EMAIL,
                               event="dossier.received", subject="Đã tiếp nhận", body="Nội dung riêng tư")
        sms = messages.queue_message(db.session, dossier=dossier, channel="sms", recipient=PHONE,
                                     event="supplement.requested", subject="", body="Nội dung riêng tư")
        sms.state, sms.attempts, sms.last_error = "dead", 3, "HTTP 500 from provider"
        db.session.commit()
    return code


def test_delivery_log_for_administrators_in_scope_only(app, api):
    code = _with_messages(app, api)
    for who in ("admin.01", "admin.VN"):
        bo = office(app, who)
        page = bo.text(bo.get(f"/dossiers/{code}/messages"))
        assert "Tin nhắn đã gửi cho công dân" in page
        assert "n***@example.vn" in page and "091*****78" in page
        assert EMAIL not in page and PHONE not in page and "Nội dung riêng tư" not in page
        assert "Chờ gửi" in page and "Gửi không thành công" in page and "HTTP 500 from provider" in page
    body = api.get(f"/dossiers/{code}/messages", "admin.01").get_json()
    assert [(i["channel"], i["recipient"], i["state"], i["attempts"]) for i in body["items"]] == [
        ("email", "n***@example.vn", "queued", 0), ("sms", "091*****78", "dead", 3)]
    assert body["items"][1]["state_label"] == "Gửi không thành công"
    assert body["items"][1]["last_error"] == "HTTP 500 from provider"
    english = api.client.get(f"/api/v1/dossiers/{code}/messages",
                             headers={**api.headers("admin.01"), "Accept-Language": "en"}).get_json()
    assert english["items"][1]["state_label"] == "Not delivered"
    # refused to the dossier's officers and supervisors (403), to another province's administrator (404)
    assert api.get(f"/dossiers/{code}/messages", OFFICER).status_code == 403
    assert api.get(f"/dossiers/{code}/messages", "supervisor.01").status_code == 403
    assert api.get(f"/dossiers/{code}/messages", "admin.19").status_code == 404
    assert api.get("/dossiers/KHONG-CO/messages", "admin.01").status_code == 404
    assert office(app, "admin.19").get(f"/dossiers/{code}/messages").status_code == 404
    assert office(app, OFFICER).get(f"/dossiers/{code}/messages").status_code == 403
    # the officers' dossier page does not show the section
    bo = office(app, OFFICER)
    page = bo.text(bo.get(f"/dossiers/{code}"))
    assert "Tin nhắn đã gửi cho công dân" not in page and "091*****78" not in page
