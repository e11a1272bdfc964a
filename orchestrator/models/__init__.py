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
from .feedback import Feedback, Rating
from .jobs import Job, Notification
from .messages import CitizenMessage
from .message_templates import MessageTemplate
from .procedures import FormDefinition, Procedure, ProcedureAlias, ProcedureCall, ProcedureInForce, ProcedureVersion
from .schedules import ScheduledStart
from .statistics import StatDay, StatFold, StatOpen, StatProvinceDay, StatUnitDay
from .throttle import Throttle
from .units import Unit, UnitServiceArea
from .users import ApiKey, Integrator, RoleAssignment, Substitute, User, UserToken

__all__ = [
    "ApiKey", "Attachment", "AttachmentBlob", "AuditEvent", "CalendarDay", "CitizenMessage", "Connector", "Dossier", "DossierCounter",
    "DossierParticipant", "DossierState", "DossierStatus", "Feedback", "FormDefinition", "IdempotencyRecord", "Integrator",
    "Job", "MessageTemplate", "Notification", "Procedure", "ProcedureAlias", "ProcedureCall", "ProcedureInForce",
    "ProcedureVersion", "Rating", "RoleAssignment", "Substitute", "STATUS_NAMES", "ScheduledStart", "StatDay", "StatFold", "StatOpen", "StatProvinceDay", "StatUnitDay", "Throttle", "Unit", "UnitServiceArea", "User",
    "UserToken", "WebhookDelivery", "WebhookSubscription", "WorkItem",
]
