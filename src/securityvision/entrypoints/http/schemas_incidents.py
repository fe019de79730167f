"""HTTP bodies of ``/incidents``, ``/incident-rules`` and ``/support-groups``, in the
original's wire shapes (plus a few added read fields, docs/incidents.md)."""

from datetime import datetime
from typing import Any

import msgspec

from securityvision.application.incident_rules import IncidentRuleChanges
from securityvision.application.incidents import (
    FromEventRequest,
    IncidentChanges,
    IncidentDetails,
    IncidentDraft,
    MessageDraft,
)
from securityvision.application.support_groups import SupportGroupChanges, SupportGroupDetails
from securityvision.domain.identity import User
from securityvision.domain.incident_rules import IncidentRule, NewIncidentRule, NewSupportGroup
from securityvision.domain.incidents import (
    IncidentMessage,
    IncidentStatus,
    MediaType,
    MessageType,
    Severity,
)

_UNSET = msgspec.UNSET


def _sent(struct: msgspec.Struct, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        name: value
        for name, value in msgspec.structs.asdict(struct).items()
        if name not in skip and not isinstance(value, msgspec.UnsetType)
    }


class UserBrief(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    full_name: str | None
    email: str

    @classmethod
    def of(cls, user: User) -> "UserBrief":
        return cls(id=user.id, full_name=user.full_name, email=user.email)


class GroupBrief(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str


# --- support groups -----------------------------------------------------------------------


class SupportGroupCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None
    is_active: bool = True
    default_sla_minutes: int | None = None
    chatwoot_inbox_identifier: str | None = None
    chatwoot_team_id: int | None = None
    member_ids: list[int] = msgspec.field(default_factory=list)

    def new_group(self) -> NewSupportGroup:
        return NewSupportGroup(**_sent(self, skip=("member_ids",)))


class SupportGroupUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body, partial: the front end also sends ``{member_ids}`` alone."""

    name: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    is_active: bool | msgspec.UnsetType = _UNSET
    default_sla_minutes: int | msgspec.UnsetType | None = _UNSET
    chatwoot_inbox_identifier: str | msgspec.UnsetType | None = _UNSET
    chatwoot_team_id: int | msgspec.UnsetType | None = _UNSET
    member_ids: list[int] | msgspec.UnsetType | None = _UNSET

    def changes(self) -> SupportGroupChanges:
        fields = _sent(self, skip=("member_ids",))
        members = self.member_ids
        if not isinstance(members, msgspec.UnsetType):
            fields["member_ids"] = tuple(members or ())
        return SupportGroupChanges(**fields)


class SupportGroupRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    description: str | None
    is_active: bool
    default_sla_minutes: int | None
    chatwoot_inbox_identifier: str | None
    chatwoot_team_id: int | None
    member_ids: list[int]
    members: list[UserBrief]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, found: SupportGroupDetails) -> "SupportGroupRead":
        g = found.group
        return cls(
            id=g.id,
            name=g.name,
            description=g.description,
            is_active=g.is_active,
            default_sla_minutes=g.default_sla_minutes,
            chatwoot_inbox_identifier=g.chatwoot_inbox_identifier,
            chatwoot_team_id=g.chatwoot_team_id,
            member_ids=[m.id for m in found.members],
            members=[UserBrief.of(m) for m in found.members],
            created_at=g.created_at,
            updated_at=g.updated_at,
        )


# --- incident rules -----------------------------------------------------------------------


class IncidentRuleCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    analytic_type: str = "faceRecognized"
    enabled: bool = True
    device_id: int | None = None
    camera_group_id: int | None = None
    tenant: str | None = None
    severity: Severity = Severity.MEDIUM
    title_template: str | None = None
    description_template: str | None = None
    assigned_to_user_id: int | None = None
    assigned_group_id: int | None = None

    def new_rule(self) -> NewIncidentRule:
        return NewIncidentRule(**msgspec.structs.asdict(self))


class IncidentRuleUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PATCH body: only the fields sent change (the front end's toggle: ``{enabled}``)."""

    name: str | msgspec.UnsetType = _UNSET
    enabled: bool | msgspec.UnsetType = _UNSET
    analytic_type: str | msgspec.UnsetType = _UNSET
    device_id: int | msgspec.UnsetType | None = _UNSET
    camera_group_id: int | msgspec.UnsetType | None = _UNSET
    tenant: str | msgspec.UnsetType | None = _UNSET
    severity: Severity | msgspec.UnsetType = _UNSET
    title_template: str | msgspec.UnsetType | None = _UNSET
    description_template: str | msgspec.UnsetType | None = _UNSET
    assigned_to_user_id: int | msgspec.UnsetType | None = _UNSET
    assigned_group_id: int | msgspec.UnsetType | None = _UNSET

    def changes(self) -> IncidentRuleChanges:
        return IncidentRuleChanges(**_sent(self))


class IncidentRuleRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    enabled: bool
    analytic_type: str
    device_id: int | None
    camera_group_id: int | None
    tenant: str | None
    severity: Severity
    title_template: str | None
    description_template: str | None
    assigned_to_user_id: int | None
    assigned_group_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: IncidentRule) -> "IncidentRuleRead":
        return cls(**msgspec.structs.asdict(rule))


# --- incidents ----------------------------------------------------------------------------


class IncidentCreate(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    title: str
    kind: str = "CAMERA_EVENT"
    tenant: str | None = None
    status: IncidentStatus = IncidentStatus.OPEN
    severity: Severity = Severity.MEDIUM
    description: str | None = None
    sla_minutes: int | None = None
    due_at: datetime | None = None
    assigned_to_user_id: int | None = None
    assigned_group_id: int | None = None
    assignee_ids: list[int] = msgspec.field(default_factory=list)

    def draft(self) -> IncidentDraft:
        fields = msgspec.structs.asdict(self)
        fields["assignee_ids"] = tuple(self.assignee_ids)
        return IncidentDraft(**fields)


class IncidentUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PATCH body: only the fields sent change; ``assignee_ids`` replaces the assignees."""

    title: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    severity: Severity | msgspec.UnsetType = _UNSET
    status: IncidentStatus | msgspec.UnsetType = _UNSET
    chatwoot_conversation_id: int | msgspec.UnsetType | None = _UNSET
    sla_minutes: int | msgspec.UnsetType | None = _UNSET
    due_at: datetime | msgspec.UnsetType | None = _UNSET
    tenant: str | msgspec.UnsetType | None = _UNSET
    kind: str | msgspec.UnsetType = _UNSET
    assigned_to_user_id: int | msgspec.UnsetType | None = _UNSET
    assigned_group_id: int | msgspec.UnsetType | None = _UNSET
    assignee_ids: list[int] | msgspec.UnsetType | None = _UNSET

    def changes(self) -> IncidentChanges:
        fields = _sent(self, skip=("assignee_ids",))
        assignees = self.assignee_ids
        if not isinstance(assignees, msgspec.UnsetType):
            fields["assignee_ids"] = tuple(assignees or ())
        return IncidentChanges(**fields)


class FromEventCreate(msgspec.Struct, frozen=True, kw_only=True):
    device_event_id: int
    title: str | None = None
    description: str | None = None
    severity: Severity | None = None
    assigned_group_id: int | None = None
    sla_minutes: int | None = None
    tenant: str | None = None

    def request(self) -> FromEventRequest:
        return FromEventRequest(**msgspec.structs.asdict(self))


class IncidentRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    device_id: int
    device_event_id: int | None
    kind: str
    tenant: str | None
    status: IncidentStatus
    severity: Severity
    title: str
    description: str | None
    sla_minutes: int | None
    due_at: datetime | None
    chatwoot_conversation_id: int | None
    created_by_user_id: int | None
    assigned_to_user_id: int | None
    assigned_group_id: int | None
    assigned_group: GroupBrief | None
    assignees: list[UserBrief]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    # Added: the rule that opened it, and what a face recognition told about it.
    rule_id: int | None
    person_name: str | None
    confidence: float | None
    last_event_at: datetime | None

    @classmethod
    def of(cls, found: IncidentDetails) -> "IncidentRead":
        i = found.incident
        return cls(
            id=i.id,
            device_id=i.device_id,
            device_event_id=i.device_event_id,
            kind=i.kind,
            tenant=i.tenant,
            status=i.status,
            severity=i.severity,
            title=i.title,
            description=i.description,
            sla_minutes=i.sla_minutes,
            due_at=i.due_at,
            chatwoot_conversation_id=i.chatwoot_conversation_id,
            created_by_user_id=i.created_by_user_id,
            assigned_to_user_id=i.assigned_to_user_id,
            assigned_group_id=i.assigned_group_id,
            assigned_group=(
                GroupBrief(id=found.group.id, name=found.group.name) if found.group else None
            ),
            assignees=[UserBrief.of(u) for u in found.assignees],
            created_at=i.created_at,
            updated_at=i.updated_at,
            closed_at=i.closed_at,
            rule_id=i.rule_id,
            person_name=i.person_name,
            confidence=i.confidence,
            last_event_at=i.last_event_at,
        )


class MessageCreate(msgspec.Struct, frozen=True, kw_only=True):
    content: str = ""
    message_type: MessageType = MessageType.COMMENT
    media_type: MediaType | None = None
    media_url: str | None = None
    media_thumb_url: str | None = None
    media_name: str | None = None

    def draft(self) -> MessageDraft:
        return MessageDraft(**msgspec.structs.asdict(self))


class MessageRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    incident_id: int
    message_type: MessageType
    content: str
    media_type: MediaType | None
    media_url: str | None
    media_thumb_url: str | None
    media_name: str | None
    author_name: str | None
    created_at: datetime

    @classmethod
    def of(cls, message: IncidentMessage) -> "MessageRead":
        return cls(**msgspec.structs.asdict(message))
