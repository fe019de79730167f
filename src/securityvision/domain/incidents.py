"""Incidents: their statuses, severities, SLA and lifecycle, and their message timeline."""

from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from securityvision.domain.errors import InvalidInput


class IncidentStatus(StrEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    RESOLVED = "RESOLVED"
    FALSE_POSITIVE = "FALSE_POSITIVE"
    CANCELED = "CANCELED"

    @property
    def is_active(self) -> bool:
        return self in (IncidentStatus.OPEN, IncidentStatus.IN_PROGRESS)


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        """Higher is more severe: for picking the strongest rule and never lowering one."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


# Minutes to resolve by severity when the support group sets no default (as the original).
DEFAULT_SLA_MINUTES = {
    Severity.CRITICAL: 15,
    Severity.HIGH: 60,
    Severity.MEDIUM: 240,
    Severity.LOW: 1440,
}


def sla_minutes_for(severity: Severity, group_default: int | None = None) -> int:
    return group_default if group_default is not None else DEFAULT_SLA_MINUTES[severity]


class Incident(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    device_id: int
    title: str
    kind: str
    status: IncidentStatus
    severity: Severity
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    tenant: str | None = None
    device_event_id: int | None = None
    sla_minutes: int | None = None
    due_at: datetime | None = None
    closed_at: datetime | None = None
    assigned_to_user_id: int | None = None
    assigned_group_id: int | None = None
    created_by_user_id: int | None = None
    chatwoot_conversation_id: int | None = None
    # Set by the automatic pipeline: the rule that opened it, who the events were about
    # (``PersonKey``: the cooldown joins events of the same person only) and when the last
    # event joined it (the cooldown runs from there).
    rule_id: int | None = None
    person_key: str | None = None
    last_event_at: datetime | None = None
    # What a ``faceRecognized`` added: who was recognised and how sure the engine was (0..1).
    person_name: str | None = None
    confidence: float | None = None

    def is_overdue(self, now: datetime) -> bool:
        return self.status.is_active and self.due_at is not None and self.due_at < now


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    incident: Incident
    previous: IncidentStatus

    @property
    def reopened(self) -> bool:
        return not self.previous.is_active and self.incident.status.is_active

    @property
    def timeline_text(self) -> str:
        return f"Status alterado de {self.previous} para {self.incident.status}."


def change_status(incident: Incident, new: IncidentStatus, at: datetime) -> StatusChange:
    """Move an incident to ``new``: entering a terminal status closes it, leaving one reopens it.

    - Moving to the status it already has is refused, so every accepted change is a real one
      and deserves its timeline entry.
    - A closed incident is not reclassified in place (RESOLVED to FALSE_POSITIVE, ...): it is
      reopened first, so the timeline shows who reopened it and ``closed_at`` stays the time
      it was really closed.
    """
    if new is incident.status:
        raise InvalidInput(f"incident is already {new}", code="status_unchanged")
    if not incident.status.is_active and not new.is_active:
        raise InvalidInput(
            f"incident is {incident.status}; reopen it (OPEN or IN_PROGRESS) before marking it"
            f" {new}",
            code="invalid_status_transition",
        )
    closed_at = None if new.is_active else at
    changed = msgspec.structs.replace(incident, status=new, closed_at=closed_at, updated_at=at)
    return StatusChange(incident=changed, previous=incident.status)


def due_at_for(created_at: datetime, sla_minutes: int | None) -> datetime | None:
    return None if sla_minutes is None else created_at + timedelta(minutes=sla_minutes)


class NewIncident(msgspec.Struct, frozen=True, kw_only=True):
    """An incident about to be stored (``Incident`` without the store's id); ``created_at``
    is the use case's clock, the one its due time was computed from."""

    device_id: int
    title: str
    kind: str
    created_at: datetime
    status: IncidentStatus = IncidentStatus.OPEN
    severity: Severity = Severity.MEDIUM
    description: str | None = None
    tenant: str | None = None
    device_event_id: int | None = None
    sla_minutes: int | None = None
    due_at: datetime | None = None
    closed_at: datetime | None = None
    assigned_to_user_id: int | None = None
    assigned_group_id: int | None = None
    created_by_user_id: int | None = None
    chatwoot_conversation_id: int | None = None
    rule_id: int | None = None
    person_key: str | None = None
    last_event_at: datetime | None = None
    person_name: str | None = None
    confidence: float | None = None


TITLE_MAX_LENGTH = 255
KIND_MAX_LENGTH = 64
TENANT_MAX_LENGTH = 64


def check_incident(incident: NewIncident | Incident) -> None:
    """A title is required and fits its column; SLA minutes are positive."""
    if not incident.title.strip():
        raise InvalidInput("title is required", code="title_required")
    for field, limit in (
        ("title", TITLE_MAX_LENGTH),
        ("kind", KIND_MAX_LENGTH),
        ("tenant", TENANT_MAX_LENGTH),
    ):
        value = getattr(incident, field)
        if value is not None and len(value) > limit:
            raise InvalidInput(f"{field} must have at most {limit} characters", code="too_long")
    if not incident.kind.strip():
        raise InvalidInput("kind is required", code="kind_required")
    if incident.sla_minutes is not None and incident.sla_minutes <= 0:
        raise InvalidInput("sla_minutes must be positive", code="invalid_sla")


def clip(text: str, limit: int) -> str:
    """Text cut to ``limit`` characters (titles built from templates and payloads)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class MessageType(StrEnum):
    """Timeline entries: TEXT and COMMENT are people's, SYSTEM the backend's, MEDIA a file,
    OPERATOR a reply from Chatwoot."""

    TEXT = "TEXT"
    COMMENT = "COMMENT"
    SYSTEM = "SYSTEM"
    MEDIA = "MEDIA"
    OPERATOR = "OPERATOR"


class MediaType(StrEnum):
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    FILE = "FILE"

    @classmethod
    def of_content_type(cls, content_type: str) -> "MediaType":
        """As the original sorted files: by the major part of their content type."""
        major = content_type.partition("/")[0].lower()
        return {"image": cls.IMAGE, "video": cls.VIDEO, "audio": cls.AUDIO}.get(major, cls.FILE)


MESSAGE_MAX_LENGTH = 8000
SYSTEM_AUTHOR = "SecurityVision"


class NewIncidentMessage(msgspec.Struct, frozen=True, kw_only=True):
    incident_id: int
    message_type: MessageType
    content: str
    author_name: str | None = None
    media_type: MediaType | None = None
    media_url: str | None = None
    media_thumb_url: str | None = None
    media_name: str | None = None


class IncidentMessage(NewIncidentMessage, frozen=True, kw_only=True):
    id: int
    created_at: datetime


def status_message(change: StatusChange, author_name: str | None) -> NewIncidentMessage:
    """The timeline entry every status change leaves (the original's wording)."""
    return NewIncidentMessage(
        incident_id=change.incident.id,
        message_type=MessageType.SYSTEM,
        content=change.timeline_text,
        author_name=author_name or SYSTEM_AUTHOR,
    )
