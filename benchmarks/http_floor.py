"""A measuring stick, not the product: the least work any implementation of "complete a task over
HTTP" does on this stack (gunicorn, Flask, psycopg 3 on PostgreSQL, SpiffWorkflow with our
serialiser), written with raw SQL and no ORM, no schemas, no form check, no statuses, deadlines,
timers or outbox. `http_throughput.py --app floor` serves it with the same gunicorn, data and load
as the real API, so the two are measured side by side.

Per completion it does what the product's completion cannot skip: look up the bearer token, lock
the dossier with its workflow state, read its open work items, restore + complete + dump the
workflow, write the dossier, the state, the completed item, the new items, their units'
participation and one audit event, read the history for the answer, commit, answer in JSON.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import datetime, timezone

import psycopg
from flask import Flask, Response, request
from psycopg.types.json import Jsonb

from orchestrator.engine import WorkflowRun, bundle_for

app = Flask(__name__)
_local = threading.local()


def _conn() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:  # one connection per thread, every statement prepared from its first use
        conn = _local.conn = psycopg.connect(os.environ["FLOOR_DSN"], prepare_threshold=0)
    return conn


def _load_versions() -> dict[int, tuple]:
    """(spec bundle, step -> [unit, role]) per version, parsed once before gunicorn forks
    (--preload), as the product's workers have theirs parsed and cached by the time the load
    starts. The routes are the product's own, computed by the benchmark (FLOOR_ROUTES)."""
    routes = json.loads(os.environ["FLOOR_ROUTES"])
    out = {}
    with psycopg.connect(os.environ["FLOOR_DSN"]) as conn:
        for version_id, steps in routes.items():
            xml, dialect, process_id = conn.execute(
                "SELECT bpmn_xml, dialect, process_id FROM procedure_version WHERE id = %s", (int(version_id),)).fetchone()
            out[int(version_id)] = (bundle_for(("floor", version_id), xml, dialect, process_id), steps)
    return out


_versions = _load_versions()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@app.get("/readyz")
def ready():
    return "ok"


@app.post("/api/v1/tasks/<task_id>/complete")
def complete(task_id: str):
    bearer = request.headers.get("Authorization", "").partition(" ")[2]
    data = request.get_json()["data"]
    conn = _conn()
    with conn.cursor() as cur:
        cur.execute("SELECT t.revoked_at, t.expires_at, u.id, u.username, u.active FROM user_token t "
                    "JOIN user_account u ON u.id = t.user_id WHERE t.token_hash = %s",
                    (hashlib.sha256(bearer.encode()).hexdigest(),))
        token = cur.fetchone()
        if token is None or token[0] is not None or token[1] <= _now() or not token[4]:
            conn.rollback()
            return Response('{"message": "unauthenticated"}', 401, mimetype="application/json")
        user_id, username = token[2], token[3]
        cur.execute("SELECT d.id, d.code, d.procedure_version_id, d.status, d.data, d.lock_version, s.state "
                    "FROM dossier d JOIN dossier_state s ON s.dossier_id = d.id "
                    "WHERE d.id = (SELECT dossier_id FROM work_item WHERE id = %s) FOR UPDATE OF d, s", (task_id,))
        dossier_id, code, version_id, status, values, lock_version, state = cur.fetchone()
        cur.execute("SELECT id, step_id, step_name, lane, unit_code, role, state, created_at, due_at FROM work_item "
                    "WHERE dossier_id = %s AND (state = 'open' OR id = %s)", (dossier_id, task_id))
        items = cur.fetchall()
        item = next(i for i in items if i[0] == task_id)
        if item[6] != "open":
            conn.rollback()
            return Response('{"message": "not open"}', 409, mimetype="application/json")
        bundle, routes = _versions[version_id]
        run = WorkflowRun.restore(bundle, state)
        run.complete(task_id, data)
        now = _now()
        open_ids = {i[0] for i in items if i[6] == "open"} - {task_id}
        created = [(t.id, dossier_id, t.step_id, t.name, t.lane, *routes[t.step_id], "open", now)
                   for t in run.ready_human_tasks() if t.id not in open_ids]
        values = {**values, **data}
        cur.execute("UPDATE dossier SET data = %s, updated_at = %s, lock_version = %s WHERE id = %s",
                    (Jsonb(values), now, lock_version + 1, dossier_id))
        cur.execute("UPDATE dossier_state SET state = %s WHERE dossier_id = %s", (run.dumps(), dossier_id))
        cur.execute("UPDATE work_item SET state = 'completed', assignee_id = %s, completed_at = %s, "
                    "completed_by = %s WHERE id = %s", (user_id, now, username, task_id))
        if created:
            cur.executemany("INSERT INTO work_item (id, dossier_id, step_id, step_name, lane, unit_code, role, "
                            "state, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", created)
            cur.executemany("INSERT INTO dossier_participant (dossier_id, unit_code) VALUES (%s, %s) "
                            "ON CONFLICT DO NOTHING", sorted({(dossier_id, c[5]) for c in created}))
        cur.execute("INSERT INTO audit_event (dossier_id, at, actor, action, task_id, step_id, unit_code, note, data) "
                    "VALUES (%s, %s, %s, 'complete', %s, %s, %s, %s, %s)",
                    (dossier_id, now, username, task_id, item[1], item[4], item[2], Jsonb(data)))
        cur.execute("SELECT at, actor, action, from_status, to_status, step_id, note FROM audit_event "
                    "WHERE dossier_id = %s ORDER BY id", (dossier_id,))
        history = cur.fetchall()
    conn.commit()
    still_open = [i for i in items if i[6] == "open" and i[0] != task_id]
    body = {
        "code": code, "status": status, "data": values, "lock_version": lock_version + 1,
        "current_tasks": [{"id": i[0], "step_id": i[1], "name": i[2], "unit_code": i[4], "role": i[5],
                           "created_at": i[7].isoformat()} for i in still_open]
        + [{"id": c[0], "step_id": c[2], "name": c[3], "unit_code": c[5], "role": c[6],
            "created_at": now.isoformat()} for c in created],
        "history": [{"at": h[0].isoformat(), "actor": h[1], "action": h[2], "from_status": h[3],
                     "to_status": h[4], "step_id": h[5], "note": h[6]} for h in history],
    }
    return Response(json.dumps(body, ensure_ascii=False), 200, mimetype="application/json")
