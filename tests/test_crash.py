"""Crash proof on PostgreSQL: gunicorn (2 workers) and 2 `worker` processes serve a load of dossiers
driven over HTTP while the test SIGKILLs web workers and job workers several times.

Afterwards: every request that got a 2xx is in the database, `flask check` passes, no timer fired
twice, every timer that became due fired once. Figures are printed (run with -s to see them).
"""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Dossier, Job, WorkItem
from orchestrator.models.types import utcnow
from orchestrator.services.auth import create_api_key

from .conftest import PASSWORD, ROOT
from .diagrams import timer_diagram
from .test_land_e2e import APPLICANT, STEP_DATA

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LAND_DOSSIERS = 30
TIMER_DOSSIERS = 24
CLIENT_THREADS = 6          # each drives a share of both kinds of dossier
ACTIVE_PER_THREAD = 3       # dossiers a client thread has in flight at once
KILL_INTERVAL = (0.8, 1.6)  # seconds between two kills, alternately a web worker and a job worker
MAX_KILLS_EACH = 8
LOAD_DEADLINE = 120        # seconds for the clients; a job held by a killed worker waits out its 60 s lease
SETTLE_DEADLINE = 90

LAND, TIMERS = "1.004227", "9.190001"  # the land procedure by its former code (an alias of 1.013978)
COMMUNE, BRANCH, TIMER_COMMUNE = "00454", "01.VPDKDD.CN11", "00070"
USERS = {(COMMUNE, "reception"): f"reception.{COMMUNE}", (COMMUNE, "specialist"): f"specialist.{COMMUNE}",
         (COMMUNE, "leader"): f"leader.{COMMUNE}", (BRANCH, "specialist"): f"specialist.{BRANCH}",
         (TIMER_COMMUNE, "specialist"): f"specialist.{TIMER_COMMUNE}",
         (TIMER_COMMUNE, "leader"): f"leader.{TIMER_COMMUNE}"}
TIMER_STEP_DATA = {"Task_Work": {"decision": "approve"}, "Task_Remind": {"decision": "approve"},
                   "Task_Sign": {"decision": "approve"}}


# --------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Live child processes of `pid`, from /proc (psutil is not a dependency)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces, so split after the last ')'
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry))
    return found


class Cluster:
    """gunicorn (master + web workers) and `flask worker` processes, with logs under `logdir`."""

    def __init__(self, database_uri: str, logdir: Path, web_workers: int = 2, job_workers: int = 2):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.logdir = logdir
        self.env = {**os.environ, "DATABASE_URL": database_uri, "SECRET_KEY": "crash-test-only-3b9e71d0c4a25f86e1d7",
                    "PYTHONPATH": str(ROOT), "LOG_LEVEL": "INFO", "LOG_FORMAT": "json",
                    "RATELIMIT_PUBLIC": "100000 per minute", "DEMO_PASSWORD": PASSWORD,
                    "RATELIMIT_API_KEY": "100000 per minute", "RATELIMIT_API_USER": "100000 per minute"}
        self.web_workers, self.job_workers = web_workers, job_workers
        self.gunicorn: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._opened: list = []
        self.started = 0

    def _log(self, name: str):
        f = open(self.logdir / name, "ab")  # noqa: SIM115 - closed in stop()
        self._opened.append(f)
        return f

    def start_web(self) -> None:
        log = self._log("gunicorn.log")
        self.gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.web_workers), "--worker-class", "gthread",
             "--threads", "4", "--bind", f"127.0.0.1:{self.port}", "--timeout", "30", "--graceful-timeout", "5",
             "orchestrator:create_app()"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.gunicorn.returncode}; see {self.logdir}/gunicorn.log")
            try:
                if requests.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready in 60 s")

    def start_worker(self) -> subprocess.Popen:
        self.started += 1
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "orchestrator", "worker"], cwd=ROOT,
                                env=self.env, stdout=self._log(f"worker-{self.started}.log"),
                                stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def start(self) -> None:
        self.start_web()
        for _ in range(self.job_workers):
            self.start_worker()

    def web_children(self) -> list[int]:
        return children(self.gunicorn.pid)

    def wait_web_workers(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.web_children()) < self.web_workers and time.monotonic() < deadline:
            time.sleep(0.1)

    def kill_web_worker(self) -> int | None:
        pids = self.web_children()
        if not pids:
            return None
        pid = random.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return pid  # the gunicorn master notices and forks a new worker

    def kill_job_worker(self) -> int:
        proc = random.choice([p for p in self.workers if p.poll() is None])
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.workers.remove(proc)
        self.start_worker()
        return proc.pid

    def stop(self) -> None:
        procs = [p for p in self.workers if p.poll() is None]
        if self.gunicorn is not None and self.gunicorn.poll() is None:
            procs.append(self.gunicorn)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for f in self._opened:
            f.close()


# --------------------------------------------------------------------------- clients

@dataclass
class Tracked:
    kind: str                     # "land" or "timer"
    code: str | None = None
    body: dict | None = None
    created: float = 0.0
    work_after: float = 0.0       # timer dossiers: Task_Work is completed this long after the start
    done: bool = False
    posting_due: bool = False     # land dossiers: the 15-day public posting was made due (issue 18)


@dataclass
class Record:
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    created: list = field(default_factory=list)      # (code, kind) of every 201
    completed: list = field(default_factory=list)    # (task_id, code, step_id) of every 2xx completion
    failures: list = field(default_factory=list)     # (sent, failed, method, path, what)
    answers: Counter = field(default_factory=Counter)
    kills: list = field(default_factory=list)        # (t, "web"|"worker", pid)

    def now(self) -> float:
        return time.monotonic() - self.started


def _posting_due(app, code: str) -> None:
    """The land dossier's public posting (a 15-day timer) is due now: its workflow is stored with
    that due time and its timer job moved to now; the cluster's job workers fire it."""
    from orchestrator.services.steps import Step

    with app.app_context():
        dossier_id = db.session.query(Dossier.id).filter_by(code=code).scalar()
        step = Step.lock(db.session, dossier_id, "test:clock")
        for task_id in step.run._waiting_timers():
            step.run.workflow.get_task_from_id(task_id)._set_internal_data(event_value="1970-01-01T00:00:00+00:00")
        step.save()
        db.session.commit()
        db.session.remove()


class Client:
    def __init__(self, base: str, tokens: dict, api_key: str, record: Record, app=None):
        self.base, self.tokens, self.api_key, self.rec, self.app = base, tokens, api_key, record, app

    def call(self, method: str, path: str, token: str, **kw) -> requests.Response | None:
        """One request on a fresh connection; None after a connection error."""
        t = self.rec.now()
        end = self.rec.now
        try:
            r = requests.request(method, f"{self.base}/api/v1{path}", timeout=(5, 30),
                                 headers={"Authorization": f"Bearer {token}"}, **kw)
        except requests.RequestException as exc:
            with self.rec.lock:
                self.rec.requests += 1
                self.rec.answers["connection error"] += 1
                self.rec.failures.append((t, end(), method, path, exc.__class__.__name__))
            return None
        with self.rec.lock:
            self.rec.requests += 1
            self.rec.answers[r.status_code] += 1
            if r.status_code >= 500:
                self.rec.failures.append((t, end(), method, path, f"{r.status_code} {r.text[:300]}"))
        return r

    def start(self, d: Tracked) -> None:
        procedure, commune = (LAND, COMMUNE) if d.kind == "land" else (TIMERS, TIMER_COMMUNE)
        r = self.call("POST", "/dossiers", self.api_key, json={
            "procedure_code": procedure, "province_code": "01", "commune_code": commune, "channel": 2,
            "applicant": APPLICANT, "data": {"declared_area_m2": 150.5} if d.kind == "land" else {}})
        if r is not None and r.status_code == 201:
            d.body, d.code, d.created = r.json(), r.json()["code"], time.monotonic()
            with self.rec.lock:
                self.rec.created.append((d.code, d.kind))
        # otherwise: try again on the next pass (a dossier created but unanswered stays an orphan)

    def refresh(self, d: Tracked) -> None:
        token = self.tokens[USERS[(COMMUNE, "reception") if d.kind == "land" else (TIMER_COMMUNE, "leader")]]
        r = self.call("GET", f"/dossiers/{d.code}", token)
        d.body = r.json() if r is not None and r.status_code == 200 else None

    def step(self, d: Tracked) -> bool:
        """Advance one dossier by at most one completion; True if a request changed something."""
        if d.code is None:
            self.start(d)
            return d.code is not None
        if d.body is None:
            self.refresh(d)
            if d.body is None:
                return False
        tasks = d.body["current_tasks"]
        signed = any(h["action"] == "complete" and h["step_id"] == "Task_Sign" for h in d.body["history"])
        if d.kind == "timer":
            # timer_diagram's default milestones: Task_Work receives, Task_Sign decides and Task_Remind
            # (last in flow order) returns, which finishes the dossier: so the reminder comes last.
            tasks = [t for t in tasks if (t["step_id"] != "Task_Work" or time.monotonic() - d.created >= d.work_after)
                     and (t["step_id"] != "Task_Remind" or signed)]
        checked = {h["step_id"] for h in d.body["history"] if h["action"] == "complete"} >= {
            "Task_CommuneVerification", "Task_FileCheck"}
        posted = any(h["action"] == "timer" and h["step_id"] == "Event_PublicPosting" for h in d.body["history"])
        if not tasks and d.kind == "land" and d.body["finished_at"] is None and checked and not posted:
            first = not d.posting_due
            if first:  # once: the job workers fire it (issue 18)
                _posting_due(self.app, d.code)
                d.posting_due = True
            d.body = None
            return first
        if not tasks and d.kind == "land" and d.body["finished_at"] is None and d.body["status"] == 4 and any(
                h["action"] == "complete" and h["step_id"] == "Task_FileCheck" for h in d.body["history"]):
            # the branch waits for the tax authority (issue 17): the applicant pays; the branch's
            # officer records it (a 409: recorded by an unanswered earlier attempt, look again)
            r = self.call("POST", f"/dossiers/{d.code}/events/payment_received",
                          self.tokens[USERS[(BRANCH, "specialist")]], json={"data": {}})
            d.body = r.json() if r is not None and r.status_code == 200 else None
            return d.body is not None
        if not tasks:
            d.done = d.body["finished_at"] is not None if d.kind == "land" else signed and not d.body["current_tasks"]
            d.body = None  # waiting on a timer, or (land) lost track: look again next pass
            return False
        task = tasks[0]
        data = STEP_DATA[task["step_id"]] if d.kind == "land" else TIMER_STEP_DATA[task["step_id"]]
        r = self.call("POST", f"/tasks/{task['id']}/complete", self.tokens[USERS[(task["unit_code"], task["role"])]],
                      json={"data": data})
        if r is not None and 200 <= r.status_code < 300:
            with self.rec.lock:
                self.rec.completed.append((task["id"], d.code, task["step_id"]))
            d.body = r.json()
            return True
        d.body = None  # 409 (done by an unanswered earlier attempt), a connection error, a 5xx: look again
        return False

    def run(self, todo: list[Tracked], deadline: float) -> None:
        active: list[Tracked] = []
        while (todo or active) and time.monotonic() < deadline:
            while todo and len(active) < ACTIVE_PER_THREAD:
                active.append(todo.pop(0))
            progressed = False
            for d in list(active):
                progressed |= self.step(d)
                if d.done:
                    active.remove(d)
            if not progressed:
                time.sleep(0.2)


# --------------------------------------------------------------------------- the test

def _publish_timer_procedure(base: str, designer: str) -> None:
    files = {"file": ("timers.bpmn", timer_diagram(boundary="PT1S", wait="PT2S"), "application/xml")}
    form = {"code": TIMERS, "name": "Hẹn giờ (crash)", "scope": "01", "deadline_days": "3",
            "deadline_kind": "working"}
    headers = {"Authorization": f"Bearer {designer}"}
    r = requests.post(f"{base}/api/v1/procedures", data=form, files=files, headers=headers, timeout=30)
    assert r.status_code == 201, r.text
    r = requests.post(f"{base}/api/v1/procedures/{TIMERS}/versions/1/publish", headers=headers, timeout=30)
    assert r.status_code == 200, r.text


def _token(base: str, username: str) -> str:
    r = requests.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def _kill_loop(cluster: Cluster, rec: Record, load_done: threading.Event) -> None:
    turn = 0
    while not load_done.is_set():
        if load_done.wait(random.uniform(*KILL_INTERVAL)):
            break
        web = sum(1 for k in rec.kills if k[1] == "web")
        job = len(rec.kills) - web
        if web >= MAX_KILLS_EACH and job >= MAX_KILLS_EACH:
            break
        if turn % 2 == 0 and web < MAX_KILLS_EACH:
            cluster.wait_web_workers(10)  # let the master respawn the last one first
            pid = cluster.kill_web_worker()
            if pid:
                rec.kills.append((rec.now(), "web", pid))
        elif job < MAX_KILLS_EACH:
            rec.kills.append((rec.now(), "worker", cluster.kill_job_worker()))
        turn += 1


def _settle(app, deadline: float) -> dict:
    """Wait until no timer job is due or leased (a killed worker's lease runs out after 60 s)."""
    with app.app_context():
        while True:
            db.session.remove()
            now = utcnow()
            due = db.session.scalar(select(func.count()).select_from(Job).where(
                ((Job.state == "queued") & (Job.run_at <= now)) | (Job.state == "running")))
            if not due or time.monotonic() > deadline:
                states = dict(db.session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
                db.session.remove()
                return {"due_or_leased": due, "jobs": states}
            time.sleep(0.5)


def test_load_with_killed_web_and_job_workers(app, database_uri, tmp_path):
    with app.app_context():
        _key, api_key = create_api_key(db.session, "portal", ["01"], ["dossiers:create", "dossiers:read"])
        db.session.commit()
        db.session.remove()

    cluster = Cluster(database_uri, tmp_path)
    rec = Record()
    t0 = time.monotonic()
    try:
        cluster.start()
        tokens = {u: _token(cluster.base, u) for u in set(USERS.values()) | {"designer.01"}}
        _publish_timer_procedure(cluster.base, tokens["designer.01"])
        rec.started = time.monotonic()
        setup_seconds = rec.started - t0

        dossiers = [Tracked("land") for _ in range(LAND_DOSSIERS)]
        dossiers += [Tracked("timer", work_after=random.uniform(0, 2.5)) for _ in range(TIMER_DOSSIERS)]
        random.shuffle(dossiers)
        shares = [dossiers[i::CLIENT_THREADS] for i in range(CLIENT_THREADS)]
        deadline = time.monotonic() + LOAD_DEADLINE
        threads = [threading.Thread(target=Client(cluster.base, tokens, api_key, rec, app).run, args=(share, deadline))
                   for share in shares]
        load_done = threading.Event()
        killer = threading.Thread(target=_kill_loop, args=(cluster, rec, load_done))
        for t in threads:
            t.start()
        killer.start()
        for t in threads:
            t.join(LOAD_DEADLINE + 30)
        load_seconds = rec.now()
        load_done.set()
        killer.join(60)

        # Every process is back: gunicorn has its workers, the killed job workers were restarted.
        cluster.wait_web_workers(30)
        assert len(cluster.web_children()) == cluster.web_workers
        assert all(p.poll() is None for p in cluster.workers) and len(cluster.workers) == cluster.job_workers
        settle_from = time.monotonic()
        settled = _settle(app, settle_from + SETTLE_DEADLINE)
        settle_seconds = time.monotonic() - settle_from
        check = subprocess.run([sys.executable, "-m", "flask", "--app", "orchestrator", "check"], cwd=ROOT,
                               env=cluster.env, capture_output=True, text=True, timeout=120)
    finally:
        stop_from = time.monotonic()
        cluster.stop()
        stop_seconds = time.monotonic() - stop_from
    total_seconds = time.monotonic() - t0

    web_kills = [k for k in rec.kills if k[1] == "web"]
    worker_kills = [k for k in rec.kills if k[1] == "worker"]
    unfinished = [d.code for d in dossiers if not d.done]
    with app.app_context():
        session = db.session
        timer_events = session.execute(select(AuditEvent.dossier_id, AuditEvent.step_id, func.count())
                                       .where(AuditEvent.action == "timer")
                                       .group_by(AuditEvent.dossier_id, AuditEvent.step_id)).all()
        codes_in_db = set(session.scalars(select(Dossier.code)).all())
        lost = []
        for task_id, code, step_id in rec.completed:
            item = session.get(WorkItem, task_id)
            events = session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "complete", AuditEvent.task_id == task_id))
            if item is None or item.state != "completed" or events != 1:
                lost.append((code, step_id, task_id, item and item.state, events))
        # Every timer dossier whose work was done waited, then went on: Timer_Wait fired exactly once.
        waits = dict(session.execute(select(Dossier.code, func.count(AuditEvent.id))
                                     .join(AuditEvent, (AuditEvent.dossier_id == Dossier.id)
                                           & (AuditEvent.action == "timer") & (AuditEvent.step_id == "Timer_Wait"),
                                           isouter=True)
                                     .join(WorkItem, (WorkItem.dossier_id == Dossier.id)
                                           & (WorkItem.step_id == "Task_Work") & (WorkItem.state == "completed"))
                                     .group_by(Dossier.code)).all())
        land_status = Counter(session.scalars(select(Dossier.status).where(
            Dossier.code.in_([c for c, k in rec.created if k == "land"]))).all())
        orphans = len(codes_in_db - {c for c, _ in rec.created})
        retaken = session.scalar(select(func.count()).select_from(Job).where(Job.attempts > 1))
        now = utcnow()
        for code in sorted({c for c, n in waits.items() if n != 1} | set(filter(None, unfinished))):  # diagnostics
            dossier = session.scalar(select(Dossier).where(Dossier.code == code))
            jobs = [(j.id, j.state, round((j.run_at - now).total_seconds(), 1), j.lock_version, j.attempts,
                     j.locked_by, j.last_error) for j in session.scalars(select(Job).where(
                         Job.dossier_id == dossier.id, Job.kind == "timer").order_by(Job.id))]
            items = [(w.step_id, w.state) for w in session.scalars(select(WorkItem).where(
                WorkItem.dossier_id == dossier.id).order_by(WorkItem.created_at))]
            print(f"[crash] {code}: status {dossier.status}, finished {dossier.finished_at}, work items {items}")
            print(f"[crash] {code}: lock_version {dossier.lock_version}, timer jobs (id, state, due in s, "
                  f"lock_version, attempts, by, error) {jobs}, history "
                  f"{[(e.action, e.step_id) for e in session.scalars(select(AuditEvent).where(AuditEvent.dossier_id == dossier.id).order_by(AuditEvent.id))]}")
        session.remove()

    fired = Counter(step for _, step, _ in timer_events)
    print(f"\n[crash] {rec.requests} requests in {load_seconds:.1f}s of load ({total_seconds:.1f}s in all: start {setup_seconds:.1f}s, stop {stop_seconds:.1f}s): "
          f"{dict(sorted(rec.answers.items(), key=str))}")
    print(f"[crash] {len(rec.created)} dossiers created ({orphans} more created without an answer), "
          f"{len(rec.completed)} completions answered 2xx, unfinished {unfinished}")
    print(f"[crash] kills: {len(web_kills)} gunicorn workers, {len(worker_kills)} job workers "
          f"at {[f'{t:.1f}s {w}' for t, w, _ in rec.kills]}")
    print(f"[crash] timers fired: {dict(fired)}; jobs taken again after a lease expired: {retaken}; "
          f"settled in {settle_seconds:.1f}s: {settled}")
    for sent, failed, method, path, what in sorted(rec.failures):
        since = [failed - k for k, _, _ in rec.kills if k <= failed]
        print(f"[crash] failed {sent:6.2f}-{failed:6.2f}s {method} {path}: {what} "
              f"({f'{min(since):.2f}s after a kill' if since else 'before any kill'})")
    print(f"[crash] check: {check.stdout.strip().splitlines()[-1] if check.stdout.strip() else check.stderr[-500:]}")

    assert len(web_kills) >= 3 and len(worker_kills) >= 3, rec.kills
    assert lost == [], f"completions answered 2xx but not in the database: {lost}"
    assert {c for c, _ in rec.created} <= codes_in_db
    assert [row for row in timer_events if row[2] > 1] == [], "a timer fired more than once"
    assert settled["due_or_leased"] == 0, settled
    assert waits and set(waits.values()) == {1}, waits
    assert unfinished == [], "dossiers the clients could not finish"
    assert land_status == Counter({10: LAND_DOSSIERS}), land_status
    assert check.returncode == 0, check.stdout + check.stderr
