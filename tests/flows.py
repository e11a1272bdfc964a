"""Diagrams as designers draw them (no formKey, no lanes, Camunda groups, nested lanes, several
processes...), built from a line of nodes, and the HTTP steps every such test takes."""
from __future__ import annotations

import io

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def node(tag: str, node_id: str, attrs: str = "", inner: str = "", name: str | None = None) -> tuple:
    return tag, node_id, attrs, inner, name or node_id


def user(node_id: str, attrs: str = "", inner: str = "", name: str | None = None) -> tuple:
    return node("userTask", node_id, attrs, inner, name)


def props(**values: str) -> str:
    """Spiff properties (milestone, formKey, outcome ...) as an extensionElements block."""
    body = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in values.items())
    return f"<bpmn:extensionElements><spiffworkflow:properties>{body}</spiffworkflow:properties></bpmn:extensionElements>"


def process(nodes: list[tuple], *, process_id: str = "Process_1", executable: str | None = "true",
            lanes: str = "", end: str = "", extra: str = "") -> str:
    """start -> nodes in a line -> end, as one bpmn:process element."""
    ids = ["Start_1"] + [n[1] for n in nodes] + ["End_1"]
    body = [f'<bpmn:startEvent id="Start_1"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    for i, (tag, node_id, attrs, inner, name) in enumerate(nodes):
        body.append(f'<bpmn:{tag} id="{node_id}" name="{name}" {attrs}>{inner}<bpmn:incoming>f{i}</bpmn:incoming>'
                    f'<bpmn:outgoing>f{i + 1}</bpmn:outgoing></bpmn:{tag}>')
    body.append(f'<bpmn:endEvent id="End_1">{end}<bpmn:incoming>f{len(nodes)}</bpmn:incoming></bpmn:endEvent>')
    body += [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(zip(ids, ids[1:]))]
    flag = f' isExecutable="{executable}"' if executable is not None else ""
    return f'<bpmn:process id="{process_id}"{flag}>{lanes}{"".join(body)}{extra}</bpmn:process>'


def definitions(*parts: str, camunda: bool = False) -> bytes:
    ns = f' xmlns:camunda="{CAMUNDA}"' if camunda else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
            f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"{ns} id="Defs" targetNamespace="http://example.org">'
            + "".join(parts) + "</bpmn:definitions>").encode("utf-8")


def lane_set(lanes: dict[str, tuple[str, list[str]]]) -> str:
    """{lane id: (name, [node ids])}."""
    inner = "".join(f'<bpmn:lane id="{lid}" name="{name}">'
                    + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in refs) + "</bpmn:lane>"
                    for lid, (name, refs) in lanes.items())
    return f'<bpmn:laneSet id="LaneSet_1">{inner}</bpmn:laneSet>'


# -- over HTTP -------------------------------------------------------------------------------

def upload(api, xml: bytes, code: str, who: str = "designer.01", scope: str = "01", **fields):
    form = {"code": code, "name": f"Thủ tục {code}", "scope": scope, "deadline_days": "5",
            "deadline_kind": "working", "file": (io.BytesIO(xml), f"{code}.bpmn"), **fields}
    return api.post("/procedures", who, data=form, content_type="multipart/form-data")


def publish(api, code: str, number: int = 1, who: str = "designer.01"):
    return api.post(f"/procedures/{code}/versions/{number}/publish", who)


def upload_and_publish(api, xml: bytes, code: str, **fields) -> dict:
    r = upload(api, xml, code, **fields)
    assert r.status_code == 201, r.get_json()
    p = publish(api, code)
    assert p.status_code == 200, p.get_json()
    return r.get_json()


def start(api, code: str, who: str = "reception.00070", **extra) -> dict:
    """An in-person dossier at commune 00070 (Phường Hoàn Kiếm): the reception step is done at once."""
    r = api.post("/dossiers", who, json={"procedure_code": code, "province_code": "01", "commune_code": "00070",
                                         "channel": 1, "applicant": {"full_name": "Nguyễn Văn A"}, "data": {},
                                         **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def start_online(api, key: str, code: str) -> dict:
    r = api.post("/dossiers", key, json={"procedure_code": code, "province_code": "01", "commune_code": "00070",
                                         "channel": 2, "applicant": {"full_name": "Nguyễn Văn A"}, "data": {}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def complete(api, task: dict, who: str, data: dict | None = None) -> dict:
    r = api.post(f"/tasks/{task['id']}/complete", who, json={"data": data or {}})
    assert r.status_code == 200, r.get_json()
    return r.get_json()
