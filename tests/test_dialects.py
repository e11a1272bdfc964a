"""Dialects of conditions and scripts: data fields named like Python builtins, Camunda JUEL.

Engine level only (no database): the sandbox functions the upload check and the engine use
(check_expression, check_script, evaluate, execute), the SpiffWorkflow environment/engine
built on them, and a small workflow.
"""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from orchestrator.engine import sandbox
from orchestrator.engine.sandbox import (
    InvalidSyntax,
    SandboxError,
    ScriptError,
    UnsafeCode,
    check_expression,
    check_script,
    evaluate,
    execute,
    strip_camunda,
)
from orchestrator.engine.script_engine import RestrictedEnvironment, make_script_engine

BUILTIN_NAMED = {
    "input": 1, "type": "a", "id": 7, "list": [3, 1, 2], "format": "pdf", "object": "land",
    "filter": "open", "map": {"k": "v"}, "open": "yes", "eval": "no", "exec": 0, "globals": 2,
    "getattr": "g", "compile": False, "vars": [1], "dir": "up", "hash": "h",
}


# --------------------------------------------------------------------------- builtin-named fields


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("input == 1", True),
        ("${input == 1}", True),
        ("${input == 1 && type == 'a'}", True),
        ("type == 'a'", True),
        ("type != 'b' and id > 5", True),
        ("id + 1", 8),
        ("list", [3, 1, 2]),
        ("sorted(list)", [1, 2, 3]),
        ("len(list) + id", 10),
        ("format == 'pdf'", True),
        ("object", "land"),
        ("filter", "open"),
        ("map.get('k')", "v"),
        ("open", "yes"),
        ("eval", "no"),
        ("exec == 0", True),
        ("globals * 2", 4),
        ("getattr", "g"),
        ("compile or vars", [1]),
        ("dir.upper()", "UP"),
        ("hash", "h"),
        ("'pdf' if format == 'pdf' else type", "pdf"),
        ("[t for t in list if t > id - 6]", [3, 2]),
    ],
)
def test_fields_named_like_builtins_evaluate_to_the_field(expr: str, expected: Any) -> None:
    assert check_expression(expr) == []
    assert evaluate(expr, BUILTIN_NAMED) == expected
    env = RestrictedEnvironment()  # what SpiffWorkflow calls for gateway conditions
    assert env.evaluate(expr, dict(BUILTIN_NAMED)) == expected


def test_scripts_assign_builtin_names_and_they_become_task_data() -> None:
    script = ("type = 'x'\n"
              "input = input + 1\n"
              "id = len(items)\n"
              "format = str(id) + type\n"
              "object = {'kind': type}\n"
              "for filter in items:\n"
              "    map = filter * 2\n")
    assert check_script(script) == []
    ctx: dict[str, Any] = {"input": 1, "items": [1, 2]}
    execute(script, ctx)
    assert ctx == {"input": 2, "items": [1, 2], "type": "x", "id": 2, "format": "2x",
                   "object": {"kind": "x"}, "filter": 2, "map": 4}


def test_allowed_functions_stay_callable_unless_a_field_shadows_them() -> None:
    assert evaluate("len(x) + max(x) + min(x) + sum(x) + int('3') + round(1.4)",
                    {"x": [1, 2]}) == 2 + 2 + 1 + 3 + 3 + 1
    assert evaluate("str(n) + str(len(type))", {"n": 5, "type": "ab"}) == "52"
    # As in Python, a field named 'list' hides the function; data is never called.
    with pytest.raises(ScriptError, match="'list' is a field of the task data"):
        evaluate("list(x)", {"list": [1], "x": (1, 2)})
    with pytest.raises(ScriptError, match="'max' is a field of the task data"):
        execute("max = 3\ny = max(1, 2)", {})


def test_missing_builtin_named_field_is_an_unknown_name_not_the_builtin() -> None:
    for name in ["input", "type", "id", "open", "eval", "getattr", "object", "format"]:
        with pytest.raises(ScriptError, match=f"unknown name '{name}'"):
            evaluate(name, {})
    ctx: dict[str, Any] = {"a": 1}
    with pytest.raises(ScriptError, match="unknown name 'open'"):
        execute("f = open", ctx)
    assert ctx == {"a": 1}


def test_upload_check_accepts_bare_builtin_names() -> None:
    assert check_expression("${type == 'a' && id > 0 || input}") == []
    assert check_expression("filter in map and format != object") == []
    assert check_script("type = 'x'\nif input:\n    id = 1\nopen = False") == []


# --------------------------------------------------------------------------- security still holds


@pytest.mark.parametrize(
    "expr",
    [
        "open('x')",
        "eval('1')",
        "exec('x = 1')",
        "getattr(type, 'mro')",
        "globals()",
        "type(id)",
        "compile('1', 'f', 'eval')",
        "vars()",
        "dir()",
        "__import__('os')",
        "__import__",
        "__builtins__",
        "type.__class__",
        "input.mro()",
        "[open][0]('x')",
        "map(str, list)",
        "${ open('x') }",
    ],
)
def test_builtins_named_fields_never_reach_the_real_builtin(expr: str) -> None:
    problems = check_expression(expr)
    assert problems and all(isinstance(p, UnsafeCode) for p in problems)
    data = dict(BUILTIN_NAMED, __import__="data", __builtins__={"x": 1})
    with pytest.raises(UnsafeCode):
        evaluate(expr, data)


def test_calling_a_field_holding_a_string_or_a_function_is_refused() -> None:
    with pytest.raises(UnsafeCode, match="'open' is not allowed"):
        evaluate("open('x')", {"open": "a string"})
    ctx: dict[str, Any] = {"open": "a string"}
    with pytest.raises(UnsafeCode):
        execute("f = open('/etc/passwd')", ctx)
    assert ctx == {"open": "a string"}
    # Even a callable smuggled into the data is never called.
    with pytest.raises(ScriptError, match="not a function"):
        evaluate("f('1 + 1')", {"f": eval})
    with pytest.raises(ScriptError, match="not a function"):
        evaluate("len('ab')", {"len": eval})


def test_underscore_names_are_refused_even_as_fields() -> None:
    for source in ["_x", "__import__", "__builtins__['open']"]:
        assert check_expression(source), source
    assert check_script("__import__ = 1")
    with pytest.raises(UnsafeCode):
        execute("_hidden = 1", {})


def test_function_list_matches_the_interpreter() -> None:
    interpreter = sandbox._Interpreter({}, {}, read_only=True)
    assert set(interpreter.functions) == sandbox._FUNCTION_NAMES
    assert not sandbox._FUNCTION_NAMES & sandbox._REFUSED_CALLS


# --------------------------------------------------------------------------- JUEL: translated


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("${status eq 'ok'}", True),
        ("${status ne 'ok'}", False),
        ("${amount lt 10}", False),
        ("${amount gt 10}", True),
        ("${amount le 12}", True),
        ("${amount ge 13}", False),
        ("${amount gt 10 && status eq 'ok'}", True),
        ("${items[0] eq 1 and len(items) eq 2}", True),
        ("${(amount - 2) ge 10}", True),
        ("amount eq 12", True),
        ("${status eq 'a eq b'}", False),
        # fields named like JUEL words keep their meaning where Python expects an operand
        ("${eq eq 1}", True),
        ("${mod > 2 && div == 4}", True),
        ("${not empty}", True),
        ("${empty == 0}", True),
        ("${gt}", "g"),
    ],
)
def test_juel_comparison_words_are_translated(expr: str, expected: Any) -> None:
    data = {"status": "ok", "amount": 12, "items": [1, 2], "eq": 1, "mod": 5, "div": 4,
            "empty": 0, "gt": "g"}
    assert check_expression(expr) == []
    assert evaluate(expr, data) == expected


def test_strip_camunda_translation() -> None:
    assert strip_camunda("${a eq 'b' && c ne d}") == "a == 'b'  and  c != d"
    assert strip_camunda("${ mod eq 1 }") == "mod == 1"
    assert strip_camunda("x if eq else y") == "x if eq else y"


# --------------------------------------------------------------------------- JUEL: refused


JUEL_REFUSED = [
    ("${a div 2 > 1}", "'div'", "dùng /"),
    ("${a mod 2 == 0}", "'mod'", "dùng %"),
    ("${empty documents}", "'empty'", "dùng not documents (hoặc len(documents) == 0)"),
    ("${not empty documents}", "'not empty'", "dùng documents (hoặc len(documents) > 0)"),
    ("${!empty documents}", "'not empty'", "dùng documents"),
    ("${empty(documents)}", "'empty'", "dùng not"),
    ("${empty a.b}", "'empty'", "dùng not x"),
    ("${approved ? 'yes' : 'no'}", "'a ? b : c'", "dùng b if a else c"),
    ("${status.equals('ok')}", "'status.equals('ok')'", "dùng status == 'ok'"),
    ("${execution.getVariable('amount') > 5}", "'execution.getVariable('amount')'",
     "dùng trực tiếp tên trường amount"),
    ("${items.size() > 0}", "'items.size()'", "dùng len(items)"),
    ("${items.isEmpty()}", "'items.isEmpty()'", "dùng not items"),
    ("${name.length() > 3}", "'name.length()'", "dùng len(name)"),
    ("${tags.contains('vip')}", "'tags.contains('vip')'", "dùng 'vip' in tags"),
    ("${x.toString() == '1'}", "'x.toString()'", "dùng str(x)"),
    ("${execution.getProcessInstanceId()}", "'execution.getProcessInstanceId()'",
     "phương thức Java không dùng được"),
]


@pytest.mark.parametrize(("expr", "construct", "instead"), JUEL_REFUSED)
def test_unsupported_juel_refused_with_reason(expr: str, construct: str, instead: str) -> None:
    problems = check_expression(expr)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert isinstance(problem, UnsafeCode)
    assert problem.line == 1
    assert problem.message.startswith(f"Cú pháp JUEL {construct} chưa được hỗ trợ: ")
    assert instead in problem.message
    assert "syntax error" not in problem.message
    data = {"a": 4, "documents": [], "approved": True, "status": "ok", "amount": 9,
            "items": [], "name": "abcd", "tags": ["vip"], "x": 1, "execution": {}}
    with pytest.raises(UnsafeCode) as info:  # the engine refuses it the same way
        evaluate(expr, data)
    assert info.value.message == problem.message


def test_several_juel_constructs_are_all_reported() -> None:
    messages = [p.message for p in check_expression("${a mod 2 == 0 ? empty b : c.size()}")]
    assert any("'mod'" in m for m in messages)
    assert any("'a ? b : c'" in m for m in messages)
    assert any("'empty'" in m for m in messages)


def test_juel_in_scripts_is_explained_with_its_line() -> None:
    cases = {
        "x = 1\ny = a eq b": ("'eq'", "dùng ==", 2),
        "if a && b:\n    y = 1": ("'&&'", "dùng and", 1),
        "y = 1\nz = a || b": ("'||'", "dùng or", 2),
        "x = 1\n\ny = a ? 1 : 2": ("'a ? b : c'", "dùng b if a else c", 3),
        "y = empty items": ("'empty'", "dùng not items", 1),
        "n = a mod 3": ("'mod'", "dùng %", 1),
        "ok = name.equals('x')": ("'name.equals('x')'", "dùng name == 'x'", 1),
    }
    for script, (construct, instead, line) in cases.items():
        (problem,) = check_script(script)
        assert isinstance(problem, UnsafeCode), script
        assert problem.message.startswith(f"Cú pháp JUEL {construct}"), problem.message
        assert instead in problem.message and problem.line == line, script
        ctx: dict[str, Any] = {"a": 1, "b": 2, "items": [], "name": "x"}
        with pytest.raises(UnsafeCode):
            execute(script, ctx)
    # A script that is plain Python with fields named like JUEL words is untouched.
    ctx = {"mod": 1}
    execute("x = 1\nmod = mod + 1\neq = mod\nempty = not eq", ctx)
    assert ctx == {"mod": 2, "x": 1, "eq": 2, "empty": False}
    # Other syntax errors are still reported as such.
    (problem,) = check_script("x = 1\ny = (")
    assert isinstance(problem, InvalidSyntax) and problem.line == 2


def test_dmn_validate_hook_reports_juel() -> None:
    engine = make_script_engine()
    with pytest.raises(UnsafeCode, match="Cú pháp JUEL 'mod'"):
        engine.validate("${x mod 2}")
    engine.validate("${type eq 'a'}")


# --------------------------------------------------------------------------- in a workflow

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="dialects" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="classify">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>type = 'fast' if input == 1 else 'slow'
id = input * 10</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_slow">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_fast</bpmn:outgoing><bpmn:outgoing>f_slow</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="classify"/>
    <bpmn:sequenceFlow id="f2" sourceRef="classify" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_fast" sourceRef="gw" targetRef="mark_fast">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${type eq 'fast' &amp;&amp; id == 10}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_slow" sourceRef="gw" targetRef="mark_slow"/>
    <bpmn:scriptTask id="mark_fast"><bpmn:incoming>f_fast</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>format = 'express'</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="mark_slow"><bpmn:incoming>f_slow</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>format = 'normal'</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="mark_fast" targetRef="end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="mark_slow" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize(("value", "route"), [(1, "express"), (2, "normal")])
def test_workflow_with_builtin_named_fields(value: int, route: str) -> None:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.encode())
    workflow = BpmnWorkflow(parser.get_spec("dialects"), script_engine=make_script_engine())
    workflow.get_tasks()[0].data["input"] = value
    workflow.do_engine_steps()
    assert workflow.completed
    assert workflow.data["format"] == route
    assert workflow.data["type"] == ("fast" if value == 1 else "slow")
    assert workflow.data["id"] == value * 10


def test_errors_are_sandbox_errors() -> None:
    for expr, _, _ in JUEL_REFUSED:
        assert all(isinstance(p, SandboxError) for p in check_expression(expr))
