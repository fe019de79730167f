"""Incidents: their statuses, severities, SLA and lifecycle."""

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

    Moving to the status it already has is refused, so every accepted change is a real one and
    deserves its timeline entry.
    """
    if new is incident.status:
        raise InvalidInput(f"incident is already {new}", code="status_unchanged")
    closed_at = None if new.is_active else at
    changed = msgspec.structs.replace(incident, status=new, closed_at=closed_at, updated_at=at)
    return StatusChange(incident=changed, previous=incident.status)


def due_at_for(created_at: datetime, sla_minutes: int | None) -> datetime | None:
    return None if sla_minutes is None else created_at + timedelta(minutes=sla_minutes)
