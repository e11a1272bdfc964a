#!/usr/bin/env python3
"""Cost of one step as a dossier's history grows (issue 8, target 1): a review loop
(returned for revision N times), engine with serialisation, as the service layer runs it.

    .venv/bin/python benchmarks/history.py [--iterations 150]

Prints the time of one step (restore + complete + dumps) and the stored state's size at
iterations 1, 15, 50, 100, 140, and the ratio 140/15 (target: at most 2x; the state must not
grow linearly with completed steps).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report import summary  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=5, help="timings per measured iteration (median)")
    args = parser.parse_args()
    from orchestrator.engine import WorkflowRun, check_diagram

    bundle = check_diagram(LOOP, 10**7).bundle
    state = WorkflowRun.start(bundle, {}).dumps()
    marks = {1, 15, 50, 100, 140} & set(range(1, args.iterations + 1))
    rows = []
    for i in range(1, args.iterations + 1):
        if i in marks:  # time a few repetitions of this iteration's step from the same state
            samples = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                run = WorkflowRun.restore(bundle, state)
                run.complete(run.ready_human_tasks()[0].id, {"again": True})
                run.dumps()
                samples.append(time.perf_counter() - t0)
            rows.append((i, statistics.median(samples) * 1000, len(state)))
            print(f"iteration {i}: {rows[-1][1]:.2f} ms, state {len(state)} bytes", file=sys.stderr)
        run = WorkflowRun.restore(bundle, state)
        run.complete(run.ready_human_tasks()[0].id, {"again": True})
        state = run.dumps()
    print("| iteration | ms per step | state bytes |")
    print("|---|---|---|")
    for i, ms, size in rows:
        print(f"| {i} | {ms:.2f} | {size} |")
    by = {i: ms for i, ms, _ in rows}
    if 15 in by and 140 in by:
        ratio = by[140] / by[15]
        print(f"ratio step time 140/15: {ratio:.1f}x (target <= 2x)")
        summary("history", "step time at loop iteration 140 / at 15", round(ratio, 2), "x", "<= 2", ratio <= 2)
        sizes = {i: size for i, _, size in rows}
        summary("history", "stored state at iteration 140 / at 15", round(sizes[140] / sizes[15], 2), "x",
                "bounded (not linear: 140/15 would be ~9x)", sizes[140] / sizes[15] <= 2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
