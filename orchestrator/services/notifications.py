"""The officers' bell: notifications written where things happen, read by their owner only.

`notify` is the one writer (tasks.assign, lifecycle's return-to-step and supplement, the worker's
reminders, the takeover request); it adds rows to the caller's session and never commits, so a
step that fails writes nothing. Reads go through `access.own_notifications`; the unread count is
one COUNT over ix_notification_unread (user_id, read_at, id), cheap enough for every page header.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..models import Dossier, Notification, RoleAssignment, WorkItem
from ..models.types import utcnow
from . import access
from .auth import Actor

KINDS = ("assigned", "returned", "due_soon", "overdue", "supplement_received", "takeover_request")


def notify(session: Session, user_ids: Iterable[int | None], kind: str, dossier: Dossier | None,
           message: str) -> None:
    """One row per distinct user (None skipped); an unknown kind is a programming error."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind: {kind}")
    dossier_id = dossier.id if dossier is not None else None
    for user_id in sorted({u for u in user_ids if u is not None}):
        session.add(Notification(user_id=user_id, dossier_id=dossier_id, kind=kind, message=message))


def role_holders(session: Session, unit_code: str, *roles: str) -> list[int]:
    """The users holding any of `roles` in the unit: who hears of an unclaimed step."""
    return list(session.scalars(select(RoleAssignment.user_id).where(
        RoleAssignment.unit_code == unit_code, RoleAssignment.role.in_(roles))).all())


def holders(session: Session, item: WorkItem) -> set[int]:
    """Who has a step on their desk: its holder, else every holder of its role in its unit."""
    if item.assignee_id:
        return {item.assignee_id}
    return set(role_holders(session, item.unit_code, item.role))


def unread_count(session: Session, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        access.own_notifications(actor), Notification.read_at.is_(None))) or 0


@dataclass
class Entry:
    """A notification with its dossier's code (one outer join, no query per row)."""
    notification: Notification
    dossier_code: str | None

    def __getattr__(self, name):
        return getattr(self.notification, name)


@dataclass
class NotificationPage:
    items: list[Entry]
    total: int
    unread: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _entries(session: Session, cond: list, limit: int, offset: int = 0) -> list[Entry]:
    rows = session.execute(select(Notification, Dossier.code).outerjoin(Dossier, Dossier.id == Notification.dossier_id)
                           .where(*cond).order_by(Notification.id.desc()).limit(limit).offset(offset)).all()
    return [Entry(n, code) for n, code in rows]


def latest(session: Session, actor: Actor, limit: int = 10) -> list[Entry]:
    return _entries(session, [access.own_notifications(actor)], limit)


def page(session: Session, actor: Actor, page: int = 1, per_page: int = 20, unread_only: bool = False) -> NotificationPage:
    """Newest first; a page out of range is simply empty."""
    page, per_page = max(1, int(page)), min(max(1, int(per_page)), 100)
    cond = [access.own_notifications(actor)]
    unread = unread_count(session, actor)
    if unread_only:
        cond.append(Notification.read_at.is_(None))
        total = unread
    else:
        total = session.scalar(select(func.count()).select_from(Notification).where(*cond)) or 0
    return NotificationPage(_entries(session, cond, per_page, (page - 1) * per_page), total, unread, page, per_page)


def mark_read(session: Session, actor: Actor, notification_id: int) -> Entry:
    """Marks the caller's notification read (kept read if it already was); another's is 404."""
    row = session.execute(select(Notification, Dossier.code).outerjoin(Dossier, Dossier.id == Notification.dossier_id)
                          .where(Notification.id == notification_id)).first()
    access.may_read_notification(actor, row[0] if row else None)
    if row[0].read_at is None:
        row[0].read_at = utcnow()
    return Entry(row[0], row[1])


def mark_all_read(session: Session, actor: Actor) -> int:
    """Every unread notification of the caller, in one UPDATE; answers how many."""
    result = session.execute(update(Notification).where(access.own_notifications(actor), Notification.read_at.is_(None))
                             .values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount or 0
