"""In-memory adapters: the whole system of record in a few dicts.

For the domain and use-case tests and for services that embed the library without a
database. The contract suite (tests/contract) runs the same tests against these and the
PostgreSQL adapters, so they stay faithful.
"""

import asyncio
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Self

import msgspec

from securityvision.adapters.clock import SystemClock
from securityvision.adapters.memory_alerts import (
    AlertTables,
    InMemoryAlertEventRepository,
    InMemoryAlertRuleRepository,
    InMemoryWebhookSubscriptionRepository,
    forget_person_group,
)
from securityvision.adapters.memory_alerts import forget_device as forget_alerting_device
from securityvision.adapters.memory_cambus import (
    CamBusTables,
    InMemoryCameraPublicationRepository,
    InMemoryCameraUplinkRepository,
)
from securityvision.adapters.memory_chatwoot import ChatwootTables, InMemoryChatwootStore
from securityvision.adapters.memory_incidents import (
    IncidentTables,
    InMemoryCameraGroupRepository,
    InMemoryDeviceEventRepository,
    InMemoryDeviceSecretRepository,
    InMemoryIncidentMessageRepository,
    InMemoryIncidentRepository,
    InMemoryIncidentRuleRepository,
    InMemorySupportGroupRepository,
    forget_user,
)
from securityvision.adapters.memory_incidents import forget_device as forget_camera_device
from securityvision.adapters.memory_outbox import InMemoryLocks, InMemoryOutbox
from securityvision.adapters.memory_sites import (
    InMemoryBuildingRepository,
    InMemoryDeviceUserRepository,
    InMemoryFloorPlanRepository,
    InMemoryFloorRepository,
    InMemoryLocationRepository,
    InMemoryLocationRuleRepository,
    SiteTables,
    check_placement,
    forget_device,
    forget_person,
)
from securityvision.application.ports import (
    Clock,
    GatewaySighting,
    ReadingRow,
    UnknownTagSighting,
)
from securityvision.application.positions import PositionFilter, PositionView
from securityvision.application.rollup import DayRollup
from securityvision.domain.devices import Device, DeviceStatusEvent, DeviceType, NewDevice
from securityvision.domain.errors import Conflict, NotFound, StorageError
from securityvision.domain.events import LiveEvent
from securityvision.domain.identity import NewUser, Role, User
from securityvision.domain.outbox import OutboxMessage
from securityvision.domain.people import NewPerson, NewPersonGroup, Person, PersonGroup
from securityvision.domain.presence import (
    DailyUsage,
    PresenceSession,
    Sighting,
    TagPosition,
    add_up_day,
    merge_usage,
)
from securityvision.domain.rtls import (
    CollectionLog,
    NewCollectionLog,
    NewTag,
    Tag,
    UnknownTag,
    gateway_code,
)


class _State(msgspec.Struct, kw_only=True):
    users: dict[int, User] = msgspec.field(default_factory=dict)
    people: dict[int, Person] = msgspec.field(default_factory=dict)
    person_groups: dict[int, PersonGroup] = msgspec.field(default_factory=dict)
    # (group_id, person_id) pairs, as person_group_memberships.
    memberships: set[tuple[int, int]] = msgspec.field(default_factory=set)
    tags: dict[int, Tag] = msgspec.field(default_factory=dict)
    devices: dict[int, Device] = msgspec.field(default_factory=dict)
    collection_logs: dict[int, CollectionLog] = msgspec.field(default_factory=dict)
    # Keyed by MAC; ``last_device_name`` is not kept here but read from ``devices``.
    unknown_tags: dict[str, UnknownTag] = msgspec.field(default_factory=dict)
    receipts: dict[bytes, datetime] = msgspec.field(default_factory=dict)
    status_events: list[DeviceStatusEvent] = msgspec.field(default_factory=list)
    outbox: dict[int, OutboxMessage] = msgspec.field(default_factory=dict)
    sessions: dict[int, PresenceSession] = msgspec.field(default_factory=dict)
    positions: dict[int, TagPosition] = msgspec.field(default_factory=dict)
    # Which unit of work wrote each presence lane last (presence_writer), by lane.
    presence_writer: dict[int, int] = msgspec.field(default_factory=dict)
    # presence_daily_usage by (tag, device, day), and the days rolled up (presence_rollups).
    daily_usage: dict[tuple[int, int, date], DailyUsage] = msgspec.field(default_factory=dict)
    rolled_days: dict[date, DayRollup] = msgspec.field(default_factory=dict)
    # Buildings, floors, plans, locations and their rules, device users (memory_sites.py).
    sites: SiteTables = msgspec.field(default_factory=SiteTables)
    # Camera events, groups, support groups, rules, incidents (memory_incidents.py).
    incident_tables: IncidentTables = msgspec.field(default_factory=IncidentTables)
    # Chatwoot's links and webhook bookkeeping (memory_chatwoot.py).
    chatwoot: ChatwootTables = msgspec.field(default_factory=ChatwootTables)
    # What was published to cam-bus, cameras' uplinks (memory_cambus.py).
    cambus_tables: CamBusTables = msgspec.field(default_factory=CamBusTables)
    # Alert rules and events, webhook subscriptions (memory_alerts.py).
    alert_tables: AlertTables = msgspec.field(default_factory=AlertTables)

    def clone(self) -> "_State":
        """A copy whose tables can change without touching this one (values are frozen)."""
        return _State(
            users=dict(self.users),
            people=dict(self.people),
            person_groups=dict(self.person_groups),
            memberships=set(self.memberships),
            tags=dict(self.tags),
            devices=dict(self.devices),
            collection_logs=dict(self.collection_logs),
            unknown_tags=dict(self.unknown_tags),
            receipts=dict(self.receipts),
            status_events=list(self.status_events),
            outbox=dict(self.outbox),
            sessions=dict(self.sessions),
            positions=dict(self.positions),
            presence_writer=dict(self.presence_writer),
            daily_usage=dict(self.daily_usage),
            rolled_days=dict(self.rolled_days),
            sites=self.sites.clone(),
            incident_tables=self.incident_tables.clone(),
            chatwoot=self.chatwoot.clone(),
            cambus_tables=self.cambus_tables.clone(),
            alert_tables=self.alert_tables.clone(),
        )


class InMemoryUserRepository:
    def __init__(self, state: _State, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    async def add(self, user: NewUser) -> User:
        if await self.get_by_email(user.email) is not None:
            raise Conflict("a user with this email already exists", code="email_taken")
        now = self._clock.now()
        fields = msgspec.structs.asdict(user)
        stored = User(id=next(self._ids), created_at=now, updated_at=now, **fields)
        self._state.users[stored.id] = stored
        return stored

    async def get(self, user_id: int) -> User | None:
        return self._state.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._state.users.values() if u.email == email.lower()), None)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[User]:
        ordered = sorted(self._state.users.values(), key=lambda u: u.id)
        return ordered[skip : skip + limit]

    async def update(self, user: User) -> User:
        if user.id not in self._state.users:
            raise StorageError(f"user {user.id} vanished")
        stored = msgspec.structs.replace(user, updated_at=self._clock.now())
        self._state.users[user.id] = stored
        return stored

    async def delete(self, user_id: int) -> bool:
        if self._state.users.pop(user_id, None) is None:
            return False
        forget_user(self._state.incident_tables, user_id)
        return True

    async def count(self) -> int:
        return len(self._state.users)

    async def count_admins(self) -> int:
        return sum(
            1
            for u in self._state.users.values()
            if u.is_active and (u.is_superuser or u.role in (Role.ADMIN, Role.SUPERADMIN))
        )


class InMemoryPersonRepository:
    def __init__(self, state: _State, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    async def add(self, person: NewPerson) -> Person:
        now = self._clock.now()
        stored = Person(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(person)
        )
        self._state.people[stored.id] = stored
        return stored

    async def get(self, person_id: int) -> Person | None:
        return self._state.people.get(person_id)

    async def get_many(self, person_ids: Collection[int]) -> Sequence[Person]:
        return [self._state.people[i] for i in sorted(set(person_ids)) if i in self._state.people]

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Person]:
        return sorted(self._state.people.values(), key=lambda p: p.id)[skip : skip + limit]

    async def update(self, person: Person) -> Person:
        if person.id not in self._state.people:
            raise StorageError(f"person {person.id} vanished")
        stored = msgspec.structs.replace(person, updated_at=self._clock.now())
        self._state.people[person.id] = stored
        return stored

    async def delete(self, person_id: int) -> bool:
        if self._state.people.pop(person_id, None) is None:
            return False
        self._state.memberships = {m for m in self._state.memberships if m[1] != person_id}
        forget_person(self._state.sites, person_id)
        for tag in list(self._state.tags.values()):
            if tag.person_id == person_id:
                self._state.tags[tag.id] = msgspec.structs.replace(tag, person_id=None)
        return True


class InMemoryPersonGroupRepository:
    def __init__(self, state: _State, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    def _check_name(self, name: str, group_id: int | None = None) -> None:
        if any(g.name == name and g.id != group_id for g in self._state.person_groups.values()):
            raise Conflict(
                "a person group with this name already exists", code="person_group_name_taken"
            )

    async def add(self, group: NewPersonGroup) -> PersonGroup:
        self._check_name(group.name)
        now = self._clock.now()
        stored = PersonGroup(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(group)
        )
        self._state.person_groups[stored.id] = stored
        return stored

    async def get(self, group_id: int) -> PersonGroup | None:
        return self._state.person_groups.get(group_id)

    async def get_many(self, group_ids: Collection[int]) -> Sequence[PersonGroup]:
        groups = self._state.person_groups
        return [groups[i] for i in sorted(set(group_ids)) if i in groups]

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[PersonGroup]:
        return sorted(self._state.person_groups.values(), key=lambda g: g.id)[skip : skip + limit]

    async def update(self, group: PersonGroup) -> PersonGroup:
        if group.id not in self._state.person_groups:
            raise StorageError(f"person group {group.id} vanished")
        self._check_name(group.name, group.id)
        stored = msgspec.structs.replace(group, updated_at=self._clock.now())
        self._state.person_groups[group.id] = stored
        return stored

    async def delete(self, group_id: int) -> bool:
        if self._state.person_groups.pop(group_id, None) is None:
            return False
        self._state.memberships = {m for m in self._state.memberships if m[0] != group_id}
        forget_person_group(self._state.alert_tables, group_id)
        return True

    async def members(self, group_id: int) -> Sequence[Person]:
        ids = sorted(p for g, p in self._state.memberships if g == group_id)
        return [self._state.people[i] for i in ids]

    async def set_members(self, group_id: int, person_ids: Collection[int]) -> None:
        kept = {m for m in self._state.memberships if m[0] != group_id}
        self._state.memberships = kept | {(group_id, p) for p in person_ids}

    async def groups_of(self, person_ids: Collection[int]) -> Mapping[int, Sequence[PersonGroup]]:
        wanted = set(person_ids)
        found: dict[int, list[PersonGroup]] = defaultdict(list)
        for group_id, person_id in sorted(self._state.memberships):
            if person_id in wanted:
                found[person_id].append(self._state.person_groups[group_id])
        return dict(found)

    async def set_groups_of(self, person_id: int, group_ids: Collection[int]) -> None:
        kept = {m for m in self._state.memberships if m[1] != person_id}
        self._state.memberships = kept | {(g, person_id) for g in group_ids}


class InMemoryTagRepository:
    def __init__(self, state: _State, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    def _check(self, tag: NewTag | Tag, tag_id: int | None = None) -> None:
        if any(
            t.mac_address == tag.mac_address and t.id != tag_id for t in self._state.tags.values()
        ):
            raise Conflict("a tag with this MAC address already exists", code="tag_mac_taken")
        if tag.person_id is not None and tag.person_id not in self._state.people:
            raise NotFound(f"person {tag.person_id} not found", code="person_not_found")

    async def add(self, tag: NewTag) -> Tag:
        self._check(tag)
        now = self._clock.now()
        stored = Tag(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(tag)
        )
        self._state.tags[stored.id] = stored
        return stored

    async def get(self, tag_id: int) -> Tag | None:
        return self._state.tags.get(tag_id)

    async def get_by_mac(self, mac_address: str) -> Tag | None:
        return next((t for t in self._state.tags.values() if t.mac_address == mac_address), None)

    async def list(
        self, *, person_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> Sequence[Tag]:
        tags = sorted(self._state.tags.values(), key=lambda t: t.id)
        if person_id is not None:
            tags = [t for t in tags if t.person_id == person_id]
        return tags[skip : skip + limit]

    async def update(self, tag: Tag) -> Tag:
        if tag.id not in self._state.tags:
            raise StorageError(f"tag {tag.id} vanished")
        self._check(tag, tag.id)
        stored = msgspec.structs.replace(tag, updated_at=self._clock.now())
        self._state.tags[tag.id] = stored
        return stored

    async def delete(self, tag_id: int) -> bool:
        if self._state.tags.pop(tag_id, None) is None:
            return False
        logs = self._state.collection_logs
        self._state.collection_logs = {i: r for i, r in logs.items() if r.tag_id != tag_id}
        return True


class InMemoryUnknownTagRepository:
    def __init__(self, state: _State) -> None:
        self._state = state

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[UnknownTag]:
        ordered = sorted(
            self._state.unknown_tags.values(),
            key=lambda u: (-u.last_seen_at.timestamp(), u.mac_address),
        )
        devices = self._state.devices
        return [
            msgspec.structs.replace(
                u,
                last_device_name=(
                    devices[u.last_device_id].name if u.last_device_id in devices else None
                ),
            )
            for u in ordered[skip : skip + limit]
        ]


class InMemoryDeviceRepository:
    """Placements are checked against the in-memory sites, as PostgreSQL's keys do."""

    def __init__(self, state: _State, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    def _check_unique(self, device: NewDevice | Device, device_id: int | None = None) -> None:
        for other in self._state.devices.values():
            if other.id == device_id:
                continue
            if device.code is not None and other.code == device.code:
                raise Conflict("a device with this code already exists", code="device_code_taken")
            if device.mac_address is not None and other.mac_address == device.mac_address:
                raise Conflict(
                    "a device with this MAC address already exists", code="device_mac_taken"
                )

    async def add(self, device: NewDevice) -> Device:
        self._check_unique(device)
        check_placement(self._state.sites, device)
        now = self._clock.now()
        stored = Device(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(device)
        )
        self._state.devices[stored.id] = stored
        return stored

    async def get(self, device_id: int) -> Device | None:
        return self._state.devices.get(device_id)

    async def get_for_update(self, device_id: int) -> Device | None:
        return self._state.devices.get(device_id)

    async def list(
        self,
        *,
        type: DeviceType | None = None,
        floor_plan_id: int | None = None,
        floor_id: int | None = None,
        skip: int = 0,
        limit: int | None = 100,
    ) -> Sequence[Device]:
        devices = sorted(self._state.devices.values(), key=lambda d: d.id)
        if type is not None:
            devices = [d for d in devices if d.type is type]
        if floor_plan_id is not None:
            devices = [d for d in devices if d.floor_plan_id == floor_plan_id]
        if floor_id is not None:
            devices = [d for d in devices if d.floor_id == floor_id]
        return devices[skip:] if limit is None else devices[skip : skip + limit]

    async def find_camera(self, code: str) -> Device | None:
        return next(
            (
                d
                for d in sorted(self._state.devices.values(), key=lambda d: d.id)
                if d.type is DeviceType.CAMERA and (d.code or "").lower() == code.lower()
            ),
            None,
        )

    async def find_by_mac(self, mac_address: str) -> Sequence[Device]:
        return sorted(
            (d for d in self._state.devices.values() if d.mac_address == mac_address),
            key=lambda d: d.id,
        )

    async def update(self, device: Device) -> Device:
        current = self._state.devices.get(device.id)
        if current is None:
            raise StorageError(f"device {device.id} vanished")
        self._check_unique(device, device.id)
        check_placement(self._state.sites, device)
        stored = msgspec.structs.replace(
            device, reported_online=current.reported_online, updated_at=self._clock.now()
        )
        self._state.devices[device.id] = stored
        return stored

    async def delete(self, device_id: int) -> bool:
        if self._state.devices.pop(device_id, None) is None:
            return False
        forget_device(self._state.sites, device_id)
        forget_camera_device(self._state.incident_tables, device_id)
        forget_alerting_device(self._state.alert_tables, device_id)
        logs = self._state.collection_logs
        self._state.collection_logs = {i: r for i, r in logs.items() if r.device_id != device_id}
        for mac, unknown in list(self._state.unknown_tags.items()):
            if unknown.last_device_id == device_id:
                self._state.unknown_tags[mac] = msgspec.structs.replace(
                    unknown, last_device_id=None
                )
        return True


class InMemoryCollectionLogRepository:
    def __init__(self, state: _State, ids: "itertools.count[int]") -> None:
        self._state = state
        self._ids = ids

    async def add(self, log: NewCollectionLog) -> CollectionLog:
        key = (log.tag_id, log.created_at, log.device_id)
        if any((r.tag_id, r.created_at, r.device_id) == key for r in self._logs()):
            raise Conflict(
                "this tag was already read by this device at this instant", code="reading_exists"
            )
        stored = CollectionLog(id=next(self._ids), **msgspec.structs.asdict(log))
        self._state.collection_logs[stored.id] = stored
        return stored

    def _logs(self) -> Sequence[CollectionLog]:
        return list(self._state.collection_logs.values())

    async def get(self, log_id: int) -> CollectionLog | None:
        return self._state.collection_logs.get(log_id)

    async def list(
        self,
        *,
        device_id: int | None = None,
        tag_id: int | None = None,
        from_ts: datetime | None = None,
        to_ts: datetime | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[CollectionLog]:
        found = [
            r
            for r in self._logs()
            if (device_id is None or r.device_id == device_id)
            and (tag_id is None or r.tag_id == tag_id)
            and (from_ts is None or r.created_at >= from_ts)
            and (to_ts is None or r.created_at <= to_ts)
        ]
        found.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return found[skip : skip + limit]

    async def delete(self, log_id: int) -> bool:
        return self._state.collection_logs.pop(log_id, None) is not None

    async def has_for_device(self, device_id: int) -> bool:
        return any(r.device_id == device_id for r in self._logs())

    async def delete_for_device(self, device_id: int) -> int:
        logs = self._state.collection_logs
        kept = {i: r for i, r in logs.items() if r.device_id != device_id}
        self._state.collection_logs = kept
        return len(logs) - len(kept)


class InMemoryIngestStore:
    """The ingest port over the dicts; topic placement (building, floor) is PostgreSQL's
    alone, since this adapter keeps no sites."""

    def __init__(self, state: _State, ids: "itertools.count[int]", clock: Clock) -> None:
        self._state = state
        self._ids = ids
        self._clock = clock

    async def first_received(
        self, receipts: Mapping[bytes, tuple[datetime, bool]]
    ) -> Mapping[bytes, datetime]:
        times: dict[bytes, datetime] = {}
        for fingerprint, (at, redelivered) in receipts.items():
            if not redelivered:
                self._state.receipts[fingerprint] = at
            times[fingerprint] = self._state.receipts.setdefault(fingerprint, at)
        return times

    async def forget_receipts(self, fingerprints: Sequence[bytes]) -> None:
        for fingerprint in fingerprints:
            self._state.receipts.pop(fingerprint, None)

    async def register_gateways(self, sightings: Sequence[GatewaySighting]) -> Mapping[str, int]:
        devices = self._state.devices
        ids: dict[str, int] = {}
        for s in sightings:
            code = gateway_code(s.key, s.mac)
            found = next(
                (
                    d
                    for d in sorted(devices.values(), key=lambda d: d.id)
                    if (s.mac and d.mac_address == s.mac) or d.code == code
                ),
                None,
            )
            if found is None:
                now = self._clock.now()
                found = Device(
                    id=next(self._ids),
                    name=f"Gateway {s.mac or s.key}",
                    code=code,
                    mac_address=s.mac,
                    type=DeviceType.BLE_GATEWAY,
                    description="Auto-created from MQTT",
                    tenant=s.tenant,
                    created_at=now,
                    updated_at=now,
                )
            if s.last_active_at and (
                found.last_seen_at is None or found.last_seen_at < s.last_active_at
            ):
                found = msgspec.structs.replace(found, last_seen_at=s.last_active_at)
            devices[found.id] = found
            ids[s.key] = found.id
        return ids

    async def tag_ids(self, macs: Iterable[str], *, register: bool) -> Mapping[str, int]:
        by_mac = {t.mac_address: t.id for t in self._state.tags.values()}
        found: dict[str, int] = {}
        for mac in sorted(set(macs)):
            if mac not in by_mac and register:
                now = self._clock.now()
                tag = Tag(
                    id=next(self._ids),
                    mac_address=mac,
                    notes="Registered from MQTT (RTLS_ACCEPT_UNKNOWN_TAGS)",
                    created_at=now,
                    updated_at=now,
                )
                self._state.tags[tag.id] = tag
                by_mac[mac] = tag.id
            if mac in by_mac:
                found[mac] = by_mac[mac]
        return found

    async def add_readings(self, rows: Sequence[ReadingRow]) -> Sequence[ReadingRow]:
        logs = self._state.collection_logs
        taken = {(log.tag_id, log.created_at, log.device_id) for log in logs.values()}
        inserted: list[ReadingRow] = []
        for row in rows:
            key = (row.tag_id, row.ts, row.device_id)
            if key in taken:
                continue
            taken.add(key)
            log = CollectionLog(
                id=next(self._ids),
                device_id=row.device_id,
                tag_id=row.tag_id,
                rssi=row.rssi,
                created_at=row.ts,
                received_at=row.received_at,
                raw_payload=row.raw_payload,
            )
            logs[log.id] = log
            inserted.append(row)
        return inserted

    async def record_unknown_tags(self, sightings: Sequence[UnknownTagSighting]) -> None:
        for s in sightings:
            known = self._state.unknown_tags.get(s.mac)
            if known is None:
                self._state.unknown_tags[s.mac] = UnknownTag(
                    mac_address=s.mac,
                    last_device_id=s.device_id,
                    last_rssi=s.rssi,
                    first_seen_at=s.seen_at,
                    last_seen_at=s.seen_at,
                    readings_count=s.count,
                )
                continue
            newer = s.seen_at >= known.last_seen_at
            self._state.unknown_tags[s.mac] = msgspec.structs.replace(
                known,
                last_device_id=s.device_id if newer else known.last_device_id,
                last_rssi=s.rssi if newer else known.last_rssi,
                first_seen_at=min(known.first_seen_at, s.seen_at),
                last_seen_at=max(known.last_seen_at, s.seen_at),
                readings_count=known.readings_count + s.count,
            )

    async def apply_transitions(
        self, online: Sequence[int], offline: Sequence[int], at: datetime
    ) -> tuple[list[int], list[int]]:
        return self._transition(online, True, at), self._transition(offline, False, at)

    def _transition(self, device_ids: Sequence[int], online: bool, at: datetime) -> list[int]:
        changed = []
        for device_id in sorted(set(device_ids)):
            device = self._state.devices.get(device_id)
            if device is None or device.reported_online is online:
                continue
            self._state.devices[device_id] = msgspec.structs.replace(device, reported_online=online)
            self._state.status_events.append(
                DeviceStatusEvent(
                    id=next(self._ids),
                    device_id=device_id,
                    online=online,
                    occurred_at=at,
                    last_seen_at=device.last_seen_at,
                )
            )
            changed.append(device_id)
        return changed

    async def mark_silent_offline(self, silent_since: datetime, at: datetime) -> list[int]:
        silent = [
            d.id
            for d in self._state.devices.values()
            if d.type is DeviceType.BLE_GATEWAY
            and d.reported_online is True
            and (d.last_seen_at is None or d.last_seen_at < silent_since)
        ]
        return self._transition(silent, False, at)

    async def prune_receipts(self, before: datetime) -> int:
        old = [f for f, at in self._state.receipts.items() if at < before]
        for fingerprint in old:
            del self._state.receipts[fingerprint]
        return len(old)

    async def status_events(self, *, after_id: int = 0) -> Sequence[DeviceStatusEvent]:
        return [e for e in self._state.status_events if e.id > after_id]


class InMemoryPresenceStore:
    def __init__(self, state: _State, ids: "itertools.count[int]") -> None:
        self._state = state
        self._ids = ids
        self._token: int | None = None  # this unit of work's, as a transaction's id

    async def lock_tags(self, tag_ids: Iterable[int]) -> None:
        return None  # one process, one event loop: units of work do not interleave here

    async def claim(self, lane: int | None = None) -> tuple[int | None, int]:
        if self._token is None:
            self._token = next(self._ids)
        writers, mine = self._state.presence_writer, self._token
        lanes = [lane] if lane is not None else sorted(writers.keys() | {0})
        previous = {writers[k] for k in lanes if k in writers}
        for k in lanes:
            writers[k] = mine
        return (previous.pop() if len(previous) == 1 else None), mine

    async def sessions_near(
        self, sightings: Sequence[Sighting], gap: timedelta
    ) -> Sequence[PresenceSession]:
        return [
            session
            for session in self._state.sessions.values()
            if any(
                s.tag_id == session.tag_id
                and s.device_id == session.device_id
                and session.started_at - gap <= s.ts <= session.ended_at + gap
                for s in sightings
            )
        ]

    async def replace_sessions(
        self,
        replaced: Sequence[int],
        added: Sequence[PresenceSession],
        updated: Sequence[PresenceSession] = (),
    ) -> None:
        for session_id in replaced:
            self._state.sessions.pop(session_id, None)
        for session in updated:
            if session.id is not None:
                self._state.sessions[session.id] = session
        for session in added:
            new_id = next(self._ids)
            self._state.sessions[new_id] = msgspec.structs.replace(session, id=new_id)

    async def extend_sessions(
        self, runs: Sequence[PresenceSession], gap: timedelta
    ) -> Sequence[tuple[int, int]]:
        latest: dict[tuple[int, int], PresenceSession] = {}
        for session in self._state.sessions.values():
            key = (session.tag_id, session.device_id)
            known = latest.get(key)
            if known is None or session.started_at > known.started_at:
                latest[key] = session
        late: list[tuple[int, int]] = []
        for run in runs:
            last = latest.get((run.tag_id, run.device_id))
            if last is not None and last.id is not None and last.day == run.day:
                if run.started_at < last.started_at:
                    late.append((run.tag_id, run.device_id))
                    continue
                if run.started_at <= last.ended_at + gap:
                    self._state.sessions[last.id] = msgspec.structs.replace(
                        last,
                        ended_at=max(last.ended_at, run.ended_at),
                        samples_count=last.samples_count + run.samples_count,
                        rssi_sum=last.rssi_sum + run.rssi_sum,
                        rssi_max=max(last.rssi_max, run.rssi_max),
                    )
                    continue
            elif last is not None and last.day > run.day:
                late.append((run.tag_id, run.device_id))
                continue
            new_id = next(self._ids)
            self._state.sessions[new_id] = msgspec.structs.replace(run, id=new_id)
        return late

    async def positions(self, tag_ids: Iterable[int]) -> Mapping[int, TagPosition]:
        return {t: self._state.positions[t] for t in tag_ids if t in self._state.positions}

    async def save_positions(self, positions: Iterable[TagPosition]) -> None:
        for position in positions:
            self._state.positions[position.tag_id] = position


class InMemoryEventBus:
    """Live events of this process: what committed units of work published."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[LiveEvent]] = set()
        self.published: list[LiveEvent] = []

    def deliver(self, events: Sequence[LiveEvent]) -> None:
        self.published.extend(events)
        for queue in self._listeners:
            for event in events:
                queue.put_nowait(event)

    async def stream(self) -> AsyncIterator[LiveEvent]:
        queue: asyncio.Queue[LiveEvent] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.discard(queue)


class InMemoryEventLog:
    def __init__(self) -> None:
        self.pending: list[LiveEvent] = []

    async def publish(self, *events: LiveEvent) -> None:
        self.pending.extend(events)


class InMemoryUnitOfWork:
    """Works on a copy of the state and publishes it on ``commit()``; leaving the block
    without committing discards the copy, like a rolled-back transaction."""

    def __init__(self, storage: "InMemoryStorage", *, read_only: bool = False) -> None:
        self._storage = storage
        self._read_only = read_only
        self.committed = False

    async def __aenter__(self) -> Self:
        self._working = self._storage.state.clone()
        self.users = InMemoryUserRepository(self._working, self._storage.ids, self._storage.clock)
        self.events = InMemoryEventLog()
        state, ids, clock = self._working, self._storage.ids, self._storage.clock
        self.people = InMemoryPersonRepository(state, ids, clock)
        self.person_groups = InMemoryPersonGroupRepository(state, ids, clock)
        self.tags = InMemoryTagRepository(state, ids, clock)
        self.unknown_tags = InMemoryUnknownTagRepository(state)
        self.devices = InMemoryDeviceRepository(state, ids, clock)
        self.collection_logs = InMemoryCollectionLogRepository(state, ids)
        self.ingest = InMemoryIngestStore(state, ids, clock)
        self.outbox = InMemoryOutbox(state.outbox, ids, clock)
        self.presence = InMemoryPresenceStore(state, ids)
        self.buildings = InMemoryBuildingRepository(state, ids, clock)
        self.floors = InMemoryFloorRepository(state, ids, clock)
        self.floor_plans = InMemoryFloorPlanRepository(state, ids, clock)
        self.locations = InMemoryLocationRepository(state, ids, clock)
        self.location_rules = InMemoryLocationRuleRepository(state, ids, clock)
        self.device_users = InMemoryDeviceUserRepository(state, ids, clock)
        self.device_events = InMemoryDeviceEventRepository(state, ids, clock)
        self.device_secrets = InMemoryDeviceSecretRepository(state, ids, clock)
        self.camera_groups = InMemoryCameraGroupRepository(state, ids, clock)
        self.support_groups = InMemorySupportGroupRepository(state, ids, clock)
        self.incident_rules = InMemoryIncidentRuleRepository(state, ids, clock)
        self.incidents = InMemoryIncidentRepository(state, ids, clock)
        self.incident_messages = InMemoryIncidentMessageRepository(state, ids, clock)
        self.chatwoot = InMemoryChatwootStore(state)
        self.camera_publications = InMemoryCameraPublicationRepository(state)
        self.camera_uplinks = InMemoryCameraUplinkRepository(state)
        self.alert_rules = InMemoryAlertRuleRepository(state, ids, clock)
        self.alert_events = InMemoryAlertEventRepository(state, ids, clock)
        self.webhooks = InMemoryWebhookSubscriptionRepository(state, ids, clock)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self._working

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot write or commit")
        self._storage.state = self._working
        self.committed = True
        self._storage.event_bus.deliver(self.events.pending)
        self.events.pending = []


class InMemoryLoginAttempts:
    def __init__(self) -> None:
        self._failures: dict[str, list[datetime]] = defaultdict(list)

    async def record_failure(self, keys: Sequence[str], at: datetime) -> None:
        for key in keys:
            self._failures[key].append(at)

    async def failures_since(self, key: str, since: datetime) -> Sequence[datetime]:
        return sorted(t for t in self._failures.get(key, ()) if t >= since)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class InMemoryStorage:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self.state = _State()
        self.ids = itertools.count(1)
        self._login_attempts = InMemoryLoginAttempts()
        self._locks = InMemoryLocks()
        self.event_bus = InMemoryEventBus()
        self.is_open = False

    @property
    def login_attempts(self) -> InMemoryLoginAttempts:
        return self._login_attempts

    @property
    def locks(self) -> InMemoryLocks:
        return self._locks

    def unit_of_work(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self, read_only=read_only)

    def event_source(self) -> InMemoryEventBus:
        return self.event_bus

    async def ensure_schema(self, *, apply: bool) -> list[str]:
        return []

    async def open(self) -> None:
        self.is_open = True

    async def close(self) -> None:
        self.is_open = False

    async def ping(self) -> None:
        return None


class InMemoryPositionQueries:
    """The positions read model over the in-memory state, joined as PostgreSQL joins it."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage

    async def current(self, where: PositionFilter) -> list[PositionView]:
        state = self._storage.state
        sites = state.sites
        newest: dict[int, PositionView] = {}
        for position in state.positions.values():
            tag = state.tags.get(position.tag_id)
            person = state.people.get(tag.person_id) if tag and tag.person_id else None
            device = state.devices.get(position.device_id)
            if tag is None or person is None or device is None:
                continue
            plan = sites.floor_plans.get(device.floor_plan_id) if device.floor_plan_id else None
            floor = sites.floors.get(plan.floor_id) if plan else None
            building = sites.buildings.get(floor.building_id) if floor else None
            view = PositionView(
                person_id=person.id,
                person_full_name=person.full_name,
                tag_id=tag.id,
                tag_mac_address=tag.mac_address,
                device_id=device.id,
                device_name=device.name,
                device_mac_address=device.mac_address,
                device_pos_x=device.pos_x,
                device_pos_y=device.pos_y,
                floor_plan_id=plan.id if plan else None,
                floor_plan_name=plan.name if plan else None,
                floor_plan_image_url=plan.image_url if plan else None,
                floor_id=floor.id if floor else None,
                floor_name=floor.name if floor else None,
                building_id=building.id if building else None,
                building_name=building.name if building else None,
                last_seen_at=position.last_seen_at,
                confidence=position.confidence,
            )
            if not _matches(view, where, person.active and tag.active, state.memberships):
                continue
            if person.id not in newest or newest[person.id].last_seen_at < view.last_seen_at:
                newest[person.id] = view
        return sorted(newest.values(), key=lambda v: v.person_id)


def _matches(
    view: PositionView, where: PositionFilter, active: bool, memberships: set[tuple[int, int]]
) -> bool:
    wanted = {
        "person_id": where.person_id,
        "device_id": where.device_id,
        "floor_plan_id": where.floor_plan_id,
        "floor_id": where.floor_id,
        "building_id": where.building_id,
    }
    if any(value is not None and getattr(view, name) != value for name, value in wanted.items()):
        return False
    if where.seen_since is not None and view.last_seen_at < where.seen_since:
        return False
    if where.only_active_people and not active:
        return False
    return where.group_id is None or (where.group_id, view.person_id) in memberships


class InMemoryRollupStore:
    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage

    async def days_with_presence(self, before: date) -> Sequence[date]:
        return sorted({s.day for s in self._storage.state.sessions.values() if s.day < before})

    async def roll_up_day(
        self, day: date, start: datetime, end: datetime, zone_name: str, *, dry_run: bool
    ) -> DayRollup:
        state = self._storage.state
        sessions = [s for s in state.sessions.values() if s.day == day]
        result = DayRollup(
            day=day, sessions=len(sessions), readings=sum(s.samples_count for s in sessions)
        )
        if dry_run or not sessions:
            return result
        for usage in add_up_day(sessions):
            key = (usage.tag_id, usage.device_id, usage.day)
            state.daily_usage[key] = merge_usage(state.daily_usage.get(key), usage)
        before = state.rolled_days.get(day)
        state.rolled_days[day] = DayRollup(
            day=day,
            sessions=result.sessions + (before.sessions if before else 0),
            readings=result.readings + (before.readings if before else 0),
        )
        for session in sessions:
            state.sessions.pop(session.id or 0, None)
        for log in [log for log in state.collection_logs.values() if start <= log.created_at < end]:
            del state.collection_logs[log.id]
        return result
