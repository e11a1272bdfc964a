"""What an answer shows, built for that answer: a row and what is read or computed for it.

Nothing is ever set on a row (a model has only the attributes it declares). A view holds the row
(the field `ROW` names) and the answer's own fields; the row's schema, a `schemas.common.ViewSchema`,
dumps either the row or a view of it: the view's own fields from the view, the others from the row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from orchestrator.models import ApiKey, AuditEvent, Dossier, Integrator, ProcedureVersion, WebhookDelivery, WorkItem


class View:
    """A row and what an answer adds to it. A view's own field names are what its schema reads
    from the view: none may be another field of the row's schema."""

    ROW: ClassVar[str] = ""

    @property
    def row(self):
        return getattr(self, self.ROW)


@dataclass(frozen=True)
class DossierView(View):
    """A dossier as `GET /dossiers/{code}` and every change to it answer: with its open steps
    (in the order they opened) and its history."""

    ROW = "dossier"
    dossier: Dossier
    current_tasks: list[WorkItem]
    history: list  # of HistoryEntry


@dataclass(frozen=True)
class HistoryEntry(View):
    """A history event with its sentence (`services.history_text`); `action` stays the code."""

    ROW = "event"
    event: AuditEvent
    text: str


@dataclass(frozen=True)
class InboxEntry(View):
    """A work item in an inbox, marked overdue / today / soon now."""

    ROW = "item"
    item: WorkItem
    due_mark: str | None


@dataclass(frozen=True)
class TaskView(View):
    """A task's page: its form, the values it opens with, the dossier's `lock_version` (sent
    back with the completion) and a summary of the dossier."""

    ROW = "item"
    item: WorkItem
    form: dict | None
    prefill: dict
    lock_version: int
    dossier_summary: dict


@dataclass(frozen=True)
class VersionView(View):
    """A procedure version in a list of versions, with whether it is in force, and whether the
    caller reads its internals (`full`: drafts, lanes, routes, usernames; else the published
    summary, `access.sees_version_internals`)."""

    ROW = "procedure_version"
    procedure_version: ProcedureVersion  # not `version`: the schema's `version` is the version's number
    in_force: bool | None = None
    full: bool = True


@dataclass(frozen=True)
class IntegratorView(View):
    """An integrator with its keys (never their secrets)."""

    ROW = "integrator"
    integrator: Integrator
    keys: list[ApiKey]


@dataclass(frozen=True)
class NewKeyView(View):
    """A key just issued or rotated, with its secret: the only answer that shows it."""

    ROW = "api_key"
    api_key: ApiKey
    key: str


@dataclass(frozen=True)
class DeliveryView(View):
    """A webhook delivery with its job's progress."""

    ROW = "delivery"
    delivery: WebhookDelivery
    attempts: int
    state: str
    last_error: str | None
