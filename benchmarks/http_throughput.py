#!/usr/bin/env python3
"""Task completions per second through the HTTP API (gunicorn on PostgreSQL, load from a separate
process on 127.0.0.1), next to the engine-with-serialisation limit measured in the same run.

    .venv/bin/python benchmarks/http_throughput.py [--dossiers 60] [--clients 8] [--web-workers 2] [--floor]

Issue 8's target is a ratio of at least 0.5. With --floor, as many dossiers again are completed
through `http_floor.py` (raw SQL, none of the product's checks) on the same database: the most
any implementation could reach on this machine and stack. Prints progress to stderr and one table.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import requests  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from report import scratch_database, summary  # noqa: E402
from step_throughput import (  # noqa: E402
    APPLICANT, PASSWORD, STEP_DATA, USERS, app_config, bench_engine, load_bundle, log, pass_posting, seed,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_by_group() -> dict[str, float]:
    """CPU seconds used so far by gunicorn, PostgreSQL, this process (the load) and the rest."""
    tick = os.sysconf("SC_CLK_TCK")
    groups: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        group = ("load" if int(pid) == os.getpid() else "gunicorn" if "gunicorn" in cmd
                 else "postgres" if name.startswith("postgres") else "other")
        groups[group] = groups.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return groups


def serve(target: str, port: int, env: dict, layout: tuple[int, int], profile: str | None = None,
          pythonpath: Path | None = None) -> subprocess.Popen:
    """gunicorn serving `target`, ready to answer (optionally under py-spy, on-CPU samples only)."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    spy = ([str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw", "--rate", "500",
            "--subprocesses", "--output", profile, "--"] if profile else [])
    extra = ["--preload", "--pythonpath", str(pythonpath)] if pythonpath else []
    server = subprocess.Popen([*spy, gunicorn, "--workers", str(layout[0]), "--threads", str(layout[1]),
                               "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}", "--log-level",
                               "warning", *extra, target], env=env, cwd=ROOT)
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    return server


def floor_routes(app, dossiers: list[dict]) -> dict:
    """The product's routing of each step, per version, for the floor app: version id -> step -> (unit, role)."""
    from orchestrator.extensions import db
    from orchestrator.models import Dossier
    from orchestrator.services import steps

    out: dict = {}
    with app.app_context():
        for code in {d["code"] for d in dossiers}:
            dossier = db.session.query(Dossier).filter_by(code=code).one()
            if str(dossier.procedure_version_id) not in out:
                out[str(dossier.procedure_version_id)] = {
                    step_id: (route.unit_code, route.role) for step_id, route in steps.routes_for(db.session, dossier).items()}
        db.session.rollback()
    return out


def stop(server: subprocess.Popen, profile: str | None = None) -> None:
    server.send_signal(signal.SIGINT if profile else signal.SIGTERM)  # py-spy writes its file on SIGINT
    server.wait(30)


def complete_all(port: int, dossiers: list[dict], tokens: dict, clients: int,
                 app=None) -> tuple[int, int, float, dict]:
    """Complete every step of these dossiers over HTTP with `clients` threads, each on one keep-alive
    connection; returns (completions, errors, seconds, CPU ms per completion by process group)."""
    work = list(dossiers)
    lock = threading.Lock()
    done, errors = [0], [0]

    def client():
        # http.client on one keep-alive connection: about a sixth of the CPU per request of
        # `requests`, which would otherwise take a core from the server on this 2-vCPU machine.
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while True:
            with lock:
                if not work:
                    return
                dossier = work.pop()
            tasks = dossier["current_tasks"]
            while tasks:
                task = tasks[0]
                who = USERS[(task["unit_code"], task["role"])]
                conn.request("POST", f"/api/v1/tasks/{task['id']}/complete",
                             body=json.dumps({"data": STEP_DATA[task["step_id"]]}),
                             headers={"Authorization": f"Bearer {tokens[who]}", "Content-Type": "application/json"})
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    errors[0] += 1
                    break
                with lock:
                    done[0] += 1
                answer = json.loads(body)
                tasks = answer["current_tasks"]
                if not tasks and answer["status"] == 4 and answer["finished_at"] is None:
                    # the 15-day public posting passes at once (issue 18, `app`: the product's database);
                    # then the wait for the tax authority (issue 17): the branch records the payment (not counted)
                    if app is not None:
                        pass_posting(app, answer["code"])
                    branch = tokens[USERS[("01.VPDKDD.CN11", "specialist")]]
                    conn.request("POST", f"/api/v1/dossiers/{answer['code']}/events/payment_received",
                                 body=json.dumps({"data": {}}),
                                 headers={"Authorization": f"Bearer {branch}", "Content-Type": "application/json"})
                    response = conn.getresponse()
                    body = response.read()
                    tasks = json.loads(body)["current_tasks"] if response.status == 200 else []

    cpu_before = cpu_by_group()
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    cpu_after = cpu_by_group()
    cpu = {g: 1000 * (cpu_after.get(g, 0) - cpu_before.get(g, 0)) / max(done[0], 1) for g in cpu_after}
    return done[0], errors[0], seconds, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--floor", action="store_true",
                        help="also complete as many dossiers through benchmarks/http_floor.py (raw SQL, no ORM, "
                             "none of the product's checks): the least work any implementation does here")
    parser.add_argument("--floor-layout", default="8x1:16", metavar="WxT:C",
                        help="gunicorn workers x threads : clients for the floor (its best layout here)")
    parser.add_argument("--profile", metavar="FILE", help="record the product's gunicorn with py-spy (collapsed "
                        "stacks, on-CPU samples only) into FILE; needs `pip install py-spy`")
    args = parser.parse_args()

    bundle = load_bundle()
    engine = bench_engine(bundle, max(30, args.dossiers), serialise=True)

    with scratch_database("orch_http") as url:
        return measure(args, engine, url)


def measure(args, engine, url: str) -> int:
    server = None
    try:
        from orchestrator import create_app

        log("[http] seeding PostgreSQL ...")
        seed(create_app(app_config(url)))
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "benchmark-only-7f4c2a9e1d6b3085c2e9a4", "PYTHONPATH": str(ROOT),
               "RATELIMIT_TOKEN": "10000 per minute", "LOG_LEVEL": "WARNING",
               "RATELIMIT_API_KEY": "1000000 per minute", "RATELIMIT_API_USER": "1000000 per minute"}
        layout = (args.web_workers, args.threads)
        server = serve("orchestrator:create_app()", port, env, layout, args.profile)
        base = f"http://127.0.0.1:{port}/api/v1"
        app = create_app(app_config(url))
        from orchestrator.extensions import db
        from orchestrator.services.auth import create_api_key

        with app.app_context():
            _key, secret = create_api_key(db.session, "bench", ["01"], ["dossiers:create", "dossiers:read"])
            db.session.commit()
        tokens = {}
        for who in set(USERS.values()):
            tokens[who] = requests.post(f"{base}/auth/token", json={"username": who, "password": PASSWORD}).json()["token"]
        count = args.dossiers * (2 if args.floor else 1)
        log(f"[http] starting {count} dossiers ...")
        codes = []
        for _ in range(count):
            r = requests.post(f"{base}/dossiers", headers={"Authorization": f"Bearer {secret}"},
                              json={"procedure_code": "1.004227", "province_code": "01", "commune_code": "00454",
                                    "channel": 2, "applicant": APPLICANT, "data": {}})
            r.raise_for_status()
            codes.append(r.json())

        rows = []
        log(f"[http] completing with {args.clients} client threads against gunicorn "
            f"({args.web_workers} workers x {args.threads} threads) ...")
        done, errors, seconds, cpu = complete_all(port, codes[:args.dossiers], tokens, args.clients, app)
        rows.append((f"HTTP, gunicorn {args.web_workers}x{args.threads}, PostgreSQL, {args.clients} clients",
                     done, errors, seconds, cpu))
        if args.floor:
            routes = floor_routes(app, codes[args.dossiers:])
            stop(server, args.profile)
            server = None
            (workers, threads), clients = map(int, args.floor_layout.split(":")[0].split("x")), int(
                args.floor_layout.split(":")[1])
            port = free_port()
            env = {**env, "FLOOR_ROUTES": json.dumps(routes),
                   "FLOOR_DSN": make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)}
            server = serve("http_floor:app", port, env, (workers, threads), pythonpath=ROOT / "benchmarks")
            log(f"[http] the floor: {clients} client threads against gunicorn ({workers} x {threads}) ...")
            done, errors, seconds, cpu = complete_all(port, codes[args.dossiers:], tokens, clients)
            rows.append((f"HTTP floor (raw SQL, no ORM, no checks), gunicorn {workers}x{threads}, {clients} clients",
                         done, errors, seconds, cpu))

        print("| mode | completions | seconds | completions/s | ratio to engine+serialisation |")
        print("|---|---|---|---|---|")
        print(f"| engine+serialisation (1 process) | {engine.completions} | {engine.seconds:.3f} | {engine.rate:.1f} | 1.00 |")
        for label, done, errors, seconds, cpu in rows:
            print(f"| {label} | {done} | {seconds:.3f} | {done / seconds:.1f} | {done / seconds / engine.rate:.2f} |")
        print()
        for label, done, errors, seconds, cpu in rows:
            print(f"{label}: errors {errors}; CPU ms per completion: "
                  + ", ".join(f"{g} {ms:.2f}" for g, ms in sorted(cpu.items())))
        summary("http_throughput", "engine+serialisation completions/s (1 process)", round(engine.rate, 1), "/s")
        label, done, errors, seconds, cpu = rows[0]
        rate = done / seconds
        summary("http_throughput", f"HTTP completions/s (gunicorn {args.web_workers}x{args.threads}, PostgreSQL)",
                round(rate, 1), "/s")
        summary("http_throughput", "HTTP / engine+serialisation", round(rate / engine.rate, 2), "", ">= 0.5",
                rate / engine.rate >= 0.5)
        summary("http_throughput", "CPU ms per completion: " + ", ".join(
            f"{g} {ms:.2f}" for g, ms in sorted(cpu.items()) if g != "other"), round(sum(cpu.values()), 2), "ms")
        if args.floor:
            label, done, _errors, seconds, cpu = rows[1]
            summary("http_throughput", "floor (raw SQL, no ORM, no checks) / engine+serialisation: the most any "
                    "implementation reaches here", round(done / seconds / engine.rate, 2), "")
            summary("http_throughput", "floor CPU ms per completion: " + ", ".join(
                f"{g} {ms:.2f}" for g, ms in sorted(cpu.items()) if g != "other"), round(sum(cpu.values()), 2), "ms")
        return 0 if all(r[2] == 0 for r in rows) else 1
    finally:
        if server is not None:
            stop(server, args.profile)


if __name__ == "__main__":
    sys.exit(main())
