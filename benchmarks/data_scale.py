"""Scale of data: inbox, dossier detail and public lookup with 1,000,000 dossiers in PostgreSQL.

1. Creates a fresh database `orch_scale_<random>` (or uses `--keep NAME`), migrates it to head and
   seeds it as tests/conftest.py `_seed` does (units, calendar, forms, shipped procedures, demo users).
2. Generates N dossiers (default 1,000,000) with server-side SQL (`INSERT ... SELECT generate_series`),
   3 work items each, their `dossier_participant` rows (every unit a lane resolves to, as at start)
   and one audit event per completed step plus `created` (about 3.7 per dossier). The dossiers are
   spread evenly over every commune of Hà Nội (01) and Thái Nguyên (19) and the procedures in force
   there; the lanes are resolved with the app's own routing (`steps.routes_for`), so work items sit
   in the units the app would route them to. Submissions are spread over about 450 days; those of the
   last 120 days (and 1% of the older ones) are still in progress with one open work item, the others
   are finished. Open items of the demo units are claimed by the demo user one time in ten.
   With `--keep NAME` and a database that already holds dossiers, generation is skipped (the schema
   is still upgraded to head), so before/after comparisons run on the same data.
3. `ANALYZE`, then times RUNS calls of each service function the API runs (p50/p95/max), prints
   `EXPLAIN (ANALYZE, BUFFERS)` of every SQL statement each one issues and a table.

    .venv/bin/python benchmarks/data_scale.py                    # 1,000,000 dossiers, dropped at the end
    .venv/bin/python benchmarks/data_scale.py --dossiers 20000   # quick
    .venv/bin/python benchmarks/data_scale.py --keep orch_scale_1m [--runs 200]

Environment: TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) names the server.
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from report import log, summary  # noqa: E402

import os  # noqa: E402

from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "demo1234"
PROVINCES = ("01", "19")
DAYS = 450            # submissions spread over this many days
OPEN_WINDOW = 120     # dossiers submitted in the last OPEN_WINDOW days are still in progress
ITEMS_PER_DOSSIER = 3
TARGETS_MS = {"inbox": 20.0, "detail": 20.0, "public": 10.0, "statistics": None}  # no target for statistics
BIG_TABLES = {"dossier", "work_item", "dossier_participant", "audit_event", "dossier_state"}


def admin_engine():
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def db_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def app_for(name: str):
    from orchestrator import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": db_url(name), "TESTING": True, "SECRET_KEY": "benchmark-only-7f4c2a9e1d6b3085c2e9a4",
                       "DEMO_PASSWORD": PASSWORD})


# --------------------------------------------------------------------------- database

def seed(app) -> None:
    """Units, calendar, forms, procedures, demo users (the schema is migrated by `upgrade`)."""
    from orchestrator.seed import seed as load

    load(app, PASSWORD, migrate=False)


def upgrade(app) -> None:
    from flask_migrate import upgrade as flask_upgrade

    with app.app_context():
        flask_upgrade(directory=app.extensions["migrate"].directory)


def route_rows(app) -> tuple[list[dict], list[dict]]:
    """(communes, steps): every (commune, procedure in force) with its human steps routed by the app."""
    from orchestrator.extensions import db
    from orchestrator.models import Dossier, Unit
    from orchestrator.services import procedures, steps, versions
    from sqlalchemy import select

    communes, step_rows = [], []
    with app.app_context():
        session = db.session
        for province in PROVINCES:
            offered = procedures.offered(session, province)
            codes = session.scalars(select(Unit.code).where(Unit.level == "commune", Unit.parent_code == province)
                                    .order_by(Unit.code)).all()
            for code in codes:
                communes.append({"idx": len(communes), "commune_code": code, "province_code": province})
                for p_idx, version in enumerate(offered):
                    d = Dossier(procedure_version_id=version.id, province_code=province, commune_code=code,
                                received_by_unit=code)
                    routes = steps.routes_for(session, d)
                    tasks = versions.runtime(session, version.id).model["user_tasks"]
                    for order, t in enumerate(tasks):
                        r = routes.get(t["id"])  # keyed by step; a per-instance route has none
                        if r is None:
                            continue
                        step_rows.append({
                            "commune_code": code, "proc_idx": p_idx, "n_procs": len(offered),
                            "version_id": version.id, "procedure_code": version.procedure_code,
                            "deadline_days": version.deadline_days or 5, "n_steps": len(tasks), "ord": order,
                            "step_id": t["id"], "step_name": t["name"], "lane": t["lane_id"],
                            "unit_code": r.unit_code, "role": r.role, "form_key": t["form_key"],
                            "step_days": t.get("step_days"), "milestone": t.get("milestone")})
        db.session.remove()
    return communes, step_rows


GENERATE_DOSSIERS = """
INSERT INTO dossier (id, code, procedure_version_id, procedure_code, province_code, commune_code, received_by_unit,
                     channel, applicant, data, status, incident, submitted_at, received_at, legal_due_at, due_at,
                     finished_at, paused, created_by, updated_at, lock_version)
SELECT g.i, c.commune_code || '-' || to_char(g.day, 'YYMMDD') || '-' || lpad(g.seq::text, greatest(4, length(g.seq::text)), '0'),
       p.version_id, p.procedure_code, c.province_code, c.commune_code, c.commune_code,
       1 + g.h % 2,
       jsonb_build_object('full_name', 'Nguyễn Văn ' || g.i, 'id_number', lpad((g.h * 97)::text, 12, '0'),
                          'phone', '09' || lpad((g.h % 100000000)::text, 8, '0'),
                          'address', 'Thôn ' || (g.h % 50) || ', xã ' || c.commune_code),
       jsonb_build_object('declared_area_m2', 50 + g.h % 400, 'parcel_number', g.h % 900, 'note', 'hồ sơ mẫu'),
       CASE WHEN g.open THEN (CASE WHEN g.h % p.n_steps = 0 THEN 9 ELSE 4 END)
            WHEN g.h % 100 < 90 THEN 10 WHEN g.h % 100 < 94 THEN 3 WHEN g.h % 100 < 97 THEN 7 ELSE 8 END,
       false, g.sub, g.sub + interval '2 hours', g.sub + (p.deadline_days * 1.4) * interval '1 day',
       g.sub + (p.deadline_days * 1.4) * interval '1 day',
       CASE WHEN g.open THEN NULL ELSE g.sub + (p.deadline_days * 1.2) * interval '1 day' END,
       '[]'::jsonb, 'reception.' || c.commune_code,
       CASE WHEN g.open THEN g.sub + (g.age * 0.8) * interval '1 day'
            ELSE g.sub + (p.deadline_days * 1.2) * interval '1 day' END,
       3
FROM (SELECT b.*, (b.age < :open_window OR b.h % 100 = 0) AS open,
             CAST(:today AS date) - b.age AS day,
             (CAST(:today AS date) - b.age)::timestamp + interval '1 hour' + (b.h % 32400) * interval '1 second' AS sub
      FROM (SELECT i, h, c_idx, p_idx, k - (d * :per_commune + :days - 1) / :days + 1 AS seq, (:days - d)::int AS age
            FROM (SELECT i, h, (i - 1) % :n_communes AS c_idx, (h / 7) % :n_procs AS p_idx,
                         (i - 1) / :n_communes AS k, ((i - 1) / :n_communes) * :days / :per_commune AS d
                  FROM (SELECT i, abs(hashint8(i)::bigint) AS h
                        FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS i) a) a2) b) g
JOIN bench_commune c ON c.idx = g.c_idx
JOIN bench_proc p ON p.commune_code = c.commune_code AND p.proc_idx = g.p_idx
"""

# One row per (dossier, j in 0..2). The open step is p (1..n-1) for a dossier in progress, n-1 when
# finished; the items are the steps max(0, p-2+j): an earlier run of a step again (p=1) stands for a
# step done twice (supplement round, return to a step). j=2 is the open one in a dossier in progress.
GENERATE_ITEMS = """
INSERT INTO work_item (id, dossier_id, step_id, step_name, lane, unit_code, role, form_key, state, assignee_id,
                       due_at, created_at, completed_at, completed_by)
SELECT md5('wi' || x.id || '-' || x.j)::uuid::text, x.id, s.step_id, s.step_name, s.lane, s.unit_code, s.role,
       s.form_key,
       CASE WHEN x.is_open THEN 'open' ELSE 'completed' END,
       CASE WHEN x.is_open THEN (CASE WHEN abs(hashint4(x.id)) % 10 = 0 THEN u.id END) ELSE u.id END,
       CASE WHEN s.step_days IS NOT NULL THEN x.created + (s.step_days * 1.4) * interval '1 day' ELSE x.due_at END,
       x.created,
       CASE WHEN x.is_open THEN NULL ELSE x.created + (x.span / 3.0) * interval '1 second' END,
       CASE WHEN x.is_open THEN NULL ELSE s.role || '.' || s.unit_code END
FROM (SELECT d.id, d.commune_code, d.procedure_version_id, d.due_at, j,
             (d.finished_at IS NULL AND j = 2) AS is_open,
             d.submitted_at + (j * extract(epoch FROM (coalesce(d.finished_at, d.updated_at) - d.submitted_at)) / 3.0)
                 * interval '1 second' AS created,
             extract(epoch FROM (coalesce(d.finished_at, d.updated_at) - d.submitted_at)) AS span,
             greatest(0, (CASE WHEN d.finished_at IS NULL
                               THEN (CASE WHEN d.status = 9 THEN p.n_steps - 1
                                          ELSE 1 + abs(hashint4(d.id + 17)) % greatest(1, p.n_steps - 2) END)
                               ELSE p.n_steps - 1 END) - 2 + j) AS ord
      FROM dossier d
      JOIN bench_proc p ON p.commune_code = d.commune_code AND p.version_id = d.procedure_version_id
      CROSS JOIN generate_series(0, 2) AS j
      WHERE d.id BETWEEN :lo AND :hi) x
JOIN bench_step s ON s.commune_code = x.commune_code AND s.version_id = x.procedure_version_id AND s.ord = x.ord
LEFT JOIN user_account u ON u.username = s.role || '.' || s.unit_code
ORDER BY x.created
"""

GENERATE_PARTICIPANTS = """
INSERT INTO dossier_participant (dossier_id, unit_code)
SELECT d.id, pu.unit_code
FROM dossier d JOIN bench_proc_unit pu ON pu.commune_code = d.commune_code AND pu.version_id = d.procedure_version_id
WHERE d.id BETWEEN :lo AND :hi
"""

GENERATE_AUDIT = """
INSERT INTO audit_event (dossier_id, at, actor, action, from_status, to_status, task_id, step_id, unit_code, note, data)
SELECT d.id, d.submitted_at, d.created_by, 'created', NULL, 1, NULL, NULL, d.commune_code, 'kênh ' || d.channel, NULL
FROM dossier d WHERE d.id BETWEEN :lo AND :hi
UNION ALL
SELECT w.dossier_id, w.completed_at, w.completed_by, 'complete', 4, 4, w.id, w.step_id, w.unit_code, w.step_name,
       jsonb_build_object('step', w.step_id, 'ok', true)
FROM work_item w WHERE w.dossier_id BETWEEN :lo AND :hi AND w.state = 'completed'
ORDER BY 2
"""


def prepare_helpers(conn, communes: list[dict], step_rows: list[dict]) -> None:
    conn.execute(text("DROP TABLE IF EXISTS bench_commune, bench_step, bench_proc, bench_proc_unit"))
    conn.execute(text("CREATE TABLE bench_commune (idx int PRIMARY KEY, commune_code text, province_code text)"))
    conn.execute(text("CREATE TABLE bench_step (commune_code text, proc_idx int, n_procs int, version_id int, "
                      "procedure_code text, deadline_days int, n_steps int, ord int, step_id text, step_name text, "
                      "lane text, unit_code text, role text, form_key text, step_days int, milestone text, "
                      "PRIMARY KEY (commune_code, version_id, ord))"))
    conn.execute(text("INSERT INTO bench_commune VALUES (:idx, :commune_code, :province_code)"), communes)
    conn.execute(text("INSERT INTO bench_step VALUES (:commune_code, :proc_idx, :n_procs, :version_id, :procedure_code, "
                      ":deadline_days, :n_steps, :ord, :step_id, :step_name, :lane, :unit_code, :role, :form_key, "
                      ":step_days, :milestone)"), step_rows)
    conn.execute(text("""CREATE TABLE bench_proc AS
        SELECT commune_code, proc_idx, version_id, procedure_code, deadline_days, n_steps
        FROM bench_step GROUP BY 1, 2, 3, 4, 5, 6"""))
    conn.execute(text("CREATE UNIQUE INDEX ON bench_proc (commune_code, proc_idx)"))
    conn.execute(text("CREATE TABLE bench_proc_unit AS SELECT DISTINCT commune_code, version_id, unit_code "
                      "FROM bench_step UNION SELECT DISTINCT commune_code, version_id, commune_code FROM bench_step"))
    conn.execute(text("ANALYZE bench_commune; ANALYZE bench_step; ANALYZE bench_proc; ANALYZE bench_proc_unit"))


def generate(name: str, app, n: int, batch: int) -> dict:
    communes, step_rows = route_rows(app)
    n_communes = len(communes)
    n_procs = step_rows[0]["n_procs"]
    per_commune = -(-n // n_communes)
    log(f"[generate] {n:,} dossiers over {n_communes} communes of {'/'.join(PROVINCES)}, {n_procs} procedures each, "
        f"{per_commune:,} per commune over {DAYS} days")
    engine = create_engine(make_url(db_url(name)).set(drivername="postgresql+psycopg"))
    timings = {}
    with engine.begin() as conn:
        prepare_helpers(conn, communes, step_rows)
    params = {"today": time.strftime("%Y-%m-%d"), "days": DAYS, "per_commune": per_commune, "n_procs": n_procs,
              "n_communes": n_communes, "open_window": OPEN_WINDOW}
    for label, sql, extra in (("dossier", GENERATE_DOSSIERS, {}), ("work_item", GENERATE_ITEMS, {}),
                              ("dossier_participant", GENERATE_PARTICIPANTS, {}), ("audit_event", GENERATE_AUDIT, {})):
        t0 = time.perf_counter()
        total = 0
        for lo in range(1, n + 1, batch):
            hi = min(n, lo + batch - 1)
            with engine.begin() as conn:
                # Rows are consistent by construction: skip the FK triggers and the WAL flush per batch.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                total += conn.execute(text(sql), {**params, **extra, "lo": lo, "hi": hi}).rowcount
            elapsed = time.perf_counter() - t0
            log(f"[generate] {label:<20} {total:>10,} rows  ({hi:,}/{n:,} dossiers, {elapsed:6.1f}s)")
        timings[label] = (total, time.perf_counter() - t0)
    with engine.begin() as conn:
        conn.execute(text("SELECT setval(pg_get_serial_sequence('dossier', 'id'), :n)"), {"n": n})
        conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), "
                          "(SELECT coalesce(max(id), 1) FROM audit_event))"))
        conn.execute(text("DROP TABLE bench_commune, bench_step, bench_proc, bench_proc_unit"))
    engine.dispose()
    return timings


def vacuum_analyze(name: str) -> float:
    t0 = time.perf_counter()
    engine = create_engine(make_url(db_url(name)).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for table in ("dossier", "work_item", "dossier_participant", "audit_event", "stat_day", "stat_province_day",
                      "stat_unit_day", "stat_open"):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
    engine.dispose()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- measurements

class Recorder:
    """Collects the SQL statements (with parameters) a call issues, to EXPLAIN them afterwards."""

    def __init__(self, engine):
        self.active, self.statements = False, []
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.statements.append((statement, parameters))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure(app, runs: int, explain: bool, seed_value: int) -> list[dict]:
    from api.schemas.dossiers import DossierDetailSchema, PublicDossierSchema
    from api.schemas.tasks import TaskListSchema
    from api.views import DossierView, InboxEntry
    from orchestrator.extensions import db
    from orchestrator.models import User
    from orchestrator.services import dossiers, inbox
    from orchestrator.services import statistics as stats_service
    from orchestrator.services.auth import actor_for_user
    from sqlalchemy import select

    rng = random.Random(seed_value)
    results = []
    with app.test_request_context():  # a request's context: the detail's `history_url` is a URL
        session = db.session
        recorder = Recorder(db.engine)

        def actor(username):
            user = session.scalar(select(User).where(User.username == username))
            return actor_for_user(session, user)

        n = session.scalar(text("SELECT max(id) FROM dossier")) or 0
        ids = [rng.randint(1, n) for _ in range(runs)]
        codes = dict(session.execute(text("SELECT id, code FROM dossier WHERE id = ANY(:ids)"), {"ids": ids}).all())
        random_codes = [codes[i] for i in ids]
        officer_codes = session.scalars(text(
            "SELECT d.code FROM dossier_participant p JOIN dossier d ON d.id = p.dossier_id "
            "WHERE p.unit_code = '00070' ORDER BY md5(d.code) LIMIT :n"), {"n": runs}).all()
        db.session.remove()

        def inbox_call(username, dump):
            def call(_i):
                a = actors[username]
                page = inbox.search(db.session, a, "available", page=1, per_page=50)
                if dump:
                    items = [InboxEntry(item, page.marks.mark(item.due_at)) for item in page.items]
                    TaskListSchema().dump({"items": items, "total": page.total, "counts": page.counts})
                return page.total
            return call

        def detail_call(username, code_list):
            def call(i):
                d = dossiers.get_visible(db.session, actors[username], code_list[i % len(code_list)])
                view = DossierView(d, dossiers.current_tasks(db.session, d), dossiers.history(db.session, d))
                DossierDetailSchema().dump(view)
                return len(view.history)
            return call

        def statistics_call(username, scope=None, live=False):
            def call(_i):  # live: the whole period counted now (before issue 23's daily aggregates)
                return stats_service.report(db.session, actors[username], scope, live=live).outcomes.resolved
            return call

        def public_call(i):
            d = dossiers.get_public(db.session, random_codes[i])
            PublicDossierSchema().dump(d)
            return d.status

        actors = {u: actor(u) for u in ("specialist.00070", "specialist.01.VPDKDD.CN02", "reception.01.TTPVHCC",
                                        "reception.00070", "supervisor.VN", "supervisor.01")}
        db.session.remove()
        cases = [
            ("inbox", "inbox: specialist.00070, available, page 1 + counts (service)", inbox_call("specialist.00070", False)),
            ("inbox", "inbox: specialist.00070, as GET /tasks (service + JSON)", inbox_call("specialist.00070", True)),
            ("inbox", "inbox: specialist.01.VPDKDD.CN02 (land branch, 3 communes)", inbox_call("specialist.01.VPDKDD.CN02", True)),
            ("inbox", "inbox: reception.01.TTPVHCC (Hà Nội centre, heaviest)", inbox_call("reception.01.TTPVHCC", True)),
            ("detail", "detail: reception.00070, codes of commune 00070", detail_call("reception.00070", officer_codes)),
            ("detail", "detail: supervisor.VN, random codes", detail_call("supervisor.VN", random_codes)),
            ("public", "public lookup: random codes", public_call),
            ("statistics", "statistics: supervisor.01, last 12 weeks (Hà Nội)", statistics_call("supervisor.01")),
            ("statistics", "statistics: supervisor.VN, whole country, last 12 weeks", statistics_call("supervisor.VN")),
            ("statistics", "statistics: supervisor.01, all counted live (before issue 23)",
             statistics_call("supervisor.01", live=True)),
            ("statistics", "statistics: supervisor.VN, all counted live (before issue 23)",
             statistics_call("supervisor.VN", live=True)),
        ]
        for kind, label, call in cases:
            n_runs = runs if kind != "statistics" else min(runs, 20)
            for i in range(min(10, n_runs)):  # warm-up: pool, statement cache, calendar cache
                call(i)
                db.session.remove()
            times, sizes, cpu = [], [], []
            for i in range(n_runs):
                backend = db.session.scalar(text("SELECT pg_backend_pid()"))  # the call's connection
                s0, c0, t0 = backend_cpu_ms(backend), time.process_time(), time.perf_counter()
                sizes.append(call(i))
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000 + backend_cpu_ms(backend) - s0)
                db.session.remove()
            row = {"kind": kind, "label": label, "runs": n_runs, "p50": statistics.median(times),
                   "p95": percentile(times, 0.95), "max": max(times), "target": TARGETS_MS[kind],
                   "size": sizes[0], "cpu": statistics.mean(cpu)}
            recorder.statements, recorder.active = [], True
            call(0)
            recorder.active = False
            db.session.remove()
            row["statements"] = list(recorder.statements)
            row["plans"] = explain_all(row["statements"]) if explain else []
            row["seq_scans"] = sorted({t for plan in row["plans"] for t in seq_scans(plan)})
            row["indexes"] = sorted({i for plan in row["plans"] for i in re.findall(r"(?:Index Scan|Index Only Scan) (?:Backward )?(?:using|on) (\w+)", plan)})
            results.append(row)
            log(f"[measure] {label}: p50 {row['p50']:.2f} ms, p95 {row['p95']:.2f} ms ({len(row['statements'])} SQL); "
                f"CPU {row['cpu']:.1f} ms per call (this process + its PostgreSQL backend)")
    return results


def backend_cpu_ms(pid: int) -> float:
    """CPU time used so far by a PostgreSQL backend on this machine (/proc, 10 ms ticks): with the
    client's own CPU time, what a call costs whatever else the machine runs meanwhile (its wall
    time on a shared 2-vCPU VM is mostly waiting for a core)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def explain_all(statements) -> list[str]:
    from orchestrator.extensions import db

    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            plans.append(statement.strip() + "\n" + "\n".join(r[0] for r in rows))
        conn.rollback()
    return plans


def seq_scans(plan: str) -> list[str]:
    return [t for t in re.findall(r"Seq Scan on (\w+)", plan) if t in BIG_TABLES]


def counts(name: str) -> dict:
    engine = create_engine(make_url(db_url(name)).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in
               ("dossier", "work_item", "dossier_participant", "audit_event")}
        out["open work items"] = conn.execute(text("SELECT count(*) FROM work_item WHERE state = 'open'")).scalar()
        out["size"] = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
        out["indexes"] = conn.execute(text(
            "SELECT string_agg(indexname, ', ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'work_item'")).scalar()
    engine.dispose()
    return out


def print_report(results: list[dict], data: dict, show_plans: bool) -> None:
    if show_plans:
        for row in results:
            print(f"\n=== EXPLAIN (ANALYZE, BUFFERS): {row['label']}")
            for plan in row["plans"]:
                print(plan)
                print("---")
    print("\nData: " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in data.items()
                               if k != "indexes"))
    print(f"work_item indexes: {data['indexes']}\n")
    print("| query | runs | result | SQL | p50 ms | p95 ms | max ms | CPU ms (mean) | target p95 | ok | seq scan on big tables | indexes used |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        target = "-" if r["target"] is None else f"< {r['target']:.0f}"
        ok = None if r["target"] is None else met(r)
        scans = (", ".join(r["seq_scans"]) or "-") if r["plans"] else "n/a"
        print(f"| {r['label']} | {r['runs']} | {r['size']} | {len(r['statements'])} | {r['p50']:.2f} | {r['p95']:.2f} | "
              f"{r['max']:.2f} | {r['cpu']:.1f} | {target} | {'' if ok is None else 'yes' if ok else 'NO'} | {scans} | "
              f"{', '.join(r['indexes']) or 'n/a'} |")
        summary("data_scale", f"{r['label']} p95 ({data['dossier']:,} dossiers)", round(r["p95"], 2), "ms",
                "" if ok is None else f"{target}, no seq scan", ok)


def met(r: dict) -> bool:
    return r["p95"] < r["target"] and not r["seq_scans"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--batch", type=int, default=100_000, help="dossiers per INSERT batch (progress step)")
    parser.add_argument("--keep", metavar="NAME", help="use and keep this database (generated only if empty)")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end even with --keep")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    name = args.keep or f"orch_scale_{uuid.uuid4().hex[:8]}"
    admin = admin_engine()
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    log(f"[db] {name} ({'existing' if exists else 'created'})")
    drop = args.drop or not args.keep
    try:
        app = app_for(name)
        t0 = time.perf_counter()
        upgrade(app)
        from orchestrator.extensions import db
        with app.app_context():
            populated = db.session.scalar(text("SELECT count(*) FROM unit")) > 0
            has_dossiers = db.session.scalar(text("SELECT EXISTS (SELECT 1 FROM dossier)"))
            db.session.remove()
        if not populated:
            seed(app)
        log(f"[db] migrated and seeded in {time.perf_counter() - t0:.1f}s")
        if has_dossiers:
            log("[generate] dossiers present: generation skipped")
        else:
            t0 = time.perf_counter()
            generate(name, app, args.dossiers, args.batch)
            log(f"[generate] done in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        with app.app_context():  # issue 23: the statistics' daily aggregates (`flask stats-rebuild`)
            from orchestrator.services import stat_days
            from orchestrator.timezone import TZ as VN
            from orchestrator.models.types import utcnow as now_utc
            last = now_utc().astimezone(VN).date()
            days = stat_days.rebuild(db.session, stat_days.first_day(db.session) or last, last)
            db.session.commit()
            t1 = time.perf_counter()
            stat_days.snapshot(db.session)  # the open work's snapshot, as the worker's fold takes it
            db.session.commit()
            snapped = time.perf_counter() - t1
            db.session.remove()
        log(f"[stats] {days} day(s) of aggregates rebuilt and the open work's snapshot taken in "
            f"{time.perf_counter() - t0:.1f}s (snapshot {snapped:.2f}s)")
        log(f"[analyze] VACUUM ANALYZE in {vacuum_analyze(name):.1f}s")
        data = counts(name)
        results = measure(app, args.runs, not args.no_explain, args.seed)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        print_report(results, data, not args.no_explain)
        return 0 if all(met(r) for r in results if r["target"] is not None) else 1
    finally:
        if drop:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            log(f"[db] {name} dropped")


if __name__ == "__main__":
    sys.exit(main())
