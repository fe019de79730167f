"""Bodies and answers of ``/alert-rules``, ``/alert-events`` and ``/webhooks`` (the original's
fields, CLIENTS.md §8 and §11)."""

from datetime import datetime
from typing import Any

import msgspec

from securityvision.application.alerts import AlertRuleChanges
from securityvision.application.webhooks import EventTypeInfo, WebhookChanges, WebhookDraft
from securityvision.domain.alerts import (
    AlertEvent,
    AlertEventType,
    AlertRule,
    AlertRuleType,
    NewAlertRule,
)
from securityvision.domain.incidents import Severity
from securityvision.domain.webhooks import WebhookEventType, WebhookSubscription, event_type_of

_UNSET = msgspec.UNSET


def _sent(struct: msgspec.Struct) -> dict[str, Any]:
    return {
        name: value
        for name, value in msgspec.structs.asdict(struct).items()
        if not isinstance(value, msgspec.UnsetType)
    }


# --- alert rules --------------------------------------------------------------------------


class AlertRuleCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    rule_type: AlertRuleType
    description: str | None = None
    group_id: int | None = None
    device_id: int | None = None
    max_dwell_seconds: int | None = None
    is_active: bool = True
    create_incident: bool = False
    incident_kind: str | None = None
    incident_severity: Severity = Severity.MEDIUM
    incident_title_template: str | None = None
    incident_description_template: str | None = None
    incident_sla_minutes: int | None = None
    incident_assigned_group_id: int | None = None
    incident_assigned_to_user_id: int | None = None
    incident_auto_close_on_end: bool = False

    def new_rule(self) -> NewAlertRule:
        return NewAlertRule(**msgspec.structs.asdict(self))


class AlertRuleUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body, partial: the front end's toggle sends ``{is_active}`` alone."""

    name: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    rule_type: AlertRuleType | msgspec.UnsetType = _UNSET
    group_id: int | msgspec.UnsetType | None = _UNSET
    device_id: int | msgspec.UnsetType | None = _UNSET
    max_dwell_seconds: int | msgspec.UnsetType | None = _UNSET
    is_active: bool | msgspec.UnsetType = _UNSET
    create_incident: bool | msgspec.UnsetType = _UNSET
    incident_kind: str | msgspec.UnsetType | None = _UNSET
    incident_severity: Severity | msgspec.UnsetType = _UNSET
    incident_title_template: str | msgspec.UnsetType | None = _UNSET
    incident_description_template: str | msgspec.UnsetType | None = _UNSET
    incident_sla_minutes: int | msgspec.UnsetType | None = _UNSET
    incident_assigned_group_id: int | msgspec.UnsetType | None = _UNSET
    incident_assigned_to_user_id: int | msgspec.UnsetType | None = _UNSET
    incident_auto_close_on_end: bool | msgspec.UnsetType = _UNSET

    def changes(self) -> AlertRuleChanges:
        return AlertRuleChanges(**_sent(self))


class AlertRuleRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    description: str | None
    rule_type: AlertRuleType
    group_id: int | None
    device_id: int | None
    max_dwell_seconds: int | None
    is_active: bool
    create_incident: bool
    incident_kind: str | None
    incident_severity: Severity
    incident_title_template: str | None
    incident_description_template: str | None
    incident_sla_minutes: int | None
    incident_assigned_group_id: int | None
    incident_assigned_to_user_id: int | None
    incident_auto_close_on_end: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: AlertRule) -> "AlertRuleRead":
        return cls(**msgspec.structs.asdict(rule))


# --- alert events -------------------------------------------------------------------------


class AlertEventRead(msgspec.Struct, frozen=True, kw_only=True):
    """Every column, ``payload`` a JSON **string** (the front end ``JSON.parse``s it)."""

    id: int
    event_type: AlertEventType
    rule_id: int | None
    person_id: int | None
    tag_id: int | None
    device_id: int | None
    floor_plan_id: int | None
    floor_id: int | None
    building_id: int | None
    group_id: int | None
    incident_id: int | None
    first_collection_log_id: int | None
    last_collection_log_id: int | None
    started_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    is_open: bool
    message: str | None
    payload: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, event: AlertEvent) -> "AlertEventRead":
        fields = msgspec.structs.asdict(event)
        fields["payload"] = msgspec.json.encode(event.payload).decode()
        return cls(first_collection_log_id=None, last_collection_log_id=None, **fields)


# --- webhooks -----------------------------------------------------------------------------


def _event_type(value: str | None) -> WebhookEventType | None:
    return None if value is None or not value.strip() else event_type_of(value)


class WebhookCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    url: str
    secret_token: str | None = None
    event_type_filter: str | None = None
    is_active: bool = True

    def draft(self) -> WebhookDraft:
        return WebhookDraft(
            name=self.name,
            url=self.url,
            secret_token=self.secret_token,
            event_type_filter=_event_type(self.event_type_filter),
            is_active=self.is_active,
        )


class WebhookUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body, partial (the toggle sends ``{is_active}``). ``secret_token``: null or left
    out keeps the secret, ``""`` removes it, anything else replaces it."""

    name: str | msgspec.UnsetType = _UNSET
    url: str | msgspec.UnsetType = _UNSET
    secret_token: str | msgspec.UnsetType | None = _UNSET
    event_type_filter: str | msgspec.UnsetType | None = _UNSET
    is_active: bool | msgspec.UnsetType = _UNSET

    def changes(self) -> WebhookChanges:
        values = _sent(self)
        if "event_type_filter" in values:
            values["event_type_filter"] = _event_type(values["event_type_filter"])
        return WebhookChanges(**values)


class WebhookRead(msgspec.Struct, frozen=True, kw_only=True):
    """``secret_token`` is always null (write-only); ``has_secret`` says whether one is set."""

    id: int
    name: str
    url: str
    secret_token: None
    has_secret: bool
    event_type_filter: WebhookEventType | None
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, subscription: WebhookSubscription) -> "WebhookRead":
        return cls(secret_token=None, **msgspec.structs.asdict(subscription))


class WebhookEventTypeRead(msgspec.Struct, frozen=True, kw_only=True):
    event_type: WebhookEventType
    label: str
    description: str
    sample_payload: dict[str, Any]

    @classmethod
    def of(cls, info: EventTypeInfo) -> "WebhookEventTypeRead":
        return cls(**msgspec.structs.asdict(info))
