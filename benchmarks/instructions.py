#!/usr/bin/env python3
"""Instructions per task completion in the web process, counted by valgrind's callgrind: a figure
that repeats to about 0.5% on a VM whose CPU time per run drifts by 10-20%, so two revisions can
be compared one after the other.

    .venv/bin/python benchmarks/instructions.py [--dossiers 10]     # about 45 s

Completes every step of land dossiers through the Flask test client on PostgreSQL in one process;
only the completions are counted (start-up, seeding and dossier starts run uninstrumented).
PostgreSQL's own work is not included: count statements for that (tests/test_sql_budget.py).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
_INNER = "ORCH_INSTRUCTIONS_INNER"


def outer(args) -> int:
    """Run this script again under callgrind, with instrumentation off until the loop starts."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                               sys.executable, __file__, "--dossiers", str(args.dossiers)],
                              env={**os.environ, _INNER: "1"}, capture_output=True, text=True)
        collected = [line for line in proc.stderr.splitlines() if "Collected :" in line]
        done = [line for line in proc.stdout.splitlines() if line.startswith("completions ")]
        if proc.returncode != 0 or not collected or not done:
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            return 1
    instructions, completions = int(collected[-1].split()[-1]), int(done[-1].split()[1])
    per = instructions / completions / 1e6
    print(f"{completions} completions: {per:.2f} M instructions per completion (web process)")
    from report import summary
    summary("instructions", "instructions per completion, web process (callgrind)", round(per, 2), "M")
    return 0


def inner(args) -> int:
    import logging

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from step_throughput import APPLICANT, PASSWORD, STEP_DATA, USERS, app_config, seed

    logging.disable(logging.WARNING)
    name = f"orch_instr_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    from orchestrator import create_app
    from orchestrator.extensions import db
    from orchestrator.services.auth import create_api_key

    app = None
    try:
        seed(create_app(app_config(url)))
        app = create_app({**app_config(url), "TESTING": False, "RATELIMIT_ENABLED": False})
        with app.app_context():
            _key, secret = create_api_key(db.session, "instructions", ["01"], ["dossiers:create"])
            db.session.commit()
        client = app.test_client()
        tokens = {who: client.post("/api/v1/auth/token", json={"username": who, "password": PASSWORD})
                  .get_json()["token"] for who in set(USERS.values())}
        body = {"procedure_code": "1.004227", "province_code": "01", "commune_code": "00454", "channel": 2,
                "applicant": APPLICANT, "data": {}}
        dossiers = [client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {secret}"}, json=body)
                    .get_json() for _ in range(args.dossiers + 5)]

        def walk(dossier) -> int:
            n, tasks = 0, dossier["current_tasks"]
            while tasks:
                task = tasks[0]
                r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": STEP_DATA[task["step_id"]]},
                                headers={"Authorization": f"Bearer {tokens[USERS[(task['unit_code'], task['role'])]]}"})
                if r.status_code != 200:
                    raise SystemExit(f"completion failed: {r.status_code} {r.get_json()}")
                n, tasks = n + 1, r.get_json()["current_tasks"]
            return n

        for dossier in dossiers[:5]:  # warm: parsed diagram, routes, calendars; psycopg prepares at the 5th use
            walk(dossier)
        subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True, capture_output=True)
        total = sum(walk(dossier) for dossier in dossiers[5:])
        subprocess.run(["callgrind_control", "--instr=off", str(os.getpid())], check=True, capture_output=True)
        print(f"completions {total}")
        return 0
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=10, help="dossiers counted (7 completions each)")
    args = parser.parse_args()
    return inner(args) if os.environ.get(_INNER) else outer(args)


if __name__ == "__main__":
    sys.exit(main())
