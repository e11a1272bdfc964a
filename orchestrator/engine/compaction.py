"""Keep the live workflow state bounded: drop the completed past that nothing needs any more.

SpiffWorkflow keeps every completed task in the tree it serialises, so a dossier that loops
(returned for revision, supplement rounds) gets slower with each step. The history users see
lives in the audit tables; the engine only needs the part of the tree where work is still open
(joins and boundary events look there) and, for return-to-step, the latest instance of each
completed step. Everything is untouched at and below the deepest task that is an ancestor of
all unfinished tasks; above it, only the root and the latest instance of each step on the path
are kept, re-linked in order.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from . import event_subprocesses


def _open(task) -> bool:
    return bool(task.state & TaskState.NOT_FINISHED_MASK) or task.state == TaskState.ERROR


def _path_to_root(task) -> list:
    path = []
    while task is not None:
        path.append(task)
        task = task.parent
    return path[::-1]  # root first


def compact(workflow: BpmnWorkflow) -> int:
    """Remove completed tasks above the open part of the tree; returns how many were removed."""
    # Sub-processes (embedded, call activities) keep their own trees, untouched; one whose task in the
    # main tree is dropped below goes with it (`_drop_orphans`). An open one's task is open (STARTED).
    # An event sub-process not started yet hangs off the process's start: it must not pin the tree there.
    waiting = [t for t in workflow.tasks.values() if event_subprocesses.untriggered(workflow, t)]
    open_tasks = [t for t in workflow.tasks.values()
                  if _open(t) and not any(t is w or t.is_descendant_of(w) for w in waiting)]
    if not open_tasks:
        return 0
    # The deepest common ancestor of every open task (an open task may be it).
    common = _path_to_root(open_tasks[0])
    for task in open_tasks[1:]:
        other = _path_to_root(task)
        n = 0
        while n < min(len(common), len(other)) and common[n].id == other[n].id:
            n += 1
        common = common[:n]
        if len(common) <= 2:
            return 0
    pivot = common[-1]
    above = common[:-1]
    latest: dict[str, object] = {}
    for task in above[1:]:  # the root always stays; deeper instances replace shallower ones
        latest[task.task_spec.name] = task
    keep = [above[0]] + [t for t in above[1:] if latest[t.task_spec.name] is t] + [pivot]
    if len(keep) == len(above) + 1:
        return 0
    keep_ids = {t.id for t in keep}
    doomed = []
    for task in above[1:]:
        if task.id in keep_ids:
            continue
        stack = [task]
        while stack:  # the task and every finished branch hanging off it
            node = stack.pop()
            doomed.append(node.id)
            stack.extend(c for c in node.children if c.id not in keep_ids and c.id != pivot.id
                         and c not in common)
    for parent, child in zip(keep, keep[1:]):
        parent._children = [c for c in parent._children if c not in doomed and c != child.id] + [child.id]
        child._parent = parent.id
    for task_id in doomed:
        workflow.tasks.pop(task_id, None)
    removed = len(doomed) + _drop_orphans(workflow)
    last = workflow.last_task
    if last is not None and last.id not in workflow.tasks and not any(
            last.id in sp.tasks for sp in workflow.subprocesses.values()):
        workflow.last_task = None
    return removed


def _drop_orphans(workflow: BpmnWorkflow) -> int:
    """Remove the sub-processes whose task is gone (and theirs, nested); returns their task count.
    SpiffWorkflow keeps every sub-process in the top workflow's `subprocesses`, keyed by its task."""
    removed = 0
    while True:
        alive = set(workflow.tasks).union(*(sp.tasks for sp in workflow.subprocesses.values()))
        orphans = [sp_id for sp_id in workflow.subprocesses if sp_id not in alive]
        if not orphans:
            return removed
        for sp_id in orphans:
            removed += len(workflow.subprocesses.pop(sp_id).tasks)
