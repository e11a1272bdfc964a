"""Step throughput: human-task completions per second, engine alone vs. the service layer.

Modes
  engine          WorkflowRun.start, then complete every ready human task until the end (in memory)
  engine+serial   the same, but dumps() + restore() around every completion (what a request must do)
  sqlite          orchestrator.services.tasks.complete + commit on a seeded SQLite file database
  postgresql      the same on a fresh PostgreSQL database (TEST_DATABASE_URL), dropped at the end

Only task completions are timed (dossier start is timed separately and reported on stderr).
On the databases, SQL statements are counted (before_cursor_execute) inside complete + commit.

    .venv/bin/python benchmarks/step_throughput.py [--dossiers N] [--engine-dossiers M] [--quick]
                                                   [--profile] [--no-postgres]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report import log, scratch_database, summary  # noqa: E402

PROCEDURE = "1.013978"  # the land procedure (formerly 1.004227, still accepted as an alias)
BPMN = ROOT / "bpmn" / "national" / f"{PROCEDURE}.bpmn"
PROVINCE, COMMUNE, BRANCH = "01", "00454", "01.VPDKDD.CN11"
PASSWORD = "demo1234"
from report import PG_URL  # noqa: E402

APPLICANT = {"full_name": "Nguyễn Văn An", "id_number": "001085012345", "phone": "0912345678",
             "address": "Thôn Đông, xã Đông Anh, Hà Nội"}
START_DATA = {"declared_area_m2": 150.5}

# Copied from tests/test_land_e2e.py (valid form data for every human step of 1.004227).
STEP_DATA = {
    "Task_Reception": {"reception_result": "accept", "applicant_full_name": "Nguyễn Văn An",
                       "applicant_id_number": "001085012345", "applicant_residence": "Thôn Đông, xã Đông Anh",
                       "parcel_number": 125, "map_sheet_number": 12, "parcel_address": "Thôn Đông",
                       "declared_area_m2": 150.5, "land_use_purpose": "ONT", "land_origin": "before_1993",
                       "land_use_start_year": 1990},
    "Task_CommuneVerification": {"origin_confirmed": "confirmed", "use_stability": "stable",
                                 "planning_conformity": "conform", "dispute_status": "none"},
    "Task_FileCheck": {"cadastral_check_result": "match", "measured_area_m2": 148.2, "land_price_per_m2": 15000000,
                       "registration_fee_exempt": False},
    "Task_Draft": {"certificate_serial": "AA 01234567", "land_use_form": "private", "land_use_term": "long_term"},
    "Task_Sign": {"decision": "approve", "certificate_number": "CS 00123"},
    "Task_UpdateCadastre": {"cadastral_db_updated": True},
    "Task_Return": {"delivery_method": "in_person", "result_number": "KQ-2026-001"},
}
STEPS_PER_DOSSIER = len(STEP_DATA)

# (unit, role) of a work item -> demo user who completes it
USERS = {(COMMUNE, "reception"): f"reception.{COMMUNE}", (COMMUNE, "specialist"): f"specialist.{COMMUNE}",
         (BRANCH, "specialist"): f"specialist.{BRANCH}", (COMMUNE, "leader"): f"leader.{COMMUNE}"}


class Result:
    def __init__(self, mode: str, completions: int, seconds: float, sql_per_step: float | None = None,
                 note: str = ""):
        self.mode, self.completions, self.seconds = mode, completions, seconds
        self.sql_per_step, self.note = sql_per_step, note

    @property
    def rate(self) -> float:
        return self.completions / self.seconds if self.seconds else float("nan")


# --------------------------------------------------------------------------- engine

def load_bundle():
    from orchestrator.config import Config
    from orchestrator.engine import check_diagram

    return check_diagram(BPMN.read_bytes(), Config.MAX_BPMN_BYTES).bundle


def pass_posting(app, code: str) -> None:
    """The land dossier's 15-day public posting (issue 18) passes at once when the workflow waits
    only for it (no message): its timers fire now."""
    from orchestrator.extensions import db
    from orchestrator.models import Dossier
    from orchestrator.services.steps import Step

    with app.app_context():
        step = Step.lock(db.session, db.session.query(Dossier.id).filter_by(code=code).scalar(), "bench:clock")
        if not step.run.waiting_messages():
            step.engine(lambda run: run.fast_forward_timers())
            step.save()
        db.session.commit()
        db.session.remove()


def engine_walk(bundle, serialise: bool) -> tuple[int, float]:
    """One dossier: start (untimed), then complete every human task; returns (completions, seconds)."""
    from orchestrator.engine import WorkflowRun

    run = WorkflowRun.start(bundle, {**START_DATA, "applicant": APPLICANT})
    state = run.dumps() if serialise else None
    done, elapsed = 0, 0.0
    while True:
        tasks = run.ready_human_tasks()
        if not tasks and run.waiting_messages():  # the wait for the tax authority (issue 17): paid at once
            run.deliver_message("payment_received", {})
            state = run.dumps() if serialise else None
            continue
        if not tasks and run.next_timer_at() is not None:  # the 15-day public posting (issue 18): passed at once
            run.fast_forward_timers()
            state = run.dumps() if serialise else None
            continue
        if not tasks:
            break
        task = tasks[0]
        t0 = time.perf_counter()
        if serialise:
            run = WorkflowRun.restore(bundle, state)
        run.complete(task.id, STEP_DATA[task.step_id])
        if serialise:
            state = run.dumps()
        elapsed += time.perf_counter() - t0
        done += 1
    if not run.completed or done != STEPS_PER_DOSSIER:
        raise RuntimeError(f"engine walk ended early: completed={run.completed}, steps={done}")
    return done, elapsed


def bench_engine(bundle, dossiers: int, serialise: bool) -> Result:
    mode = "engine+serialisation" if serialise else "engine (in memory)"
    log(f"[{mode}] {dossiers} dossiers ...")
    engine_walk(bundle, serialise)  # warm-up
    total, seconds = 0, 0.0
    for _ in range(dossiers):
        n, s = engine_walk(bundle, serialise)
        total, seconds = total + n, seconds + s
    log(f"[{mode}] {total} completions in {seconds:.3f}s = {total / seconds:.1f}/s")
    return Result(mode, total, seconds)


# --------------------------------------------------------------------------- service layer

def app_config(uri: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": uri, "TESTING": True, "SECRET_KEY": "benchmark-only-7f4c2a9e1d6b3085c2e9a4", "DEMO_PASSWORD": PASSWORD}


def seed(app) -> None:
    from orchestrator.seed import seed as migrate_and_seed

    migrate_and_seed(app, PASSWORD)


class SqlCounter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.active, self.count = False, 0
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *args, **kwargs):
        if self.active:
            self.count += 1


def bench_service(label: str, uri: str, dossiers: int, profile: bool = False) -> tuple[Result, dict]:
    import logging

    from sqlalchemy import select

    from orchestrator import create_app
    from orchestrator.extensions import db
    from orchestrator.models import User
    from orchestrator.services import dossiers as dossier_service
    from orchestrator.services import lifecycle
    from orchestrator.services import tasks as task_service
    from orchestrator.services.steps import Step
    from orchestrator.services.auth import Actor, actor_for_user

    t0 = time.perf_counter()
    seed(create_app(app_config(uri)))
    log(f"[{label}] seeded in {time.perf_counter() - t0:.1f}s; {dossiers} dossiers ...")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(app_config(uri))
    extra: dict = {}
    with app.app_context():
        counter = SqlCounter(db.engine)
        session = db.session
        actors = {}
        for key, username in USERS.items():
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise RuntimeError(f"demo user {username} missing after seeding")
            actors[key] = actor_for_user(session, user)
        db.session.remove()
        integrator = Actor("integrator", "integrator:bench", provinces=(PROVINCE,),
                           permissions=frozenset({"dossiers:create", "dossiers:read"}))

        def start_one():
            d = dossier_service.start(db.session, integrator, procedure_code=PROCEDURE, province_code=PROVINCE,
                                      commune_code=COMMUNE, channel=2, applicant=APPLICANT, data=dict(START_DATA))
            db.session.commit()
            return d.dossier.id  # `start` answers the step

        def walk(dossier_id: int, prof: cProfile.Profile | None) -> tuple[int, float, int]:
            from orchestrator.models import Dossier

            done, elapsed, statements = 0, 0.0, 0
            while True:
                dossier = db.session.get(Dossier, dossier_id)
                items = dossier_service.current_tasks(db.session, dossier)
                if not items and dossier.status == 4 and dossier.finished_at is None:
                    # the 15-day public posting (issue 18), then the wait for the tax authority (issue
                    # 17): both passed at once (untimed), the applicant pays at once
                    step = Step.lock(db.session, dossier_id, "bench:clock")
                    if not step.run.waiting_messages():
                        step.engine(lambda run: run.fast_forward_timers())
                        step.save()
                    else:
                        lifecycle.send_event(db.session, actors[(BRANCH, "specialist")], dossier.code,
                                             "payment_received", {})
                    db.session.commit()
                    db.session.remove()
                    continue
                if not items:
                    break
                item = items[0]
                actor = actors[(item.unit_code, item.role)]
                task_id, step_id = item.id, item.step_id
                db.session.remove()  # every request has a fresh session
                counter.count, counter.active = 0, True
                if prof:
                    prof.enable()
                t = time.perf_counter()
                task_service.complete(db.session, actor, task_id, STEP_DATA[step_id])
                db.session.commit()
                elapsed += time.perf_counter() - t
                if prof:
                    prof.disable()
                counter.active = False
                statements += counter.count
                done += 1
                db.session.remove()
            dossier = db.session.get(Dossier, dossier_id)
            if dossier.status != 10 or dossier.finished_at is None or done != STEPS_PER_DOSSIER:
                raise RuntimeError(f"{label}: dossier {dossier.code} ended with status {dossier.status} "
                                   f"after {done} steps")
            db.session.remove()
            return done, elapsed, statements

        walk(start_one(), None)  # warm-up (spec cache, calendar, first queries)
        prof = cProfile.Profile() if profile else None
        total, seconds, statements, start_seconds, start_sql = 0, 0.0, 0, 0.0, 0
        for _ in range(dossiers):
            counter.count, counter.active = 0, True
            t = time.perf_counter()
            dossier_id = start_one()
            start_seconds += time.perf_counter() - t
            counter.active = False
            start_sql += counter.count
            db.session.remove()
            n, s, q = walk(dossier_id, prof)
            total, seconds, statements = total + n, seconds + s, statements + q
        db.session.remove()
        db.engine.dispose()
    extra = {"start_ms": 1000 * start_seconds / dossiers, "start_sql": start_sql / dossiers, "profile": prof}
    log(f"[{label}] {total} completions in {seconds:.3f}s = {total / seconds:.1f}/s, "
        f"{statements / total:.1f} SQL/completion; start: {extra['start_ms']:.1f} ms, "
        f"{extra['start_sql']:.1f} SQL/dossier")
    return Result(label, total, seconds, statements / total), extra


def bench_sqlite(dossiers: int, profile: bool) -> tuple[Result, dict]:
    with tempfile.TemporaryDirectory(prefix="orch_bench_") as tmp:
        return bench_service("sqlite service", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", dossiers, profile)


def bench_postgres(dossiers: int) -> tuple[Result | None, dict]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            version = conn.execute(text("show server_version")).scalar()
    except Exception as exc:  # noqa: BLE001 - anything means "not reachable"
        log(f"[postgresql] not reachable at {PG_URL}: {str(exc).splitlines()[0]} -- skipped")
        print(f"PostgreSQL not reachable at {PG_URL}: skipped")
        return None, {}
    admin.dispose()
    with scratch_database("orch_bench") as uri:
        return bench_service(f"postgresql {version.split()[0]} service", uri, dossiers)


# --------------------------------------------------------------------------- report

def print_table(results: list[Result], baseline: Result) -> None:
    head = ("mode", "completions", "seconds", "completions/s", "vs engine+serial", "SQL/completion")
    rows = [(r.mode, str(r.completions), f"{r.seconds:.3f}", f"{r.rate:.1f}", f"{r.rate / baseline.rate:.2f}x",
             f"{r.sql_per_step:.1f}" if r.sql_per_step is not None else "-") for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=30, help="dossiers walked per database (default 30)")
    parser.add_argument("--engine-dossiers", type=int, default=None,
                        help="dossiers walked per engine mode (default 5x --dossiers)")
    parser.add_argument("--quick", action="store_true", help="5 dossiers per database, 20 per engine mode")
    parser.add_argument("--profile", action="store_true", help="cProfile the SQLite completions (top 25 to stderr)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.dossiers = 5
        args.engine_dossiers = args.engine_dossiers or 20
    engine_dossiers = args.engine_dossiers or 5 * args.dossiers

    log(f"[setup] {BPMN.relative_to(ROOT)}: {STEPS_PER_DOSSIER} human steps per dossier")
    bundle = load_bundle()
    results = [bench_engine(bundle, engine_dossiers, serialise=False),
               bench_engine(bundle, engine_dossiers, serialise=True)]
    baseline = results[1]
    sqlite_result, sqlite_extra = bench_sqlite(args.dossiers, args.profile)
    results.append(sqlite_result)
    extras = [(sqlite_result.mode, sqlite_extra)]
    if not args.no_postgres:
        pg_result, pg_extra = bench_postgres(args.dossiers)
        if pg_result is not None:
            results.append(pg_result)
            extras.append((pg_result.mode, pg_extra))

    print()
    print_table(results, baseline)
    for r in results:
        summary("step_throughput", f"{r.mode}: completions/s", round(r.rate, 1), "/s")
        if r.sql_per_step is not None:
            summary("step_throughput", f"{r.mode}: SQL statements per completion", round(r.sql_per_step, 1), "",
                    "<= 10", r.sql_per_step <= 10)
    for mode, extra in extras:
        print(f"{mode}: dossier start {extra['start_ms']:.1f} ms, {extra['start_sql']:.1f} SQL statements "
              f"(not in the table)")
    prof = sqlite_extra.get("profile")
    if prof is not None:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        log(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
