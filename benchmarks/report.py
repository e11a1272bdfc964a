"""What the benchmarks share: progress on stderr, and one `SUMMARY {json}` line on stdout per
headline figure, which run_all.py gathers into one table."""
from __future__ import annotations

import json
import os
import sys
import uuid
from contextlib import contextmanager
from typing import Iterator

PREFIX = "SUMMARY "
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def summary(benchmark: str, figure: str, value: float | int | None, unit: str = "", target: str = "",
            ok: bool | None = None) -> None:
    """One headline figure; `target` in words ("<= 2x"), `ok` None when there is no target."""
    print(PREFIX + json.dumps({"benchmark": benchmark, "figure": figure, "value": value, "unit": unit,
                               "target": target, "ok": ok}, ensure_ascii=False), flush=True)


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database on TEST_DATABASE_URL's server for one run (yields its URL),
    dropped afterwards, even when the run fails."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
