"""Timer start events of the main process (issue 17): when a procedure version marked as scheduled
opens its dossiers. A dossier has an applicant; a scheduled one's is the receiving unit itself (a
commune's periodic inspection, a monthly report), so the schedule lives with the version and the
worker opens one dossier per receiving unit at each tick; inside each dossier's workflow the timer
start has already fired (`WorkflowRun.start(..., scheduled=True)`).

Only literal ISO 8601 values are read here (a quoted string constant too): a schedule is known at
publish, never computed from a dossier's data."""
from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta, timezone

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState

from ..i18n import vi
from .problems import Problem
from .script_engine import iso8601_literal, with_local_offset

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
KINDS = ("timeDate", "timeDuration", "timeCycle")
MIN_PERIOD = timedelta(days=1)
"""Shortest interval between two ticks of a cycle: dossiers are opened for people to work on."""
MAX_TICKS = 1_000
"""Most ticks a cycle may have (`R1000/...`); `R/...` (for ever) is refused."""
MAX_UNITS = 50
"""Most receiving units of a scheduled version: at most this many dossiers per tick."""
_CYCLE = re.compile(r"^R(\d*)/(.+)$", re.IGNORECASE)
_QUOTED = re.compile(r"""^(?:"[^"\\\n]*"|'[^'\\\n]*')$""")


class ScheduleError(ValueError):
    """A timer start's value the schedule cannot run (the message is Vietnamese, for the designer)."""


def _literal(source: str) -> str | None:
    """The ISO 8601 text of a timer start's value: bare (`R12/2026-01-01T08:00/P1M`) or as a quoted
    string constant (`"P1D"`); None for anything else (an expression)."""
    text = (source or "").strip()
    if _QUOTED.match(text):
        text = ast.literal_eval(text).strip()
    return iso8601_literal(text)


def _duration(value: str) -> dict:
    try:
        parsed = TimerEventDefinition.parse_iso_duration(value)
    except Exception:  # noqa: BLE001 - Spiff raises bare Exception for bad durations
        raise ScheduleError(vi("'%(value)s' không phải khoảng thời gian ISO 8601 (ví dụ P1D, P1M)", value=value)) from None
    if not parsed or not value.upper().startswith("P"):
        raise ScheduleError(vi("'%(value)s' không phải khoảng thời gian ISO 8601 (ví dụ P1D, P1M)", value=value))
    return parsed


def _date(value: str) -> datetime:
    try:
        return TimerEventDefinition.get_datetime(with_local_offset(value))
    except (ValueError, TypeError):
        raise ScheduleError(vi("'%(value)s' không phải thời điểm ISO 8601 (ví dụ 2026-12-01T08:00:00+07:00)",
                              value=value)) from None


def _after(start: datetime, period: dict, times: int) -> datetime:
    """`start` plus `times` periods, months counted on the calendar from `start`."""
    scaled = {k: v * times for k, v in period.items()}
    return start + TimerEventDefinition.get_timedelta_from_start(scaled, start)


def parse(kind: str, value: str) -> dict:
    """The plan of a timer start: {"kind", "value", "count", "start" (ISO or None), "period"}; raises
    ScheduleError when it could not run as a schedule (unbounded, too frequent, unreadable)."""
    if kind == "timeDate":
        return {"kind": kind, "value": value, "count": 1, "start": _date(value).isoformat(), "period": None}
    if kind == "timeDuration":
        _duration(value)
        return {"kind": kind, "value": value, "count": 1, "start": None, "period": value}
    match = _CYCLE.match(value)
    if match is None:
        raise ScheduleError(vi("'%(value)s' không phải chu kỳ R<số lần>/<bắt đầu>/<chu kỳ> "
                               "(ví dụ R12/2026-01-01T08:00/P1M)", value=value))
    if not match.group(1):
        raise ScheduleError(vi("'%(value)s' lặp lại vô hạn: ghi số lần, ví dụ R12/P1M (tối đa %(most)s)",
                               value=value, most=MAX_TICKS))
    count = int(match.group(1))
    if not 1 <= count <= MAX_TICKS:
        raise ScheduleError(vi("'%(value)s' lặp %(count)s lần (từ 1 đến %(most)s)", value=value, count=count,
                               most=MAX_TICKS))
    parts = match.group(2).split("/")
    if len(parts) > 2:
        raise ScheduleError(vi("'%(value)s' không phải chu kỳ R<số lần>/<bắt đầu>/<chu kỳ>", value=value))
    start = _date(parts[0]) if len(parts) == 2 else None
    period = _duration(parts[-1])
    base = start or datetime(2026, 2, 1, tzinfo=timezone.utc)  # the shortest month: the smallest interval
    if _after(base, period, 1) - base < MIN_PERIOD:
        raise ScheduleError(vi("'%(value)s' lặp lại sau chưa tới 1 ngày (tối thiểu P1D)", value=value))
    return {"kind": kind, "value": value, "count": count, "start": start.isoformat() if start else None,
            "period": parts[-1]}


def tick_at(plan: dict, published_at: datetime, index: int) -> datetime | None:
    """When tick `index` (0, 1, ...) of a plan falls, counted from the version's publication; None
    past the last one."""
    if index < 0 or index >= plan["count"]:
        return None
    if plan["kind"] == "timeDate":
        return datetime.fromisoformat(plan["start"])
    period = _duration(plan["period"])
    if plan["kind"] == "timeDuration":
        return _after(published_at, period, 1)
    if plan["start"]:
        return _after(datetime.fromisoformat(plan["start"]), period, index)
    return _after(published_at, period, index + 1)


def next_tick(plan: dict, published_at: datetime, now: datetime, after: int = -1) -> tuple[int, datetime] | None:
    """The tick to run next after tick `after`: the latest one already due (missed ticks are run
    once, not one by one), else the first one to come; None when the plan is over."""
    first = after + 1
    due = tick_at(plan, published_at, first)
    if due is None:
        return None
    if due > now:
        return first, due
    low, high = first, plan["count"] - 1  # the last due tick: ticks grow with their index
    while low < high:
        middle = (low + high + 1) // 2
        if tick_at(plan, published_at, middle) <= now:
            low = middle
        else:
            high = middle - 1
    return low, tick_at(plan, published_at, low)


def timer_starts(process: etree._Element) -> tuple[list[dict], bool, list[Problem]]:
    """The main process's timer start events as plans (with their element and line), whether it
    has a start other than a timer (none or message: applicants open its dossiers), and the
    problems of the values that cannot run as a schedule."""
    starts, problems, plain = [], [], False
    for start in process.iterchildren(f"{{{BPMN_NS}}}startEvent"):
        definitions = [d for d in start if isinstance(d.tag, str) and d.tag.endswith("EventDefinition")]
        if not any(etree.QName(d).localname == "timerEventDefinition" for d in definitions):
            plain = True  # a none (or message) start: dossiers are also opened by applicants
        for definition in definitions:
            if etree.QName(definition).localname != "timerEventDefinition":
                continue
            at = (start.get("id"), definition.sourceline)
            values = [(etree.QName(el).localname, el) for el in definition if isinstance(el.tag, str)
                      and etree.QName(el).localname in KINDS]
            if len(values) != 1:
                problems.append(Problem(vi("Sự kiện bắt đầu hẹn giờ cần đúng một giá trị timeDate, timeDuration hoặc "
                                           "timeCycle."), *at))
                continue
            kind, el = values[0]
            literal = _literal(el.text or "")
            if literal is None:
                problems.append(Problem(vi("Sự kiện bắt đầu hẹn giờ chỉ nhận giá trị ISO 8601 viết sẵn (ví dụ "
                                           "R12/2026-01-01T08:00:00+07:00/P1M), không nhận biểu thức: lịch tạo hồ "
                                           "sơ phải biết trước khi công bố."), start.get("id"), el.sourceline))
                continue
            try:
                plan = parse(kind, literal)
            except ScheduleError as exc:
                problems.append(Problem(vi("Lịch của sự kiện bắt đầu hẹn giờ không hợp lệ: %(reason)s.",
                                           reason=exc.args[0] if exc.args else str(exc)),
                                        start.get("id"), el.sourceline))
                continue
            starts.append({**plan, "element_id": start.get("id"), "line": el.sourceline})
    return starts, plain, problems


def settle_starts(workflow, timer_start: str | None) -> None:
    """Before a new workflow's first engine steps: a dossier opened by the schedule starts past its
    timer start event `timer_start` (fired now; the plain starts cancelled), any other dossier by
    its plain start (the timer starts cancelled: the schedule, not the engine, repeats them).
    Nothing to do for a process without a timer start."""
    timers = {spec.bpmn_id for spec in workflow.spec.task_specs.values()
              if isinstance(spec, StartEvent) and isinstance(spec.event_definition, TimerEventDefinition)}
    if not timers:
        return
    for task in workflow.get_tasks(state=TaskState.FUTURE):  # predicted, not yet reached: settled before they run
        if task.workflow is not workflow or not isinstance(task.task_spec, StartEvent) \
                or task.has_state(TaskState.FINISHED_MASK):
            continue
        if timer_start is not None and task.task_spec.bpmn_id == timer_start:
            if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
                # a cycle's path starts from its due cycles, never from its completion: one cycle, due now
                task.internal_data["event_value"] = {"cycles": 1, "next": "1970-01-01T00:00:00+00:00",
                                                     "duration": MIN_PERIOD.total_seconds()}
            else:
                task.internal_data.pop("event_value", None)
                task.internal_data["event_fired"] = True  # ready as soon as it is reached
        elif timer_start is not None or task.task_spec.bpmn_id in timers:
            task.cancel()


def close_start(workflow, timer_start: str | None) -> bool:
    """After a scheduled dossier's first engine steps: its cycle timer start, whose one cycle has
    opened the path, completes (else it would wait for further cycles). True when it changed."""
    if timer_start is None:
        return False
    changed = False
    for task in workflow.get_tasks(state=TaskState.WAITING | TaskState.READY):
        if task.workflow is workflow and task.task_spec.bpmn_id == timer_start:
            task.internal_data.pop("event_value", None)
            task.internal_data["event_fired"] = True
            task.task_spec._update(task)
            if task.state == TaskState.READY:
                task.run()
            changed = True
    return changed
