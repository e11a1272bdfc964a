"""A dossier returned for revision 150 times: the stored state stays bounded, every step is in
the history, it survives a restart, and return-to-step still works."""
from __future__ import annotations

import io

from orchestrator.engine import spec_cache
from orchestrator.extensions import db
from orchestrator.models import AuditEvent, Dossier, DossierState

from .diagrams import loop_diagram

ROUNDS = 150


def test_one_hundred_fifty_revisions(app, api, api_key):
    form = {"code": "9.300001", "name": "Vòng lặp", "scope": "01", "deadline_days": "10",
            "deadline_kind": "working", "file": (io.BytesIO(loop_diagram()), "loop.bpmn")}
    assert api.post("/procedures", "designer.01", data=form, content_type="multipart/form-data").status_code == 201
    assert api.post("/procedures/9.300001/versions/1/publish", "designer.01").status_code == 200
    body = api.post("/dossiers", "reception.00070", json={
        "procedure_code": "9.300001", "province_code": "01", "commune_code": "00070",
        "applicant": {"full_name": "A"}, "data": {}, "reception": {"decision": "approve"}}).get_json()
    code = body["code"]
    sizes = []
    for _ in range(ROUNDS):
        [task] = body["current_tasks"]
        assert task["step_id"] == "Task_Review"
        r = api.post(f"/tasks/{task['id']}/complete", "specialist.00070", json={"data": {"decision": "refuse", "decision_note": "Bổ sung"}})
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        with app.app_context():
            dossier_id = db.session.query(Dossier.id).filter_by(code=code).scalar()
            sizes.append(len(db.session.get(DossierState, dossier_id).state))
    # Bounded: the state after 150 rounds is no larger than after 10 (it would grow ~0.7 KB a round).
    assert max(sizes[10:]) <= sizes[9] * 1.2, (sizes[9], max(sizes[10:]))
    # Every step is in the history, in order.
    with app.app_context():
        completes = db.session.query(AuditEvent).filter_by(dossier_id=dossier_id, action="complete",
                                                           step_id="Task_Review").count()
    assert completes == ROUNDS
    # "Restart": a new process has no parsed specs or cached versions; the stored state is enough.
    spec_cache.clear()
    from orchestrator.services import versions
    versions._cache.clear()
    [task] = body["current_tasks"]
    r = api.post(f"/tasks/{task['id']}/complete", "specialist.00070", json={"data": {"decision": "approve"}})
    assert r.status_code == 200 and [t["step_id"] for t in r.get_json()["current_tasks"]] == ["Task_Sign"]
    # Return-to-step still finds the latest run of the review after all those rounds.
    r = api.post(f"/dossiers/{code}/actions/return-to-step", "leader.00070",
                 json={"step_id": "Task_Review", "reason": "Thiếu xác minh thực địa"})
    assert r.status_code == 200, r.get_json()
    [task] = r.get_json()["current_tasks"]
    assert task["step_id"] == "Task_Review"
    r = api.post(f"/tasks/{task['id']}/complete", "specialist.00070", json={"data": {"decision": "approve"}})
    [sign] = r.get_json()["current_tasks"]
    r = api.post(f"/tasks/{sign['id']}/complete", "leader.00070", json={"data": {"decision": "approve"}})
    assert r.status_code == 200 and r.get_json()["status"] == 9 and r.get_json()["current_tasks"] == []
    history = r.get_json()["history"]
    assert sum(1 for h in history if h["action"] == "complete" and h["step_id"] == "Task_Review") == ROUNDS + 2
    assert any(h["action"] == "return_to_step" for h in history)
