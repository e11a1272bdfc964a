#!/usr/bin/env python3
"""Resident memory of one process over many steps (issue 8, target 4): land dossiers started and
walked to the end through the service layer on SQLite, RSS printed every --every steps.

    .venv/bin/python benchmarks/memory.py [--steps 100000] [--every 5000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import log, summary  # noqa: E402
from step_throughput import APPLICANT, STEP_DATA, USERS, app_config, pass_posting, seed  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=5_000)
    args = parser.parse_args()
    from orchestrator import create_app
    from orchestrator.extensions import db
    from orchestrator.models import Dossier, User, WorkItem
    from orchestrator.services import dossiers, lifecycle, tasks
    from orchestrator.services.auth import Actor, actor_for_user

    path = Path(tempfile.mkdtemp()) / "memory.sqlite3"
    uri = f"sqlite:///{path}"
    seed(create_app(app_config(uri)))
    app = create_app(app_config(uri))
    portal = Actor("integrator", "integrator:memory", provinces=("01",), permissions=frozenset({"dossiers:create"}))
    done, started, rows = 0, time.perf_counter(), []
    with app.app_context():
        actors = {name: actor_for_user(db.session, db.session.query(User).filter_by(username=name).one())
                  for name in set(USERS.values())}
        db.session.remove()
        while done < args.steps:
            dossier_id = dossiers.start(db.session, portal, procedure_code="1.004227", province_code="01",
                                        commune_code="00454", channel=2, applicant=APPLICANT, data={}).dossier.id
            db.session.commit()
            while done < args.steps:
                item = db.session.query(WorkItem).filter_by(dossier_id=dossier_id, state="open").first()
                dossier = db.session.get(Dossier, dossier_id)
                if item is None and dossier.status == 4 and dossier.finished_at is None:
                    # the 15-day public posting passes at once (issue 18); then the wait for the tax
                    # authority (issue 17): the branch records the payment
                    code = dossier.code
                    db.session.remove()
                    pass_posting(app, code)
                    lifecycle.send_event(db.session, actors[USERS[("01.VPDKDD.CN11", "specialist")]], code,
                                         "payment_received", {})
                    db.session.commit()
                    db.session.remove()
                    continue
                if item is None:
                    break
                actor = actors[USERS[(item.unit_code, item.role)]]
                tasks.complete(db.session, actor, item.id, STEP_DATA[item.step_id])
                db.session.commit()
                db.session.remove()
                done += 1
                if done % args.every == 0:
                    rows.append((done, rss_mb(), time.perf_counter() - started))
                    log(f"{done} steps: RSS {rows[-1][1]:.1f} MB ({rows[-1][2]:.0f} s)")
    print("| steps | RSS MB |")
    print("|---|---|")
    for n, mb, _ in rows:
        print(f"| {n} | {mb:.1f} |")
    if len(rows) >= 3:
        growth = rows[-1][1] - rows[1][1]
        print(f"growth from the second sample to the last: {growth:+.1f} MB")
        summary("memory", f"RSS growth from {rows[1][0]:,} to {rows[-1][0]:,} steps", round(growth, 1), "MB",
                "flat (<= 10 MB)", growth <= 10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
