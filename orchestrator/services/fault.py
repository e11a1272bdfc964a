"""The unit at fault when a dossier is late: the unit that apologises with a new date and that
stops processing, in its own name and under its leader's signature (docs/domain.md, "the
dossier lifecycle").

No rule of its own about who may act (that is `access`): only which units the dossier's delay
belongs to, read from its steps. Queries `WorkItem` directly so that `access` can use it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Dossier, WorkItem
from ..models.dossiers import COMPLETED, OPEN
from ..models.types import utcnow
from . import on_time


def open_steps(session: Session, dossier: Dossier) -> list[WorkItem]:
    return list(session.scalars(select(WorkItem).where(WorkItem.dossier_id == dossier.id, WorkItem.state == OPEN)
                                .order_by(WorkItem.created_at, WorkItem.id)).all())


def last_completed_unit(session: Session, dossier: Dossier) -> str | None:
    """The unit of the step completed last (cancelled steps did no work): who holds the dossier
    while the workflow waits for an event (a tax notice, a payment) with no step open."""
    return session.scalar(select(WorkItem.unit_code).where(WorkItem.dossier_id == dossier.id,
                                                            WorkItem.state == COMPLETED)
                          .order_by(WorkItem.completed_at.desc(), WorkItem.id.desc()).limit(1))


def units_at_fault(session: Session, dossier: Dossier, now: datetime | None = None,
                   steps: list[WorkItem] | None = None) -> list[str]:
    """The units the delay belongs to, in the order their steps opened: those whose open step is
    overdue (its due day has ended, as the inbox marks it: `on_time.is_overdue`); if none is,
    every unit holding an open step (parallel branches: each of them); with no step open, the
    unit of the last completed step; with no step at all, the receiving unit."""
    now = now or utcnow()
    steps = open_steps(session, dossier) if steps is None else steps
    late = [w.unit_code for w in steps if on_time.is_overdue(w.due_at, now)]
    units = late or [w.unit_code for w in steps]
    if not units:
        units = [last_completed_unit(session, dossier) or dossier.received_by_unit]
    return list(dict.fromkeys(units))
