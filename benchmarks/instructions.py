#!/usr/bin/env python3
"""Instructions per task completion in the web process, counted by valgrind's callgrind: a figure
that repeats to about 0.5% on a VM whose CPU time per run drifts by 10-20%, so two revisions can
be compared one after the other.

    .venv/bin/python benchmarks/instructions.py [--dossiers 10] [--history latest] [--app floor]

Completes every step of land dossiers through the Flask test client on PostgreSQL in one process;
only the completions are counted (start-up, seeding, dossier starts, and the land procedure's
posting and payment events between two completions run uninstrumented). PostgreSQL's own work is
not included: count statements for that (tests/test_sql_budget.py). `--app floor` completes the
same dossiers through `http_floor.py` (raw SQL, no ORM, none of the product's checks): the least
any implementation of a completion costs on this stack, in the same unit.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

_INNER = "ORCH_INSTRUCTIONS_INNER"


def outer(args) -> int:
    """Run this script again under callgrind, with instrumentation off until the loop starts."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                               sys.executable, __file__, "--dossiers", str(args.dossiers), "--history", args.history,
                               "--app", args.app],
                              env={**os.environ, _INNER: "1"}, capture_output=True, text=True)
        collected = [line for line in proc.stderr.splitlines() if "Collected :" in line]
        done = [line for line in proc.stdout.splitlines() if line.startswith("completions ")]
        if proc.returncode != 0 or not collected or not done:
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            return 1
    instructions, completions = int(collected[-1].split()[-1]), int(done[-1].split()[1])
    per = instructions / completions / 1e6
    what = "the floor (raw SQL, no ORM, no checks)" if args.app == "floor" else f"history={args.history}"
    print(f"{completions} completions: {per:.2f} M instructions per completion (web process, {what})")
    from report import summary
    summary("instructions", f"instructions per completion, web process (callgrind, {what})", round(per, 2), "M")
    return 0


def inner(args) -> int:
    import logging

    from report import scratch_database
    from step_throughput import APPLICANT, PASSWORD, STEP_DATA, USERS, app_config, seed

    from orchestrator import create_app
    from orchestrator.extensions import db
    from orchestrator.services.auth import create_api_key

    logging.disable(logging.WARNING)
    with scratch_database("orch_instr") as url:
        seed(create_app(app_config(url)))
        app = create_app({**app_config(url), "TESTING": False, "RATELIMIT_ENABLED": False})
        try:
            with app.app_context():
                _key, secret = create_api_key(db.session, "instructions", ["01"], ["dossiers:create"])
                db.session.commit()
            client = app.test_client()
            if args.app == "floor":
                client = floor_client(app, url, client, secret, args.dossiers)
            total = count(client, secret, args.dossiers, APPLICANT, PASSWORD, STEP_DATA, USERS, args.history)
        finally:
            with app.app_context():
                db.engine.dispose()
    print(f"completions {total}")
    return 0


class FloorClient:
    """The floor app's test client for completions, the product's for the rest (tokens, starts,
    events): the floor serves only `POST /api/v1/tasks/<id>/complete`."""

    def __init__(self, product, floor):
        self.product, self.floor, self.application = product, floor, product.application

    def post(self, path: str, **kw):
        return (self.floor if path.startswith("/api/v1/tasks/") else self.product).post(path, **kw)


def floor_client(app, url: str, client, secret: str, dossiers: int) -> FloorClient:
    """Start the dossiers' first steps with the product to learn its routing (as
    `http_throughput.py --floor` does), then load `http_floor.py` for that database."""
    import json

    from sqlalchemy.engine import make_url

    from http_throughput import floor_routes
    from step_throughput import APPLICANT

    started = [client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {secret}"},
                           json={**START, "applicant": APPLICANT}).get_json()]
    os.environ["FLOOR_ROUTES"] = json.dumps(floor_routes(app, started))
    os.environ["FLOOR_DSN"] = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    import http_floor

    return FloorClient(client, http_floor.app.test_client())


START = {"procedure_code": "1.004227", "province_code": "01", "commune_code": "00454", "channel": 2, "data": {}}


def count(client, secret: str, dossiers: int, applicant, password, step_data, users, history: str = "all") -> int:
    """Complete every step of `dossiers` land dossiers (after 5 uncounted, to warm caches and
    psycopg's prepared statements, which it prepares at the 5th use); instrumented only meanwhile,
    and not during the land procedure's posting and payment events (they are not completions).
    Each completion asks for `?history=` (the answer's history: all, latest or none)."""
    from step_throughput import pass_posting

    tokens = {who: client.post("/api/v1/auth/token", json={"username": who, "password": password})
              .get_json()["token"] for who in set(users.values())}
    body = {**START, "applicant": applicant}
    started = [client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {secret}"}, json=body).get_json()
               for _ in range(dossiers + 5)]
    counting = [False]

    def instrument(on: bool) -> None:
        if counting[0]:
            subprocess.run(["callgrind_control", f"--instr={'on' if on else 'off'}", str(os.getpid())], check=True,
                           capture_output=True)

    def walk(dossier) -> int:
        n, tasks = 0, dossier["current_tasks"]
        while tasks:
            task = tasks[0]
            r = client.post(f"/api/v1/tasks/{task['id']}/complete?history={history}", json={"data": step_data[task["step_id"]]},
                            headers={"Authorization": f"Bearer {tokens[users[(task['unit_code'], task['role'])]]}"})
            if r.status_code != 200:
                raise SystemExit(f"completion failed: {r.status_code} {r.get_json()}")
            n, tasks = n + 1, r.get_json()["current_tasks"]
            answer = r.get_json()
            # (the floor keeps no status and answers no finished_at: its dossiers go the same way)
            if not tasks and (answer["status"] == 4 or "finished_at" not in answer) and answer.get("finished_at") is None:
                # the 15-day public posting passes at once (issue 18); then the wait for the tax
                # authority (issue 17): the branch records the payment (not counted)
                instrument(False)
                pass_posting(client.application, answer["code"])
                branch = tokens[users[("01.VPDKDD.CN11", "specialist")]]
                r = client.post(f"/api/v1/dossiers/{answer['code']}/events/payment_received", json={"data": {}},
                                headers={"Authorization": f"Bearer {branch}"})
                tasks = r.get_json()["current_tasks"] if r.status_code == 200 else []
                instrument(True)
        return n

    for dossier in started[:5]:
        walk(dossier)
    counting[0] = True
    instrument(True)
    total = sum(walk(dossier) for dossier in started[5:])
    instrument(False)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=10, help="dossiers counted (7 completions each)")
    parser.add_argument("--history", choices=("all", "latest", "none"), default="all",
                        help="the history each completion's answer carries (issue 23)")
    parser.add_argument("--app", choices=("product", "floor"), default="product",
                        help="complete through the product's API or through benchmarks/http_floor.py")
    args = parser.parse_args()
    return inner(args) if os.environ.get(_INNER) else outer(args)


if __name__ == "__main__":
    sys.exit(main())
