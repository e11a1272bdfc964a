"""Steps as citizens read them (issue 22): the tracking page names each step by the label its
designer set (`publicLabel` on the diagram's step, `designer.set_step_public_label`) or, without
one, by a generic label of its phase or role ("Tiếp nhận hồ sơ", "Thẩm định hồ sơ", "Phê duyệt",
"Trả kết quả"), as the national portal does; the diagram's internal names ("… (biến thể HN)")
never reach citizens.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import vi
from ..models import Dossier, WorkItem
from ..models.dossiers import OPEN, COMPLETED

DONE, CURRENT = "done", "current"


def generic_label(task: dict | None, role: str | None = None) -> str:
    """The label of a step without a designer's: by its milestone, else by the role working it
    (the work item's, else the last part of the step's own route), else the appraisal."""
    task = task or {}
    milestone = task.get("milestone")
    if milestone == "reception":
        return vi("Tiếp nhận hồ sơ")
    if milestone == "return":
        return vi("Trả kết quả")
    if milestone == "decision":
        return vi("Phê duyệt")
    role = role or (task.get("route") or "").rsplit("/", 1)[-1]
    if role == "reception":
        return vi("Tiếp nhận hồ sơ")
    if role == "leader":
        return vi("Phê duyệt")
    return vi("Thẩm định hồ sơ")


def label(task: dict | None, role: str | None = None) -> str:
    """The designer's public label, else the generic one."""
    return ((task or {}).get("public_label") or "").strip() or generic_label(task, role)


@dataclass
class PublicStep:
    label: str
    state: str               # DONE or CURRENT
    at: datetime | None      # when it was done (DONE) or began (CURRENT)


def steps(session: Session, dossier: Dossier, waiting: dict | None = None) -> list[PublicStep]:
    """The steps done and the current ones, oldest first, consecutive repeats of a label merged.
    While the dossier waits for the citizen (a supplement, a payment) the current step is that
    wait, not the officer's step that is on hold."""
    tasks = {t["id"]: t for t in ((dossier.version.model or {}).get("user_tasks") or [])} if dossier.version else {}
    items = session.scalars(select(WorkItem).where(WorkItem.dossier_id == dossier.id,
                                                   WorkItem.state.in_((OPEN, COMPLETED)))
                            .order_by(WorkItem.created_at, WorkItem.id)).all()
    done: list[PublicStep] = []
    for item in (i for i in items if i.state == COMPLETED):
        text = label(tasks.get(item.step_id), item.role)
        if done and done[-1].label == text:
            done[-1].at = item.completed_at
        else:
            done.append(PublicStep(text, DONE, item.completed_at))
    current: list[PublicStep] = []
    if waiting and waiting.get("kind") == "supplement":
        current = [PublicStep(vi("Chờ công dân bổ sung hồ sơ"), CURRENT, None)]
    elif waiting and waiting.get("kind") == "payment":
        current = [PublicStep(vi("Chờ công dân nộp phí, lệ phí"), CURRENT, None)]
    elif dossier.finished_at is None:
        for item in (i for i in items if i.state == OPEN):
            text = label(tasks.get(item.step_id), item.role)
            if text not in {c.label for c in current}:
                current.append(PublicStep(text, CURRENT, item.created_at))
    return done + current
