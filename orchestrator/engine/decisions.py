"""DMN decision tables for business rule tasks, and fee rules that are tables.

A DMN file uploaded with a diagram is parsed like the diagram (no entities, no network, a size
limit), described as plain data (`describe`: the grid the back office shows and edits, and what
runs), and checked cell by cell: every input expression, input entry and output entry goes
through the sandbox. Input entries are FEEL-like unary tests translated to the sandbox's Python
(`unary_test`): `"a","b"` (any of), `< 10`, `[1..5]` / `]1..5[` (ranges), `not(...)`, `-` or
empty (any value), `true`/`false`/`null`, a plain value (equality) or an expression using `?`
(the input's value), as SpiffWorkflow writes them.

At run time `DecisionEngine` replaces SpiffWorkflow's DMN engine on each business rule task: it
evaluates through the workflow's script engine (`RestrictedScriptEngine`, the sandbox), supports
the hit policies UNIQUE (the first matching rule, as SpiffWorkflow does), FIRST, ANY, RULE ORDER
and COLLECT (with SUM, MIN, MAX, COUNT), uses the outputs' `defaultOutputEntry` when no rule
matches, and otherwise raises `NoRuleMatched` (the dossier's incident, naming the task and the
decision). Fees call `evaluate` with the dossier's data, without a workflow.
"""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from lxml import etree

from ..i18n import vi
from . import sandbox
from .problems import DiagramRejected, Problem
from .xml import BPMN_NS, CAMUNDA_NS, NS

DMN_NAMESPACES = (
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "https://www.omg.org/spec/DMN/20211108/MODEL/",
)
HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "RULE ORDER", "COLLECT")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
MAX_DMN_FILES = 20
MAX_COLUMNS = 30
MAX_RULES = 500
MAX_CELL_CHARS = 2000
MAX_DECISION_SECONDS = 5.0  # CPU for one evaluation of a table (rules x columns cells)
INPUT_VAR = "dmninputexpr"  # the name `?` (an input's value) becomes in a test
_COMPARISON = re.compile(r"^(<=|>=|<|>|==|!=|=)\s*(.+)$", re.S)
_MEMBERSHIP = re.compile(r"^(not\s+in|in)\s+(.+)$", re.S)
_NOT = re.compile(r"^not\s*\((.*)\)$", re.S)
_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_LITERALS = {"true": "True", "false": "False", "null": "None"}


def _parser() -> etree.XMLParser:
    """As `xml.py`'s: no entities, no DTD, no network, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=False)


class DecisionError(ValueError):
    """A decision could not be evaluated (the message names the decision, rule and column)."""


class NoRuleMatched(DecisionError):
    """No rule of the table matched the data and the table defines no default output."""


# -- reading ----------------------------------------------------------------------------------

def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el, name: str) -> list:
    return [c for c in el if _local(c) == name]


def _text_of(el) -> str:
    found = _children(el, "text") if el is not None else []
    return (found[0].text or "").strip() if found else ""


def _in(filename: str, text: str) -> str:
    """`text` preceded by the DMN file it is about ("f.dmn: ..."), when there is a file name."""
    return vi("%(file)s: %(problem)s", file=filename, problem=text) if filename else text


def parse_untrusted(data: bytes, max_bytes: int, filename: str = "") -> etree._Element:
    """A DMN file someone uploaded, refusing what could hurt the server (as `xml.parse_untrusted`)."""
    if len(data) > max_bytes:
        raise DiagramRejected([Problem(_in(filename, vi("tệp DMN quá lớn: %(size)s byte, tối đa %(limit)s byte.",
                                                        size=len(data), limit=max_bytes)))], 413)
    if not data.strip():
        raise DiagramRejected([Problem(_in(filename, vi("tệp DMN rỗng.")))], 400)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise DiagramRejected([Problem(_in(filename, vi("XML không hợp lệ: %(error)s", error=exc.msg)),
                                       line=getattr(exc, "lineno", None))], 400) from None
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise DiagramRejected([Problem(_in(filename, vi("tệp chứa khai báo DTD/thực thể (DOCTYPE), không được "
                                                        "chấp nhận.")), line=1)])
    for el in root.iter(etree.Entity):
        raise DiagramRejected([Problem(_in(filename, vi("tệp chứa tham chiếu thực thể XML, không được chấp nhận.")),
                                       line=el.sourceline)])
    if etree.QName(root).namespace not in DMN_NAMESPACES or _local(root) != "definitions":
        raise DiagramRejected([Problem(_in(filename, vi("không phải tệp DMN: phần tử gốc phải là definitions của "
                                                        "DMN 1.1–1.4.")), line=root.sourceline)])
    return root


def parse_trusted(text: str | bytes) -> etree._Element:
    """A DMN document we stored ourselves (it passed `parse_untrusted` and `check`)."""
    return etree.fromstring(text.encode("utf-8") if isinstance(text, str) else text, _parser())


def decision_id(root: etree._Element) -> str | None:
    found = _children(root, "decision")
    return found[0].get("id") if found else None


def describe(root: etree._Element) -> dict:
    """The decision table as plain data: what the back office shows and what runs."""
    decision = _children(root, "decision")[0]
    table = _children(decision, "decisionTable")[0]
    inputs = [{"id": i.get("id") or "", "label": i.get("label") or "",
               "expression": _text_of(next(iter(_children(i, "inputExpression")), None)),
               "line": i.sourceline} for i in _children(table, "input")]
    outputs = []
    for o in _children(table, "output"):
        default = next(iter(_children(o, "defaultOutputEntry")), None)
        outputs.append({"id": o.get("id") or "", "label": o.get("label") or "", "name": o.get("name") or "",
                        "default": _text_of(default) if default is not None else None, "line": o.sourceline})
    rules = []
    for r in _children(table, "rule"):
        notes = _children(r, "description")
        rules.append({"id": r.get("id") or "", "line": r.sourceline,
                      "inputs": [_text_of(e) for e in _children(r, "inputEntry")],
                      "outputs": [_text_of(e) for e in _children(r, "outputEntry")],
                      "annotation": (notes[0].text or "").strip() if notes else ""})
    return {"id": decision.get("id"), "name": decision.get("name") or decision.get("id"), "table_id": table.get("id"),
            "hit_policy": (table.get("hitPolicy") or "UNIQUE").upper().replace("_", " "),
            "aggregation": (table.get("aggregation") or "").upper() or None,
            "inputs": inputs, "outputs": outputs, "rules": rules}


def output_key(output: dict) -> str:
    return output["name"] or output["label"]


# -- unary tests ------------------------------------------------------------------------------

def _split_top(text: str) -> list[str]:
    """Split on commas outside quotes and brackets."""
    parts, depth, quote, current = [], 0, None, []
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _outside_quotes(text: str) -> list[int]:
    """Positions of the characters of `text` outside string quotes (one pass: no regex backtracking
    on untrusted cells)."""
    out, quote = [], None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        else:
            out.append(i)
    return out


def _has_qmark(text: str) -> bool:
    return any(text[i] == "?" for i in _outside_quotes(text))


def _range(part: str):
    """(left bracket, low, high, right bracket) of `[1..5]`-like text, else None."""
    if len(part) < 5 or part[0] not in "[](" or part[-1] not in "[])":
        return None
    inner = part[1:-1]
    at = inner.find("..")
    low, high = (inner[:at].strip(), inner[at + 2:].strip()) if at > 0 else ("", "")
    if not low or not high:
        return None
    return part[0], low, high, part[-1]


def _one_test(part: str) -> str:
    part = part.strip()
    if not part:
        raise ValueError(vi("thiếu giá trị giữa hai dấu phẩy"))
    bounds = _range(part)
    if bounds:
        left, low, high, right = bounds
        lo = ">=" if left == "[" else ">"
        hi = "<=" if right == "]" else "<"
        return f"(? {lo} ({low})) and (? {hi} ({high}))"
    m = _COMPARISON.match(part)
    if m:
        op = "==" if m.group(1) == "=" else m.group(1)
        return f"? {op} ({m.group(2)})"
    m = _MEMBERSHIP.match(part)
    if m:
        return f"? {' '.join(m.group(1).split())} ({m.group(2)})"
    if part in _LITERALS:
        return f"? == {_LITERALS[part]}"
    return f"? == ({part})"


def unary_test(text: str | None) -> str | None:
    """A FEEL-like input entry as a sandbox expression over `?` (None: any value matches)."""
    text = (text or "").strip()
    if not text or text == "-":
        return None
    if _has_qmark(text):
        return text  # SpiffWorkflow's own form: an expression using `?`
    m = _NOT.match(text)
    if m and m.group(1).count("(") == m.group(1).count(")"):
        inner = unary_test(m.group(1))
        return f"not ({inner})" if inner else "False"
    parts = _split_top(text)
    if len(parts) == 1:
        return _one_test(text)
    return " or ".join(f"({_one_test(p)})" for p in parts)


def _compiled(test: str) -> str:
    chars = list(test)
    for i in _outside_quotes(test):
        if chars[i] == "?":
            chars[i] = INPUT_VAR
    return "".join(chars)


# -- checks -----------------------------------------------------------------------------------

def _cell_problems(source: str, where: str, element_id: str, line: int | None, kind: str) -> list[Problem]:
    if len(source) > MAX_CELL_CHARS:
        return [Problem(vi("%(place)s: ô dài quá %(most)s ký tự.", place=where, most=MAX_CELL_CHARS), element_id, line,
                        code="dmn_cell")]
    if kind == "input":
        try:
            test = unary_test(source)
        except ValueError as exc:
            return [Problem(vi("%(place)s: '%(source)s' không đọc được (%(error)s).", place=where, source=source,
                               error=exc.args[0] if exc.args else str(exc)), element_id, line, code="dmn_cell")]
        if test is None:
            return []
        source = _compiled(test)
    return [Problem(vi("%(place)s: biểu thức không an toàn hoặc sai cú pháp: %(error)s", place=where,
                       error=err.message), element_id, line, code="dmn_cell")
            for err in sandbox.check_expression(source)]


def check(root: etree._Element, filename: str = "") -> list[Problem]:
    """Everything wrong with one DMN document, each problem at its element and line."""
    if root.prefix not in (None, "dmn"):
        return [Problem(_in(filename, vi("hãy dùng không gian tên DMN làm mặc định hoặc với tiền tố dmn: (tệp dùng "
                                         "'%(prefix)s:').", prefix=root.prefix)), line=root.sourceline)]
    decisions = _children(root, "decision")
    if len(decisions) != 1:
        return [Problem(_in(filename, vi("mỗi tệp DMN phải có đúng một quyết định (decision), tệp có %(count)s.",
                                         count=len(decisions))), line=root.sourceline)]
    decision = decisions[0]
    if not decision.get("id"):
        return [Problem(_in(filename, vi("quyết định thiếu id.")), line=decision.sourceline)]
    tables = _children(decision, "decisionTable")
    if len(tables) != 1:
        return [Problem(_in(filename, vi("quyết định '%(decision)s' phải là một bảng quyết định (decisionTable); "
                                         "biểu thức FEEL rời (literalExpression) chưa được hỗ trợ.",
                                         decision=decision.get("id"))), decision.get("id"), decision.sourceline)]
    table = tables[0]
    desc = describe(root)
    name = _in(filename, vi("bảng quyết định '%(decision)s'", decision=desc["id"]))
    problems = []
    if desc["hit_policy"] not in HIT_POLICIES:
        problems.append(Problem(vi("%(table)s: chính sách trúng (hitPolicy) '%(policy)s' chưa được hỗ trợ "
                                   "(hỗ trợ: %(supported)s).", table=name, policy=desc["hit_policy"],
                                   supported=", ".join(HIT_POLICIES)), desc["id"], table.sourceline))
    if desc["aggregation"] and (desc["hit_policy"] != "COLLECT" or desc["aggregation"] not in AGGREGATIONS):
        problems.append(Problem(vi("%(table)s: phép gộp (aggregation) '%(aggregation)s' chỉ dùng với COLLECT và là "
                                   "một trong %(allowed)s.", table=name, aggregation=desc["aggregation"],
                                   allowed=", ".join(AGGREGATIONS)), desc["id"], table.sourceline))
    if not desc["inputs"] and not desc["outputs"]:
        problems.append(Problem(vi("%(table)s: bảng không có cột.", table=name), desc["id"], table.sourceline))
    if len(desc["inputs"]) > MAX_COLUMNS or len(desc["outputs"]) > MAX_COLUMNS or len(desc["rules"]) > MAX_RULES:
        return problems + [Problem(vi("%(table)s: tối đa %(columns)s cột đầu vào, %(columns)s cột kết quả và "
                                      "%(rules)s quy tắc.", table=name, columns=MAX_COLUMNS, rules=MAX_RULES),
                                   desc["id"], table.sourceline)]
    for col in desc["inputs"]:
        label = col["label"] or col["id"]
        source = col["expression"] or (col["label"] if _OUTPUT_NAME.match(col["label"] or "") else "")
        if not source:
            problems.append(Problem(vi("%(table)s, cột đầu vào '%(column)s': thiếu biểu thức đầu vào "
                                       "(inputExpression).", table=name, column=label), col["id"], col["line"]))
            continue
        problems += _cell_problems(source, vi("%(table)s, cột đầu vào '%(column)s'", table=name, column=label),
                                   col["id"], col["line"], "output")
    for col in desc["outputs"]:
        label = col["label"] or col["name"] or col["id"]
        if not _OUTPUT_NAME.match(output_key(col) or ""):
            problems.append(Problem(vi("%(table)s, cột kết quả '%(column)s': tên (name) phải là tên biến (chữ, số, _, "
                                       "dấu chấm) vì kết quả được ghi vào dữ liệu hồ sơ.", table=name, column=label),
                                    col["id"], col["line"]))
        if col["default"]:
            problems += _cell_problems(col["default"], vi("%(table)s, giá trị mặc định của cột '%(column)s'",
                                                          table=name, column=label),
                                       col["id"], col["line"], "output")
    rule_elements = _children(table, "rule")
    for n, (rule, el) in enumerate(zip(desc["rules"], rule_elements), start=1):
        if len(rule["inputs"]) != len(desc["inputs"]) or len(rule["outputs"]) != len(desc["outputs"]):
            problems.append(Problem(vi("%(table)s, quy tắc %(number)s (%(rule)s): số ô không khớp số cột.",
                                       table=name, number=n, rule=rule["id"]), rule["id"], rule["line"]))
            continue
        entries = _children(el, "inputEntry")
        for col, text, entry in zip(desc["inputs"], rule["inputs"], entries):
            problems += _cell_problems(text, vi("%(table)s, quy tắc %(number)s (%(rule)s), cột đầu vào '%(column)s'",
                                                table=name, number=n, rule=rule["id"],
                                                column=col["label"] or col["id"]),
                                       rule["id"], entry.sourceline, "input")
        entries = _children(el, "outputEntry")
        for col, text, entry in zip(desc["outputs"], rule["outputs"], entries):
            if text:
                problems += _cell_problems(text, vi("%(table)s, quy tắc %(number)s (%(rule)s), cột kết quả "
                                                    "'%(column)s'", table=name, number=n, rule=rule["id"],
                                                    column=col["label"] or col["name"] or col["id"]),
                                           rule["id"], entry.sourceline, "output")
    return problems


def declared_refs(root: etree._Element) -> list[tuple[str, int | None, str | None]]:
    """(element id, line, decision id) of every business rule task of a diagram."""
    found = []
    for node in root.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        ref = node.get(f"{{{CAMUNDA_NS}}}decisionRef")
        if ref is None:
            called = node.xpath("./bpmn:extensionElements/spiffworkflow:calledDecisionId", namespaces=NS)
            ref = (called[0].text or "").strip() if called else None
        found.append((node.get("id") or "?", node.sourceline, (ref or "").strip() or None))
    return found


def reference_problems(root: etree._Element, available: Iterable[str]) -> list[Problem]:
    """A business rule task must name a decision of the DMN files uploaded with the diagram."""
    available = sorted(available)
    have = ", ".join(available) if available else vi("không có tệp DMN nào")
    problems = []
    for element_id, line, ref in declared_refs(root):
        if ref is None:
            problems.append(Problem(vi("Tác vụ quy tắc nghiệp vụ '%(task)s' không nêu bảng quyết định "
                                       "(spiffworkflow:calledDecisionId hoặc camunda:decisionRef).", task=element_id),
                                    element_id, line,
                                    code="decision_missing"))
        elif ref not in available:
            problems.append(Problem(vi("Bảng quyết định '%(decision)s' của tác vụ '%(task)s' không có trong các tệp DMN "
                                       "tải lên cùng sơ đồ (có: %(available)s).", decision=ref, task=element_id,
                                       available=have), element_id, line, code="decision_missing"))
    return problems


# -- running ----------------------------------------------------------------------------------

@dataclass
class DecisionEngine:
    """Replaces SpiffWorkflow's DMNEngine on a business rule task (see the module docstring)."""

    table: dict
    element_id: str | None = None

    def __post_init__(self):
        self.tests = [[None if t is None else _compiled(t) for t in map(unary_test, r["inputs"])]
                      for r in self.table["rules"]]
        self.decision_table = self  # SpiffWorkflow reads `dmnEngine.decision_table` in places

    @property
    def id(self):
        return self.table["table_id"]

    def result(self, task) -> dict:
        """What SpiffWorkflow's business rule task merges into the data; evaluated by the workflow's
        script engine (the sandbox)."""
        engine = task.workflow.script_engine

        def evaluate(expression: str, extra: dict | None = None):
            return engine.evaluate(task, expression, external_context=extra)

        return self.decide(evaluate)

    def _name(self) -> str:
        t = self.table
        return f"bảng quyết định '{t['id']}'" + (f" ({t['name']})" if t.get("name") and t["name"] != t["id"] else "")

    def _eval(self, evaluate: Callable, source: str, where: str, extra: dict | None = None):
        try:
            return evaluate(source, extra)
        except DecisionError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a cell is the decision's error, named
            cause = sandbox_message(exc)
            raise DecisionError(f"{self._name()}, {where}: {cause}") from None

    def decide(self, evaluate: Callable) -> dict:
        """The outputs for the data `evaluate` reads (`evaluate(expression, extra names)`), within
        MAX_DECISION_SECONDS of CPU (each cell also has the sandbox's own budget)."""
        started = time.thread_time()

        def timed(source: str, extra: dict | None = None):
            if time.thread_time() - started > MAX_DECISION_SECONDS:
                raise DecisionError(f"{self._name()}: quá {MAX_DECISION_SECONDS:g} giây xử lý một lần đánh giá bảng.")
            return evaluate(source, extra)

        t = self.table
        values: dict[int, Any] = {}  # an input is evaluated once, when a rule first tests it

        def value(i: int):
            if i not in values:
                col = t["inputs"][i]
                values[i] = self._eval(timed, col["expression"] or col["label"],
                                       f"cột đầu vào '{col['label'] or col['id']}'")
            return values[i]

        matched = []
        for n, (rule, tests) in enumerate(zip(t["rules"], self.tests), start=1):
            ok = True
            for i, (col, test) in enumerate(zip(t["inputs"], tests)):
                if test is None:
                    continue
                if not self._eval(timed, test, f"quy tắc {n}, cột '{col['label'] or col['id']}'",
                                  {INPUT_VAR: value(i)}):
                    ok = False
                    break
            if ok:
                matched.append((n, rule))
                if t["hit_policy"] in ("UNIQUE", "FIRST"):
                    break
        if not matched:
            defaults = [o for o in t["outputs"] if o["default"]]
            if defaults:
                return _nested({output_key(o): self._eval(timed, o["default"], f"giá trị mặc định '{output_key(o)}'")
                                for o in t["outputs"] if o["default"]})
            if t["hit_policy"] == "COLLECT":
                return _nested({output_key(o): (0 if t["aggregation"] in ("SUM", "COUNT") else
                                                None if t["aggregation"] else []) for o in t["outputs"]})
            shown = ", ".join(f"{t['inputs'][i]['label'] or t['inputs'][i]['expression']}={v!r}"
                              for i, v in sorted(values.items()))[:300]
            raise NoRuleMatched(f"{self._name()}: không có quy tắc nào khớp với dữ liệu ({shown}) và bảng không có "
                                "giá trị mặc định.")
        rows = [self._outputs(timed, n, rule) for n, rule in matched]
        if t["hit_policy"] in ("COLLECT", "RULE ORDER"):
            out = {key: [row[key] for row in rows] for key in rows[0]}
            agg = t["aggregation"]
            if agg:
                try:
                    out = {k: (len(v) if agg == "COUNT" else sum(v) if agg == "SUM" else min(v) if agg == "MIN"
                               else max(v)) for k, v in out.items()}
                except TypeError:
                    raise DecisionError(f"{self._name()}: phép gộp {agg} cần giá trị số.") from None
            return _nested(out)
        return _nested(rows[0])

    def _outputs(self, evaluate: Callable, n: int, rule: dict) -> dict:
        out = {}
        for col, text in zip(self.table["outputs"], rule["outputs"]):
            key = output_key(col)
            out[key] = self._eval(evaluate, text, f"quy tắc {n}, cột kết quả '{key}'") if text else None
        return out


def sandbox_message(exc: BaseException) -> str:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sandbox.SandboxError):
            return exc.message
        inner = getattr(exc, "sandbox_error", None)
        if isinstance(inner, sandbox.SandboxError):
            return inner.message
        if exc.__cause__ is None and exc.__context__ is None:
            break
        exc = exc.__cause__ or exc.__context__
    return str(getattr(exc, "message", None) or exc)


def _nested(flat: dict) -> dict:
    """`a.b` output names become nested data, as SpiffWorkflow does."""
    out: dict = {}
    for key, value in flat.items():
        *path, last = key.split(".")
        target = out
        for part in path:
            target = target.setdefault(part, {}) if isinstance(target.get(part, {}), dict) else target
        target[last] = value
    return out


def install(task_specs: Iterable, root: etree._Element, documents: Iterable[str]) -> None:
    """Put `DecisionEngine` on every business rule task built from this diagram."""
    tables = {}
    for text in documents:
        doc = parse_trusted(text)
        tables[decision_id(doc)] = describe(doc)
    refs = {element_id: ref for element_id, _line, ref in declared_refs(root)}
    for ts in task_specs:
        if hasattr(ts, "dmnEngine") and refs.get(getattr(ts, "bpmn_id", None)) in tables:
            ts.dmnEngine = DecisionEngine(tables[refs[ts.bpmn_id]], ts.bpmn_id)


def evaluate(documents: Iterable[str], decision: str, data: dict) -> dict:
    """A decision of these DMN documents against plain data (fees): its outputs. Raises
    DecisionError (NoRuleMatched) or KeyError (no such decision)."""
    from .script_engine import RestrictedEnvironment  # noqa: PLC0415 - only fees need it

    env = RestrictedEnvironment()
    for text in documents:
        doc = parse_trusted(text)
        if decision_id(doc) == decision:
            engine = DecisionEngine(describe(doc))
            return engine.decide(lambda source, extra=None: env.evaluate(source, data, extra))
    raise KeyError(decision)


# -- editing ----------------------------------------------------------------------------------

def rewrite_rules(text: str, rules: list[dict]) -> str:
    """The DMN document with its rules replaced by `rules` ([{id?, inputs, outputs, annotation}]),
    ids kept where given and made for new rules and cells; columns unchanged."""
    root = parse_trusted(text)
    decision = _children(root, "decision")[0]
    table = _children(decision, "decisionTable")[0]
    ns = etree.QName(root).namespace
    old = {r.get("id"): r for r in _children(table, "rule")}
    for r in old.values():
        table.remove(r)

    def make(tag: str, parent, prefix: str, value: str, keep: str | None = None):
        el = etree.SubElement(parent, f"{{{ns}}}{tag}", id=keep or f"{prefix}_{uuid.uuid4().hex[:7]}")
        etree.SubElement(el, f"{{{ns}}}text").text = value
        return el

    for rule in rules:
        rule_id = rule.get("id") if rule.get("id") in old else None
        previous = old.get(rule_id)
        el = etree.SubElement(table, f"{{{ns}}}rule", id=rule_id or f"DecisionRule_{uuid.uuid4().hex[:7]}")
        if rule.get("annotation"):
            etree.SubElement(el, f"{{{ns}}}description").text = rule["annotation"]
        in_ids = [e.get("id") for e in _children(previous, "inputEntry")] if previous is not None else []
        out_ids = [e.get("id") for e in _children(previous, "outputEntry")] if previous is not None else []
        for i, value in enumerate(rule["inputs"]):
            make("inputEntry", el, "UnaryTests", value, in_ids[i] if i < len(in_ids) else None)
        for i, value in enumerate(rule["outputs"]):
            make("outputEntry", el, "LiteralExpression", value, out_ids[i] if i < len(out_ids) else None)
    return etree.tostring(root, encoding="unicode")


# -- upload -----------------------------------------------------------------------------------

def read_documents(files: Iterable[tuple[str, bytes]], max_bytes: int) -> dict[str, str]:
    """The DMN files uploaded with a diagram, each parsed safely and checked: {decision id: XML}.
    Raises DiagramRejected with every problem (file name, element and line)."""
    files = list(files)
    if len(files) > MAX_DMN_FILES:
        raise DiagramRejected([Problem(vi("Tối đa %(most)s tệp DMN mỗi lần tải lên (%(count)s tệp).", most=MAX_DMN_FILES,
                                          count=len(files)),
                                       field="dmn")], 413)
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for name, data in files:
        root = parse_untrusted(data, max_bytes, name)
        found = check(root, name)
        if found:
            problems += found
            continue
        key = decision_id(root)
        if key in out:
            problems.append(Problem(vi("%(file)s: quyết định '%(decision)s' trùng mã với một tệp DMN khác.", file=name, decision=key),
                                    key,
                                    _children(root, "decision")[0].sourceline))
            continue
        out[key] = etree.tostring(root, encoding="unicode")
    if problems:
        raise DiagramRejected(problems)
    return out


# -- the back office's grid -------------------------------------------------------------------

def grids(bpmn_xml: str, documents: dict) -> list[dict]:
    """Each decision table of a version (`describe`), with the business rule tasks that call it."""
    from .xml import parse_trusted as parse_diagram  # noqa: PLC0415 - same parser, another root

    refs = declared_refs(parse_diagram(bpmn_xml))
    out = []
    for key, text in sorted(documents.items()):
        table = describe(parse_trusted(text))
        table["used_by"] = [element for element, _line, ref in refs if ref == key]
        out.append(table)
    return out


def cell_error(text: str, kind: str) -> str | None:
    """Why one cell of the grid cannot be saved (kind: "input" entry or "output" entry), or None."""
    found = _cell_problems(text or "", "", "", None, kind) if (text or "").strip() else []
    return found[0].message.removeprefix(": ") if found else None


# -- dry runs ---------------------------------------------------------------------------------

_BARE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _literal(text: str):
    import ast  # noqa: PLC0415 - literal_eval only: no code runs

    text = _LITERALS.get(text.strip(), text.strip())
    if len(text) > 200:
        raise ValueError(text)
    return ast.literal_eval(text)


def _candidate(entry: str):
    """A value that passes one input entry, when the entry is made of literals; else raises."""
    part = _split_top(entry.strip())[0].strip()
    bounds = _range(part)
    if bounds:
        low = _literal(bounds[1])
        return low if bounds[0] == "[" else low + 1
    m = _COMPARISON.match(part)
    if m:
        value = _literal(m.group(2))
        return {"<": value - 1, ">": value + 1}.get(m.group(1), value) if m.group(1) in "<>" else value
    m = _MEMBERSHIP.match(part)
    if m and m.group(1) == "in":
        return list(_literal(m.group(2)))[0]
    return _literal(part)


def sample_inputs(bundle) -> dict:
    """Data for publish's dry run: for each decision input that reads a plain name of the data, a
    value the first rule made of literals accepts, so the run goes through the table (the
    designer's sample and the steps' form data come after and win)."""
    out: dict = {}
    specs = [bundle.spec, *bundle.subprocess_specs.values()]
    for ts in (ts for s in specs for ts in s.task_specs.values()):
        engine = getattr(ts, "dmnEngine", None)
        if not isinstance(engine, DecisionEngine):
            continue
        names = [c["expression"] or c["label"] for c in engine.table["inputs"]]
        for rule in engine.table["rules"]:
            try:
                values = {name: _candidate(entry) for name, entry in zip(names, rule["inputs"])
                          if unary_test(entry) is not None}
            except (ValueError, TypeError, SyntaxError, IndexError, MemoryError, RecursionError):
                continue
            for name, value in values.items():
                if _BARE_NAME.match(name or ""):
                    out.setdefault(name, value)
            break
    return out
