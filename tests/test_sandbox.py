"""Tests for the restricted evaluator and the SpiffWorkflow script engine built on it."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from orchestrator.engine import sandbox
from orchestrator.engine.sandbox import (
    InvalidSyntax,
    LimitExceeded,
    SandboxError,
    ScriptError,
    UnsafeCode,
    check_expression,
    check_script,
    evaluate,
    execute,
    strip_camunda,
)
from orchestrator.engine.script_engine import (
    RestrictedEnvironment,
    SandboxTaskException,
    find_sandbox_error,
    iso8601_literal,
    make_script_engine,
)

# Generous guard against hangs: every limit must trip far below this.
FAST = 2.0


def timed(func: Any, *args: Any) -> tuple[Any, float]:
    start = time.monotonic()
    try:
        result: Any = func(*args)
    except SandboxError as err:
        result = err
    return result, time.monotonic() - start


# --------------------------------------------------------------------------- what works


@pytest.fixture
def data() -> dict[str, Any]:
    return {
        "amount": 1200,
        "status": "approved",
        "applicant": {"name": "Ana", "age": 34, "tags": ["vip", "new"]},
        "items": [{"price": 10, "qty": 2}, {"price": 5, "qty": 4}],
        "due": date(2026, 3, 2),
        "flag": False,
    }


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("amount > 1000 and status == 'approved'", True),
        ("amount * 2 + 1", 2401),
        ("amount / 8", 150.0),
        ("amount // 7 % 5", 1),
        ("applicant['name'].lower()", "ana"),
        ("applicant.get('missing', 'none')", "none"),
        ("'vip' in applicant['tags']", True),
        ("sum(i['price'] * i['qty'] for i in items)", 40),
        ("[i['qty'] for i in items if i['price'] > 6]", [2]),
        ("{k: len(k) for k in applicant}", {"name": 4, "age": 3, "tags": 4}),
        ("len(items) if items else 0", 2),
        ("max(i['price'] for i in items)", 10),
        ("sorted([3, 1, 2], reverse=True)", [3, 2, 1]),
        ("f\"{applicant['name']}: {amount:>6}\"", "Ana:   1200"),
        ("'%s has %d items' % ('x', 2)", "x has 2 items"),
        ("status.startswith('app') and not flag", True),
        ("applicant['tags'][-1]", "new"),
        ("'abcdef'[1:4]", "bcd"),
        ("round(2.675, 1)", 2.7),
        ("(due + timedelta(days=3)).isoformat()", "2026-03-05"),
        ("due.weekday()", 0),
        ("due.year", 2026),
        ("', '.join(sorted(applicant['tags']))", "new, vip"),
        ("1 < amount < 2000", True),
        ("{1, 2} | {3}", {1, 2, 3}),
        ("(1, 'a')", (1, "a")),
        ("None is None", True),
    ],
)
def test_expressions_that_work(data: dict[str, Any], expr: str, expected: Any) -> None:
    assert evaluate(expr, data) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("${ status == 'approved' }", True),
        ("${ amount > 1000 && status == 'approved' }", True),
        ("${ amount < 10 || status != 'approved' }", False),
        ("${ !flag }", True),
        ("${ flag == false }", True),
        ("${ status == 'a && b || !c' }", False),
        ("#{amount >= 1200}", True),
        ("amount > 1 && !flag", True),
    ],
)
def test_camunda_conditions(data: dict[str, Any], expr: str, expected: Any) -> None:
    assert evaluate(expr, data) is expected


def test_strip_camunda_keeps_string_literals() -> None:
    assert strip_camunda("${ a == 'b' }") == "a == 'b'"
    assert strip_camunda("${x && y}") == "x  and  y"
    assert strip_camunda("a != 'x!' || !b") == "a != 'x!'  or   not b"
    assert strip_camunda('${ s == "&&||!" }') == 's == "&&||!"'


def test_evaluate_does_not_modify_context(data: dict[str, Any]) -> None:
    with pytest.raises(ScriptError, match="must not modify"):
        evaluate("items.append(1) or True", data)
    assert len(data["items"]) == 2


def test_script_assignments_visible_in_context(data: dict[str, Any]) -> None:
    script = """
total = 0
for item in items:
    if item['qty'] > 3:
        continue
    total += item['price'] * item['qty']
applicant['score'] = total * 2
first, second = items[0]['qty'], items[1]['qty']
names = []
for i in range(10):
    if i == 3:
        break
    names.append(f'n{i}')
else:
    names = None
squares = {n: n * n for n in range(4)}
label = 'big' if amount > 1000 else 'small'
deadline = due + timedelta(days=14)
counts = [0, 0]
counts[1] += 5
pass
"""
    execute(script, data)
    assert data["total"] == 20
    assert data["applicant"]["score"] == 40
    assert (data["first"], data["second"]) == (2, 4)
    assert data["names"] == ["n0", "n1", "n2"]
    assert data["squares"] == {0: 0, 1: 1, 2: 4, 3: 9}
    assert data["label"] == "big"
    assert data["deadline"] == date(2026, 3, 16)
    assert data["counts"] == [0, 5]


def test_comprehension_variables_do_not_leak() -> None:
    ctx: dict[str, Any] = {}
    execute("xs = [k for k in range(3)]", ctx)
    assert ctx == {"xs": [0, 1, 2]}


def test_failed_script_leaves_context_untouched() -> None:
    ctx: dict[str, Any] = {"values": [1, 2]}
    with pytest.raises(ScriptError) as info:
        execute("values.append(3)\nx = 1\ny = 1 / 0", ctx)
    assert ctx == {"values": [1, 2]}
    assert info.value.line == 3
    assert "division by zero" in info.value.message


def test_helpers_callable_and_read_only_names() -> None:
    def add_working_days(start: date, days: int) -> date:
        return start + timedelta(days=days)

    helpers = {"add_working_days": add_working_days, "LIMIT": 500}
    ctx: dict[str, Any] = {"start": date(2026, 1, 1)}
    assert evaluate("add_working_days(start, 2).day", ctx, helpers) == 3
    execute("end = add_working_days(start, LIMIT // 100)", ctx, helpers)
    assert ctx["end"] == date(2026, 1, 6)
    assert "add_working_days" not in ctx and "LIMIT" not in ctx


def test_runtime_errors_are_plain_script_errors(data: dict[str, Any]) -> None:
    cases = {
        "missing + 1": "unknown name 'missing'",
        "amount / 0": "division by zero",
        "applicant['nope']": "key 'nope' not found",
        "items[9]": "out of range",
        "amount + 'x'": "wrong type",
        "frobnicate(1)": "unknown function 'frobnicate'",
        "status.title().isdigit().upper()": "not an allowed method",
    }
    for expr, message in cases.items():
        with pytest.raises(ScriptError, match=message):
            evaluate(expr, data)


def test_storing_non_data_is_refused() -> None:
    with pytest.raises(ScriptError, match="cannot be stored"):
        execute("r = range(3)", {})
    with pytest.raises(ScriptError, match="cannot be stored"):
        execute("f = len", {})


# --------------------------------------------------------------------------- static refusal

UNSAFE_EXPRESSIONS = [
    "__import__('os')",
    "().__class__.__mro__",
    "open('/etc/passwd')",
    "getattr(x, 'y')",
    "x.__class__",
    "exec('1')",
    "eval('1')",
    "lambda: 1",
    "globals()",
    "type(x)",
    "'{0.__class__}'.format(x)",
    "x._private",
    "(lambda: 1)()",
    "[].__class__.__base__.__subclasses__()",
    "b'bytes'",
    "x @ y",
    "(y := 3)",
]

UNSAFE_SCRIPTS = [
    "while True:\n    pass",
    "import os",
    "from os import system",
    "def f():\n    return 1",
    "class A:\n    pass",
    "with open('x') as f:\n    pass",
    "try:\n    x = 1\nexcept Exception:\n    pass",
    "raise ValueError()",
    "global x",
    "del x",
    "x.attr = 1",
    "_hidden = 1",
    "break",
    "assert x",
]


@pytest.mark.parametrize("expr", UNSAFE_EXPRESSIONS)
def test_unsafe_expressions_refused_statically(expr: str) -> None:
    problems = check_expression(expr)
    assert problems and all(isinstance(p, UnsafeCode) for p in problems)
    with pytest.raises(UnsafeCode):
        evaluate(expr, {"x": 1, "y": 2})


@pytest.mark.parametrize("script", UNSAFE_SCRIPTS)
def test_unsafe_scripts_refused_statically(script: str) -> None:
    problems = check_script(script)
    assert problems and all(isinstance(p, UnsafeCode) for p in problems)
    ctx: dict[str, Any] = {"x": 1}
    with pytest.raises(UnsafeCode):
        execute(script, ctx)
    assert ctx == {"x": 1}


def test_while_refusal_explains_alternative() -> None:
    (problem,) = check_script("x = 1\nwhile x:\n    x = 0")
    assert problem.line == 2
    assert "range" in problem.message


def test_check_returns_all_problems_with_lines() -> None:
    problems = check_script("import os\nx = 1\ny = open('f')\nz = a.__dict__")
    assert [p.line for p in problems] == [1, 3, 4]
    assert check_script("x = 1\nif x > 0:\n    y = [i for i in range(3)]") == []
    assert check_expression("${ a && b }") == []


def test_syntax_errors_report_line() -> None:
    (problem,) = check_script("x = 1\ny = (")
    assert isinstance(problem, InvalidSyntax) and problem.line == 2
    with pytest.raises(InvalidSyntax):
        evaluate("a ==", {})


def test_source_length_limited() -> None:
    with pytest.raises(UnsafeCode, match="too long"):
        evaluate("1 + " * 6000 + "1", {})


# --------------------------------------------------------------------------- run-time limits

EXPLOSIVE_EXPRESSIONS = [
    "9**9**9",
    "2 ** 100000",
    "'a' * 10**10",
    "[0] * 10**9",
    "'x' * 1000 * 1000 * 1000",
    "sum(range(10**12))",
    "list(range(10**9))",
    "1 << 10**8",
    "10**1000 * 10**1000 * 10**1000 * 10**1000 * 10**1000",
    "[[i for i in range(1000)] for j in range(1000)]",
    "[1 for a in range(1000) for b in range(1000) for c in range(1000)]",
    "('a' * 100000).replace('a', 'aa')",
    "'-'.join(['a' * 1000] * 1000)",
    "'%999999999d' % 1",
    "f'{1:999999999}'",
    "'x'.center(10**9)",
    "str([['a' * 1000] * 1000] * 100)",
    "round(5, -10**9)",
    "(" * 1000 + "1" + ")" * 1000,
    "-" * 1000 + "1",
    "not " * 1000 + "x",
    "[" * 150 + "]" * 150,
]


@pytest.mark.parametrize("expr", EXPLOSIVE_EXPRESSIONS)
def test_explosive_expressions_stop_fast(expr: str) -> None:
    result, elapsed = timed(evaluate, expr, {"x": 1})
    assert isinstance(result, (LimitExceeded, UnsafeCode)), result
    assert elapsed < FAST


EXPLOSIVE_SCRIPTS = [
    "for i in range(10**7):\n    x = i",
    "for i in range(10**5):\n    x = i",
    "s = 'ab'\nfor i in range(64):\n    s = s + s",
    "n = 2\nfor i in range(64):\n    n = n * n",
    "l = [1]\nfor i in range(64):\n    l += l",
    "x = []\nfor i in range(100):\n    x = [x, x]\ny = str(x)",
    "a = [0]\nb = [0]\nfor i in range(100):\n    a = [a, a]\n    b = [b, b]\nc = a == b",
    "t = (0,)\nfor i in range(100):\n    t = (t, t)\ns = {t}",
    "d = {}\nfor i in range(100):\n    for j in range(100):\n        for k in range(100):\n            d[k] = i",
    "x = []\nfor i in range(1000):\n    x = [x]",
    "l = list(range(1000))\nfor i in range(1000):\n    l.sort()\n    s = 500 in l",
    # hashing a very deep tuple would overflow the C stack (segfault) if it were allowed
    "t = ()\nfor i in range(20000):\n    t = (t,)\ns = {t}",
    "t = ()\nfor i in range(20000):\n    t = (t,)\nd = {}\nd[t] = 1",
]


@pytest.mark.parametrize("script", EXPLOSIVE_SCRIPTS)
def test_explosive_scripts_stop_fast(script: str) -> None:
    ctx: dict[str, Any] = {}
    result, elapsed = timed(execute, script, ctx)
    assert isinstance(result, LimitExceeded), result
    assert elapsed < FAST
    assert ctx == {}


def test_budget_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "MAX_OPERATIONS", 50)
    with pytest.raises(LimitExceeded, match="budget"):
        execute("for i in range(100):\n    x = i", {})


def test_big_but_reasonable_work_passes() -> None:
    ctx: dict[str, Any] = {"rows": [{"v": i} for i in range(5000)]}
    execute("total = 0\nfor r in rows:\n    total += r['v']\nbig = 2 ** 4000", ctx)
    assert ctx["total"] == sum(range(5000))


def test_works_in_threads(data: dict[str, Any]) -> None:
    results: list[Any] = []

    def work() -> None:
        results.append(evaluate("${ amount > 1000 && status == 'approved' }", data))
        results.append(timed(evaluate, "9**9**9", {})[0])
        ctx: dict[str, Any] = {}
        execute("x = sum(i for i in range(100))", ctx)
        results.append(ctx["x"])
        results.append(run_demo_workflow({"amount": 5}).data["route"])

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert results[0] is True
    assert isinstance(results[1], LimitExceeded)
    assert results[2:] == [4950, "small"]


# --------------------------------------------------------------------------- SpiffWorkflow

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="demo" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute" name="Compute">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_small">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_big</bpmn:outgoing><bpmn:outgoing>f_small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_big" sourceRef="gw" targetRef="wait">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_small" sourceRef="gw" targetRef="mark_small"/>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f_big</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition>
        <bpmn:{timer_kind} xsi:type="bpmn:tFormalExpression">{timer}</bpmn:{timer_kind}>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="mark_big"/>
    <bpmn:scriptTask id="mark_big"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>route = 'big'</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="mark_small"><bpmn:incoming>f_small</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>route = 'small'</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="mark_big" targetRef="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="mark_small" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""

DEFAULT_SCRIPT = "doubled = amount * 2\nlabel = f'amount {amount}'"


def build_workflow(script: str = DEFAULT_SCRIPT,
                   condition: str = "${ doubled &gt; 100 &amp;&amp; amount != 0 }",
                   timer: str = "PT1S", timer_kind: str = "timeDuration",
                   data: dict[str, Any] | None = None) -> BpmnWorkflow:
    xml = BPMN.format(script=script, condition=condition, timer=timer, timer_kind=timer_kind)
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    spec = parser.get_spec("demo")
    workflow = BpmnWorkflow(spec, script_engine=make_script_engine())
    start = workflow.get_tasks(state=TaskState.READY)[0]
    start.data.update(data or {})
    return workflow


def run_demo_workflow(data: dict[str, Any], **kwargs: Any) -> Any:
    workflow = build_workflow(data=data, **kwargs)
    workflow.do_engine_steps()
    return workflow


def finish_timer(workflow: BpmnWorkflow, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not workflow.completed and time.monotonic() < deadline:
        time.sleep(0.1)
        workflow.refresh_waiting_tasks()
        workflow.do_engine_steps()


def test_workflow_small_route_and_script_data() -> None:
    workflow = run_demo_workflow({"amount": 5})
    assert workflow.completed
    assert workflow.data["doubled"] == 10
    assert workflow.data["label"] == "amount 5"
    assert workflow.data["route"] == "small"


def test_workflow_big_route_waits_on_bare_iso_timer() -> None:
    workflow = run_demo_workflow({"amount": 500})
    assert not workflow.completed
    waiting = workflow.get_tasks(state=TaskState.WAITING)
    assert [t.task_spec.bpmn_id for t in waiting] == ["wait"]
    assert waiting[0].internal_data["event_value"]  # the bare PT1S was accepted
    finish_timer(workflow)
    assert workflow.completed
    assert workflow.data["route"] == "big"


@pytest.mark.parametrize(
    ("timer_kind", "timer"),
    [
        ("timeDuration", "'PT0S'"),
        ("timeDuration", " PT0.1S "),
        ("timeDate", "2020-01-01T08:00:00+07:00"),
        ("timeDate", "'2020-01-01T08:00:00Z'"),
    ],
)
def test_timer_forms(timer_kind: str, timer: str) -> None:
    workflow = run_demo_workflow({"amount": 500}, timer=timer, timer_kind=timer_kind)
    finish_timer(workflow)
    assert workflow.completed and workflow.data["route"] == "big"


def test_iso8601_literals() -> None:
    for text in ["PT15M", "P3D", "P1Y2M3DT4H5M6S", "PT0.5S", "P2W",
                 "2026-12-01T08:00:00+07:00", "2026-12-01", "2026-12-01T08:00:00Z",
                 "R3/PT1H", "R/P1D", "R5/2026-01-01T00:00:00Z/PT1H", "2026-W05-3"]:
        assert iso8601_literal(f" {text} ") == text, text
    for text in ["P", "PT", "amount", "'PT1S'", "2026-12", "P1X", "2026 - 12 - 11"]:
        assert iso8601_literal(text) is None, text
    assert iso8601_literal("P1D", {"P1D": "PT2H"}) is None  # a real variable wins
    env = RestrictedEnvironment()
    assert env.evaluate("R3/PT1H", {}) == "R3/PT1H"
    assert env.evaluate("2026-12-11", {}) == "2026-12-11"
    assert env.evaluate("'PT' + str(n) + 'M'", {"n": 15}) == "PT15M"


def test_unsafe_script_in_workflow_keeps_sandbox_error() -> None:
    workflow = build_workflow(script="import os\nos.system('id')", data={"amount": 5})
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    exc = info.value
    assert isinstance(exc, SandboxTaskException)
    assert isinstance(exc.sandbox_error, UnsafeCode)
    assert exc.__cause__ is exc.sandbox_error
    assert find_sandbox_error(exc) is exc.sandbox_error
    assert exc.line_number == 1
    failed = [t for t in workflow.get_tasks(state=TaskState.ERROR)]
    assert [t.task_spec.bpmn_id for t in failed] == ["compute"]


def test_explosive_script_in_workflow_stops_fast() -> None:
    workflow = build_workflow(script="x = 9**9**9", data={"amount": 5})
    start = time.monotonic()
    with pytest.raises(SandboxTaskException) as info:
        workflow.do_engine_steps()
    assert time.monotonic() - start < FAST
    assert isinstance(find_sandbox_error(info.value), LimitExceeded)


def test_unsafe_condition_in_workflow() -> None:
    workflow = build_workflow(condition="().__class__.__bases__", data={"amount": 5})
    with pytest.raises(WorkflowTaskException) as info:
        workflow.do_engine_steps()
    assert isinstance(find_sandbox_error(info.value), UnsafeCode)


def test_find_sandbox_error_through_other_wrappers() -> None:
    inner = ScriptError("boom", 2)
    try:
        try:
            raise inner
        except ScriptError as err:
            raise RuntimeError("wrapped") from err
    except RuntimeError as outer:
        assert find_sandbox_error(outer) is inner
    assert find_sandbox_error(ValueError("x")) is None


def test_deep_values_refused_before_hashing() -> None:
    with pytest.raises(LimitExceeded, match="nested too deeply"):
        execute("t = ()\nfor i in range(100):\n    t = (t,)\ns = {t}", {})
