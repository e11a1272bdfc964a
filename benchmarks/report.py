"""What the benchmarks share: progress on stderr, and one `SUMMARY {json}` line on stdout per
headline figure, which run_all.py gathers into one table."""
from __future__ import annotations

import json
import sys

PREFIX = "SUMMARY "


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def summary(benchmark: str, figure: str, value: float | int | None, unit: str = "", target: str = "",
            ok: bool | None = None) -> None:
    """One headline figure; `target` in words ("<= 2x"), `ok` None when there is no target."""
    print(PREFIX + json.dumps({"benchmark": benchmark, "figure": figure, "value": value, "unit": unit,
                               "target": target, "ok": ok}, ensure_ascii=False), flush=True)
