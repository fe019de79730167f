"""The ports of alerts and outbound webhooks: alert rules, alert events (and what the engine
reads about tags and gateways), webhook subscriptions and their secrets.

Kept beside ``ports.py`` (whose ``UnitOfWork`` exposes them); the in-memory and PostgreSQL
adapters pass the same contract suite.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from securityvision.domain.alerts import (
    AlertEvent,
    AlertEventType,
    AlertRule,
    AlertRuleType,
    NewAlertEvent,
    NewAlertRule,
    Place,
    Subject,
)
from securityvision.domain.webhooks import (
    NewWebhookSubscription,
    WebhookEventType,
    WebhookSubscription,
)


class AlertRuleFilter(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /alert-rules/`` filters (applied before paging)."""

    rule_type: AlertRuleType | None = None
    group_id: int | None = None
    device_id: int | None = None
    is_active: bool | None = None
    create_incident: bool | None = None


class AlertEventFilter(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /alert-events/`` filters (applied before paging)."""

    event_type: AlertEventType | None = None
    rule_id: int | None = None
    device_id: int | None = None
    person_id: int | None = None
    tag_id: int | None = None
    is_open: bool | None = None


class AlertRuleRepository(Protocol):
    async def add(self, rule: NewAlertRule) -> AlertRule: ...

    async def get(self, rule_id: int) -> AlertRule | None: ...

    async def list(
        self, where: AlertRuleFilter, *, skip: int = 0, limit: int = 100
    ) -> Sequence[AlertRule]:
        """Rules ordered by id."""
        ...

    async def active(self) -> Sequence[AlertRule]:
        """The active rules, ordered by id (read on every ingest batch: a short list)."""
        ...

    async def get_many(self, rule_ids: Collection[int]) -> Sequence[AlertRule]: ...

    async def update(self, rule: AlertRule) -> AlertRule:
        """Persist every field; ``updated_at`` is set by the repository."""
        ...

    async def delete(self, rule_id: int) -> bool: ...


class AlertEventRepository(Protocol):
    """Alert events (``alert_events``) and what the engine reads to raise them."""

    async def add_many(self, events: Sequence[NewAlertEvent]) -> Sequence[AlertEvent]:
        """Store the events, in order; ids grow in that order."""
        ...

    async def update_many(self, events: Sequence[AlertEvent]) -> None:
        """Persist ``last_seen_at``, ``ended_at``, ``is_open``, ``message`` and ``payload`` of
        each (by id); ``updated_at`` is set by the repository."""
        ...

    async def set_incident(self, event_id: int, incident_id: int) -> None: ...

    async def get(self, event_id: int) -> AlertEvent | None: ...

    async def list(
        self, where: AlertEventFilter, *, skip: int = 0, limit: int = 50
    ) -> Sequence[AlertEvent]:
        """Newest first (``started_at``, then id)."""
        ...

    async def open_presence(self, tag_ids: Collection[int]) -> Sequence[AlertEvent]:
        """The open FORBIDDEN_SECTOR and DWELL_TIME events of these tags, ordered by id, held
        until the unit of work ends."""
        ...

    async def open_for_rule(self, rule_id: int) -> Sequence[AlertEvent]:
        """The rule's open events, ordered by id, held until the unit of work ends."""
        ...

    async def stale_presence(self, seen_before: datetime, *, limit: int) -> Sequence[AlertEvent]:
        """Open presence events last seen before ``seen_before``, oldest first, held until the
        unit of work ends; events another transaction holds are skipped (it is deciding
        about them)."""
        ...

    async def open_offline(self, device_ids: Collection[int]) -> Mapping[int, AlertEvent]:
        """The open GATEWAY_OFFLINE event of each of these gateways, held."""
        ...

    async def subjects(self, tag_ids: Collection[int]) -> Mapping[int, Subject]:
        """Each existing tag with its person (if any) and that person's groups; tags of
        inactive people or inactive tags are left out (no alerts for them)."""
        ...

    async def places(self, device_ids: Collection[int]) -> Mapping[int, Place]:
        """Each existing device with its plan, floor and building (through the plan, else
        the device's own), and when it was last heard."""
        ...

    async def stay_starts(
        self, pairs: Collection[tuple[int, int]]
    ) -> Mapping[tuple[int, int], datetime]:
        """For each (tag, gateway), the start of its latest presence session."""
        ...

    async def count(self, *, since: datetime | None = None) -> int: ...


class WebhookSubscriptionRepository(Protocol):
    """Webhook subscriptions (``webhook_subscriptions``); secrets are stored encrypted and
    read only by the delivering relay."""

    async def add(
        self, subscription: NewWebhookSubscription, secret: bytes | None
    ) -> WebhookSubscription: ...

    async def get(self, subscription_id: int) -> WebhookSubscription | None: ...

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[WebhookSubscription]:
        """Subscriptions ordered by id."""
        ...

    async def wanting(
        self, event_types: Collection[WebhookEventType]
    ) -> Sequence[WebhookSubscription]:
        """Active subscriptions whose filter is empty or one of ``event_types``, by id."""
        ...

    async def update(self, subscription: WebhookSubscription) -> WebhookSubscription:
        """Persist every field but the secret; ``updated_at`` is set by the repository."""
        ...

    async def set_secret(self, subscription_id: int, secret: bytes | None) -> None: ...

    async def secret(self, subscription_id: int) -> bytes | None:
        """The encrypted secret, None when there is none."""
        ...

    async def delete(self, subscription_id: int) -> bool: ...
