"""Alert rules, alert events and webhook subscriptions in process memory, over the tables of
``memory.py``'s state. The contract suite runs these and the PostgreSQL repositories through
the same tests."""

import builtins
import itertools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from securityvision.adapters.memory_sites import SiteTables
from securityvision.application.alert_ports import AlertEventFilter, AlertRuleFilter
from securityvision.application.ports import Clock
from securityvision.domain.alerts import (
    PRESENCE_EVENT_TYPES,
    AlertEvent,
    AlertEventType,
    AlertRule,
    NewAlertEvent,
    NewAlertRule,
    Place,
    Subject,
)
from securityvision.domain.devices import Device
from securityvision.domain.errors import Conflict, StorageError
from securityvision.domain.people import Person
from securityvision.domain.presence import PresenceSession
from securityvision.domain.rtls import Tag
from securityvision.domain.webhooks import (
    NewWebhookSubscription,
    WebhookEventType,
    WebhookSubscription,
)


class AlertTables(msgspec.Struct, kw_only=True):
    rules: dict[int, AlertRule] = msgspec.field(default_factory=dict)
    events: dict[int, AlertEvent] = msgspec.field(default_factory=dict)
    subscriptions: dict[int, WebhookSubscription] = msgspec.field(default_factory=dict)
    secrets: dict[int, bytes] = msgspec.field(default_factory=dict)

    def clone(self) -> "AlertTables":
        return AlertTables(
            rules=dict(self.rules),
            events=dict(self.events),
            subscriptions=dict(self.subscriptions),
            secrets=dict(self.secrets),
        )


class AlertsHost(Protocol):
    """The parts of the in-memory state these repositories touch (``memory._State``)."""

    @property
    def alert_tables(self) -> AlertTables: ...

    @property
    def devices(self) -> dict[int, Device]: ...

    @property
    def tags(self) -> dict[int, Tag]: ...

    @property
    def people(self) -> dict[int, Person]: ...

    @property
    def memberships(self) -> set[tuple[int, int]]: ...

    @property
    def sessions(self) -> dict[int, PresenceSession]: ...

    @property
    def sites(self) -> SiteTables: ...


def _matches(item: msgspec.Struct, where: msgspec.Struct) -> bool:
    return all(
        value is None or getattr(item, name) == value
        for name, value in msgspec.structs.asdict(where).items()
    )


def _drop_rules(tables: AlertTables, rule_ids: Collection[int]) -> None:
    """Rules removed; their events stay, no longer naming them (``ON DELETE SET NULL``)."""
    gone = set(rule_ids)
    for rule_id in gone:
        tables.rules.pop(rule_id, None)
    for event in list(tables.events.values()):
        if event.rule_id in gone:
            tables.events[event.id] = msgspec.structs.replace(event, rule_id=None)


def forget_device(tables: AlertTables, device_id: int) -> None:
    """What the keys do in PostgreSQL when a device goes: the rules scoped to it go with it
    (left with no scope they would watch every gateway), its events stay without it."""
    _drop_rules(tables, [i for i, r in tables.rules.items() if r.device_id == device_id])
    for event in list(tables.events.values()):
        if event.device_id == device_id:
            tables.events[event.id] = msgspec.structs.replace(event, device_id=None)


def forget_person_group(tables: AlertTables, group_id: int) -> None:
    """What the keys do in PostgreSQL when a person group goes: the rules scoped to it go
    with it (left with no scope they would watch everyone), its events stay without it."""
    _drop_rules(tables, [i for i, r in tables.rules.items() if r.group_id == group_id])
    for event in list(tables.events.values()):
        if event.group_id == group_id:
            tables.events[event.id] = msgspec.structs.replace(event, group_id=None)


class InMemoryAlertRuleRepository:
    def __init__(self, state: AlertsHost, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    @property
    def _rules(self) -> dict[int, AlertRule]:
        return self._state.alert_tables.rules

    async def add(self, rule: NewAlertRule) -> AlertRule:
        now = self._clock.now()
        stored = AlertRule(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(rule)
        )
        self._rules[stored.id] = stored
        return stored

    async def get(self, rule_id: int) -> AlertRule | None:
        return self._rules.get(rule_id)

    async def get_many(self, rule_ids: Collection[int]) -> Sequence[AlertRule]:
        return [self._rules[i] for i in sorted(set(rule_ids)) if i in self._rules]

    async def list(
        self, where: AlertRuleFilter, *, skip: int = 0, limit: int = 100
    ) -> Sequence[AlertRule]:
        found = [r for _, r in sorted(self._rules.items()) if _matches(r, where)]
        return found[skip : skip + limit]

    async def active(self) -> Sequence[AlertRule]:
        return [r for _, r in sorted(self._rules.items()) if r.is_active]

    async def update(self, rule: AlertRule) -> AlertRule:
        if rule.id not in self._rules:
            raise StorageError(f"alert rule {rule.id} vanished")
        saved = msgspec.structs.replace(rule, updated_at=self._clock.now())
        self._rules[rule.id] = saved
        return saved

    async def delete(self, rule_id: int) -> bool:
        if rule_id not in self._rules:
            return False
        _drop_rules(self._state.alert_tables, [rule_id])
        return True


class InMemoryAlertEventRepository:
    def __init__(self, state: AlertsHost, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    @property
    def _events(self) -> dict[int, AlertEvent]:
        return self._state.alert_tables.events

    async def add_many(self, events: Sequence[NewAlertEvent]) -> Sequence[AlertEvent]:
        added = []
        for event in events:
            self._check_unique(event)
            now = self._clock.now()
            stored = AlertEvent(
                id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(event)
            )
            self._events[stored.id] = stored
            added.append(stored)
        return added

    def _check_unique(self, event: NewAlertEvent) -> None:
        """What the partial unique indexes say in PostgreSQL."""
        if not event.is_open:
            return
        for other in self._events.values():
            if not other.is_open or other.event_type != event.event_type:
                continue
            same_presence = event.event_type in PRESENCE_EVENT_TYPES and (
                (other.rule_id, other.tag_id, other.device_id)
                == (event.rule_id, event.tag_id, event.device_id)
            )
            same_gateway = (
                event.event_type is AlertEventType.GATEWAY_OFFLINE
                and other.device_id == event.device_id
            )
            if same_presence or same_gateway:
                raise Conflict("the alert is open already", code="conflict")

    async def update_many(self, events: Sequence[AlertEvent]) -> None:
        now = self._clock.now()
        for event in events:
            current = self._events.get(event.id)
            if current is None:
                continue
            self._events[event.id] = msgspec.structs.replace(
                current,
                last_seen_at=event.last_seen_at,
                ended_at=event.ended_at,
                is_open=event.is_open,
                message=event.message,
                payload=dict(event.payload),
                updated_at=now,
            )

    async def set_incident(self, event_id: int, incident_id: int) -> None:
        current = self._events.get(event_id)
        if current is not None:
            self._events[event_id] = msgspec.structs.replace(
                current, incident_id=incident_id, updated_at=self._clock.now()
            )

    async def get(self, event_id: int) -> AlertEvent | None:
        return self._events.get(event_id)

    async def list(
        self, where: AlertEventFilter, *, skip: int = 0, limit: int = 50
    ) -> Sequence[AlertEvent]:
        found = sorted(
            (e for e in self._events.values() if _matches(e, where)),
            key=lambda e: (e.started_at, e.id),
            reverse=True,
        )
        return found[skip : skip + limit]

    def _open(self) -> "builtins.list[AlertEvent]":
        return [e for _, e in sorted(self._events.items()) if e.is_open]

    async def open_presence(self, tag_ids: Collection[int]) -> Sequence[AlertEvent]:
        wanted = set(tag_ids)
        return [
            e for e in self._open() if e.tag_id in wanted and e.event_type in PRESENCE_EVENT_TYPES
        ]

    async def open_for_rule(self, rule_id: int) -> Sequence[AlertEvent]:
        return [e for e in self._open() if e.rule_id == rule_id]

    async def stale_presence(self, seen_before: datetime, *, limit: int) -> Sequence[AlertEvent]:
        stale = [
            e
            for e in self._open()
            if e.event_type in PRESENCE_EVENT_TYPES and e.last_seen_at < seen_before
        ]
        return sorted(stale, key=lambda e: (e.last_seen_at, e.id))[:limit]

    async def open_offline(self, device_ids: Collection[int]) -> Mapping[int, AlertEvent]:
        wanted = set(device_ids)
        return {
            e.device_id: e
            for e in self._open()
            if e.event_type is AlertEventType.GATEWAY_OFFLINE
            and e.device_id is not None
            and e.device_id in wanted
        }

    async def subjects(self, tag_ids: Collection[int]) -> Mapping[int, Subject]:
        state = self._state
        found: dict[int, Subject] = {}
        for tag_id in set(tag_ids):
            tag = state.tags.get(tag_id)
            if tag is None or not tag.active:
                continue
            person = state.people.get(tag.person_id) if tag.person_id is not None else None
            if person is not None and not person.active:
                continue
            groups = (
                frozenset(g for g, p in state.memberships if p == person.id)
                if person is not None
                else frozenset()
            )
            found[tag_id] = Subject(
                tag_id=tag_id,
                tag_mac=tag.mac_address,
                person_id=person.id if person else None,
                person_name=person.full_name if person else None,
                group_ids=groups,
            )
        return found

    async def places(self, device_ids: Collection[int]) -> Mapping[int, Place]:
        state = self._state
        sites = state.sites
        found: dict[int, Place] = {}
        for device_id in set(device_ids):
            device = state.devices.get(device_id)
            if device is None:
                continue
            plan = sites.floor_plans.get(device.floor_plan_id) if device.floor_plan_id else None
            floor_id = plan.floor_id if plan else device.floor_id
            floor = sites.floors.get(floor_id) if floor_id is not None else None
            found[device_id] = Place(
                device_id=device_id,
                device_name=device.name,
                floor_plan_id=device.floor_plan_id,
                floor_id=floor_id,
                building_id=floor.building_id if floor else device.building_id,
                last_seen_at=device.last_seen_at,
            )
        return found

    async def stay_starts(
        self, pairs: Collection[tuple[int, int]]
    ) -> Mapping[tuple[int, int], datetime]:
        wanted = set(pairs)
        starts: dict[tuple[int, int], datetime] = {}
        for session in self._state.sessions.values():
            key = (session.tag_id, session.device_id)
            if key in wanted and (key not in starts or starts[key] < session.started_at):
                starts[key] = session.started_at
        return starts

    async def count(self, *, since: datetime | None = None) -> int:
        return sum(1 for e in self._events.values() if since is None or e.started_at >= since)


class InMemoryWebhookSubscriptionRepository:
    def __init__(self, state: AlertsHost, ids: "itertools.count[int]", clock: Clock) -> None:
        self._tables = state.alert_tables
        self._ids = ids
        self._clock = clock

    async def add(
        self, subscription: NewWebhookSubscription, secret: bytes | None
    ) -> WebhookSubscription:
        now = self._clock.now()
        stored = WebhookSubscription(
            id=next(self._ids),
            created_at=now,
            updated_at=now,
            has_secret=secret is not None,
            **msgspec.structs.asdict(subscription),
        )
        self._tables.subscriptions[stored.id] = stored
        if secret is not None:
            self._tables.secrets[stored.id] = secret
        return stored

    async def get(self, subscription_id: int) -> WebhookSubscription | None:
        return self._tables.subscriptions.get(subscription_id)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[WebhookSubscription]:
        return [s for _, s in sorted(self._tables.subscriptions.items())][skip : skip + limit]

    async def wanting(
        self, event_types: Collection[WebhookEventType]
    ) -> Sequence[WebhookSubscription]:
        wanted = set(event_types)
        return [
            s
            for _, s in sorted(self._tables.subscriptions.items())
            if wanted
            and s.is_active
            and (s.event_type_filter is None or s.event_type_filter in wanted)
        ]

    async def update(self, subscription: WebhookSubscription) -> WebhookSubscription:
        current = self._tables.subscriptions.get(subscription.id)
        if current is None:
            raise StorageError(f"webhook subscription {subscription.id} vanished")
        saved = msgspec.structs.replace(
            subscription, has_secret=current.has_secret, updated_at=self._clock.now()
        )
        self._tables.subscriptions[saved.id] = saved
        return saved

    async def set_secret(self, subscription_id: int, secret: bytes | None) -> None:
        current = self._tables.subscriptions.get(subscription_id)
        if current is None:
            return
        if secret is None:
            self._tables.secrets.pop(subscription_id, None)
        else:
            self._tables.secrets[subscription_id] = secret
        self._tables.subscriptions[subscription_id] = msgspec.structs.replace(
            current, has_secret=secret is not None, updated_at=self._clock.now()
        )

    async def secret(self, subscription_id: int) -> bytes | None:
        return self._tables.secrets.get(subscription_id)

    async def delete(self, subscription_id: int) -> bool:
        self._tables.secrets.pop(subscription_id, None)
        return self._tables.subscriptions.pop(subscription_id, None) is not None
