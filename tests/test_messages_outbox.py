"""The citizens' notification outbox (issue 24): a real SMTP server (aiosmtpd) and a real HTTP
server standing in for the SMS / Zalo providers, both on 127.0.0.1, drained by the real worker."""
from __future__ import annotations

import asyncio
import email
import json
import os
import subprocess
import sys
import time
import logging
import socket
import threading
from datetime import timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from orchestrator.extensions import db
from orchestrator.logs import JsonFormatter
from orchestrator.models import CitizenMessage, Dossier, Job
from orchestrator.models.types import utcnow
from orchestrator.services import channels, jobs, messages
from orchestrator.services.channels import mask_contact
from orchestrator.settings import Settings
from orchestrator.worker import Worker

from .test_integrations import START

SUBJECT = "Hồ sơ của ông/bà đã được tiếp nhận — hẹn trả ngày 05/12/2026"
BODY = ("Kính gửi ông/bà Nguyễn Văn Ân,\n"
        "Bộ phận Một cửa phường Hoàn Kiếm đã tiếp nhận hồ sơ đăng ký khai sinh.\n"
        "Tra cứu tiến độ tại cổng dịch vụ công. Trân trọng.")
EMAIL, PHONE = "nguyen.van.an@example.vn", "0912345678"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """aiosmtpd on 127.0.0.1, keeping every message it accepts, parsed."""

    def __init__(self):
        self.messages: list = []
        self.peers: list = []
        self.delay = 0.0  # seconds each message waits before the server's 250
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        self.peers.append(session.peer)  # (address, port): one port per SMTP connection
        await asyncio.sleep(self.delay)
        return "250 OK"

    def close(self):
        self.controller.stop()


class Provider:
    """An SMS / Zalo provider on 127.0.0.1: answers 500 to the first `fail_first` attempts and keeps
    every attempt's headers and body."""

    def __init__(self, fail_first: int = 0):
        self.attempts: list[dict] = []
        self.delivered: list[dict] = []
        self.fail_first = fail_first
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                seen = {"headers": dict(self.headers), "json": body}
                provider.attempts.append(seen)
                failing = len(provider.attempts) <= provider.fail_first
                if not failing:
                    provider.delivered.append(seen)
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp(app):
    sink = SmtpSink()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=sink.port, SMTP_STARTTLS=False,
                      MAIL_FROM="Cổng Dịch vụ công <no-reply@dichvucong.test>")
    yield sink
    sink.close()


@pytest.fixture
def provider(app):
    made = []

    def make(fail_first=0):
        made.append(Provider(fail_first))
        return made[-1]

    yield make
    for p in made:
        p.close()


def queue(app, channel="email", recipient=EMAIL, **kw) -> int:
    with app.app_context():
        message = messages.queue_message(db.session, dossier=kw.pop("dossier", None), channel=channel,
                                         recipient=recipient, event=kw.pop("event", "dossier.received"),
                                         subject=kw.pop("subject", SUBJECT), body=kw.pop("body", BODY), **kw)
        db.session.commit()
        return message.id


def drain(app, rounds=6, name="w1"):
    """Run the worker until idle, the backoff waits skipped between rounds."""
    worker = Worker(app, name=name)
    for _ in range(rounds):
        worker.run_until_idle()
        with app.app_context():
            waiting = db.session.query(Job).filter(Job.state == "queued").update({"run_at": utcnow()})
            db.session.commit()
        if not waiting:
            break


def row(app, message_id) -> CitizenMessage:
    with app.app_context():
        message = db.session.get(CitizenMessage, message_id)
        db.session.expunge(message)
        return message


def test_email_arrives_in_vietnamese_with_a_stable_message_id(app, api, smtp):
    code = api.post("/dossiers", "reception.00070", json=START).get_json()["code"]
    with app.app_context():
        dossier = db.session.query(Dossier).filter_by(code=code).one()
        message = messages.queue_message(db.session, dossier=dossier, channel="email", recipient=" Nguyen.Van.An@Example.VN ",
                                         event="dossier.received", subject=SUBJECT, body=BODY)
        db.session.commit()
        message_id, key = message.id, message.idempotency_key
    drain(app)
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["Subject"] == SUBJECT
    assert mail.get_body().get_content().strip() == BODY
    assert mail["Message-ID"] == f"<{key}@dichvucong.test>"
    assert mail["To"] == EMAIL and "no-reply@dichvucong.test" in mail["From"]
    sent = row(app, message_id)
    assert (sent.state, sent.attempts, sent.last_error) == ("sent", 1, None) and sent.sent_at
    assert sent.dossier_id is not None


def test_a_worker_keeps_its_smtp_connection_and_replaces_one_the_server_closed(app, smtp):
    """A backlog goes over one connection (the TCP and TLS handshakes paid once); a connection the
    server closed meanwhile is replaced within the same attempt, nothing lost, nothing doubled."""
    first = [queue(app, "email", f"cong.dan.{i}@example.vn") for i in range(3)]
    drain(app)
    assert len(smtp.messages) == 3 and len(set(smtp.peers)) == 1
    channels._smtp.held[1].sock.shutdown(socket.SHUT_RDWR)  # the connection gone, as after a relay's idle timeout
    later = queue(app, "email", "cong.dan.9@example.vn")
    drain(app)
    assert len(smtp.messages) == 4 and len(set(smtp.peers)) == 2
    assert all(row(app, m).state == "sent" and row(app, m).attempts == 1 for m in [*first, later])


def test_provider_failing_twice_gets_three_attempts_and_one_delivery(app, provider):
    sms = provider(fail_first=2)
    app.config.update(SMS_PROVIDER_URL=sms.url, SMS_PROVIDER_KEY="sms-key-9f2c")
    message_id = queue(app, "sms", "+84 912 345 678", body="Hồ sơ đã được tiếp nhận.")
    drain(app)
    sent = row(app, message_id)
    assert len(sms.attempts) == 3 and len(sms.delivered) == 1
    assert {a["headers"]["Idempotency-Key"] for a in sms.attempts} == {sent.idempotency_key}
    assert sms.delivered[0]["headers"]["X-Api-Key"] == "sms-key-9f2c"
    assert sms.delivered[0]["json"] == {"to": PHONE, "text": "Hồ sơ đã được tiếp nhận.",
                                        "reference": sent.idempotency_key}
    assert (sent.state, sent.attempts, sent.last_error) == ("sent", 3, None)


def test_zalo_template_and_unconfigured_channels(app, provider):
    zalo = provider()
    app.config.update(ZALO_ZNS_URL=zalo.url, ZALO_ACCESS_TOKEN="zalo-token-77")
    zalo_id = queue(app, "zalo", PHONE, template_id="301234", params={"ma_ho_so": "H01-0001", "ngay_hen": "05/12/2026"})
    sms_id = queue(app, "sms", PHONE)  # no SMS_PROVIDER_URL: dead at once, with the reason
    drain(app)
    assert len(zalo.delivered) == 1
    seen = zalo.delivered[0]
    assert seen["headers"]["access_token"] == "zalo-token-77"
    assert seen["json"]["phone"] == PHONE and seen["json"]["template_id"] == "301234"
    assert seen["json"]["template_data"] == {"ma_ho_so": "H01-0001", "ngay_hen": "05/12/2026"}
    assert seen["headers"]["Idempotency-Key"] == row(app, zalo_id).idempotency_key
    dead = row(app, sms_id)
    assert dead.state == "dead" and dead.attempts == 1 and "SMS_PROVIDER_URL" in dead.last_error


def test_rolled_back_step_sends_nothing(app, smtp):
    with app.app_context():
        messages.queue_message(db.session, dossier=None, channel="email", recipient=EMAIL, event="dossier.received",
                               subject=SUBJECT, body=BODY)
        db.session.rollback()
        assert db.session.query(CitizenMessage).count() == 0
        assert db.session.query(Job).filter_by(kind=messages.KIND).count() == 0
    drain(app)
    assert smtp.messages == []


def test_dead_letter_after_max_attempts_keeps_the_error_not_the_secret(app, provider):
    sms = provider(fail_first=100)
    app.config.update(SMS_PROVIDER_URL=sms.url, SMS_PROVIDER_KEY="sms-key-secret", MESSAGES_MAX_ATTEMPTS=3)
    message_id = queue(app, "sms", PHONE)
    drain(app)
    dead = row(app, message_id)
    assert len(sms.attempts) == 3
    assert (dead.state, dead.attempts) == ("dead", 3) and "HTTP 500" in dead.last_error
    assert "sms-key-secret" not in dead.last_error and PHONE not in dead.last_error
    with app.app_context():
        job = db.session.get(Job, dead.job_id)
        assert job.state == "dead" and job.attempts == 3


def test_rate_limit_per_recipient(app):
    app.config.update(MESSAGES_PER_RECIPIENT_PER_HOUR=3)  # no SMTP_HOST: the log catch-all
    ids = [queue(app, "email", address) for address in
           (EMAIL, EMAIL.upper(), EMAIL, f" {EMAIL} ", EMAIL)]
    other = queue(app, "email", "tran.thi.binh@example.vn")
    drain(app)
    rows = [row(app, i) for i in ids]
    assert [r.state for r in rows] == ["sent", "sent", "sent", "dead", "dead"]
    assert all(r.last_error.startswith("rate_limited") and r.job_id is None for r in rows[3:])
    assert row(app, other).state == "sent"


def test_logs_mask_the_contact(app, provider):
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(JsonFormatter().format(record))

    logger = logging.getLogger("orchestrator.messages")
    handler, level, disabled = Keep(), logger.level, logger.disabled
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False  # Alembic's fileConfig (the template database's migration) disables loggers
    try:
        sms = provider(fail_first=1)
        app.config.update(SMS_PROVIDER_URL=sms.url, MESSAGES_PER_RECIPIENT_PER_HOUR=1)
        queue(app, "email", EMAIL)  # written to the log: no SMTP_HOST
        queue(app, "sms", PHONE)
        queue(app, "sms", PHONE)  # over the limit
        drain(app)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
    text = "\n".join(records)
    assert "message sent" in text and "message retried" in text and "message rate limited" in text
    assert EMAIL not in text and PHONE not in text and "912345678" not in text
    assert mask_contact(EMAIL) in text and mask_contact(PHONE) in text
    assert mask_contact(EMAIL) == "n***@example.vn" and mask_contact(PHONE) == "091*****78"


def test_worker_dying_after_sending_sends_again_with_the_same_ids(app, smtp, provider):
    """At least once: the first worker sends, then dies before marking the messages sent; its
    leases expire and another worker sends them again, with the same Message-ID and key."""
    sms = provider()
    app.config.update(SMS_PROVIDER_URL=sms.url)
    email_id, sms_id = queue(app, "email", EMAIL), queue(app, "sms", PHONE)
    settings, lease = Settings.from_config(app.config), timedelta(seconds=60)
    with app.app_context():
        claimed = [job.id for job in jobs.claim_many(db.session, "w-dies", lease, 10)]
        db.session.commit()
    assert len(claimed) == 2
    for job_id in claimed:
        with app.app_context():
            job = jobs.renew(db.session, job_id, "w-dies", lease)
            outside = messages.send(db.session, job, settings)
            db.session.commit()
            assert outside.call().ok  # sent ... and the worker dies here, before `then`
    assert row(app, email_id).state == row(app, sms_id).state == "sending"
    drain(app, name="w-2")  # the leases have not expired: nothing is taken from the dead worker
    assert len(smtp.messages) == 1 and len(sms.delivered) == 1
    with app.app_context():
        for job_id in claimed:
            jobs.expire_now(db.session, job_id)
        db.session.commit()
    drain(app, name="w-2")
    assert len(smtp.messages) == 2 and len(sms.delivered) == 2
    assert len({m["Message-ID"] for m in smtp.messages}) == 1
    assert len({d["headers"]["Idempotency-Key"] for d in sms.delivered}) == 1
    for message_id in (email_id, sms_id):
        done = row(app, message_id)
        assert (done.state, done.attempts) == ("sent", 2)
    assert smtp.messages[0]["Message-ID"] == f"<{row(app, email_id).idempotency_key}@dichvucong.test>"


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.postgres
def test_a_worker_process_killed_mid_send_loses_nothing_and_a_resent_email_keeps_its_id(app, smtp):
    """Two `flask worker` processes, one after the other, against a real SMTP server: the first is
    killed (SIGKILL) while the server holds a message it has received; once that worker's lease
    has run out, the second sends what was left and sends again what the first never marked as
    sent. Every message arrives, at least once, with one Message-ID each."""
    message_ids = [queue(app, "email", f"cong.dan.{i}@example.vn") for i in range(8)]
    smtp.delay = 0.5
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": app.config["SECRET_KEY"],
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_STARTTLS": "0", "LOG_LEVEL": "WARNING",
           "MAIL_FROM": "Cổng Dịch vụ công <no-reply@dichvucong.test>"}
    command = [sys.executable, "-m", "flask", "--app", "orchestrator", "worker", "--lease", "3"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: len(smtp.messages) >= 3, 60, "the first worker's first messages")
        first.kill()  # mid-send: the server holds the third message, its 250 never reaches the worker
    finally:
        first.kill()
        first.wait(10)
    assert len(smtp.messages) < 8
    second = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: all(row(app, m).state == "sent" for m in message_ids), 90, "every message sent")
    finally:
        second.terminate()
        second.wait(20)
    received = [str(m["Message-ID"]) for m in smtp.messages]
    keys = {f"<{row(app, m).idempotency_key}@dichvucong.test>" for m in message_ids}
    assert set(received) == keys and len(keys) == 8  # all of them, each under its own id
    assert len(received) >= 9  # the message in flight when the worker died went twice, same id
