"""Inbox page render time for an officer with 5,000 open tasks in their unit (SQLite).

Builds a fresh SQLite database (migrations, units, calendar, forms, the shipped procedures,
demo users), inserts N dossiers with one open work item each routed to the specialist role of
commune 00454 (bulk inserts: the data, not the engine, is what the inbox reads), logs in as
specialist.00454 through the back office and times GET /admin/inbox (first page, 50 rows,
counts over all N) and GET /api/v1/tasks. Prints median and p95 over the runs.

    .venv/bin/python benchmarks/inbox.py [--tasks 5000] [--runs 30]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from report import summary  # noqa: E402
PASSWORD = "demo1234"


def build(path: Path, n: int):
    from flask_migrate import upgrade

    from orchestrator import create_app
    from orchestrator.extensions import db
    from orchestrator.models import Dossier, DossierParticipant, ProcedureInForce, WorkItem
    from orchestrator.models.types import utcnow
    from orchestrator.services import examples, forms

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "benchmark-only-7f4c2a9e1d6b3085c2e9a4", "TESTING": True,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        s = db.session
        examples.load_units(s)
        examples.load_calendar(s)
        forms.load_library(s, ROOT / "forms")
        s.commit()
        examples.load_procedures(s, ROOT / "bpmn", app.config["MAX_BPMN_BYTES"])
        examples.load_demo_users(s, PASSWORD)
        s.commit()
        version = s.get(ProcedureInForce, ("1.013978", "national")).version
        now, rng = utcnow(), random.Random(7)
        dossiers, items, parts = [], [], []
        for i in range(n):
            due = now + timedelta(hours=rng.randint(-72, 24 * 20))
            dossiers.append({"id": i + 1, "code": f"00454-260101-{i + 1:05d}", "procedure_version_id": version.id,
                             "procedure_code": "1.013978", "province_code": "01", "commune_code": "00454",
                             "received_by_unit": "00454", "channel": 2, "applicant": {"full_name": f"Người {i}"},
                             "data": {}, "status": 4, "incident": False, "submitted_at": now, "received_at": now,
                             "legal_due_at": due, "due_at": due, "paused": [], "updated_at": now, "lock_version": 1})
            items.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "dossier_id": i + 1,
                          "step_id": "Task_CommuneVerification", "step_name": "Xác minh nguồn gốc, hiện trạng",
                          "lane": "commune/specialist", "unit_code": "00454", "role": "specialist",
                          "form_key": "DD-XACMINH-XA", "state": "open", "due_at": due, "created_at": now})
            parts.append({"dossier_id": i + 1, "unit_code": "00454"})
        s.execute(Dossier.__table__.insert(), dossiers)
        s.execute(WorkItem.__table__.insert(), items)
        s.execute(DossierParticipant.__table__.insert(), parts)
        s.commit()
    return app


def timed(fn, runs: int) -> list[float]:
    fn()  # warm-up (template compilation, calendar cache)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = build(Path(tmp) / "bench.sqlite3", args.tasks)
        client = app.test_client()
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/login").get_data(as_text=True))
        r = client.post("/admin/login", data={"username": "specialist.00454", "password": PASSWORD,
                                              "csrf_token": token.group(1)})
        assert r.status_code == 302, r.status_code
        page = client.get("/admin/inbox")
        assert page.status_code == 200 and f'data-count="all">{args.tasks}<' in page.get_data(as_text=True)
        token = client.post("/api/v1/auth/token", json={"username": "specialist.00454", "password": PASSWORD}).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        rows = [("GET /admin/inbox", lambda: client.get("/admin/inbox")),
                ("GET /admin/inbox?due=overdue", lambda: client.get("/admin/inbox?due=overdue")),
                ("GET /api/v1/tasks", lambda: client.get("/api/v1/tasks", headers=headers))]
        print(f"{args.tasks} open tasks for specialist.00454, {args.runs} runs each")
        print(f"{'request':32} {'median ms':>10} {'p95 ms':>8}")
        for name, fn in rows:
            times = sorted(timed(fn, args.runs))
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"{name:32} {statistics.median(times):10.1f} {p95:8.1f}")
            summary("inbox", f"{name} with {args.tasks:,} open tasks, SQLite (p95)", round(p95, 1), "ms")


if __name__ == "__main__":
    main()
