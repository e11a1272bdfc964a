"""Restricted evaluator for BPMN conditions and script tasks.

Diagrams are uploaded by users, so their conditions and scripts are untrusted code.
Python's ``eval``/``exec`` cannot be made safe, and neither signals nor threads give a
usable time limit inside a worker thread. This module therefore never hands user code to
the Python compiler: it parses the source with :mod:`ast`, rejects everything outside an
allow-list (static check), and then walks the tree itself (a small AST interpreter in the
spirit of ``simpleeval``, extended with statements, an operation budget and size guards).

Every limit is checked *before* the expensive work is done (``9**9**9``, ``'a' * 10**10``,
``range(10**12)``), and every node evaluation, loop iteration and bulk copy is charged to an
operation budget, so a call always ends quickly, in any thread.

This module must not import SpiffWorkflow: it is also used to validate diagrams on upload.
"""

from __future__ import annotations

import ast
import builtins
import copy
import keyword
import math
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable, NoReturn

__all__ = [
    "SandboxError",
    "UnsafeCode",
    "InvalidSyntax",
    "LimitExceeded",
    "ScriptError",
    "check_expression",
    "check_script",
    "evaluate",
    "data_bytes",
    "execute",
    "strip_camunda",
]

# --------------------------------------------------------------------------- limits
# Module constants so deployments (and tests) can tune them; they are read at call time.

MAX_SOURCE_LENGTH = 20_000
"""Longest accepted expression or script, in characters."""
MAX_OPERATIONS = 100_000
"""Budget per evaluate/execute call: AST node evaluations, loop iterations, bulk work."""
MAX_INT_BITS = 4_096
"""Largest integer (in bits, ~1233 decimal digits) a computation may produce."""
MAX_STRING_LENGTH = 100_000
"""Longest string a computation may produce."""
MAX_COLLECTION_LENGTH = 100_000
"""Most elements in a list, tuple, dict or set produced by a computation."""
MAX_RANGE_LENGTH = 100_000
"""Most elements a ``range()`` may have."""
MAX_AST_DEPTH = 100
"""Deepest nesting of the syntax tree (bounds the interpreter's recursion)."""
MAX_TRAVERSAL = 1_000_000
"""Most elements walked by one comparison, hash, sort or conversion (catches shared
sub-structures such as ``a = [a, a]`` repeated, whose logical size is exponential)."""
MAX_VALUE_DEPTH = 64
"""Deepest nesting of a value a script may store in task data."""
SIZE_PER_OPERATION = 100
"""Every this many characters/elements created or walked costs one operation."""
TRAVERSAL_PER_OPERATION = 10
"""Every this many elements walked by a comparison/hash/sort cost one operation."""
MAX_FORMAT_WIDTH = 1_000
"""Largest width/precision in a format spec (``f'{x:>1000}'``, ``'%5d' % x``)."""
MAX_VALUE_BYTES = 1_000_000
"""Largest value a computation may build, in bytes of the JSON text that would store it. A value
reachable several times (``[s] * 1000``) counts each time, as JSON writes it out each time."""
MAX_DATA_BYTES = 2_000_000
"""Most bytes a script may store in the task data, all the fields it assigns together."""


# --------------------------------------------------------------------------- errors


class SandboxError(Exception):
    """Base of every error raised for user code; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class UnsafeCode(SandboxError):
    """Static rejection: forbidden syntax, name or attribute (found before running)."""


class InvalidSyntax(UnsafeCode):
    """The source is not valid Python syntax (a static rejection too)."""


class LimitExceeded(SandboxError):
    """A budget or size guard stopped the code at run time."""


class ScriptError(SandboxError):
    """Any other run-time error in user code (unknown name, division by zero, ...)."""


class _Break(BaseException):
    """Internal control flow for ``break``; not an Exception so handlers never catch it."""


class _Continue(BaseException):
    """Internal control flow for ``continue``."""


# --------------------------------------------------------------------------- allow-lists

_EXPRESSION_NODES: frozenset[type] = frozenset(
    {
        ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Dict, ast.Set,
        ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call,
        ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript,
        ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice, ast.comprehension,
        ast.keyword, ast.Load, ast.Store,
        ast.And, ast.Or,
        ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift,
        ast.RShift, ast.BitOr, ast.BitXor, ast.BitAnd,
        ast.Invert, ast.Not, ast.UAdd, ast.USub,
        ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In,
        ast.NotIn,
    }
)
_SCRIPT_NODES: frozenset[type] = _EXPRESSION_NODES | {
    ast.Module, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Break, ast.Continue,
    ast.Pass, ast.Expr,
}

_REFUSAL_REASONS: dict[str, str] = {
    "While": "'while' loops are refused because they can run forever; "
    "use 'for i in range(n):' with a bounded n instead",
    "Import": "imports are not allowed",
    "ImportFrom": "imports are not allowed",
    "FunctionDef": "defining functions is not allowed",
    "AsyncFunctionDef": "defining functions is not allowed",
    "Lambda": "lambda is not allowed",
    "ClassDef": "defining classes is not allowed",
    "With": "'with' is not allowed",
    "AsyncWith": "'with' is not allowed",
    "Try": "'try' is not allowed",
    "TryStar": "'try' is not allowed",
    "Raise": "'raise' is not allowed",
    "Assert": "'assert' is not allowed",
    "Global": "'global' is not allowed",
    "Nonlocal": "'nonlocal' is not allowed",
    "Delete": "'del' is not allowed",
    "Yield": "'yield' is not allowed",
    "YieldFrom": "'yield' is not allowed",
    "Await": "'await' is not allowed",
    "AsyncFor": "'async for' is not allowed",
    "Return": "'return' is not allowed",
    "NamedExpr": "the ':=' operator is not allowed",
    "AnnAssign": "annotated assignments are not allowed; write 'x = value'",
    "MatMult": "the '@' operator is not allowed",
    "Match": "'match' is not allowed",
}

_FUNCTION_NAMES: frozenset[str] = frozenset(
    {
        "len", "abs", "bool", "float", "int", "str", "round", "min", "max", "sum", "any",
        "all", "sorted", "list", "tuple", "set", "dict", "range", "enumerate", "zip",
        "reversed", "print", "date", "datetime", "timedelta",
    }
)
"""The functions the interpreter provides (``_Interpreter.functions``)."""

_FORBIDDEN_NAMES: frozenset[str] = frozenset(
    {
        "open", "exec", "eval", "compile", "globals", "locals", "vars", "getattr",
        "setattr", "delattr", "hasattr", "__import__", "type", "object", "input",
        "isinstance", "issubclass", "breakpoint", "memoryview", "classmethod",
        "staticmethod", "super", "builtins", "dir", "help", "exit", "quit",
    }
)
"""Dangerous builtins. As bare names they are ordinary task-data fields (the interpreter
never looks at Python's builtins); *calling* one is refused statically."""

_REFUSED_CALLS: frozenset[str] = _FORBIDDEN_NAMES | frozenset(
    name for name in dir(builtins) if not name.startswith("_")
) - _FUNCTION_NAMES
"""Names whose call is refused on upload: Python builtins the sandbox does not provide
(``map(...)``, ``format(...)``, ``id(...)`` would only fail at run time)."""

# Data attributes readable without a call, per type (datetime is a date subclass).
_DATA_ATTRIBUTES: tuple[tuple[type, frozenset[str]], ...] = (
    (datetime, frozenset({"year", "month", "day", "hour", "minute", "second", "microsecond"})),
    (date, frozenset({"year", "month", "day"})),
    (time, frozenset({"hour", "minute", "second", "microsecond"})),
    (timedelta, frozenset({"days", "seconds", "microseconds"})),
)

_MUTATING_METHODS: frozenset[str] = frozenset(
    {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear", "update",
     "setdefault", "add", "discard", "popitem"}
)

# Methods callable on instances of these types (checked with isinstance at run time).
_METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (
        str,
        frozenset(
            {"lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith",
             "split", "rsplit", "splitlines", "join", "replace", "count", "index", "find",
             "rfind", "title", "capitalize", "casefold", "swapcase", "isdigit", "isalpha",
             "isalnum", "isspace", "islower", "isupper", "isnumeric", "isdecimal", "zfill",
             "center", "ljust", "rjust", "partition", "rpartition", "removeprefix",
             "removesuffix"}
        ),
    ),
    (
        list,
        frozenset({"append", "extend", "insert", "pop", "remove", "index", "count", "copy",
                   "sort", "reverse", "clear"}),
    ),
    (tuple, frozenset({"index", "count"})),
    (
        dict,
        frozenset({"get", "keys", "values", "items", "pop", "setdefault", "update", "copy",
                   "clear", "popitem"}),
    ),
    (
        (set, frozenset),  # type: ignore[arg-type]
        frozenset({"add", "discard", "remove", "union", "intersection", "difference",
                   "symmetric_difference", "issubset", "issuperset", "isdisjoint", "copy",
                   "pop", "clear"}),
    ),
    (datetime, frozenset({"date", "time", "timestamp"})),
    (date, frozenset({"weekday", "isoweekday", "isoformat", "isocalendar", "replace",
                      "toordinal", "strftime"})),
    (time, frozenset({"isoformat", "replace", "strftime"})),
    (timedelta, frozenset({"total_seconds"})),
)

_ALL_ATTRIBUTES: frozenset[str] = frozenset().union(
    *(names for _, names in _DATA_ATTRIBUTES), *(names for _, names in _METHODS)
)

_CONTAINERS = (list, tuple, dict, set, frozenset)
_SIZED_RESULTS = (str, list, tuple, dict, set, frozenset)
_STORABLE_SCALARS = (type(None), bool, int, float, str, Decimal, date, datetime, time, timedelta)

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitXor: lambda a, b: a ^ b,
    ast.BitAnd: lambda a, b: a & b,
}


# In-place variants, so ``lst += [x]`` extends the same list, as in Python.
_INPLACE_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul,
    ast.Div: operator.itruediv, ast.FloorDiv: operator.ifloordiv, ast.Mod: operator.imod,
    ast.Pow: operator.ipow, ast.LShift: operator.ilshift, ast.RShift: operator.irshift,
    ast.BitOr: operator.ior, ast.BitXor: operator.ixor, ast.BitAnd: operator.iand,
}



# --------------------------------------------------------------------------- Camunda syntax

_CAMUNDA_WRAPPER = re.compile(r"[$#]\{(.*)\}", re.DOTALL)
_CAMUNDA_LITERALS = {"true": "True", "false": "False", "null": "None"}

# JUEL comparison words: same meaning as the Python operator, so they are translated.
_JUEL_COMPARISONS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}
# JUEL arithmetic words are refused: Java arithmetic differs from Python's (``x div 0`` is
# Infinity, ``-7 mod 2`` is -1), so the author must write the Python operator knowingly.
_JUEL_ARITHMETIC = {"div": "/", "mod": "%"}
# In scripts (plain Python) nothing is translated; these become hints instead of "invalid syntax".
_JUEL_SYMBOLS = {"&&": "and", "||": "or", "!": "not"}
_KEYWORD_VALUES = frozenset({"True", "False", "None"})
_IDENTIFIER_AHEAD = re.compile(r"[ \t]*([A-Za-z_]\w*)")
_EMPTY_OPERAND = re.compile(r"[ \t]*([A-Za-z_]\w*)[ \t]*(?![.\[(\w])")


def _string_end(src: str, start: int) -> int:
    """Index just past the string literal opening at ``start`` (tolerates no end)."""
    quote = src[start]
    triple = src.startswith(quote * 3, start)
    delim = quote * 3 if triple else quote
    i = start + len(delim)
    while i < len(src):
        if src[i] == "\\":
            i += 2
            continue
        if src.startswith(delim, i):
            return i + len(delim)
        if not triple and src[i] == "\n":
            return i
        i += 1
    return len(src)


def _juel_refusal(construct: str, instead: str, line: int | None) -> UnsafeCode:
    return UnsafeCode(f"Cú pháp JUEL '{construct}' chưa được hỗ trợ: {instead}.", line)


def _operand_follows(src: str, pos: int, wrapped: bool) -> bool:
    """Whether an operand starts at ``pos`` (after blanks): then a preceding ``empty`` is
    JUEL's prefix operator, which Python can never parse (``empty x``). ``empty(x)`` is a
    Python call, so it only counts inside a ``${...}`` wrapper."""
    rest = src[pos:].lstrip(" \t")
    if not rest:
        return False
    if rest[0] in "'\"" or rest[0].isdigit():
        return True
    if rest[0] == "(":
        return wrapped
    word = _IDENTIFIER_AHEAD.match(rest)
    return bool(word) and (not keyword.iskeyword(word.group(1))
                           or word.group(1) in _KEYWORD_VALUES)


def _juel_scan(src: str, wrapped: bool, translate: bool) -> tuple[str, list[SandboxError]]:
    """Rewrite or report the JUEL syntax found in ``src`` outside string literals.

    With ``translate`` (conditions): ``&&``, ``||``, ``!`` (not ``!=``) and the comparison
    words ``eq ne lt gt le ge`` become Python; inside a wrapper ``true``/``false``/``null``
    become ``True``/``False``/``None``. Without it (scripts) those are reported instead.
    Always reported: ``div``, ``mod``, ``empty``/``not empty`` and the ternary ``a ? b : c``.

    A word is read as a JUEL infix operator only right after an operand (``a eq b``) and
    ``empty`` only right before one (``empty x``): in Python two operands never follow
    each other, so a field named ``eq``, ``mod`` or ``empty`` keeps working
    (``${mod > 2}``, ``${not empty}``) and valid Python is never changed.
    """
    out: list[str] = []
    problems: list[SandboxError] = []
    reported: set[str] = set()

    def refuse(construct: str, instead: str) -> None:
        if construct not in reported:
            reported.add(construct)
            problems.append(_juel_refusal(construct, instead, line))

    prev = "start"  # what came before: start/other, operand, dot, not
    depth = 0
    line = 1
    i = 0
    n = len(src)
    while i < n:
        char = src[i]
        if char in "'\"":
            end = _string_end(src, i)
            out.append(src[i:end])
            line += src.count("\n", i, end)
            prev = "operand"
            i = end
        elif char == "#":  # a comment, to the end of the line
            end = src.find("\n", i)
            end = n if end < 0 else end
            out.append(src[i:end])
            i = end
        elif char == "\\" and src.startswith("\n", i + 1):  # explicit line continuation
            out.append("\\\n")
            line += 1
            i += 2
        elif char == "\n":
            out.append(char)
            line += 1
            if depth == 0:
                prev = "start"
            i += 1
        elif char.isspace():
            out.append(char)
            i += 1
        elif src.startswith(("&&", "||"), i) or (char == "!" and not src.startswith("!=", i)):
            symbol = src[i:i + 1] if char == "!" else src[i:i + 2]
            if translate:
                out.append(f" {_JUEL_SYMBOLS[symbol]} ")
            else:
                out.append(symbol)
                refuse(symbol, f"dùng {_JUEL_SYMBOLS[symbol]}")
            prev = "not" if char == "!" else "start"
            i += len(symbol)
        elif char == "?":
            out.append(char)
            refuse("a ? b : c", "dùng b if a else c")
            prev = "start"
            i += 1
        elif char.isalpha() or char == "_":
            end = i
            while end < n and (src[end].isalnum() or src[end] == "_"):
                end += 1
            word = src[i:end]
            if prev == "dot":  # an attribute name
                out.append(word)
                prev = "operand"
            elif wrapped and translate and word in _CAMUNDA_LITERALS:
                out.append(_CAMUNDA_LITERALS[word])
                prev = "operand"
            elif prev == "operand" and word in _JUEL_COMPARISONS:
                if translate:
                    out.append(_JUEL_COMPARISONS[word])
                else:
                    out.append(word)
                    refuse(word, f"dùng {_JUEL_COMPARISONS[word]}")
                prev = "start"
            elif prev == "operand" and word in _JUEL_ARITHMETIC:
                out.append(word)
                refuse(word, f"dùng {_JUEL_ARITHMETIC[word]}")
                prev = "start"
            elif word == "empty" and prev != "operand" and _operand_follows(src, end, wrapped):
                out.append(word)
                operand = _EMPTY_OPERAND.match(src, end)
                x = operand.group(1) if operand else "x"
                if prev == "not":
                    refuse("not empty", f"dùng {x} (hoặc len({x}) > 0)")
                else:
                    refuse("empty", f"dùng not {x} (hoặc len({x}) == 0)")
                prev = "start"
            else:
                out.append(word)
                if word == "not":
                    prev = "not"
                elif keyword.iskeyword(word) and word not in _KEYWORD_VALUES:
                    prev = "start"
                else:
                    prev = "operand"
            i = end
        elif char.isdigit() or (char == "." and src[i + 1:i + 2].isdigit()):
            end = i + 1
            while end < n and (src[end].isalnum() or src[end] in "._"):
                end += 1
            out.append(src[i:end])
            prev = "operand"
            i = end
        else:
            out.append(char)
            if char in "([{":
                depth += 1
                prev = "start"
            elif char in ")]}":
                depth = max(depth - 1, 0)
                prev = "operand"
            elif char == ".":
                prev = "dot"
            else:
                prev = "start"
            i += 1
    return "".join(out), problems


def _camunda(expr: str) -> tuple[str, list[SandboxError]]:
    """The Python text of a condition and the JUEL constructs it uses that are refused."""
    src = expr.strip()
    if len(src) > MAX_SOURCE_LENGTH:  # _parse refuses it; do not scan megabytes first
        return src, []
    match = _CAMUNDA_WRAPPER.fullmatch(src)
    wrapped = match is not None
    if match:
        src = match.group(1).strip()
    text, problems = _juel_scan(src, wrapped, translate=True)
    return text.strip(), problems


def strip_camunda(expr: str) -> str:
    """Turn a Camunda/JUEL style condition into the Python subset we evaluate.

    ``${ a == 'b' && !done }`` becomes ``a == 'b' and not done``: the ``${...}``/``#{...}``
    wrapper is removed and ``&&``, ``||``, ``!`` (not ``!=``) and the comparison words
    ``eq ne lt gt le ge`` (between two operands) are rewritten outside string literals.
    Inside a wrapper, ``true``/``false``/``null`` become ``True``/``False``/``None``.
    Plain Python passes through unchanged (these tokens are never valid Python). JUEL that
    is not translated (``div``, ``mod``, ``empty``, ``a ? b : c``) is left as is;
    :func:`check_expression` and :func:`evaluate` refuse it with the reason.
    """
    return _camunda(expr)[0]


# --------------------------------------------------------------------------- JUEL method calls

# Java/JUEL methods modelers write, with the Python to use instead ({obj}: the receiver,
# {arg}: the first argument). They are refused anyway (not allowed attributes); this only
# gives the reason and the replacement.
_JUEL_METHODS: dict[str, str] = {
    "equals": "dùng {obj} == {arg}",
    "equalsIgnoreCase": "dùng {obj}.lower() == {arg}.lower()",
    "size": "dùng len({obj})",
    "length": "dùng len({obj})",
    "isEmpty": "dùng not {obj} (hoặc len({obj}) == 0)",
    "contains": "dùng {arg} in {obj}",
    "containsKey": "dùng {arg} in {obj}",
    "toString": "dùng str({obj})",
    "toUpperCase": "dùng {obj}.upper()",
    "toLowerCase": "dùng {obj}.lower()",
    "trim": "dùng {obj}.strip()",
    "startsWith": "dùng {obj}.startswith({arg})",
    "endsWith": "dùng {obj}.endswith({arg})",
    "indexOf": "dùng {obj}.find({arg})",
    "substring": "dùng cắt chuỗi {obj}[đầu:cuối]",
    "getVariable": "dùng trực tiếp tên trường {field}",
    "getVariableLocal": "dùng trực tiếp tên trường {field}",
    "hasVariable": "chỉ đọc được các trường có trong dữ liệu: đặt {field} là trường bắt buộc "
                   "ở biểu mẫu trước đó hoặc gán giá trị mặc định",
}
_JAVA_METHOD_NAME = re.compile(r"[a-z]+[A-Z]\w*")


def _juel_method_problem(attribute: ast.Attribute, call: ast.Call | None,
                         line: int | None) -> SandboxError | None:
    """The JUEL-specific refusal of ``x.equals('y')``, ``execution.getVariable('x')``, ...
    (None when the attribute is not a Java method name)."""
    name = attribute.attr
    if name in _ALL_ATTRIBUTES or not (name in _JUEL_METHODS or _JAVA_METHOD_NAME.fullmatch(name)):
        return None
    obj = _short(ast.unparse(attribute.value), 40)
    first = call.args[0] if call is not None and call.args else None
    arg = _short(ast.unparse(first), 40) if first is not None else "..."
    field = (first.value if isinstance(first, ast.Constant) and isinstance(first.value, str)
             and first.value.isidentifier() else "đó")
    construct = _short(ast.unparse(call if call is not None else attribute), 60)
    advice = _JUEL_METHODS.get(name)
    if advice is None:
        advice = ("phương thức Java không dùng được; chỉ dùng các hàm và phương thức Python "
                  "được phép (len, min, max, sum, round, int, str, .get(...), ...)")
    return _juel_refusal(construct, advice.format(obj=obj, arg=arg, field=field), line)


# --------------------------------------------------------------------------- static checks


def _parse(src: str, mode: str) -> tuple[ast.AST | None, list[SandboxError]]:
    """Parse ``src``; parser failures (including absurd nesting) become InvalidSyntax."""
    if not isinstance(src, str):
        return None, [UnsafeCode(f"code must be text, not {type(src).__name__}")]
    if len(src) > MAX_SOURCE_LENGTH:
        return None, [UnsafeCode(f"code is too long ({len(src)} characters, "
                                 f"at most {MAX_SOURCE_LENGTH} allowed)")]
    try:
        return ast.parse(src, mode=mode), []
    except SyntaxError as err:
        return None, [InvalidSyntax(f"syntax error: {err.msg}", err.lineno)]
    except (RecursionError, MemoryError):
        return None, [UnsafeCode("code is nested too deeply")]
    except ValueError as err:  # e.g. null bytes
        return None, [InvalidSyntax(f"syntax error: {err}")]


def _check_tree(tree: ast.AST, allowed: frozenset[type]) -> list[SandboxError]:
    """Allow-list walk of the tree (iterative, so deep trees cannot overflow the stack)."""
    problems: list[SandboxError] = []
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    too_deep = False
    while stack:
        node, depth = stack.pop()
        line = getattr(node, "lineno", None)
        if depth > MAX_AST_DEPTH:
            if not too_deep:
                problems.append(UnsafeCode(
                    f"expression is nested too deeply (more than {MAX_AST_DEPTH} levels)", line))
                too_deep = True
            continue
        kind = type(node)
        if kind not in allowed:
            reason = _REFUSAL_REASONS.get(kind.__name__, f"'{kind.__name__}' is not allowed")
            problems.append(UnsafeCode(reason, line))
            continue
        found = _check_node(node, line)
        problems.extend(found)
        children: Iterable[ast.AST] = ast.iter_child_nodes(node)
        if found and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # A JUEL method call is reported once, for the call; its receiver and
            # arguments are still checked.
            children = [node.func.value, *node.args, *node.keywords]
        for child in children:
            stack.append((child, depth + 1))
    if not too_deep and isinstance(tree, ast.Module):
        problems.extend(_check_loops(tree.body, in_loop=False))
    problems.sort(key=lambda p: p.line or 0)
    return problems


def _check_node(node: ast.AST, line: int | None) -> list[SandboxError]:
    """Per-node rules that the node type alone does not capture."""
    if isinstance(node, ast.Name):
        # Names of builtins (input, type, id, open, ...) are plain task-data fields: the
        # interpreter resolves names in the data, helpers and its own functions only.
        if node.id.startswith("_"):
            return [UnsafeCode(f"the name '{node.id}' is not allowed", line)]
    elif isinstance(node, ast.Attribute):
        juel = _juel_method_problem(node, None, line)
        if juel is not None:
            return [juel]
        if node.attr.startswith("_"):
            return [UnsafeCode(f"attributes starting with '_' are not allowed ('{node.attr}')",
                               line)]
        if node.attr not in _ALL_ATTRIBUTES:
            return [UnsafeCode(f"the attribute or method '{node.attr}' is not allowed", line)]
        if isinstance(node.ctx, ast.Store):
            return [UnsafeCode("assigning to attributes is not allowed", line)]
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            return [UnsafeCode("only named functions and methods can be called", line)]
        if isinstance(node.func, ast.Name) and node.func.id in _REFUSED_CALLS \
                and not node.func.id.startswith("_"):  # '_' names: refused as names
            return [UnsafeCode(f"the function '{node.func.id}' is not allowed", line)]
        if isinstance(node.func, ast.Attribute):
            juel = _juel_method_problem(node.func, node, line)
            if juel is not None:
                return [juel]
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (type(None), bool, int, float, str)):
            return [UnsafeCode(f"literals of type {type(node.value).__name__} are not allowed",
                               line)]
    elif isinstance(node, ast.Starred) and isinstance(node.ctx, ast.Store):
        return [UnsafeCode("starred assignment ('a, *b = ...') is not allowed", line)]
    elif isinstance(node, ast.comprehension) and node.is_async:
        return [UnsafeCode("async comprehensions are not allowed", line)]
    elif isinstance(node, ast.Assign) and len(node.targets) > 1:
        return [UnsafeCode("chained assignment ('a = b = 1') is not allowed", line)]
    elif isinstance(node, (ast.Assign, ast.AugAssign, ast.For)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Subscript) and isinstance(node, ast.For):
                    return [UnsafeCode("loop variables must be plain names", line)]
    return []


def _check_loops(body: list[ast.stmt], in_loop: bool) -> list[SandboxError]:
    """``break``/``continue`` outside a loop is a compile-time error in Python too."""
    problems: list[SandboxError] = []
    for stmt in body:
        if isinstance(stmt, (ast.Break, ast.Continue)) and not in_loop:
            word = "break" if isinstance(stmt, ast.Break) else "continue"
            problems.append(UnsafeCode(f"'{word}' outside a loop", stmt.lineno))
        elif isinstance(stmt, ast.For):
            problems.extend(_check_loops(stmt.body, True))
            problems.extend(_check_loops(stmt.orelse, in_loop))
        elif isinstance(stmt, ast.If):
            problems.extend(_check_loops(stmt.body, in_loop))
            problems.extend(_check_loops(stmt.orelse, in_loop))
    return problems


def _parse_expression(src: str) -> tuple[ast.AST | None, list[SandboxError]]:
    """Translate Camunda/JUEL syntax, then parse; refused JUEL constructs are the problems
    (rather than the "invalid syntax" they would cause)."""
    if isinstance(src, str):
        src, problems = _camunda(src)
        if problems:
            return None, problems
    return _parse(src, "eval")


def _parse_script(src: str) -> tuple[ast.AST | None, list[SandboxError]]:
    """Parse a script; if it is not Python because of JUEL syntax, say so instead."""
    tree, problems = _parse(src, "exec")
    if tree is None and isinstance(src, str) and len(src) <= MAX_SOURCE_LENGTH and all(
            isinstance(p, InvalidSyntax) for p in problems):
        problems = _juel_scan(src, wrapped=False, translate=False)[1] or problems
    return tree, problems


def check_expression(src: str) -> list[SandboxError]:
    """All static problems of a condition/expression (Camunda ``${...}`` accepted)."""
    tree, problems = _parse_expression(src)
    return problems if tree is None else _check_tree(tree, _EXPRESSION_NODES)


def check_script(src: str) -> list[SandboxError]:
    """All static problems of a script task's code; empty list when it may run."""
    tree, problems = _parse_script(src)
    return problems if tree is None else _check_tree(tree, _SCRIPT_NODES)


def _checked_tree(src: str, mode: str) -> ast.AST:
    """Parse and check, raising the first problem (used before running anything)."""
    tree, problems = _parse_expression(src) if mode == "eval" else _parse_script(src)
    if tree is not None:
        problems = _check_tree(tree, _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES)
    if problems:
        raise problems[0]
    assert tree is not None
    return tree


# --------------------------------------------------------------------------- size helpers


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _walk(value: Any, limit: int) -> tuple[int, int]:
    """Logical element count and nesting depth of ``value``, stopping early.

    Shared sub-structures are counted every time they occur (no memo), because that is what
    ``==``, ``hash`` and JSON do. Stops as soon as the count exceeds ``limit`` or the depth
    exceeds ``MAX_VALUE_DEPTH`` (hashing a very deep tuple overflows the C stack), so the
    cost is O(min(size, limit)).
    """
    total = 0
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, _CONTAINERS):
            continue
        total += 1 + len(item)
        deepest = max(deepest, depth)
        if total > limit or deepest > MAX_VALUE_DEPTH:
            break
        members = item.values() if isinstance(item, dict) else item
        stack.extend([(m, depth + 1) for m in members if isinstance(m, _CONTAINERS)])
        if isinstance(item, dict):
            stack.extend([(k, depth + 1) for k in item if isinstance(k, tuple)])
    return total, deepest


def _text_size(value: Any, limit: int) -> int:
    """Estimated length of ``str(value)``, stopping as soon as it exceeds ``limit``."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _CONTAINERS):
            total += 2 + 2 * len(item)
            if total > limit:
                return total
            stack.extend(item.keys() if isinstance(item, dict) else item)
            if isinstance(item, dict):
                stack.extend(item.values())
            continue
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() * 31 // 100 + 2
        else:
            total += 40
        if total > limit:
            return total
    return total


def data_bytes(value: Any, limit: int) -> int:
    """Bytes of the JSON text of ``value``, stopping as soon as they exceed ``limit``.

    Shared references are counted every time they are reachable (no memo): that is what the
    stored state costs. The cost is O(min(size, limit)) whatever the logical size.
    """
    return _measure(value, limit)[0]


def _measure(value: Any, limit: int) -> tuple[int, int]:
    """``data_bytes`` and the number of items walked to find it (what the walk cost)."""
    total = walked = 0
    stack = [value]
    while stack:
        item = stack.pop()
        walked += 1
        if isinstance(item, str):
            total += (len(item) if item.isascii() else len(item.encode("utf-8", "surrogatepass"))) + 3
        elif isinstance(item, dict):
            total += 2 + len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() * 31 // 100 + 2
        else:  # floats, decimals, dates: their stored form is short
            total += 32
        if total > limit:
            break
    return total, walked


def _check_format_spec(spec: str) -> None:
    """Refuse format widths/precisions that would build huge strings."""
    if len(spec) > 200:
        raise LimitExceeded("format specification is too long")
    for number in re.findall(r"\d+", spec):
        if len(number) > 6 or int(number) > MAX_FORMAT_WIDTH:
            raise LimitExceeded(f"format width {number} is too large "
                                f"(at most {MAX_FORMAT_WIDTH})")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(template: str) -> None:
    """Same guard for ``'%5d' % x`` style formatting; ``*`` widths are refused."""
    for width, precision in _PERCENT_SPEC.findall(template):
        for number in (width, precision):
            if number == "*":
                raise LimitExceeded("'*' widths in % formatting are not allowed")
            if number and (len(number) > 6 or int(number) > MAX_FORMAT_WIDTH):
                raise LimitExceeded(f"format width {number} is too large "
                                    f"(at most {MAX_FORMAT_WIDTH})")


def _length_hint(value: Any) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


# --------------------------------------------------------------------------- interpreter


class _Interpreter:
    """Walks a checked AST with an operation budget; one instance per call (thread-safe)."""

    def __init__(self, names: dict[str, Any], helpers: Mapping[str, Any], read_only: bool):
        self.scopes: list[dict[str, Any]] = [names]
        self.helpers = helpers
        self.read_only = read_only
        self.ops = 0
        self.line: int | None = None
        self.assigned: set[str] = set()
        # Keep in step with _FUNCTION_NAMES.
        self.functions: dict[str, Callable[..., Any]] = {
            "len": len, "abs": abs, "bool": bool, "float": float, "int": self._fn_int,
            "str": self._fn_str, "round": self._fn_round, "min": self._bulk(min),
            "max": self._bulk(max), "sum": self._fn_sum, "any": self._bulk(any),
            "all": self._bulk(all), "sorted": self._bulk(sorted), "list": self._bulk(list),
            "tuple": self._bulk(tuple), "set": self._bulk(set), "dict": self._bulk(dict),
            "range": self._fn_range, "enumerate": self._listing(enumerate),
            "zip": self._listing(zip), "reversed": self._listing(reversed),
            "print": self._fn_print, "date": date, "datetime": datetime,
            "timedelta": timedelta,
        }

    # ----------------------------------------------------------------- budget and guards

    def charge(self, amount: int = 1) -> None:
        self.ops += amount
        if self.ops > MAX_OPERATIONS:
            raise LimitExceeded(f"operation budget exhausted ({MAX_OPERATIONS} steps); "
                                "the code does too much work")

    def guard(self, value: Any, grown: bool = False) -> Any:
        """Check a freshly produced value against the size limits and charge for its size.
        ``grown``: a container that one item was just added to; its bytes are recounted only when
        its length reaches a power of two, so a loop of appends stays linear (the stored result
        is counted exactly in ``execute``)."""
        if isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > MAX_INT_BITS:
                raise LimitExceeded(f"number too large (more than {MAX_INT_BITS} bits)")
        elif isinstance(value, str):
            if len(value) > MAX_STRING_LENGTH:
                raise LimitExceeded(f"text too long (more than {MAX_STRING_LENGTH} characters)")
            self.charge(len(value) // SIZE_PER_OPERATION)
        elif isinstance(value, _SIZED_RESULTS):
            if len(value) > MAX_COLLECTION_LENGTH:
                raise LimitExceeded(f"collection too large (more than "
                                    f"{MAX_COLLECTION_LENGTH} elements)")
            self.charge(len(value) // SIZE_PER_OPERATION)
            n = len(value)
            if not grown or n & (n - 1) == 0:
                self.check_bytes(value)
        return value

    def check_bytes(self, value: Any) -> None:
        """Refuse a value whose stored text would exceed MAX_VALUE_BYTES; the count costs operations."""
        size, walked = _measure(value, MAX_VALUE_BYTES)
        if size > MAX_VALUE_BYTES:
            raise LimitExceeded(f"value too large to keep (more than {MAX_VALUE_BYTES:,} bytes once "
                                "stored; repeated references count each time)")
        self.charge(walked // TRAVERSAL_PER_OPERATION)

    def traverse(self, *values: Any) -> None:
        """Bound the work of operations that walk nested values (==, hash, sort, ...)."""
        for value in values:
            if isinstance(value, _CONTAINERS):
                size, depth = _walk(value, MAX_TRAVERSAL)
                if size > MAX_TRAVERSAL:
                    raise LimitExceeded("value too large or too deeply shared to compare, "
                                        "hash or sort")
                if depth > MAX_VALUE_DEPTH:
                    raise LimitExceeded(f"value nested too deeply (more than "
                                        f"{MAX_VALUE_DEPTH} levels)")
                self.charge(size // TRAVERSAL_PER_OPERATION)

    def stringify_guard(self, value: Any) -> None:
        """Refuse ``str()`` of values whose text would be too long, before building it."""
        if isinstance(value, str):
            return
        size = _text_size(value, MAX_STRING_LENGTH)
        if size > MAX_STRING_LENGTH:
            raise LimitExceeded(f"text too long (more than {MAX_STRING_LENGTH} characters)")
        self.charge(size // SIZE_PER_OPERATION)

    def iterate(self, iterable: Any) -> Iterable[Any]:
        """Iterate any bounded iterable, charging one operation per element."""
        if isinstance(iterable, (int, float)) or iterable is None:
            raise ScriptError(f"cannot loop over a value of type {type(iterable).__name__}")
        for item in iterable:
            self.charge()
            yield item

    def materialize(self, iterable: Any) -> list[Any]:
        items: list[Any] = []
        for item in self.iterate(iterable):
            items.append(item)
            if len(items) > MAX_COLLECTION_LENGTH:
                raise LimitExceeded(f"collection too large (more than "
                                    f"{MAX_COLLECTION_LENGTH} elements)")
        return items

    # ----------------------------------------------------------------- built-in functions

    def _bulk(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a builtin that walks its arguments in C: bound and charge that walk first."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            args = tuple(self._bounded_arg(a) for a in args)
            self.traverse(*args, *kwargs.values())
            return func(*args, **kwargs)

        wrapper.__name__ = func.__name__
        return wrapper

    def _listing(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """enumerate/zip/reversed, returned as lists so no lazy iterator leaks out."""

        def wrapper(*args: Any, **kwargs: Any) -> list[Any]:
            args = tuple(self._bounded_arg(a) for a in args)
            return self.materialize(func(*args, **kwargs))

        wrapper.__name__ = func.__name__
        return wrapper

    def _bounded_arg(self, value: Any) -> Any:
        """Turn unknown iterables (e.g. from helpers) into checked lists."""
        if isinstance(value, (str, range, *_CONTAINERS, int, float, Decimal, date, time,
                              timedelta)) or value is None or callable(value):
            return value
        if isinstance(value, Iterable):
            return self.materialize(value)
        return value

    def _fn_int(self, *args: Any) -> int:
        return self.guard(int(*args))

    def _fn_str(self, *args: Any) -> str:
        if args:
            self.stringify_guard(args[0])
        return self.guard(str(*args))

    def _fn_round(self, number: Any, ndigits: int | None = None) -> Any:
        if isinstance(ndigits, int) and abs(ndigits) > 400:
            raise LimitExceeded("round() precision too large")
        return round(number) if ndigits is None else round(number, ndigits)

    def _fn_sum(self, iterable: Any, start: Any = 0) -> Any:
        # A list/str start would turn sum() into quadratic concatenation.
        if not isinstance(start, (int, float, Decimal, timedelta)):
            raise ScriptError("sum() only adds numbers or durations")
        items = self._bounded_arg(iterable)
        self.traverse(items)
        self.charge(_length_hint(items) or 0)
        return self.guard(sum(items, start))

    def _fn_range(self, *args: Any) -> range:
        result = range(*args)
        if len(result) > MAX_RANGE_LENGTH:
            raise LimitExceeded(f"range too large ({len(result)} elements, "
                                f"at most {MAX_RANGE_LENGTH})")
        return result

    @staticmethod
    def _fn_print(*args: Any, **kwargs: Any) -> None:
        """No-op so scripts copied from examples do not fail; output goes nowhere."""
        return None

    # ----------------------------------------------------------------- evaluation

    def eval(self, node: ast.AST) -> Any:
        self.charge()
        method = getattr(self, "_ev_" + type(node).__name__, None)
        if method is None:  # pragma: no cover - the static check prevents this
            raise UnsafeCode(f"'{type(node).__name__}' is not allowed")
        return method(node)

    def _ev_Expression(self, node: ast.Expression) -> Any:
        return self.eval(node.body)

    def _ev_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _ev_Name(self, node: ast.Name) -> Any:
        name = node.id
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.helpers:
            return self.helpers[name]
        if name in self.functions:
            return self.functions[name]
        raise ScriptError(f"unknown name '{name}'")

    def _ev_BoolOp(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.eval(operand)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def _ev_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(node.op, ast.USub):
            return self.guard(-value)
        if isinstance(node.op, ast.UAdd):
            return self.guard(+value)
        return self.guard(~value)

    def _ev_BinOp(self, node: ast.BinOp) -> Any:
        return self.binop(type(node.op), self.eval(node.left), self.eval(node.right))

    def binop(self, op: type, left: Any, right: Any, inplace: bool = False) -> Any:
        """Apply an arithmetic operator after checking the result cannot be huge."""
        self.precheck_binop(op, left, right)
        func = _INPLACE_BINOPS[op] if inplace else _BINOPS[op]
        return self.guard(func(left, right))

    def precheck_binop(self, op: type, left: Any, right: Any) -> None:
        ints = (isinstance(left, int) and isinstance(right, int))
        if op is ast.Pow and ints and right > 0 and abs(left) > 1:
            if right * math.log2(abs(left)) > MAX_INT_BITS:
                raise LimitExceeded(f"number too large (more than {MAX_INT_BITS} bits)")
        elif op is ast.Pow and isinstance(right, Decimal | int) and isinstance(left, Decimal):
            if abs(right) > 10_000:
                raise LimitExceeded("exponent too large")
        elif op is ast.Mult:
            if ints:
                if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                    raise LimitExceeded(f"number too large (more than {MAX_INT_BITS} bits)")
                return
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(count, int):
                    limit = MAX_STRING_LENGTH if isinstance(seq, str) else MAX_COLLECTION_LENGTH
                    if count > 0 and len(seq) * count > limit:
                        kind = "text" if isinstance(seq, str) else "collection"
                        unit = "characters" if isinstance(seq, str) else "elements"
                        raise LimitExceeded(f"{kind} too large: {len(seq)} x {count} "
                                            f"{unit} (at most {limit})")
        elif op is ast.LShift and ints and right > 0 and left != 0:
            if left.bit_length() + right > MAX_INT_BITS:
                raise LimitExceeded(f"number too large (more than {MAX_INT_BITS} bits)")
        elif op is ast.Add:
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                limit = MAX_STRING_LENGTH if isinstance(left, str) else MAX_COLLECTION_LENGTH
                if len(left) + len(right) > limit:
                    raise LimitExceeded(f"result too large (more than {limit} elements)")
        elif op is ast.Mod and isinstance(left, str):
            _check_percent_format(left)
            self.stringify_guard(right)

    def _ev_Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.eval(comparator)
            if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (dict, set, frozenset)):
                self.traverse(left)  # a hash lookup: only the key is walked
            elif not isinstance(op, (ast.Is, ast.IsNot)):
                self.traverse(left, right)
            if not self.compare(op, left, right):
                return False
            left = right
        return True

    @staticmethod
    def compare(op: ast.cmpop, left: Any, right: Any) -> bool:
        if isinstance(op, ast.Eq):
            return bool(left == right)
        if isinstance(op, ast.NotEq):
            return bool(left != right)
        if isinstance(op, ast.Lt):
            return bool(left < right)
        if isinstance(op, ast.LtE):
            return bool(left <= right)
        if isinstance(op, ast.Gt):
            return bool(left > right)
        if isinstance(op, ast.GtE):
            return bool(left >= right)
        if isinstance(op, ast.Is):
            return left is right
        if isinstance(op, ast.IsNot):
            return left is not right
        if isinstance(op, ast.In):
            return left in right
        return left not in right

    def _ev_IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    # ----------------------------------------------------------------- displays

    def _elements(self, nodes: list[ast.expr]) -> list[Any]:
        items: list[Any] = []
        for element in nodes:
            if isinstance(element, ast.Starred):
                items.extend(self.materialize(self.eval(element.value)))
            else:
                items.append(self.eval(element))
            if len(items) > MAX_COLLECTION_LENGTH:
                raise LimitExceeded(f"collection too large (more than "
                                    f"{MAX_COLLECTION_LENGTH} elements)")
        return items

    def _ev_List(self, node: ast.List) -> list[Any]:
        return self.guard(self._elements(node.elts))

    def _ev_Tuple(self, node: ast.Tuple) -> tuple[Any, ...]:
        return self.guard(tuple(self._elements(node.elts)))

    def _ev_Set(self, node: ast.Set) -> set[Any]:
        items = self._elements(node.elts)
        self.traverse(*items)
        return self.guard(set(items))

    def _ev_Dict(self, node: ast.Dict) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is None:
                other = self.eval(value_node)
                if not isinstance(other, Mapping):
                    raise ScriptError("'**' needs a dictionary")
                self.traverse(other)
                result.update(other)
            else:
                key = self.eval(key_node)
                self.traverse(key)
                result[key] = self.eval(value_node)
            self.guard(result, grown=True)
        return self.guard(result)

    # ----------------------------------------------------------------- comprehensions

    def _comprehension(self, generators: list[ast.comprehension], emit: Callable[[], None]) -> None:
        """Run nested generators in a private scope (names do not leak, as in Python 3)."""
        self.scopes.append({})
        try:
            self._generate(generators, 0, emit)
        finally:
            self.scopes.pop()

    def _generate(self, generators: list[ast.comprehension], index: int,
                  emit: Callable[[], None]) -> None:
        if index == len(generators):
            emit()
            return
        gen = generators[index]
        for item in self.iterate(self.eval(gen.iter)):
            self.assign(gen.target, item, comprehension=True)
            if all(self.eval(cond) for cond in gen.ifs):
                self._generate(generators, index + 1, emit)

    def _collect(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> list[Any]:
        items: list[Any] = []

        def emit() -> None:
            items.append(self.eval(node.elt))
            if len(items) > MAX_COLLECTION_LENGTH:
                raise LimitExceeded(f"collection too large (more than "
                                    f"{MAX_COLLECTION_LENGTH} elements)")

        self._comprehension(node.generators, emit)
        return items

    def _ev_ListComp(self, node: ast.ListComp) -> list[Any]:
        return self.guard(self._collect(node))

    def _ev_GeneratorExp(self, node: ast.GeneratorExp) -> list[Any]:
        # Evaluated eagerly: a lazy generator would escape the budget accounting.
        return self.guard(self._collect(node))

    def _ev_SetComp(self, node: ast.SetComp) -> set[Any]:
        items = self._collect(node)
        self.traverse(*items)
        return self.guard(set(items))

    def _ev_DictComp(self, node: ast.DictComp) -> dict[Any, Any]:
        result: dict[Any, Any] = {}

        def emit() -> None:
            key = self.eval(node.key)
            self.traverse(key)
            result[key] = self.eval(node.value)
            if len(result) > MAX_COLLECTION_LENGTH:
                raise LimitExceeded(f"collection too large (more than "
                                    f"{MAX_COLLECTION_LENGTH} elements)")

        self._comprehension(node.generators, emit)
        return self.guard(result)

    # ----------------------------------------------------------------- strings

    def _ev_JoinedStr(self, node: ast.JoinedStr) -> str:
        parts: list[str] = []
        total = 0
        for value in node.values:
            part = self.eval(value)
            total += len(part)
            if total > MAX_STRING_LENGTH:
                raise LimitExceeded(f"text too long (more than {MAX_STRING_LENGTH} characters)")
            parts.append(part)
        return self.guard("".join(parts))

    def _ev_FormattedValue(self, node: ast.FormattedValue) -> str:
        value = self.eval(node.value)
        spec = self.eval(node.format_spec) if node.format_spec is not None else ""
        _check_format_spec(spec)
        self.stringify_guard(value)
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion == ord("s"):
            value = str(value)
        elif node.conversion == ord("a"):
            value = ascii(value)
        return self.guard(format(value, spec))

    # ----------------------------------------------------------------- access

    def _ev_Subscript(self, node: ast.Subscript) -> Any:
        container = self.eval(node.value)
        self._check_subscriptable(container)
        if isinstance(node.slice, ast.Slice):
            return self.guard(container[self._slice(node.slice)])
        key = self.eval(node.slice)
        self.traverse(key)
        try:
            return container[key]
        except KeyError:
            raise ScriptError(f"key {_short(repr(key), 80)} not found") from None
        except IndexError:
            raise ScriptError(f"index {_short(repr(key), 80)} out of range") from None

    def _ev_Slice(self, node: ast.Slice) -> slice:  # only reached via _slice
        return self._slice(node)

    def _slice(self, node: ast.Slice) -> slice:
        parts = [None if part is None else self.eval(part)
                 for part in (node.lower, node.upper, node.step)]
        return slice(*parts)

    @staticmethod
    def _check_subscriptable(container: Any) -> None:
        if not isinstance(container, (Mapping, Sequence, range)):
            raise ScriptError(f"a value of type {type(container).__name__} "
                              "cannot be indexed")

    def _ev_Attribute(self, node: ast.Attribute) -> Any:
        obj = self.eval(node.value)
        for kind, names in _DATA_ATTRIBUTES:
            if isinstance(obj, kind) and node.attr in names:
                return getattr(obj, node.attr)
        raise ScriptError(f"'{node.attr}' is not a readable attribute of a "
                          f"{type(obj).__name__} value (methods must be called)")

    # ----------------------------------------------------------------- calls

    def _call_arguments(self, node: ast.Call) -> tuple[list[Any], dict[str, Any]]:
        args = self._elements(node.args)
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            value = self.eval(keyword.value)
            if keyword.arg is None:
                if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                    raise ScriptError("'**' in a call needs a dictionary with text keys")
                kwargs.update(value)
            else:
                kwargs[keyword.arg] = value
        return args, kwargs

    def _ev_Call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute):
            return self._call_method(func, node)
        assert isinstance(func, ast.Name)
        name = func.id
        helper = self.helpers.get(name)
        if callable(helper):
            args, kwargs = self._call_arguments(node)
            self.traverse(*args, *kwargs.values())
            return self.guard(helper(*args, **kwargs))
        if name.startswith("_") or name in _REFUSED_CALLS:  # the static check refuses it too
            raise UnsafeCode(f"the function '{name}' is not allowed")
        if any(name in scope for scope in self.scopes):
            # As in Python, a field shadows the function of the same name; data is never
            # called (it could only be plain values anyway).
            raise ScriptError(f"'{name}' is a field of the task data here, not a function")
        function = self.functions.get(name)
        if function is None:
            raise ScriptError(f"unknown function '{name}'")
        args, kwargs = self._call_arguments(node)
        return self.guard(function(*args, **kwargs))

    def _call_method(self, func: ast.Attribute, node: ast.Call) -> Any:
        obj = self.eval(func.value)
        name = func.attr
        if not any(isinstance(obj, kind) and name in names for kind, names in _METHODS):
            raise ScriptError(f"'{name}' is not an allowed method of a "
                              f"{type(obj).__name__} value")
        if self.read_only and name in _MUTATING_METHODS and isinstance(
                obj, (list, dict, set)):
            raise ScriptError(f"'{name}' would change data; conditions and expressions "
                              "must not modify data")
        args, kwargs = self._call_arguments(node)
        self._precheck_method(obj, name, args, kwargs)
        result = getattr(obj, name)(*args, **kwargs)
        if name in _MUTATING_METHODS:
            for added in (*args, *kwargs.values()):  # what went in counts in full, once
                if isinstance(added, _CONTAINERS):
                    self.check_bytes(added)
            self.guard(obj, grown=True)
        return self.guard(result)

    def _precheck_method(self, obj: Any, name: str, args: list[Any],
                         kwargs: dict[str, Any]) -> None:
        """Bound what a C-level method could build or walk, before calling it."""
        self.traverse(*args, *kwargs.values())
        if isinstance(obj, str):
            if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(
                    args[0], int) and args[0] > MAX_STRING_LENGTH:
                raise LimitExceeded(f"text too long (more than {MAX_STRING_LENGTH} characters)")
            if name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
                old, new = args[0], args[1]
                hits = obj.count(old) if old else len(obj) + 1
                if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                    hits = min(hits, args[2])
                if len(obj) + hits * (len(new) - len(old)) > MAX_STRING_LENGTH:
                    raise LimitExceeded(f"text too long (more than "
                                        f"{MAX_STRING_LENGTH} characters)")
            if name == "join" and args:
                items = self.materialize(args[0])
                args[0] = items
                size = sum(len(i) for i in items if isinstance(i, str))
                size += len(obj) * max(len(items) - 1, 0)
                if size > MAX_STRING_LENGTH:
                    raise LimitExceeded(f"text too long (more than "
                                        f"{MAX_STRING_LENGTH} characters)")
        elif isinstance(obj, (date, time)) and name == "strftime":
            if args and isinstance(args[0], str):
                _check_format_spec(args[0])
        elif isinstance(obj, list):
            if name in ("index", "count", "remove", "sort"):
                self.traverse(obj)
            if name in ("append", "insert") and len(obj) >= MAX_COLLECTION_LENGTH:
                raise LimitExceeded(f"collection too large (more than "
                                    f"{MAX_COLLECTION_LENGTH} elements)")
            if name == "extend" and args:
                args[0] = self.materialize(args[0])
                if len(obj) + len(args[0]) > MAX_COLLECTION_LENGTH:
                    raise LimitExceeded(f"collection too large (more than "
                                        f"{MAX_COLLECTION_LENGTH} elements)")
        elif isinstance(obj, tuple) and name in ("index", "count"):
            self.traverse(obj)

    # ----------------------------------------------------------------- statements

    def run(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.line = statement.lineno
            self.charge()
            getattr(self, "_st_" + type(statement).__name__)(statement)

    def _st_Expr(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def _st_Pass(self, node: ast.Pass) -> None:
        return None

    def _st_Break(self, node: ast.Break) -> NoReturn:
        raise _Break()

    def _st_Continue(self, node: ast.Continue) -> NoReturn:
        raise _Continue()

    def _st_If(self, node: ast.If) -> None:
        self.run(node.body if self.eval(node.test) else node.orelse)

    def _st_For(self, node: ast.For) -> None:
        iterable = self.eval(node.iter)
        if isinstance(iterable, (list, dict, set)):
            iterable = list(iterable)  # a snapshot: appending while looping cannot loop forever
            self.charge(len(iterable) // SIZE_PER_OPERATION)
        for item in self.iterate(iterable):
            self.assign(node.target, item)
            try:
                self.run(node.body)
            except _Break:
                return
            except _Continue:
                continue
        self.run(node.orelse)

    def _st_Assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        self.assign(node.targets[0], value)

    def _st_AugAssign(self, node: ast.AugAssign) -> None:
        op = type(node.op)
        target = node.target
        if isinstance(target, ast.Name):
            current = self._ev_Name(ast.Name(id=target.id, ctx=ast.Load()))
            self.assign(target, self.binop(op, current, self.eval(node.value), inplace=True))
            return
        assert isinstance(target, ast.Subscript)
        container = self.eval(target.value)
        key = self._slice(target.slice) if isinstance(target.slice, ast.Slice) \
            else self.eval(target.slice)
        value = self.eval(node.value)
        self._store_item(container, key, self.binop(op, container[key], value, inplace=True))

    def assign(self, target: ast.expr, value: Any, comprehension: bool = False) -> None:
        """Bind ``value`` to a Name, a Tuple/List of targets, or a subscript."""
        if isinstance(target, ast.Name):
            scope = self.scopes[-1]
            scope[target.id] = value
            if not comprehension:
                self.assigned.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.materialize(value)
            if len(items) != len(target.elts):
                raise ScriptError(f"cannot unpack {len(items)} values into "
                                  f"{len(target.elts)} names")
            for sub_target, item in zip(target.elts, items):
                self.assign(sub_target, item, comprehension)
        elif isinstance(target, ast.Subscript):
            container = self.eval(target.value)
            key = self._slice(target.slice) if isinstance(target.slice, ast.Slice) \
                else self.eval(target.slice)
            self._store_item(container, key, value)
        else:  # pragma: no cover - the static check prevents this
            raise UnsafeCode(f"cannot assign to '{type(target).__name__}'")

    def _store_item(self, container: Any, key: Any, value: Any) -> None:
        if not isinstance(container, (dict, list)):
            raise ScriptError(f"cannot set items of a {type(container).__name__} value")
        self.traverse(key)
        try:
            container[key] = value
        except IndexError:
            raise ScriptError(f"index {_short(repr(key), 80)} out of range") from None
        self.guard(container, grown=True)


# --------------------------------------------------------------------------- entry points


def _plain_message(err: BaseException) -> str:
    """Short, plain-words description of a Python error raised by user code."""
    if isinstance(err, ZeroDivisionError):
        return "division by zero"
    if isinstance(err, OverflowError):
        return "number too large"
    if isinstance(err, KeyError):
        return f"key {_short(repr(err.args[0]) if err.args else '?', 80)} not found"
    if isinstance(err, IndexError):
        return "index out of range"
    if isinstance(err, RecursionError):
        return "data nested too deeply"
    detail = _short(str(err))
    labels = {TypeError: "wrong type", ValueError: "invalid value",
              AttributeError: "attribute error", RuntimeError: "runtime error"}
    for kind, label in labels.items():
        if isinstance(err, kind):
            return f"{label}: {detail}"
    return f"{type(err).__name__}: {detail}"


def _run_guarded(interpreter: _Interpreter, action: Callable[[], Any]) -> Any:
    """Run ``action`` and turn every failure into a SandboxError carrying the line."""
    try:
        return action()
    except SandboxError as err:
        if err.line is None:
            err.line = interpreter.line
        raise
    except RecursionError:
        raise LimitExceeded("code or data nested too deeply", interpreter.line) from None
    except MemoryError:
        raise LimitExceeded("out of memory", interpreter.line) from None
    except Exception as err:  # user code failed: report in plain words
        raise ScriptError(_plain_message(err), interpreter.line) from err


def _check_storable(name: str, value: Any) -> None:
    """Refuse values that could not be saved as task data (functions, iterators, ...)."""
    size, depth = _walk(value, MAX_TRAVERSAL)
    if size > MAX_TRAVERSAL:
        raise LimitExceeded(f"'{name}' is too large to store")
    if depth > MAX_VALUE_DEPTH:
        raise LimitExceeded(f"'{name}' is nested too deeply to store "
                            f"(more than {MAX_VALUE_DEPTH} levels)")
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(item.keys())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif not isinstance(item, _STORABLE_SCALARS):
            hint = " (wrap it in list(...))" if isinstance(item, (range, Iterable)) else ""
            raise ScriptError(f"'{name}' holds a value of type {type(item).__name__} "
                              f"that cannot be stored{hint}")


def evaluate(expr: str, context: Mapping[str, Any],
             helpers: Mapping[str, Any] | None = None) -> Any:
    """Evaluate a condition/expression against task data; never modifies ``context``.

    Camunda ``${...}`` syntax is accepted. Raises UnsafeCode before running anything,
    LimitExceeded or ScriptError while running.
    """
    tree = _checked_tree(expr, "eval")
    names = context if isinstance(context, dict) else dict(context)
    interpreter = _Interpreter(names, helpers or {}, read_only=True)
    interpreter.line = 1
    return _run_guarded(interpreter, lambda: interpreter.eval(tree))


def execute(script: str, context: dict[str, Any],
            helpers: Mapping[str, Any] | None = None) -> None:
    """Run a script task's code; on success its assignments are written into ``context``.

    The script runs on a deep copy so a failing script leaves the task data untouched (a
    retried incident starts from the same data). Values stored must be plain data.
    """
    tree = _checked_tree(script, "exec")
    assert isinstance(tree, ast.Module)
    working = copy.deepcopy(context)
    interpreter = _Interpreter(working, helpers or {}, read_only=False)

    def run() -> None:
        interpreter.run(tree.body)
        interpreter.line = None  # storability is a property of the result, not a line
        stored = 0
        for name, value in working.items():
            if name in interpreter.assigned or isinstance(value, _CONTAINERS):
                _check_storable(name, value)
                stored += data_bytes(value, MAX_DATA_BYTES)
                if stored > MAX_DATA_BYTES:
                    raise LimitExceeded(f"'{name}' takes the data the script stores past "
                                        f"{MAX_DATA_BYTES:,} bytes (repeated references count each time)")

    _run_guarded(interpreter, run)
    context.update(working)
