"""Diagrams nobody here wrote: the BPMN MIWG reference suite and SpiffWorkflow's own test
diagrams (`tests/external/`, licences and origins beside them in `SOURCES.md`). Each is uploaded
as a designer would, marked executable and routed through the API where needed, published and
run to a finished dossier over HTTP, or refused at upload with the reason the support matrix
(`docs/bpmn-support.md`) gives (or, accepted, refused by publish's dry run: "unpublishable").
`expectations.json` says which, and why."""
from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from .flows import upload

HERE = Path(__file__).parent / "external"
CASES = json.loads((HERE / "expectations.json").read_text(encoding="utf-8"))
OFFICER = {"reception": "reception.00070", "specialist": "specialist.00070", "leader": "leader.00070"}


def test_the_set_is_large_and_varied_enough():
    files = {c["file"] for c in CASES}
    assert len(files) >= 40 and all((HERE / f).is_file() for f in files)
    assert {f.split("/")[0] for f in files} == {"miwg", "spiffworkflow"}
    assert sum(c["expect"] == "finish" for c in CASES) >= 25
    assert (HERE / "miwg" / "LICENSE").is_file() and (HERE / "spiffworkflow" / "LICENSE").is_file()


def _fail_on_5xx(response, where: str):
    assert response.status_code < 500, f"{where}: {response.status_code} {response.get_data(as_text=True)[:500]}"
    return response


def _filled(form: dict) -> dict:
    """What an officer would submit: each field's default, else its first choice, else a value of
    its type for the required ones."""
    schema = form.get("schema", {})
    required = set(schema.get("required", []))
    out = {}
    for name, prop in schema.get("properties", {}).items():
        if "default" in prop:
            out[name] = prop["default"]
        elif "enum" in prop:
            out[name] = prop["enum"][0]
        elif prop.get("type") == "boolean":
            out[name] = True
        elif name in required:
            out[name] = {"integer": 1, "number": 1, "array": []}.get(prop.get("type"), "x")
    return out


def _run_to_the_end(api, key, case: dict, code: str) -> dict:
    body = api.post("/dossiers", key, json={"procedure_code": code, "province_code": "01", "commune_code": "00070",
                                            "channel": 2, "applicant": {"full_name": "Nguyễn Văn A"},
                                            "data": case.get("data", {})})
    _fail_on_5xx(body, "start")
    assert body.status_code == 201, body.get_json()
    dossier = body.get_json()
    messages = list(case.get("messages", []))
    for _ in range(60):
        if dossier["finished_at"]:
            return dossier
        if dossier["current_tasks"]:
            task = dossier["current_tasks"][0]
            officer = OFFICER[task["role"]]
            form = _fail_on_5xx(api.get(f"/tasks/{task['id']}", officer), "read task").get_json()["form"]
            data = {**_filled(form), **case.get("steps", {}).get(task["step_id"], {})}
            r = _fail_on_5xx(api.post(f"/tasks/{task['id']}/complete", officer, json={"data": data}),
                             f"complete {task['step_id']}")
            assert r.status_code == 200, (task["step_id"], r.get_json())
        elif messages:
            name = messages.pop(0)
            r = _fail_on_5xx(api.post(f"/dossiers/{dossier['code']}/events/{quote(name, safe='')}", key,
                                      json={"data": case.get("message_data", {})}), f"message {name}")
            assert r.status_code == 200, (name, r.get_json())
        else:
            pytest.fail(f"waits with no open step: {dossier['status']} {dossier.get('incident_message')}")
        dossier = _fail_on_5xx(api.get(f"/dossiers/{dossier['code']}", key), "read").get_json()
    pytest.fail("did not finish in 60 steps")


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_an_external_diagram_runs_or_is_refused_with_its_reason(app, api, api_key, case):
    code = f"8.{CASES.index(case):06d}"
    xml = (HERE / case["file"]).read_bytes()
    fields = {"process_id": case["process_id"]} if case.get("process_id") else {}
    if case.get("dmn"):  # the decision tables its business rule tasks call, uploaded with it
        fields["dmn"] = [(io.BytesIO((HERE / f).read_bytes()), Path(f).name) for f in case["dmn"]]
    r = _fail_on_5xx(upload(api, xml, code, **fields), "upload")
    if case["expect"] == "refused":
        assert r.status_code in (400, 422), r.get_json()
        messages = [p["message"] for p in r.get_json()["error"].get("problems", [])] + [r.get_json()["error"]["message"]]
        assert any(case["reason"] in m for m in messages), messages
        return
    assert r.status_code == 201, r.get_json()
    warnings = r.get_json()["warnings"]
    if any(w.get("code") == "not_executable" for w in warnings):
        assert _fail_on_5xx(api.post(f"/procedures/{code}/versions/1/executable", "designer.01"),
                            "executable").status_code == 200
    if case.get("lanes"):
        m = _fail_on_5xx(api.put(f"/procedures/{code}/versions/1/lanes", "designer.01", json=case["lanes"]), "lanes")
        assert m.status_code == 200, m.get_json()
    p = _fail_on_5xx(api.post(f"/procedures/{code}/versions/1/publish", "designer.01"), "publish")
    if case["expect"] == "unpublishable":  # accepted at upload, refused by the publish dry run
        assert p.status_code == 422, p.get_json()
        assert any(case["reason"] in problem["message"] for problem in p.get_json()["error"]["problems"]), p.get_json()
        return
    assert p.status_code == 200, p.get_json()
    key = api_key(permissions=("dossiers:create", "dossiers:read", "events:send"))
    dossier = _run_to_the_end(api, key, case, code)
    assert dossier["status"] == case.get("status", 10) and dossier["current_tasks"] == []
