"""Dossier search by an applicant's name typed without diacritics, with N dossiers in PostgreSQL.

1. Creates a scratch database on TEST_DATABASE_URL's server, migrates it to head (pg_trgm and the
   GIN trigram index on `dossier.search_text`) and seeds it as the tests do.
2. Inserts N dossiers (default 1,000,000) spread over the communes of Hà Nội (01), with applicants
   named from common Vietnamese family, middle and given names (so "nguyen" is in about a third of
   them, as in life), an ID number and a phone; `search_text` is folded in Python by the same
   function the app uses (`orchestrator.text.dossier_search_text`), and the rows go in with COPY.
   One `dossier_participant` row each (the commune), as an officer's visibility reads it.
3. `VACUUM ANALYZE` (what autovacuum does after a bulk load: statistics, and the trigram index's
   pending list merged), then times RUNS calls of `services.dossiers.list_visible` as the back
   office's dossier list (`/admin/dossiers?q=`) makes it: newest received first, a page of 50 with
   the total count (`PAGE`; the same function answers `GET /api/v1/dossiers?q=`), for several names
   typed without diacritics, as supervisor.01 (the whole province) and as reception.00070 (its
   commune only); prints p50/p95/max per case and the plan of the slowest.

    .venv/bin/python benchmarks/search.py                      # 1,000,000 dossiers
    .venv/bin/python benchmarks/search.py --dossiers 100000    # quick
    .venv/bin/python benchmarks/search.py --keep orch_search_1m  # keep it; a rerun skips generation
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from report import PG_URL, log, scratch_database, summary  # noqa: E402

PASSWORD = "demo1234"
FAMILY = ["Nguyễn"] * 38 + ["Trần"] * 11 + ["Lê"] * 9 + ["Phạm"] * 7 + ["Hoàng"] * 5 + ["Huỳnh"] * 4 + \
    ["Phan"] * 4 + ["Vũ"] * 4 + ["Võ"] * 3 + ["Đặng"] * 2 + ["Bùi"] * 2 + ["Đỗ"] * 2 + ["Hồ", "Ngô", "Dương", "Lý",
                                                                                     "Đào", "Đoàn", "Vương", "Trịnh"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Xuân", "Thu", "Hoài", "Kim", "Gia", "Bảo"]
GIVEN = ["An", "Anh", "Bình", "Châu", "Chi", "Cường", "Dũng", "Duy", "Đào", "Đạt", "Giang", "Hà", "Hải", "Hạnh",
         "Hiếu", "Hoa", "Hòa", "Hùng", "Hương", "Huy", "Khánh", "Khoa", "Lan", "Linh", "Long", "Mai", "Minh", "My",
         "Nam", "Nga", "Ngân", "Nhung", "Phong", "Phúc", "Phương", "Quân", "Quang", "Quyên", "Sơn", "Tâm", "Thảo",
         "Thắng", "Thành", "Thủy", "Tiến", "Trang", "Trung", "Tú", "Tuấn", "Vân", "Việt", "Yến"]
QUERIES = ["nguyen thi dao", "tran van hung", "dang minh khoa", "hoang thu trang", "vuong gia bao", "do duc dat"]
# The call the back office's dossier list makes for a search (admin/views_dossiers.py).
PAGE = {"sort": "-received", "offset": 0, "limit": 50, "count": True}
COLUMNS = ("id", "code", "procedure_version_id", "procedure_code", "province_code", "commune_code",
           "received_by_unit", "channel", "applicant", "data", "status", "incident", "submitted_at", "received_at",
           "due_at", "paused", "updated_at", "lock_version", "search_text")


def app_for(url: str):
    from orchestrator import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "DEMO_PASSWORD": PASSWORD,
                       "SECRET_KEY": "benchmark-only-7f4c2a9e1d6b3085c2e9a4"})


def generate(app, n: int) -> None:
    from sqlalchemy import select

    from orchestrator.extensions import db
    from orchestrator.models import ProcedureInForce, Unit
    from orchestrator.models.types import utcnow
    from orchestrator.text import dossier_search_text

    with app.app_context():
        session = db.session
        version = session.get(ProcedureInForce, ("1.001193", "national")).version
        communes = session.scalars(select(Unit.code).where(Unit.level == "commune", Unit.province_code == "01")
                                   .order_by(Unit.code)).all()
        now = utcnow().isoformat()
        rng = random.Random(19)
        raw = session.connection().connection.driver_connection  # psycopg 3: COPY
        t0 = time.perf_counter()
        with raw.cursor() as cur:
            with cur.copy(f"COPY dossier ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for i in range(1, n + 1):
                    commune = communes[i % len(communes)]
                    code = f"{commune}-260101-{i:07d}"
                    applicant = {"full_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                                 "id_number": f"{rng.randrange(10**11, 10**12):012d}",
                                 "phone": f"09{rng.randrange(10**8):08d}"}
                    copy.write_row((i, code, version.id, "1.001193", "01", commune, commune, 1,
                                    json.dumps(applicant, ensure_ascii=False), "{}", 4, False, now, now, now, "[]",
                                    now, 1, dossier_search_text(code, applicant)))
                    if i % 200000 == 0:
                        log(f"  {i:,} dossiers")
            with cur.copy("COPY dossier_participant (dossier_id, unit_code) FROM STDIN") as copy:
                for i in range(1, n + 1):
                    copy.write_row((i, communes[i % len(communes)]))
        raw.commit()
        log(f"inserted {n:,} dossiers in {time.perf_counter() - t0:.0f} s")
        session.remove()


def explain(session, username: str, q: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement `list_visible(q=...)` issues."""
    from sqlalchemy import event, text

    from orchestrator.models import User
    from orchestrator.services import dossiers
    from orchestrator.services.auth import actor_for_user

    actor = actor_for_user(session, session.query(User).filter_by(username=username).one())
    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM dossier" in statement:
            seen.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        dossiers.list_visible(session, actor, q=q, **PAGE)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
    return [row[0] for row in cursor.fetchall()]


@contextmanager
def kept_database(name: str):
    """`--keep NAME`: the database NAME on TEST_DATABASE_URL's server, created if missing, never dropped."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", metavar="NAME", help="use and keep this database (generated only if empty)")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import text

    from orchestrator.extensions import db
    from orchestrator.models import User
    from orchestrator.seed import seed
    from orchestrator.services import dossiers
    from orchestrator.services.auth import actor_for_user

    with (kept_database(args.keep) if args.keep else scratch_database("orch_search")) as url:
        app = app_for(url)
        log("migrating and seeding")
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            seeded = db.session.scalar(text("SELECT count(*) FROM unit")) > 0
            generated = db.session.scalar(text("SELECT EXISTS (SELECT 1 FROM dossier)"))
            db.session.remove()
        if not seeded:
            seed(app, PASSWORD, migrate=False)
        if generated:
            log("dossiers present: generation skipped")
        else:
            generate(app, args.dossiers)
        with app.app_context():
            session = db.session
            t0 = time.perf_counter()
            session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            log(f"vacuumed and analyzed in {time.perf_counter() - t0:.0f} s")
            print(f"{args.dossiers:,} dossiers in PostgreSQL, {args.runs} runs per query, first page of 50, newest "
                  "received first, with the total")
            print(f"{'actor':16} {'query':18} {'total':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            all_times: dict[str, list[float]] = {}
            slowest = (0.0, "", "")
            for username in ("supervisor.01", "reception.00070"):
                actor = actor_for_user(session, session.query(User).filter_by(username=username).one())
                for q in QUERIES:
                    page = dossiers.list_visible(session, actor, q=q, **PAGE)  # warm-up
                    times = []
                    for _ in range(args.runs):
                        t = time.perf_counter()
                        dossiers.list_visible(session, actor, q=q, **PAGE)
                        times.append((time.perf_counter() - t) * 1000)
                        session.expunge_all()
                    times.sort()
                    p95 = times[max(0, int(len(times) * 0.95) - 1)]
                    all_times.setdefault(username, []).extend(times)
                    slowest = max(slowest, (p95, q, username))
                    print(f"{username:16} {q:18} {page.total:6} {statistics.median(times):8.1f} {p95:8.1f} "
                          f"{times[-1]:8.1f}")
            print(f"\nplan of the slowest case ({slowest[1]} as {slowest[2]}):")
            for line in explain(session, slowest[2], slowest[1]):
                print("  " + line)
            for username, times in all_times.items():
                times.sort()
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                print(f"{username}: all queries p95 {p95:.1f} ms")
                summary("search", f"dossier search by a name without diacritics, {username}, "
                                  f"{args.dossiers:,} dossiers, PostgreSQL (p95)", round(p95, 1), "ms", "< 50", p95 < 50)
            db.session.remove()
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
