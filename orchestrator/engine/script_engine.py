"""SpiffWorkflow script engine that runs every condition, script and timer in the sandbox.

SpiffWorkflow's default ``TaskDataEnvironment`` calls ``eval``/``exec`` with full builtins,
so any uploaded diagram could run arbitrary Python. :class:`RestrictedEnvironment` routes
``evaluate``/``execute`` through :mod:`orchestrator.engine.sandbox` instead, and
:class:`RestrictedScriptEngine` keeps the original :class:`SandboxError` reachable when
SpiffWorkflow wraps it.

How a caller detects a sandbox violation raised while the workflow runs
----------------------------------------------------------------------
Errors from gateway conditions, script tasks, timers and other task-bound expressions
surface from ``do_engine_steps()``/``task.run()``/``refresh_waiting_tasks()`` as
:class:`SandboxTaskException`, a subclass of SpiffWorkflow's ``WorkflowTaskException``
(so existing ``except WorkflowTaskException`` handlers still work). Its attributes:

* ``exc.sandbox_error`` -- the original :class:`SandboxError` (``UnsafeCode``,
  ``LimitExceeded`` or ``ScriptError``), also set as ``exc.__cause__``;
* ``exc.task``, ``exc.line_number``, ``exc.error_line`` -- where it happened.

Expressions SpiffWorkflow evaluates without a task (process completion conditions,
message correlation) call the environment directly and raise the bare SandboxError.
Use :func:`find_sandbox_error` to handle both cases (it also follows ``__cause__`` /
``__context__`` chains, e.g. when another layer re-wraps the exception).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import sandbox
from .sandbox import SandboxError, ScriptError

__all__ = [
    "RestrictedEnvironment",
    "RestrictedScriptEngine",
    "SandboxTaskException",
    "find_sandbox_error",
    "iso8601_literal",
    "make_script_engine",
]

# ISO 8601 building blocks, as BPMN modelers write timer definitions (without quotes).
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = (
    rf"P(?=[\dT])(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?"
)
_TIME = r"\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
_DATETIME = rf"\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]{_TIME})?|\d{{4}}-?W\d{{2}}-?\d(?:T{_TIME})?"
_ISO_LITERAL = re.compile(
    rf"(?:{_DURATION}|{_DATETIME}|R\d*/(?:{_DURATION}|{_DATETIME})(?:/(?:{_DURATION}|{_DATETIME}))?)",
    re.IGNORECASE,
)


def iso8601_literal(expression: str, names: Mapping[str, Any] | None = None) -> str | None:
    """Return the stripped text if ``expression`` is a bare ISO 8601 timer value, else None.

    Modelers write ``PT15M``, ``P3D``, ``2026-12-01T08:00:00+07:00`` or ``R3/PT1H`` in timer
    definitions; as Python these are unknown names or arithmetic (``2026-12-11`` is 2003),
    so they are recognised before evaluation. A name that exists in the data wins.
    """
    if not isinstance(expression, str):
        return None
    text = expression.strip()
    if not _ISO_LITERAL.fullmatch(text):
        return None
    if names is not None and text in names:
        return None
    return text


_NAIVE_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)$")


def with_local_offset(value: str) -> str:
    """A date-time written without an offset means Vietnamese time, not the server's zone."""
    parts = value.split("/")
    return "/".join(p + "+07:00" if _NAIVE_DATETIME.match(p) else p for p in parts)


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Script environment backed by the sandbox instead of ``eval``/``exec``.

    ``helpers`` (trusted project functions such as working-day arithmetic, or constants)
    are callable/readable by name. SpiffWorkflow's ``external_context`` (data objects) is
    merged in as read-only names; configured helpers win on a name clash so diagram data
    can never replace a project function.
    """

    def __init__(self, helpers: Mapping[str, Any] | None = None,
                 service_handler: Callable[..., Any] | None = None) -> None:
        super().__init__(environment_globals=dict(helpers or {}))
        self.service_handler = service_handler

    def _helpers(self, external_context: Mapping[str, Any] | None) -> dict[str, Any]:
        merged = dict(external_context or {})
        merged.update(self.globals)
        return merged

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        """Evaluate a condition/expression; bare ISO 8601 timer values come back as text."""
        helpers = self._helpers(external_context)
        literal = iso8601_literal(expression, {**helpers, **context})
        if literal is not None:
            return with_local_offset(literal)
        return sandbox.evaluate(expression, context, helpers)

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        """Run a script task; returns True like ``TaskDataEnvironment`` (task completes)."""
        sandbox.execute(script or "", context, self._helpers(external_context))
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        """Service tasks call the configured handler; none configured is an error."""
        if self.service_handler is None:
            raise ScriptError("service tasks are not supported by this engine")
        return self.service_handler(context, **kwargs)


class SandboxTaskException(WorkflowTaskException):
    """A WorkflowTaskException caused by the sandbox; ``sandbox_error`` holds the cause."""

    def __init__(self, message: str, task: Any, sandbox_error: SandboxError,
                 line_number: int | None = None, error_line: str | None = None) -> None:
        super().__init__(message, task=task, exception=sandbox_error,
                         line_number=line_number, error_line=error_line)
        self.sandbox_error = sandbox_error


def find_sandbox_error(exc: BaseException | None) -> SandboxError | None:
    """The SandboxError behind ``exc`` (itself, ``.sandbox_error`` or the cause chain)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, SandboxError):
            return exc
        inner = getattr(exc, "sandbox_error", None)
        if isinstance(inner, SandboxError):
            return inner
        exc = exc.__cause__ or exc.__context__
    return None


class RestrictedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose errors keep the SandboxError (see module docstring)."""

    environment: RestrictedEnvironment

    def validate(self, expression: str) -> None:
        """Used by the DMN engine instead of ``ast.parse``: static sandbox check."""
        problems = sandbox.check_expression(expression)
        if problems:
            raise problems[0]

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SandboxError as err:
            raise SandboxTaskException(
                f"Error evaluating expression '{expression}': {err}", task, err,
                line_number=err.line) from err
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{expression}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression '{expression}'",
                                        task=task, exception=err) from err

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except SandboxError as err:
            raise SandboxTaskException(
                f"{type(err).__name__}: {err}", task, err, line_number=err.line,
                error_line=_line_of(script, err.line)) from err
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(f"{type(err).__name__}: {err}", task=task,
                                        exception=err) from err

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        # The base class refers to an undefined name in its error path; wrap here instead.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except SandboxError as err:
            raise SandboxTaskException(f"Service call failed: {err}", task, err) from err
        except SpiffWorkflowException:
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Service call failed: {err}", task=task,
                                        exception=err) from err


def _line_of(script: str, line: int | None) -> str | None:
    if not line or not script:
        return None
    lines = script.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def make_script_engine(helpers: Mapping[str, Any] | None = None,
                       service_handler: Callable[..., Any] | None = None) -> RestrictedScriptEngine:
    """The script engine every BpmnWorkflow of the orchestrator must use."""
    return RestrictedScriptEngine(environment=RestrictedEnvironment(helpers, service_handler))
