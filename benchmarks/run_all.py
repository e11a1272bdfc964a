#!/usr/bin/env python3
"""Run every benchmark, one after the other, and print one table of their headline figures.

    .venv/bin/python benchmarks/run_all.py            # full sizes (about 30 minutes on 2 vCPUs)
    .venv/bin/python benchmarks/run_all.py --quick    # smaller sizes (a few minutes)
    .venv/bin/python benchmarks/run_all.py --only history,upload

Each benchmark runs in its own process (memory is measured per process); its progress goes to
stderr as it runs, its full tables to benchmarks/output/<name>.txt, and its `SUMMARY` lines
(report.py) into the table printed at the end. Issue 8's targets are marked in the table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report import PREFIX  # noqa: E402

# name -> (what it measures, arguments at full size, arguments with --quick)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "history": ("target 1: step cost as a dossier loops (plain, and through a call activity and a multi-instance)",
                ["--variant", "all"], ["--variant", "all", "--repeat", "3"]),
    "http_throughput": ("target 2: completions/s through gunicorn vs the engine, and the raw-SQL floor",
                        ["--dossiers", "300", "--floor"], ["--dossiers", "40", "--floor"]),
    "step_throughput": ("target 2: SQL statements per completion; service layer", [], ["--quick"]),
    "data_scale": ("target 3: inbox, detail, public lookup at scale",
                   [], ["--dossiers", "100000", "--batch", "50000", "--runs", "100"]),
    "memory": ("target 4: resident memory over many steps", [], ["--steps", "20000", "--every", "2000"]),
    "upload": ("target 5: validate and publish a 200-element diagram (plain, and with a multi-instance and a call)",
               [], ["--runs", "3"]),
    "timers": ("timer lateness with 3 workers", [], ["--timers", "300"]),
    "inbox": ("officers' inbox page, 5,000 open tasks", [], ["--runs", "10"]),
    "instructions": ("instructions per completion in the web process (callgrind; for A/B of changes)",
                     [], ["--dossiers", "3"]),
    "instructions_floor": ("the same for the raw-SQL floor (benchmarks/http_floor.py)", ["--app", "floor"],
                           ["--app", "floor", "--dossiers", "3"]),
    "notifications": ("citizens' emails drained by 2 workers to an SMTP server on 127.0.0.1 (issue 24)", [],
                      ["--messages", "1000"]),
}


SCRIPTS = {"instructions_floor": "instructions"}  # a benchmark run twice, with other arguments


def run(name: str, args: list[str], out_dir: Path) -> tuple[int, list[dict], float]:
    started = time.perf_counter()
    rows: list[dict] = []
    out = out_dir / f"{name}.txt"
    with out.open("w") as full:
        proc = subprocess.Popen([sys.executable, str(HERE / f"{SCRIPTS.get(name, name)}.py"), *args], stdout=subprocess.PIPE,
                                text=True, cwd=HERE.parent)
        for line in proc.stdout:
            if line.startswith(PREFIX):
                rows.append(json.loads(line[len(PREFIX):]))
            else:
                full.write(line)
        code = proc.wait()
    return code, rows, time.perf_counter() - started


def show(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes instead of half an hour")
    parser.add_argument("--only", help="comma-separated names: " + ", ".join(BENCHMARKS))
    options = parser.parse_args()
    names = options.only.split(",") if options.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    out_dir = HERE / "output"
    out_dir.mkdir(exist_ok=True)
    table: list[tuple[str, dict]] = []
    failed = []
    for i, name in enumerate(names, 1):
        what, full, quick = BENCHMARKS[name]
        args = quick if options.quick else full
        print(f"[{i}/{len(names)}] {name} {' '.join(args)}: {what} ...", file=sys.stderr, flush=True)
        code, rows, seconds = run(name, args, out_dir)
        print(f"[{i}/{len(names)}] {name} finished in {seconds:.0f} s (exit {code}); "
              f"tables in {(out_dir / f'{name}.txt').relative_to(HERE.parent)}", file=sys.stderr, flush=True)
        if not rows:
            failed.append(name)
        table.extend((name, row) for row in rows)

    print(f"\nMachine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; {'--quick sizes' if options.quick else 'full sizes'}\n")
    print("| benchmark | figure | value | target | met |")
    print("|---|---|---|---|---|")
    for name, row in table:
        met = {True: "yes", False: "NO", None: ""}[row["ok"]]
        unit = row["unit"] if row["unit"] in ("", "x") or row["unit"].startswith("/") else " " + row["unit"]
        print(f"| {name} | {row['figure']} | {show(row['value'])}{unit} | {row['target']} | {met} |")
    targets = [row for _, row in table if row["ok"] is not None]
    print(f"\ntargets met: {sum(1 for r in targets if r['ok'])} of {len(targets)}"
          + (f"; no figures from: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
