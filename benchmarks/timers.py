"""Timer lateness: K worker processes against N intermediate timers that fall due within a few seconds.

A fresh PostgreSQL database (TEST_DATABASE_URL's server) is migrated and seeded. P procedures are published,
each `start -> intermediate timer (timeDate T0 + i * spread / P) -> Task_Sign -> end`, and N dossiers are
started through the service layer (`dossiers.start`, as the API does), round-robin over the procedures, so
the N timer jobs are real ones derived from the workflows at commit. Only then are the K
`flask --app orchestrator worker` processes started; T0 is set far enough ahead for that (`--lead`).

For each timer: lateness = audit event `timer`.at - the timer's due time (its timeDate, which is also the
job's run_at). Printed: count fired, count fired more than once (must be 0), lateness p50/p90/p99/max in
ms, throughput in timers/s. Progress goes to stderr.

    .venv/bin/python benchmarks/timers.py [--timers 1000] [--workers 3] [--spread 3] [--procedures 10]
                                          [--lead SECONDS] [--keep-logs] [--profile]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from report import scratch_database, summary  # noqa: E402

PASSWORD = "demo1234"
PROVINCE, COMMUNE = "01", "00070"

DIAGRAM = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs" targetNamespace="http://example.org/bpmn">
  <bpmn:process id="Process_Bench_{n}" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_L" name="commune/leader"><bpmn:flowNodeRef>Task_Sign</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="Timer_Due" name="Chờ"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate xsi:type="bpmn:tFormalExpression">{due}</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Task_Sign" name="Ký"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formKey" value="KS-KY"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Timer_Due"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Timer_Due" targetRef="Task_Sign"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Task_Sign" targetRef="EndEvent_1"/>
  </bpmn:process>
</bpmn:definitions>
'''


def log(msg: str) -> None:
    print(f"[timers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


def seed(app) -> None:
    from orchestrator.seed import seed as migrate_and_seed

    migrate_and_seed(app, PASSWORD)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--spread", type=float, default=3.0, help="seconds between the first and last due time")
    parser.add_argument("--procedures", type=int, default=10, help="distinct due times across the spread")
    parser.add_argument("--lead", type=float, default=None,
                        help="seconds from publishing to the first due time (default 15 + 0.03 s per timer)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of worker processes: one in-process Worker under cProfile, SQL timed")
    parser.add_argument("--keep-logs", action="store_true", help="keep the workers' JSON logs")
    args = parser.parse_args()

    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with scratch_database("orch_timers") as uri:
        return run(args, uri)


def run(args, uri: str) -> int:
    from sqlalchemy import func, select, text

    from orchestrator import create_app
    from orchestrator.extensions import db
    from orchestrator.models import AuditEvent, Job
    from orchestrator.models.types import utcnow
    from orchestrator.services import dossiers, procedures
    from orchestrator.services.auth import Actor
    from orchestrator.services.examples import SYSTEM

    logdir = Path(tempfile.mkdtemp(prefix="orch_timers_"))
    workers: list[subprocess.Popen] = []
    try:
        t = time.perf_counter()
        config = {"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "benchmark-only-7f4c2a9e1d6b3085c2e9a4", "DEMO_PASSWORD": PASSWORD}
        seed(create_app(config))
        log(f"database seeded in {time.perf_counter() - t:.1f}s")
        app = create_app(config)
        lead = args.lead if args.lead is not None else 15 + 0.03 * args.timers
        with app.app_context():
            session = db.session
            with session.get_bind().connect() as conn:
                server = conn.execute(text("show server_version")).scalar()
            t0 = (utcnow() + timedelta(seconds=lead)).replace(microsecond=0)
            dues: dict[str, datetime] = {}
            for i in range(args.procedures):
                due = t0 + timedelta(seconds=args.spread * i / max(1, args.procedures - 1))
                code = f"9.9{i:05d}"
                version = procedures.upload(session, SYSTEM, DIAGRAM.format(n=i, due=due.isoformat()).encode(),
                                            code=code, scope=PROVINCE, name=f"Hẹn giờ {i}", deadline_days=3,
                                            deadline_kind="working", max_bytes=app.config["MAX_BPMN_BYTES"])
                procedures.publish(session, SYSTEM, version.procedure_code, version.version)
                dues[code] = due
            session.commit()
            codes = sorted(dues)
            integrator = Actor("integrator", "integrator:bench", provinces=(PROVINCE,),
                               permissions=frozenset({"dossiers:create", "dossiers:read"}))
            t = time.perf_counter()
            due_of: dict[int, datetime] = {}
            for n in range(args.timers):
                code = codes[n % len(codes)]
                d = dossiers.start(db.session, integrator, procedure_code=code, province_code=PROVINCE,
                                   commune_code=COMMUNE, channel=2, applicant={"full_name": "Bench"}, data={}).dossier
                db.session.commit()
                due_of[d.id] = dues[code]
                db.session.remove()
                if (n + 1) % 100 == 0:
                    log(f"created {n + 1}/{args.timers} dossiers ({(n + 1) / (time.perf_counter() - t):.0f}/s)")
            session = db.session
            jobs = session.execute(select(Job.dossier_id, Job.run_at).where(Job.kind == "timer",
                                                                            Job.state == "queued")).all()
            assert len(jobs) == args.timers, f"{len(jobs)} timer jobs for {args.timers} dossiers"
            skew = max(abs((run_at - due_of[dossier_id]).total_seconds()) for dossier_id, run_at in jobs)
            assert skew < 0.001, f"a job's run_at differs from its timeDate by {skew}s"
            db.session.remove()
        slack = (t0 - utcnow()).total_seconds()
        log(f"{args.timers} dossiers created in {time.perf_counter() - t:.1f}s; first timer due in {slack:.1f}s "
            f"({t0.isoformat()}), last {args.spread:.1f}s later")
        if slack < 3:
            log("not enough lead: the timers fell due before the workers started; use a larger --lead")
            return 2

        if args.profile:
            return profile(app, t0 + timedelta(seconds=args.spread))

        env = {**os.environ, "DATABASE_URL": uri, "SECRET_KEY": "benchmark-only-7f4c2a9e1d6b3085c2e9a4", "PYTHONPATH": str(ROOT),
               "LOG_LEVEL": "INFO", "LOG_FORMAT": "json"}
        for k in range(args.workers):
            out = open(logdir / f"worker-{k}.log", "wb")  # noqa: SIM115 - closed with the process
            workers.append(subprocess.Popen([sys.executable, "-m", "flask", "--app", "orchestrator", "worker"],
                                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
        log(f"{args.workers} worker processes started; logs in {logdir}")

        last = t0 + timedelta(seconds=args.spread)
        deadline = last + timedelta(seconds=max(120, args.timers * 0.5))
        fired = 0
        with app.app_context():
            while utcnow() < deadline:
                fired = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                          .where(AuditEvent.action == "timer"))
                db.session.remove()
                if utcnow() >= t0:
                    log(f"{fired}/{args.timers} fired, {(utcnow() - t0).total_seconds():.1f}s after the first due time")
                if fired >= args.timers:
                    break
                time.sleep(0.5)
            time.sleep(1.0)  # a late duplicate would show up here
            events = db.session.execute(select(AuditEvent.dossier_id, AuditEvent.step_id, AuditEvent.at)
                                        .where(AuditEvent.action == "timer")).all()
            statuses = Counter(db.session.scalars(select(Job.state).where(Job.kind == "timer")).all())
            db.session.remove()
        for p in workers:
            p.send_signal(signal.SIGTERM)
        for p in workers:
            p.wait(20)

        per_timer = Counter((d, s) for d, s, _ in events)
        twice = sum(1 for c in per_timer.values() if c > 1)
        first_at: dict[int, datetime] = {}
        for d, _s, at in events:
            first_at[d] = min(at, first_at.get(d, at))
        lateness = [(at - due_of[d]).total_seconds() * 1000 for d, at in first_at.items()]
        handler_ms = []
        for f in logdir.glob("worker-*.log"):
            for line in f.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "job done" and entry.get("kind") == "timer":
                    handler_ms.append(entry["ms"])
        span = (max(first_at.values()) - min(due_of.values())).total_seconds() if first_at else float("nan")
        busy = (max(first_at.values()) - min(first_at.values())).total_seconds() if first_at else float("nan")
        result = {
            "timers": args.timers, "workers": args.workers, "spread_s": args.spread, "procedures": args.procedures,
            "fired": len(first_at), "fired_more_than_once": twice, "never_fired": args.timers - len(first_at),
            "lateness_ms": {"p50": pct(lateness, 50), "p90": pct(lateness, 90), "p99": pct(lateness, 99),
                            "max": max(lateness), "min": min(lateness), "mean": statistics.fmean(lateness)}
            if lateness else None,
            "throughput_per_s": {"first_due_to_last_fired": len(first_at) / span if span else None,
                                 "first_fired_to_last_fired": len(first_at) / busy if busy else None},
            "job_ms_in_worker": {"p50": pct(handler_ms, 50), "p90": pct(handler_ms, 90), "p99": pct(handler_ms, 99),
                                 "count": len(handler_ms)} if handler_ms else None,
            "timer_jobs": dict(statuses), "postgresql": server, "cpus": os.cpu_count(),
        }
        print(json.dumps(result, indent=2))
        if lateness:
            ms = result["lateness_ms"]
            print(f"fired {len(first_at)}/{args.timers}, more than once {twice}; lateness ms p50 {ms['p50']:.0f} "
                  f"p90 {ms['p90']:.0f} p99 {ms['p99']:.0f} max {ms['max']:.0f}; "
                  f"{result['throughput_per_s']['first_due_to_last_fired']:.1f} timers/s")
            label = f"{args.timers} timers due within {args.spread:g} s, {args.workers} workers"
            summary("timers", f"{label}: fired exactly once", len(first_at) - twice, f"of {args.timers}",
                    f"{args.timers}", twice == 0 and len(first_at) == args.timers)
            summary("timers", f"{label}: lateness p99", round(ms["p99"]), "ms")
            summary("timers", f"{label}: fired per second", round(result["throughput_per_s"]["first_due_to_last_fired"], 1),
                    "/s")
        return 0 if twice == 0 and len(first_at) == args.timers else 1
    finally:
        for p in workers:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        if not args.keep_logs:
            for f in logdir.glob("*"):
                f.unlink()
            logdir.rmdir()


def profile(app, last_due: datetime) -> int:
    """Run every due timer with one in-process Worker under cProfile; time the SQL round trips."""
    import cProfile
    import io
    import pstats

    from sqlalchemy import event

    from orchestrator.extensions import db
    from orchestrator.models.types import utcnow
    from orchestrator.worker import Worker

    wait = (last_due - utcnow()).total_seconds() + 0.5
    log(f"profile: waiting {wait:.1f}s until every timer is due")
    time.sleep(max(0.0, wait))
    sql = {"n": 0, "s": 0.0, "commit_n": 0, "commit_s": 0.0}
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, executemany):
        conn.info["t"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):
        sql["n"] += 1
        sql["s"] += time.perf_counter() - conn.info.pop("t")

    @event.listens_for(engine, "commit")
    def _commit(conn):
        sql["commit_n"] += 1

    worker = Worker(app, name="profiler")
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    count = worker.run_until_idle()
    prof.disable()
    seconds = time.perf_counter() - t
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats("/orchestrator/", 40)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue())
    print(f"one in-process worker: {count} jobs in {seconds:.2f}s = {count / seconds:.1f} jobs/s, "
          f"{1000 * seconds / count:.1f} ms/job; SQL {sql['n'] / count:.1f} statements/job taking "
          f"{1000 * sql['s'] / count:.1f} ms/job (round trips incl. server time), "
          f"{sql['commit_n'] / count:.1f} commits/job")
    return 0


if __name__ == "__main__":
    sys.exit(main())
