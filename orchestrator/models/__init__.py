"""SQLAlchemy 2 typed models, one module per aggregate."""
from .attachments import Attachment, AttachmentBlob
from .audit import AuditEvent
from .calendar import CalendarDay
from .connectors import Connector
from .dossiers import (
    STATUS_NAMES,
    Dossier,
    DossierStatus,
    DossierCounter,
    DossierParticipant,
    DossierState,
    WorkItem,
)
from .integrations import IdempotencyRecord, WebhookDelivery, WebhookSubscription
from .jobs import Job, Notification
from .procedures import FormDefinition, Procedure, ProcedureAlias, ProcedureCall, ProcedureInForce, ProcedureVersion
from .schedules import ScheduledStart
from .statistics import StatDay, StatFold, StatOpen, StatUnitDay
from .throttle import Throttle
from .units import Unit, UnitServiceArea
from .users import ApiKey, Integrator, RoleAssignment, Substitute, User, UserToken

__all__ = [
    "ApiKey", "Attachment", "AttachmentBlob", "AuditEvent", "CalendarDay", "Connector", "Dossier", "DossierCounter",
    "DossierParticipant", "DossierState", "DossierStatus", "FormDefinition", "IdempotencyRecord", "Integrator",
    "Job", "Notification", "Procedure", "ProcedureAlias", "ProcedureCall", "ProcedureInForce",
    "ProcedureVersion", "RoleAssignment", "Substitute", "STATUS_NAMES", "ScheduledStart", "StatDay", "StatFold", "StatOpen", "StatUnitDay", "Throttle", "Unit", "UnitServiceArea", "User",
    "UserToken", "WebhookDelivery", "WebhookSubscription", "WorkItem",
]
