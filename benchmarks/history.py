#!/usr/bin/env python3
"""Cost of one step as a dossier's history grows (issue 8, target 1): a review loop
(returned for revision N times), engine with serialisation, as the service layer runs it.

    .venv/bin/python benchmarks/history.py [--iterations 150] [--variant loop|call|mi|all]

Prints the time of one step (restore + complete + dumps) and the stored state's size at
iterations 1, 15, 50, 100, 140, and the ratio 140/15 (target: at most 2x; the state must not
grow linearly with completed steps).

Variants (issue 16): `loop` is the plain review loop (one step per round); `call` passes through
a call activity to a process of the same file in each round (Review, then Check inside the called
process: two steps per round); `mi` through a parallel multi-instance user task over a collection
of 20 items in each round (Review, then 20 instances: 21 steps per round); `mi-call` through both
(Review, 20 instances, Check in the called process: 22 steps per round). For `call` and `mi` the
figure at an iteration is the mean over that round's steps of each step's median time, and the
state size is the one at the start of the round. The default runs `loop`; `all` runs the four.

`--http` (issue 23): the whole completion over HTTP (a live server on 127.0.0.1, SQLite, the
same review loop as tests/test_long_history.py), answered with `?history=all` and with
`?history=latest`, around round 15 and round 140 (at each mark, `--repeat` pairs of completions,
one of each, alternating: the marks span 2 x repeat rounds). Prints median ms and answer size per
mode, and the ratio 140/15 for `latest` (target: at most 1.5x) beside the one for `all`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from report import summary  # noqa: E402
from orchestrator.engine import WorkflowRun  # noqa: E402

LOOP = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="x">
  <bpmn:process id="P_Loop" isExecutable="true">
    <bpmn:laneSet id="LS"><bpmn:lane id="L" name="commune/specialist"><bpmn:flowNodeRef>Review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="S1"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Review" name="Review"><bpmn:incoming>a</bpmn:incoming><bpmn:incoming>back</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="G" default="done"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="a" sourceRef="S1" targetRef="Review"/>
    <bpmn:sequenceFlow id="b" sourceRef="Review" targetRef="G"/>
    <bpmn:sequenceFlow id="back" sourceRef="G" targetRef="Review"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">again == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="G" targetRef="E1"/>
    <bpmn:endEvent id="E1"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>'''


CALL = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="x">
  <bpmn:process id="P_Loop" isExecutable="true">
    <bpmn:laneSet id="LS"><bpmn:lane id="L" name="commune/specialist"><bpmn:flowNodeRef>Review</bpmn:flowNodeRef><bpmn:flowNodeRef>Call</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="S1"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Review" name="Review"><bpmn:incoming>a</bpmn:incoming><bpmn:incoming>back</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:callActivity id="Call" name="Check" calledElement="P_Check"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing></bpmn:callActivity>
    <bpmn:exclusiveGateway id="G" default="done"><bpmn:incoming>c</bpmn:incoming><bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="a" sourceRef="S1" targetRef="Review"/>
    <bpmn:sequenceFlow id="b" sourceRef="Review" targetRef="Call"/>
    <bpmn:sequenceFlow id="c" sourceRef="Call" targetRef="G"/>
    <bpmn:sequenceFlow id="back" sourceRef="G" targetRef="Review"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">again == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="G" targetRef="E1"/>
    <bpmn:endEvent id="E1"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmn:process id="P_Check" isExecutable="true">
    <bpmn:laneSet id="LS2"><bpmn:lane id="L2" name="commune/leader"><bpmn:flowNodeRef>Check</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="S2"><bpmn:outgoing>x</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Check" name="Check"><bpmn:incoming>x</bpmn:incoming><bpmn:outgoing>y</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="E2"><bpmn:incoming>y</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="x" sourceRef="S2" targetRef="Check"/>
    <bpmn:sequenceFlow id="y" sourceRef="Check" targetRef="E2"/>
  </bpmn:process>
</bpmn:definitions>'''

MI = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="x">
  <bpmn:process id="P_Loop" isExecutable="true">
    <bpmn:laneSet id="LS"><bpmn:lane id="L" name="commune/specialist"><bpmn:flowNodeRef>Review</bpmn:flowNodeRef><bpmn:flowNodeRef>Consult</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="S1"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Review" name="Review"><bpmn:incoming>a</bpmn:incoming><bpmn:incoming>back</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Consult" name="Consult"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:loopDataOutputRef>opinions</bpmn:loopDataOutputRef><bpmn:inputDataItem id="item" name="item"/><bpmn:outputDataItem id="opinion" name="opinion"/></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>
    <bpmn:exclusiveGateway id="G" default="done"><bpmn:incoming>c</bpmn:incoming><bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="a" sourceRef="S1" targetRef="Review"/>
    <bpmn:sequenceFlow id="b" sourceRef="Review" targetRef="Consult"/>
    <bpmn:sequenceFlow id="c" sourceRef="Consult" targetRef="G"/>
    <bpmn:sequenceFlow id="back" sourceRef="G" targetRef="Review"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">again == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="done" sourceRef="G" targetRef="E1"/>
    <bpmn:endEvent id="E1"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>'''

BOTH = (CALL.replace(b'<bpmn:flowNodeRef>Call</bpmn:flowNodeRef>',
                     b'<bpmn:flowNodeRef>Call</bpmn:flowNodeRef><bpmn:flowNodeRef>Consult</bpmn:flowNodeRef>')
        .replace(b'<bpmn:callActivity id="Call" name="Check" calledElement="P_Check"><bpmn:incoming>b</bpmn:incoming>',
                 b'<bpmn:userTask id="Consult" name="Consult"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>m</bpmn:outgoing>'
                 b'<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>'
                 b'<bpmn:loopDataOutputRef>opinions</bpmn:loopDataOutputRef><bpmn:inputDataItem id="item" name="item"/>'
                 b'<bpmn:outputDataItem id="opinion" name="opinion"/></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
                 b'<bpmn:sequenceFlow id="m" sourceRef="Consult" targetRef="Call"/>'
                 b'<bpmn:callActivity id="Call" name="Check" calledElement="P_Check"><bpmn:incoming>m</bpmn:incoming>')
        .replace(b'<bpmn:sequenceFlow id="b" sourceRef="Review" targetRef="Call"/>',
                 b'<bpmn:sequenceFlow id="b" sourceRef="Review" targetRef="Consult"/>'))
ITEMS = [f"D{i:02d}" for i in range(1, 21)]

# variant -> (diagram, data at start, steps per round, what the figure is called in the summary)
VARIANTS = {
    "loop": (LOOP, {}, 1, "step time at loop iteration 140 / at 15", "stored state at iteration 140 / at 15"),
    "call": (CALL, {}, 2, "with a call activity each round: step time at round 140 / at 15",
             "with a call activity each round: stored state at round 140 / at 15"),
    "mi": (MI, {"items": ITEMS}, 21,
           "with a multi-instance of 20 each round: step time at round 140 / at 15",
           "with a multi-instance of 20 each round: stored state at round 140 / at 15"),
    "mi-call": (BOTH, {"items": ITEMS}, 22,
                "with a multi-instance of 20 and a call activity each round: step time at round 140 / at 15",
                "with a multi-instance of 20 and a call activity each round: stored state at round 140 / at 15"),
}


def step(bundle, state: str) -> str:
    """One step as the service layer runs it: restore, complete the first open task, dumps."""
    run = WorkflowRun.restore(bundle, state)
    task = run.ready_human_tasks()[0]
    # the Review form clears last round's gathered opinions (a multi-instance does not overwrite its output)
    run.complete(task.id, {"opinion": "ok"} if task.step_id == "Consult" else
                 {"again": True, **({"opinions": []} if task.step_id == "Review" and "opinions" in run.task_data(task.id) else {})})
    return run.dumps()


def measure(variant: str, iterations: int, repeat: int) -> None:
    from orchestrator.engine import check_diagram

    xml, data, per_round, figure, size_figure = VARIANTS[variant]
    bundle = check_diagram(xml, 10**7).bundle
    state = WorkflowRun.start(bundle, dict(data)).dumps()
    marks = {1, 15, 50, 100, 140} & set(range(1, iterations + 1))
    rows = []
    for i in range(1, iterations + 1):
        size = len(state)
        times = []
        for _ in range(per_round):
            if i in marks:  # time a few repetitions of this step from the same state
                samples = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    step(bundle, state)
                    samples.append(time.perf_counter() - t0)
                times.append(statistics.median(samples))
            state = step(bundle, state)
        if i in marks:
            rows.append((i, statistics.mean(times) * 1000, size))
            print(f"[{variant}] iteration {i}: {rows[-1][1]:.2f} ms per step, state {size} bytes", file=sys.stderr)
    assert [t.step_id for t in WorkflowRun.restore(bundle, state).ready_human_tasks()] == ["Review"], "round not closed"
    print(f"\nvariant {variant} ({per_round} step{'s' if per_round > 1 else ''} per round)")
    print("| iteration | ms per step | state bytes |")
    print("|---|---|---|")
    for i, ms, size in rows:
        print(f"| {i} | {ms:.2f} | {size} |")
    by = {i: ms for i, ms, _ in rows}
    if 15 in by and 140 in by:
        ratio = by[140] / by[15]
        print(f"ratio step time 140/15: {ratio:.2f}x (target <= 2x)")
        summary("history", figure, round(ratio, 2), "x", "<= 2", ratio <= 2)
        sizes = {i: size for i, _, size in rows}
        summary("history", size_figure, round(sizes[140] / sizes[15], 2), "x",
                "bounded (not linear: 140/15 would be ~9x)", sizes[140] / sizes[15] <= 2)


def measure_http(rounds: int, repeat: int) -> None:
    """The completion's answer over HTTP as the history grows, `history=all` against `latest`."""
    import io
    import tempfile
    import threading

    import requests
    from werkzeug.serving import make_server

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from step_throughput import app_config, seed  # noqa: E402
    from tests.diagrams import loop_diagram  # noqa: E402
    from orchestrator import create_app  # noqa: E402

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(app_config(f"sqlite:///{tmp}/history.db"))
        seed(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base, http = f"http://127.0.0.1:{server.server_port}/api/v1", requests.Session()
        try:
            def auth(user):
                r = http.post(f"{base}/auth/token", json={"username": user, "password": "demo1234"})
                return {"Authorization": f"Bearer {r.json()['token']}"}
            designer, reception, specialist = auth("designer.01"), auth("reception.00070"), auth("specialist.00070")
            form = {"code": "9.300001", "name": "Vòng lặp", "scope": "01", "deadline_days": "10",
                    "deadline_kind": "working"}
            r = http.post(f"{base}/procedures", headers=designer, data=form,
                          files={"file": ("loop.bpmn", io.BytesIO(loop_diagram()))})
            assert r.status_code == 201, r.text
            assert http.post(f"{base}/procedures/9.300001/versions/1/publish", headers=designer).status_code == 200
            body = http.post(f"{base}/dossiers", headers=reception, json={
                "procedure_code": "9.300001", "province_code": "01", "commune_code": "00070",
                "applicant": {"full_name": "A"}, "data": {}, "reception": {"decision": "approve"}}).json()
            again = {"data": {"decision": "refuse", "decision_note": "Bổ sung"}}
            marks, times, sizes, events = (15, 140), {}, {}, {}
            done = 0

            def complete(mode: str) -> tuple[float, dict, int]:
                nonlocal body, done
                [task] = body["current_tasks"]
                t0 = time.perf_counter()
                r = http.post(f"{base}/tasks/{task['id']}/complete?history={mode}", headers=specialist, json=again)
                elapsed = time.perf_counter() - t0
                assert r.status_code == 200, r.text
                body, done = r.json(), done + 1
                return elapsed, body, len(r.content)

            for mark in marks:
                while done < mark - 1:
                    complete("none")
                for mode in ("all", "latest"):
                    times[mark, mode], sizes[mark, mode] = [], 0
                for _ in range(repeat):
                    for mode in ("all", "latest"):
                        elapsed, answer, size = complete(mode)
                        times[mark, mode].append(elapsed)
                        sizes[mark, mode] = size
                        if mode == "all":
                            events[mark] = len(answer["history"])
                print(f"[http] round {mark}: " + ", ".join(
                    f"{mode} {statistics.median(times[mark, mode]) * 1000:.1f} ms" for mode in ("all", "latest")),
                    file=sys.stderr)
        finally:
            server.shutdown()
    print(f"\ncompletion over HTTP (SQLite, werkzeug, one client; median of {repeat}; rounds {marks[0]} and "
          f"{marks[1]} to +{2 * repeat - 1})")
    print("| round | history events | all: ms | all: answer bytes | latest: ms | latest: answer bytes |")
    print("|---|---|---|---|---|---|")
    med = {key: statistics.median(value) * 1000 for key, value in times.items()}
    for mark in marks:
        print(f"| {mark} | {events[mark]} | {med[mark, 'all']:.1f} | {sizes[mark, 'all']} | "
              f"{med[mark, 'latest']:.1f} | {sizes[mark, 'latest']} |")
    ratio_all, ratio_latest = (med[marks[1], m] / med[marks[0], m] for m in ("all", "latest"))
    print(f"ratio completion time 140/15: all {ratio_all:.2f}x, latest {ratio_latest:.2f}x (target for latest <= 1.5x)")
    summary("history", "HTTP completion with history=latest: round 140 / 15", round(ratio_latest, 2), "x",
            "<= 1.5", ratio_latest <= 1.5)
    summary("history", "HTTP completion with history=all: round 140 / 15", round(ratio_all, 2), "x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=5, help="timings per measured iteration (median)")
    parser.add_argument("--variant", default="loop", choices=[*VARIANTS, "all"],
                        help="loop (plain), call (a call activity each round), mi (a multi-instance of 20 each round), "
                             "mi-call (both), all")
    parser.add_argument("--http", action="store_true", help="the completion over HTTP, history=all vs latest (issue 23)")
    args = parser.parse_args()
    if args.http:
        measure_http(args.iterations, args.repeat)
        return 0
    for variant in (VARIANTS if args.variant == "all" else [args.variant]):
        measure(variant, args.iterations, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
