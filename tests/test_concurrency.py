"""Concurrent steps on PostgreSQL: row locks serialise steps on one dossier, not across branches."""
from __future__ import annotations

import re
import threading

import pytest

from orchestrator.extensions import db
from orchestrator.models import AuditEvent

from .test_land_e2e import APPLICANT, STEP_DATA

# Runs on both backends; PostgreSQL is the one that matters for scale-out (row locks).


def run_together(app, calls):
    """Run (method, path, token, json) requests at the same moment, each in its own thread."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, method, path, token, body):
        client = app.test_client()
        barrier.wait()
        r = getattr(client, method)(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"})
        results[i] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=worker, args=(i, *c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def land_dossier(api, key):
    r = api.post("/dossiers", key, json={"procedure_code": "1.004227", "province_code": "01", "commune_code": "00454",
                                         "applicant": APPLICANT, "data": {}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


@pytest.mark.parametrize("threads", [2, 50])
def test_same_task_completed_concurrently_once(app, api, api_key, threads):
    body = land_dossier(api, api_key())
    task = body["current_tasks"][0]
    token = api.token("reception.00454")
    results = run_together(app, [("post", f"/tasks/{task['id']}/complete", token, {"data": STEP_DATA["Task_Reception"]})]
                           * threads)
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [409] * (threads - 1), results
    with app.app_context():
        completes = db.session.query(AuditEvent).filter_by(action="complete", task_id=task["id"]).count()
    assert completes == 1
    after = api.get(f"/dossiers/{body['code']}", "reception.00454").get_json()
    assert after["lock_version"] == body["lock_version"] + 1
    assert sorted(t["step_id"] for t in after["current_tasks"]) == ["Task_CommuneVerification", "Task_FileCheck"]


def test_parallel_branches_by_two_units_at_the_same_moment(app, api, api_key):
    body = land_dossier(api, api_key())
    reception = body["current_tasks"][0]
    body = api.post(f"/tasks/{reception['id']}/complete", "reception.00454",
                    json={"data": STEP_DATA["Task_Reception"]}).get_json()
    tasks = {t["step_id"]: t for t in body["current_tasks"]}
    calls = [("post", f"/tasks/{tasks['Task_CommuneVerification']['id']}/complete", api.token("specialist.00454"),
              {"data": STEP_DATA["Task_CommuneVerification"]}),
             ("post", f"/tasks/{tasks['Task_FileCheck']['id']}/complete", api.token("specialist.01.VPDKDD.CN11"),
              {"data": STEP_DATA["Task_FileCheck"]})]
    results = run_together(app, calls)
    assert [s for s, _ in results] == [200, 200], results
    after = api.get(f"/dossiers/{body['code']}", "reception.00454").get_json()
    assert after["current_tasks"] == []  # joined: the branch now waits for the tax authority (issue 17)
    assert after["lock_version"] == body["lock_version"] + 2


def test_claim_on_one_branch_survives_a_step_on_the_other(app, api, api_key):
    body = land_dossier(api, api_key())
    reception = body["current_tasks"][0]
    body = api.post(f"/tasks/{reception['id']}/complete", "reception.00454",
                    json={"data": STEP_DATA["Task_Reception"]}).get_json()
    tasks = {t["step_id"]: t for t in body["current_tasks"]}
    assert api.post(f"/tasks/{tasks['Task_FileCheck']['id']}/claim", "specialist.01.VPDKDD.CN11").status_code == 200
    r = api.post(f"/tasks/{tasks['Task_CommuneVerification']['id']}/complete", "specialist.00454",
                 json={"data": STEP_DATA["Task_CommuneVerification"]})
    [still] = r.get_json()["current_tasks"]
    assert still["id"] == tasks["Task_FileCheck"]["id"] and still["assignee"] == "specialist.01.VPDKDD.CN11"


def test_concurrent_creation_gives_distinct_codes_without_gaps(app, api, api_key):
    key = api_key()
    n = 16
    body = {"procedure_code": "1.004227", "province_code": "01", "commune_code": "00454", "applicant": APPLICANT,
            "data": {}}
    results = run_together(app, [("post", "/dossiers", key, body)] * n)
    assert all(s == 201 for s, _ in results), results
    numbers = sorted(int(re.fullmatch(r"00454-\d{6}-(\d{4})", b["code"]).group(1)) for _, b in results)
    assert numbers == list(range(1, n + 1))
