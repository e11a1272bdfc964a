"""Upload and publish a 200-element diagram: validate + store, then publish (checks + dry run).

The diagram is generated: a start event, 20 rounds of three user tasks in the lanes
`commune/reception`, `commune/specialist` and `commune/leader` (forms from forms/: reception and
specialist forms in turn, then KS-KY for the leader), each round closed by an exclusive gateway
(`decision == 'approve'` goes on, `decision == 'refuse'` ends the process), and the end event:
60 user tasks, 20 gateways, 21 end events, 1 start event and 101 sequence flows = 203 flow
elements, plus 3 lanes and BPMNDI (shapes and edges, as a modeler saves it; `--no-di` leaves it out).

Timed, on a fresh seeded SQLite file and a fresh seeded PostgreSQL database (both dropped at the end):
  upload   `services.procedures.upload` (parse, describe, expression checks, Spiff spec build, lane
           checks and warnings, store) + commit
  publish  `services.procedures.publish` (lanes, forms, resolvability in every province for a national
           version, spec from the cache or parsed, dry run with sample data through all 60 steps) + commit
Each run uploads a new version (the spec cache is keyed by version, so nothing is reused across runs).
Over the 1 s target, the slow part is profiled with cProfile (or always with `--profile`).

    .venv/bin/python benchmarks/upload.py [--runs 5] [--scope national|01] [--no-di] [--profile] [--no-postgres]
        [--variant both|plain|mi-call]   (mi-call, issue 16: + a script setting a list of 20, a parallel
        multi-instance user task over it and a same-file call activity in round 10; both: each)
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from report import log, scratch_database, summary  # noqa: E402

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PASSWORD = "demo1234"
CODES = {"plain": "9.990200", "mi-call": "9.990201"}
VARIANT_LABEL = {"plain": "", "mi-call": ", with a multi-instance of 20 and a call activity"}
TARGET_S = 1.0
ROUNDS = 20
RECEPTION_FORMS = ["KS-TIEPNHAN", "HKD-TIEPNHAN", "DD-TIEPNHAN", "KS-TRAKQ", "HKD-TRAKQ", "DD-TRAKQ"]
SPECIALIST_FORMS = ["KS-HOTICH", "HKD-THAMDINH", "HKD-XACMINH", "DD-XACMINH-XA", "DD-KIEMTRA-VPDK", "DD-CAPNHAT-CSDL"]
LANES = [("Lane_Reception", "commune/reception"), ("Lane_Specialist", "commune/specialist"),
         ("Lane_Leader", "commune/leader")]
LANE_H, COL_W = 160, 130


# --------------------------------------------------------------------------- the diagram

MI_ITEMS = 20


def called_process() -> str:
    """The small process the call activity calls (same file): start, one user task, end."""
    return ('<bpmn:process id="Process_Check" name="Kiểm tra hồ sơ" isExecutable="true">'
            '<bpmn:laneSet id="LaneSet_Check"><bpmn:lane id="Lane_Check" name="commune/specialist">'
            '<bpmn:flowNodeRef>Task_Check</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>'
            '<bpmn:startEvent id="StartEvent_Check"><bpmn:outgoing>Flow_Check_1</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:userTask id="Task_Check" name="Kiểm tra"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formKey" value="KS-HOTICH"/></spiffworkflow:properties>'
            '</bpmn:extensionElements><bpmn:incoming>Flow_Check_1</bpmn:incoming>'
            '<bpmn:outgoing>Flow_Check_2</bpmn:outgoing></bpmn:userTask>'
            '<bpmn:endEvent id="EndEvent_Check"><bpmn:incoming>Flow_Check_2</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="Flow_Check_1" sourceRef="StartEvent_Check" targetRef="Task_Check"/>'
            '<bpmn:sequenceFlow id="Flow_Check_2" sourceRef="Task_Check" targetRef="EndEvent_Check"/>'
            '</bpmn:process>')


def diagram(rounds: int = ROUNDS, with_di: bool = True, mi_call: bool = False) -> tuple[bytes, dict]:
    """`mi_call` (issue 16): in the middle round, after the reception task, a script task sets
    `items` to a literal list of 20, a parallel multi-instance user task runs over it (lane
    commune/specialist) and a call activity calls Process_Check (same file: start, a user task in
    commune/specialist, end)."""
    nodes: list[tuple[str, str, str, int, str]] = []  # (kind, id, xml, column, lane id)
    flows: list[tuple[str, str, str, str | None]] = []  # (id, source, target, condition)
    col = 0

    def node(kind, node_id, body, lane):
        nonlocal col
        nodes.append((kind, node_id, body, col, lane))
        col += 1

    node("startEvent", "StartEvent_1", '<bpmn:startEvent id="StartEvent_1" name="Hồ sơ được nộp"/>', "Lane_Reception")
    previous = "StartEvent_1"
    for r in range(1, rounds + 1):
        for lane, form, label in (("Lane_Reception", RECEPTION_FORMS[r % len(RECEPTION_FORMS)], "Tiếp nhận, kiểm tra"),
                                  ("Lane_Specialist", SPECIALIST_FORMS[r % len(SPECIALIST_FORMS)], "Thẩm định"),
                                  ("Lane_Leader", "KS-KY", "Ký, phê duyệt")):
            task_id = f"Task_{r:02d}_{lane.split('_')[1]}"
            node("userTask", task_id,
                 f'<bpmn:userTask id="{task_id}" name="{escape(label)} (vòng {r})"><bpmn:extensionElements>'
                 f'<spiffworkflow:properties><spiffworkflow:property name="formKey" value="{form}"/>'
                 f'<spiffworkflow:property name="stepDays" value="1"/></spiffworkflow:properties>'
                 f'</bpmn:extensionElements></bpmn:userTask>', lane)
            flows.append((f"Flow_{previous}_{task_id}", previous, task_id, None))
            previous = task_id
            if mi_call and r == (rounds + 1) // 2 and lane == "Lane_Reception":
                items = ", ".join(f"'D{i:02d}'" for i in range(1, MI_ITEMS + 1))
                extra = [
                    ("scriptTask", "Script_Items", "Lane_Reception",
                     f'<bpmn:scriptTask id="Script_Items" name="Danh sách xin ý kiến" scriptFormat="python">'
                     f'<bpmn:script>items = [{items}]</bpmn:script></bpmn:scriptTask>'),
                    ("userTask", "Task_Consult", "Lane_Specialist",
                     '<bpmn:userTask id="Task_Consult" name="Xin ý kiến"><bpmn:extensionElements>'
                     '<spiffworkflow:properties><spiffworkflow:property name="formKey" value="KS-HOTICH"/>'
                     '</spiffworkflow:properties></bpmn:extensionElements>'
                     '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>'
                     '<bpmn:inputDataItem id="item" name="item"/></bpmn:multiInstanceLoopCharacteristics>'
                     '</bpmn:userTask>'),
                    ("callActivity", "Call_Check", "Lane_Specialist",
                     '<bpmn:callActivity id="Call_Check" name="Gọi kiểm tra" calledElement="Process_Check"/>'),
                ]
                for kind, extra_id, extra_lane, xml_ in extra:
                    node(kind, extra_id, xml_, extra_lane)
                    flows.append((f"Flow_{previous}_{extra_id}", previous, extra_id, None))
                    previous = extra_id
        gateway, refused = f"Gateway_{r:02d}", f"EndEvent_Refused_{r:02d}"
        node("exclusiveGateway", gateway, f'<bpmn:exclusiveGateway id="{gateway}" name="Phê duyệt vòng {r}?"/>',
             "Lane_Leader")
        nodes.append(("endEvent", refused, f'<bpmn:endEvent id="{refused}" name="Từ chối (vòng {r})"/>',
                      col - 1, "Lane_Specialist"))
        flows.append((f"Flow_{previous}_{gateway}", previous, gateway, None))
        flows.append((f"Flow_{gateway}_refuse", gateway, refused, "decision == 'refuse'"))
        previous = gateway
        if r < rounds:
            flows.append((f"Flow_{gateway}_approve", gateway, f"Task_{r + 1:02d}_Reception", "decision == 'approve'"))
            previous = None
    node("endEvent", "EndEvent_Done", '<bpmn:endEvent id="EndEvent_Done" name="Đã trả kết quả"/>', "Lane_Reception")
    flows.append((f"Flow_{rounds:02d}_approve", f"Gateway_{rounds:02d}", "EndEvent_Done", "decision == 'approve'"))
    # the chain flows were added with the next task: fix the ones whose source was reset above
    flows = [f for f in flows if f[1] is not None]

    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for fid, src, dst, _ in flows:
        outgoing.setdefault(src, []).append(fid)
        incoming.setdefault(dst, []).append(fid)

    def with_refs(xml: str, node_id: str) -> str:
        refs = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f in incoming.get(node_id, []))
        refs += "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f in outgoing.get(node_id, []))
        if xml.endswith("/>"):
            return xml[:-2] + f">{refs}</bpmn:{xml[6:xml.index(' ')]}>"
        close = xml.rindex("</bpmn:")
        return xml[:close] + refs + xml[close:]

    lanes_xml = "".join(
        f'<bpmn:lane id="{lid}" name="{name}">'
        + "".join(f"<bpmn:flowNodeRef>{n[1]}</bpmn:flowNodeRef>" for n in nodes if n[4] == lid) + "</bpmn:lane>"
        for lid, name in LANES)
    nodes_xml = "\n".join(with_refs(n[2], n[1]) for n in nodes)
    flows_xml = "\n".join(
        f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{escape(cond)}</bpmn:conditionExpression>'
        f"</bpmn:sequenceFlow>" if cond else f'<bpmn:sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}"/>'
        for fid, src, dst, cond in flows)
    di = ""
    if with_di:
        lane_y = {lid: 80 + i * LANE_H for i, (lid, _) in enumerate(LANES)}
        size = {"userTask": (100, 80), "scriptTask": (100, 80), "callActivity": (100, 80), "exclusiveGateway": (50, 50),
                "startEvent": (36, 36), "endEvent": (36, 36)}
        box = {}
        for kind, nid, _, c, lane in nodes:
            w, h = size[kind]
            x = 260 + c * COL_W + (100 - w) // 2
            y = lane_y[lane] + (LANE_H - h) // 2 + (40 if kind == "endEvent" and nid.startswith("EndEvent_Refused") else 0)
            box[nid] = (x, y, w, h)
        width = 260 + col * COL_W
        shapes = [f'<bpmndi:BPMNShape id="{lid}_di" bpmnElement="{lid}" isHorizontal="true">'
                  f'<dc:Bounds x="190" y="{lane_y[lid]}" width="{width}" height="{LANE_H}"/></bpmndi:BPMNShape>'
                  for lid, _ in LANES]
        shapes += [f'<bpmndi:BPMNShape id="{nid}_di" bpmnElement="{nid}"><dc:Bounds x="{x}" y="{y}" width="{w}" '
                   f'height="{h}"/></bpmndi:BPMNShape>' for nid, (x, y, w, h) in box.items()]
        edges = []
        for fid, src, dst, _ in flows:
            sx, sy, sw, sh = box[src]
            tx, ty, tw, th = box[dst]
            edges.append(f'<bpmndi:BPMNEdge id="{fid}_di" bpmnElement="{fid}">'
                         f'<di:waypoint x="{sx + sw}" y="{sy + sh // 2}"/><di:waypoint x="{(sx + sw + tx) // 2}" '
                         f'y="{sy + sh // 2}"/><di:waypoint x="{(sx + sw + tx) // 2}" y="{ty + th // 2}"/>'
                         f'<di:waypoint x="{tx}" y="{ty + th // 2}"/></bpmndi:BPMNEdge>')
        di = ('<bpmndi:BPMNDiagram id="BPMNDiagram_1"><bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_Bench">'
              + "\n".join(shapes + edges) + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>")
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_Bench" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="Process_Bench" name="Thủ tục thử tải ({len(nodes) + len(flows)} phần tử)" isExecutable="true">
<bpmn:laneSet id="LaneSet_1">{lanes_xml}</bpmn:laneSet>
{nodes_xml}
{flows_xml}
</bpmn:process>
{called_process() if mi_call else ""}
{di}
</bpmn:definitions>
"""
    kinds: dict[str, int] = {}
    for n in nodes:
        kinds[n[0]] = kinds.get(n[0], 0) + 1
    kinds["sequenceFlow"] = len(flows)
    kinds["lane"] = len(LANES)
    if mi_call:  # the called process: start, user task, end, 2 flows, 1 lane
        for k in ("startEvent", "userTask", "endEvent"):
            kinds[k] += 1
        kinds["sequenceFlow"] += 2
        kinds["lane"] += 1
    return xml.encode("utf-8"), kinds


# --------------------------------------------------------------------------- timing

def seed(app) -> None:
    from orchestrator.seed import seed as migrate_and_seed

    migrate_and_seed(app, PASSWORD)


def app_for(uri: str):
    from orchestrator import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": uri, "TESTING": True, "SECRET_KEY": "benchmark-only-7f4c2a9e1d6b3085c2e9a4",
                       "DEMO_PASSWORD": PASSWORD})


def bench_backend(label: str, uri: str, diagrams: dict[str, bytes], runs: int, scope: str, profile: bool) -> list[dict]:
    """Seed once, then time each diagram (its own procedure code) on this backend."""
    from orchestrator.extensions import db

    app = app_for(uri)
    t0 = time.perf_counter()
    seed(app)
    log(f"[{label}] seeded in {time.perf_counter() - t0:.1f}s")
    results = []
    with app.app_context():
        for variant, data in diagrams.items():
            results.append(bench_diagram(app, f"{label}{VARIANT_LABEL[variant]}", data, CODES[variant], runs, scope,
                                         profile) | {"variant": variant})
        db.session.remove()
        db.engine.dispose()
    return results


def bench_diagram(app, label: str, data: bytes, code: str, runs: int, scope: str, profile: bool) -> dict:
    from orchestrator.extensions import db
    from orchestrator.services import procedures
    from orchestrator.services.examples import SYSTEM

    up, pub = [], []
    session = db.session
    for i in range(runs + 1):  # the first run warms imports and caches; not counted
        t0 = time.perf_counter()
        version = procedures.upload(session, SYSTEM, data, code=code, scope=scope, name="Thủ tục thử tải",
                                    deadline_days=10, max_bytes=app.config["MAX_BPMN_BYTES"])
        session.commit()
        t1 = time.perf_counter()
        _, notes = procedures.publish(session, SYSTEM, code, version.version)
        session.commit()
        t2 = time.perf_counter()
        assert version.state == "published", version.state
        db.session.remove()
        if i:
            up.append(t1 - t0)
            pub.append(t2 - t1)
        log(f"[{label}] run {i}{' (warm-up)' if not i else ''}: upload {1000 * (t1 - t0):.0f} ms, "
            f"publish {1000 * (t2 - t1):.0f} ms (v{version.version}, {len(notes)} notes)")
    result = {"label": label, "upload": up, "publish": pub, "profiles": {}}
    slow = {name: statistics.median(v) for name, v in (("upload", up), ("publish", pub))}
    for name, seconds in slow.items():
        if profile or seconds > TARGET_S:
            result["profiles"][name] = profile_one(app, data, code, scope, name)
    return result


def profile_one(app, data: bytes, code: str, scope: str, which: str) -> str:
    from orchestrator.extensions import db
    from orchestrator.services import procedures
    from orchestrator.services.examples import SYSTEM

    session = db.session
    profiler = cProfile.Profile()
    if which == "upload":
        profiler.enable()
    version = procedures.upload(session, SYSTEM, data, code=code, scope=scope, name="Thủ tục thử tải",
                                deadline_days=10, max_bytes=app.config["MAX_BPMN_BYTES"])
    session.commit()
    if which == "upload":
        profiler.disable()
    else:
        profiler.enable()
        procedures.publish(session, SYSTEM, code, version.version)
        session.commit()
        profiler.disable()
    db.session.remove()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="rounds of 3 user tasks + gateway (20 = 203 elements)")
    parser.add_argument("--scope", default="national", help="national (resolvability checked in every province) or 01")
    parser.add_argument("--no-di", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--variant", default="both", choices=["plain", "mi-call", "both"],
                        help="plain: the diagram above; mi-call (issue 16): the same with a script setting a list of "
                             "20, a parallel multi-instance user task over it and a same-file call activity in "
                             "round 10; both (default): each, on the same seeded databases")
    parser.add_argument("--write", metavar="FILE", help="also write the (last) diagram to FILE")
    args = parser.parse_args()

    variants = ["plain", "mi-call"] if args.variant == "both" else [args.variant]
    diagrams, described = {}, {}
    for variant in variants:
        data, kinds = diagram(args.rounds, not args.no_di, variant == "mi-call")
        flow_elements = sum(v for k, v in kinds.items() if k != "lane")
        described[variant] = (flow_elements, f"{flow_elements} flow elements ({', '.join(f'{v} {k}' for k, v in kinds.items())}), "
                                             f"{len(data) / 1024:.0f} KiB")
        log(f"[diagram {variant}] {described[variant][1]}{' with BPMNDI' if not args.no_di else ''}")
        diagrams[variant] = data
        if args.write:
            Path(args.write).write_bytes(data)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results += bench_backend("sqlite", f"sqlite:///{tmp}/upload.sqlite3", diagrams, args.runs, args.scope,
                                 args.profile)
    if not args.no_postgres:
        with scratch_database("orch_upload") as url:
            engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
            with engine.connect() as conn:
                version = conn.execute(text("SHOW server_version")).scalar().split()[0]
            engine.dispose()
            results += bench_backend(f"postgresql {version}", url, diagrams, args.runs, args.scope, args.profile)

    for r in results:
        for name, text_ in r["profiles"].items():
            print(f"\n=== cProfile: {name} on {r['label']} (cumulative, top 25)\n{text_}")
    print()
    for variant in variants:
        print(f"Diagram {variant}: {described[variant][1]}, scope {args.scope}; {args.runs} runs after one warm-up")
    print()
    print("| backend | step | median ms | min ms | max ms | target | ok |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    for r in results:
        flow_elements = described[r["variant"]][0]
        for name in ("upload", "publish"):
            values = r[name]
            med = statistics.median(values)
            ok &= med < TARGET_S
            print(f"| {r['label']} | {name} | {1000 * med:.0f} | {1000 * min(values):.0f} | {1000 * max(values):.0f} | "
                  f"< {1000 * TARGET_S:.0f} | {'yes' if med < TARGET_S else 'NO'} |")
            backend, _, extra = r["label"].partition(", ")
            summary("upload", f"{name} of a {flow_elements}-element diagram{', ' + extra if extra else ''}, {backend} (median)",
                    round(1000 * med), "ms", f"< {1000 * TARGET_S:.0f}", med < TARGET_S)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
