#!/usr/bin/env python3
"""Citizens' notifications drained by K worker processes (issue 24): N emails queued through the
outbox (`messages.queue_message`, each with its `send_message` job, in transactions of 500 as steps
would write them), then `flask worker` processes send them to a real SMTP server (aiosmtpd) on
127.0.0.1, as they would to the province's mail relay.

Printed: the time to queue, the time for the workers to send them all (messages/s), the messages
the SMTP server received, the distinct Message-IDs among them (delivery is at least once: a
duplicate keeps its Message-ID), dead letters. Progress goes to stderr.

    .venv/bin/python benchmarks/notifications.py [--messages 10000] [--workers 2]

Environment: TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) names the server;
a scratch database is created and dropped.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from report import scratch_database, summary  # noqa: E402

SECRET = "benchmark-only-7f4c2a9e1d6b3085c2e9a4"
BATCH = 500


def log(msg: str) -> None:
    print(f"[notifications {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Sink:
    """The SMTP server: keeps each accepted message's Message-ID."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.ids: list[str] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.ids.append(str(message["Message-ID"]))
        return "250 OK"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the workers")
    args = parser.parse_args()
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with scratch_database("orch_notify") as uri:
        return run(args, uri)


def run(args, uri: str) -> int:
    from sqlalchemy import func, select

    from orchestrator import create_app
    from orchestrator.extensions import db
    from orchestrator.models.messages import CitizenMessage
    from orchestrator.seed import seed
    from orchestrator.services import message_templates, messages

    sink = Sink()
    config = {"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": SECRET, "DEMO_PASSWORD": "demo1234",
              "MESSAGES_PER_RECIPIENT_PER_HOUR": 10, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port,
              "SMTP_STARTTLS": False}
    seed(create_app(config), "demo1234")
    app = create_app(config)
    t0 = time.perf_counter()
    with app.app_context():
        session = db.session
        for start in range(0, args.messages, BATCH):
            for i in range(start, min(args.messages, start + BATCH)):
                text = message_templates.render(session, province_code="01", event="dossier.received", channel="email",
                                                context={"code": f"H01.{i:06d}", "procedure_name": "Đăng ký khai sinh",
                                                         "unit_name": "UBND xã Đông Anh", "due_date": "08/12/2026",
                                                         "tracking_url": f"/tra-cuu?code=H01.{i:06d}"})
                messages.queue_message(session, dossier=None, channel="email", recipient=f"cong.dan.{i}@example.vn",
                                       event="dossier.received", subject=text.subject or "", body=text.body)
            session.commit()
            log(f"queued {min(args.messages, start + BATCH):,}/{args.messages:,}")
    queued_s = time.perf_counter() - t0

    env = {**os.environ, "DATABASE_URL": uri, "SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING",
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_STARTTLS": "0"}
    logdir = Path(tempfile.mkdtemp(prefix="orch_notify_"))
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "orchestrator", "worker"], cwd=ROOT, env=env,
                                stdout=open(logdir / f"worker-{k}.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
               for k in range(args.workers)]
    log(f"{args.workers} worker processes started (logs in {logdir})")
    t1 = time.perf_counter()
    states: Counter = Counter()
    try:
        with app.app_context():
            while time.perf_counter() - t1 < args.timeout:
                states = Counter(dict(db.session.execute(select(CitizenMessage.state, func.count())
                                                         .group_by(CitizenMessage.state)).all()))
                db.session.remove()
                done = states.get("sent", 0) + states.get("dead", 0)
                log(f"sent {states.get('sent', 0):,}, dead {states.get('dead', 0):,} of {args.messages:,} "
                    f"({time.perf_counter() - t1:.1f} s)")
                if done >= args.messages:
                    break
                time.sleep(1.0)
        drained_s = time.perf_counter() - t1
        time.sleep(1.0)  # a late duplicate would arrive here
    finally:
        for p in workers:
            p.send_signal(signal.SIGTERM)
        for p in workers:
            p.wait(30)
        sink.controller.stop()

    received, distinct = len(sink.ids), len(set(sink.ids))
    rate = states.get("sent", 0) / drained_s if drained_s else 0.0
    print("| figure | value |")
    print("|---|---|")
    print(f"| messages queued (transactions of {BATCH}) | {args.messages:,} in {queued_s:.1f} s "
          f"({args.messages / queued_s:,.0f}/s) |")
    print(f"| drained by {args.workers} workers to SMTP on 127.0.0.1 | {drained_s:.1f} s ({rate:,.0f} messages/s) |")
    print(f"| sent / dead | {states.get('sent', 0):,} / {states.get('dead', 0):,} |")
    print(f"| received by the SMTP server / distinct Message-IDs | {received:,} / {distinct:,} |")
    label = f"{args.messages:,} emails, {args.workers} workers"
    summary("notifications", f"{label}: queued per second", round(args.messages / queued_s), "/s")
    summary("notifications", f"{label}: sent per second", round(rate), "/s")
    summary("notifications", f"{label}: distinct Message-IDs received", distinct, "", f"{args.messages}",
            distinct == args.messages and states.get("sent", 0) == args.messages)
    return 0 if distinct == args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
