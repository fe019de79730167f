"""Camera events, camera groups, credentials, support groups, incident rules, incidents and
their timeline in process memory, over the tables of ``memory.py``'s state.

What PostgreSQL's keys do is done by hand: deleting a device takes its events, incidents,
group memberships and rules with it; deleting a user their memberships and assignments;
deleting a group the rules scoped to it. The contract suite runs these and the PostgreSQL
repositories through the same tests.
"""

import itertools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from securityvision.application.ports import Clock
from securityvision.domain.cameras import CameraGroup, DeviceEvent, NewCameraGroup, NewDeviceEvent
from securityvision.domain.devices import Device
from securityvision.domain.errors import Conflict, NotFound, StorageError
from securityvision.domain.identity import User
from securityvision.domain.incident_rules import (
    IncidentRule,
    NewIncidentRule,
    NewSupportGroup,
    SupportGroup,
)
from securityvision.domain.incidents import (
    Incident,
    IncidentMessage,
    NewIncident,
    NewIncidentMessage,
)


class IncidentTables(msgspec.Struct, kw_only=True):
    device_events: dict[int, DeviceEvent] = msgspec.field(default_factory=dict)
    passwords: dict[int, bytes] = msgspec.field(default_factory=dict)
    camera_groups: dict[int, CameraGroup] = msgspec.field(default_factory=dict)
    support_groups: dict[int, SupportGroup] = msgspec.field(default_factory=dict)
    rules: dict[int, IncidentRule] = msgspec.field(default_factory=dict)
    incidents: dict[int, Incident] = msgspec.field(default_factory=dict)
    # (incident_id, user_id) pairs, as incident_assignees.
    assignees: set[tuple[int, int]] = msgspec.field(default_factory=set)
    messages: dict[int, IncidentMessage] = msgspec.field(default_factory=dict)

    def clone(self) -> "IncidentTables":
        return IncidentTables(
            device_events=dict(self.device_events),
            passwords=dict(self.passwords),
            camera_groups=dict(self.camera_groups),
            support_groups=dict(self.support_groups),
            rules=dict(self.rules),
            incidents=dict(self.incidents),
            assignees=set(self.assignees),
            messages=dict(self.messages),
        )


class IncidentsHost(Protocol):
    """The parts of the in-memory state these repositories touch (``memory._State``)."""

    @property
    def incident_tables(self) -> IncidentTables: ...

    @property
    def devices(self) -> dict[int, Device]: ...

    @property
    def users(self) -> dict[int, User]: ...


def forget_device(tables: IncidentTables, device_id: int) -> None:
    """What the cascading keys do in PostgreSQL when a device goes."""
    gone = {i for i, inc in tables.incidents.items() if inc.device_id == device_id}
    tables.incidents = {i: inc for i, inc in tables.incidents.items() if i not in gone}
    tables.assignees = {a for a in tables.assignees if a[0] not in gone}
    tables.messages = {i: m for i, m in tables.messages.items() if m.incident_id not in gone}
    tables.device_events = {
        i: e for i, e in tables.device_events.items() if e.device_id != device_id
    }
    tables.passwords.pop(device_id, None)
    tables.rules = {i: r for i, r in tables.rules.items() if r.device_id != device_id}
    for group in list(tables.camera_groups.values()):
        if device_id in group.device_ids:
            kept = tuple(d for d in group.device_ids if d != device_id)
            tables.camera_groups[group.id] = msgspec.structs.replace(group, device_ids=kept)


def forget_user(tables: IncidentTables, user_id: int) -> None:
    """What the keys do in PostgreSQL when a user goes: memberships and assignments go,
    references are cleared."""
    tables.assignees = {a for a in tables.assignees if a[1] != user_id}
    for group in list(tables.support_groups.values()):
        if user_id in group.member_ids:
            kept = tuple(m for m in group.member_ids if m != user_id)
            tables.support_groups[group.id] = msgspec.structs.replace(group, member_ids=kept)
    for rule in list(tables.rules.values()):
        if rule.assigned_to_user_id == user_id:
            tables.rules[rule.id] = msgspec.structs.replace(rule, assigned_to_user_id=None)
    for incident in list(tables.incidents.values()):
        assigned, creator = incident.assigned_to_user_id, incident.created_by_user_id
        if user_id in (assigned, creator):
            tables.incidents[incident.id] = msgspec.structs.replace(
                incident,
                assigned_to_user_id=None if assigned == user_id else assigned,
                created_by_user_id=None if creator == user_id else creator,
            )


class _Repository:
    def __init__(self, host: IncidentsHost, ids: "itertools.count[int]", clock: Clock) -> None:
        self._host = host
        self._ids = ids
        self._clock = clock

    @property
    def _tables(self) -> IncidentTables:
        return self._host.incident_tables


class InMemoryDeviceEventRepository(_Repository):
    async def add(self, event: NewDeviceEvent) -> DeviceEvent:
        if event.device_id not in self._host.devices:
            raise NotFound(f"device {event.device_id} not found", code="device_not_found")
        if event.event_id is not None and any(
            (e.device_id, e.analytic_type, e.event_id)
            == (event.device_id, event.analytic_type, event.event_id)
            for e in self._tables.device_events.values()
        ):
            raise Conflict(
                f"device {event.device_id} already has a {event.analytic_type} event"
                f" {event.event_id!r}",
                code="device_event_exists",
            )
        stored = DeviceEvent(
            id=next(self._ids), created_at=self._clock.now(), **msgspec.structs.asdict(event)
        )
        self._tables.device_events[stored.id] = stored
        return stored

    async def get(self, event_id: int) -> DeviceEvent | None:
        return self._tables.device_events.get(event_id)

    async def list_for_device(self, device_id: int, *, limit: int = 100) -> Sequence[DeviceEvent]:
        mine = [e for e in self._tables.device_events.values() if e.device_id == device_id]
        mine.sort(key=lambda e: (e.occurred_at, e.id), reverse=True)
        return mine[:limit]

    async def with_event_id(self, device_id: int, event_id: str) -> Sequence[DeviceEvent]:
        return sorted(
            (
                e
                for e in self._tables.device_events.values()
                if e.device_id == device_id and e.event_id == event_id
            ),
            key=lambda e: e.id,
        )

    async def set_incident(self, event_id: int, incident_id: int) -> None:
        event = self._tables.device_events.get(event_id)
        if event is not None:
            self._tables.device_events[event_id] = msgspec.structs.replace(
                event, incident_id=incident_id
            )


class InMemoryDeviceSecretRepository(_Repository):
    async def set_password(self, device_id: int, encrypted: bytes | None) -> None:
        if device_id not in self._host.devices:
            return
        if encrypted is None:
            self._tables.passwords.pop(device_id, None)
        else:
            self._tables.passwords[device_id] = encrypted

    async def password(self, device_id: int) -> bytes | None:
        return self._tables.passwords.get(device_id)


class InMemoryCameraGroupRepository(_Repository):
    def _check_name(self, name: str, group_id: int | None = None) -> None:
        if any(g.name == name and g.id != group_id for g in self._tables.camera_groups.values()):
            raise Conflict(
                f"a camera group named {name!r} already exists", code="camera_group_name_taken"
            )

    async def add(self, group: NewCameraGroup) -> CameraGroup:
        self._check_name(group.name)
        now = self._clock.now()
        stored = CameraGroup(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(group)
        )
        self._tables.camera_groups[stored.id] = stored
        return stored

    async def get(self, group_id: int) -> CameraGroup | None:
        return self._tables.camera_groups.get(group_id)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[CameraGroup]:
        ordered = sorted(self._tables.camera_groups.values(), key=lambda g: g.id)
        return ordered[skip : skip + limit]

    async def update(self, group: CameraGroup) -> CameraGroup:
        current = self._tables.camera_groups.get(group.id)
        if current is None:
            raise NotFound(f"camera group {group.id} not found", code="camera_group_not_found")
        self._check_name(group.name, group.id)
        stored = msgspec.structs.replace(
            group, device_ids=current.device_ids, updated_at=self._clock.now()
        )
        self._tables.camera_groups[group.id] = stored
        return stored

    async def set_devices(self, group_id: int, device_ids: Collection[int]) -> None:
        group = self._tables.camera_groups.get(group_id)
        if group is None:
            raise StorageError(f"camera group {group_id} vanished")
        self._tables.camera_groups[group_id] = msgspec.structs.replace(
            group, device_ids=tuple(sorted(set(device_ids))), updated_at=self._clock.now()
        )

    async def delete(self, group_id: int) -> bool:
        if self._tables.camera_groups.pop(group_id, None) is None:
            return False
        rules = self._tables.rules
        self._tables.rules = {i: r for i, r in rules.items() if r.camera_group_id != group_id}
        return True

    async def groups_of_device(self, device_id: int) -> Sequence[int]:
        groups = self._tables.camera_groups.values()
        return sorted(g.id for g in groups if device_id in g.device_ids)


class InMemorySupportGroupRepository(_Repository):
    def _check_name(self, name: str, group_id: int | None = None) -> None:
        if any(g.name == name and g.id != group_id for g in self._tables.support_groups.values()):
            raise Conflict(
                f"a support group named {name!r} already exists", code="support_group_name_taken"
            )

    async def add(self, group: NewSupportGroup) -> SupportGroup:
        self._check_name(group.name)
        now = self._clock.now()
        stored = SupportGroup(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(group)
        )
        self._tables.support_groups[stored.id] = stored
        return stored

    async def get(self, group_id: int) -> SupportGroup | None:
        return self._tables.support_groups.get(group_id)

    async def get_many(self, group_ids: Collection[int]) -> Sequence[SupportGroup]:
        groups = self._tables.support_groups
        return [groups[i] for i in sorted(set(group_ids)) if i in groups]

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[SupportGroup]:
        ordered = sorted(self._tables.support_groups.values(), key=lambda g: g.id)
        return ordered[skip : skip + limit]

    async def update(self, group: SupportGroup) -> SupportGroup:
        current = self._tables.support_groups.get(group.id)
        if current is None:
            raise StorageError(f"support group {group.id} vanished")
        self._check_name(group.name, group.id)
        stored = msgspec.structs.replace(
            group, member_ids=current.member_ids, updated_at=self._clock.now()
        )
        self._tables.support_groups[group.id] = stored
        return stored

    async def set_members(self, group_id: int, user_ids: Collection[int]) -> None:
        group = self._tables.support_groups.get(group_id)
        if group is None:
            raise StorageError(f"support group {group_id} vanished")
        self._tables.support_groups[group_id] = msgspec.structs.replace(
            group, member_ids=tuple(sorted(set(user_ids)))
        )

    async def delete(self, group_id: int) -> bool:
        if self._tables.support_groups.pop(group_id, None) is None:
            return False
        for rule in list(self._tables.rules.values()):
            if rule.assigned_group_id == group_id:
                self._tables.rules[rule.id] = msgspec.structs.replace(rule, assigned_group_id=None)
        for incident in list(self._tables.incidents.values()):
            if incident.assigned_group_id == group_id:
                self._tables.incidents[incident.id] = msgspec.structs.replace(
                    incident, assigned_group_id=None
                )
        return True

    async def groups_of_user(self, user_id: int) -> Sequence[int]:
        return sorted(g.id for g in self._tables.support_groups.values() if user_id in g.member_ids)


class InMemoryIncidentRuleRepository(_Repository):
    def _check(self, rule: NewIncidentRule) -> None:
        for value, table, code in (
            (rule.device_id, self._host.devices, "device_not_found"),
            (rule.camera_group_id, self._tables.camera_groups, "camera_group_not_found"),
            (rule.assigned_to_user_id, self._host.users, "user_not_found"),
            (rule.assigned_group_id, self._tables.support_groups, "support_group_not_found"),
        ):
            if value is not None and value not in table:
                raise NotFound(f"{code.removesuffix('_not_found')} {value} not found", code=code)

    async def add(self, rule: NewIncidentRule) -> IncidentRule:
        self._check(rule)
        now = self._clock.now()
        stored = IncidentRule(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(rule)
        )
        self._tables.rules[stored.id] = stored
        return stored

    async def get(self, rule_id: int) -> IncidentRule | None:
        return self._tables.rules.get(rule_id)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[IncidentRule]:
        return sorted(self._tables.rules.values(), key=lambda r: r.id)[skip : skip + limit]

    async def for_analytic_type(self, analytic_type: str) -> Sequence[IncidentRule]:
        rules = self._tables.rules.values()
        return sorted(
            (r for r in rules if r.enabled and r.analytic_type == analytic_type), key=lambda r: r.id
        )

    async def update(self, rule: IncidentRule) -> IncidentRule:
        if rule.id not in self._tables.rules:
            raise StorageError(f"incident rule {rule.id} vanished")
        self._check(rule)
        stored = msgspec.structs.replace(rule, updated_at=self._clock.now())
        self._tables.rules[rule.id] = stored
        return stored

    async def delete(self, rule_id: int) -> bool:
        if self._tables.rules.pop(rule_id, None) is None:
            return False
        for incident in list(self._tables.incidents.values()):
            if incident.rule_id == rule_id:
                self._tables.incidents[incident.id] = msgspec.structs.replace(
                    incident, rule_id=None
                )
        return True


class InMemoryIncidentRepository(_Repository):
    def _check(self, incident: NewIncident | Incident, incident_id: int | None = None) -> None:
        event_id = incident.device_event_id
        if event_id is not None and any(
            i.device_event_id == event_id and i.id != incident_id
            for i in self._tables.incidents.values()
        ):
            raise Conflict(
                f"device event {event_id} already has an incident", code="incident_exists"
            )
        for value, table, code in (
            (incident.device_id, self._host.devices, "device_not_found"),
            (event_id, self._tables.device_events, "device_event_not_found"),
            (incident.assigned_group_id, self._tables.support_groups, "support_group_not_found"),
            (incident.assigned_to_user_id, self._host.users, "user_not_found"),
            (incident.created_by_user_id, self._host.users, "user_not_found"),
        ):
            if value is not None and value not in table:
                raise NotFound(f"{code.removesuffix('_not_found')} {value} not found", code=code)

    async def add(self, incident: NewIncident) -> Incident:
        self._check(incident)
        stored = Incident(
            id=next(self._ids), updated_at=incident.created_at, **msgspec.structs.asdict(incident)
        )
        self._tables.incidents[stored.id] = stored
        return stored

    async def get(self, incident_id: int) -> Incident | None:
        return self._tables.incidents.get(incident_id)

    async def get_for_update(self, incident_id: int) -> Incident | None:
        return self._tables.incidents.get(incident_id)

    async def for_device_event(self, device_event_id: int) -> Incident | None:
        return next(
            (i for i in self._tables.incidents.values() if i.device_event_id == device_event_id),
            None,
        )

    def _newest_first(self, only_open: bool) -> list[Incident]:
        found = [i for i in self._tables.incidents.values() if not only_open or i.status.is_active]
        return sorted(found, key=lambda i: i.id, reverse=True)

    async def list(
        self,
        *,
        only_open: bool = False,
        device_id: int | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[Incident]:
        found = [
            i
            for i in self._newest_first(only_open)
            if device_id is None or i.device_id == device_id
        ]
        return found[skip : skip + limit]

    async def list_for_user(
        self, user_id: int, *, only_open: bool = False, skip: int = 0, limit: int = 100
    ) -> Sequence[Incident]:
        groups = {g.id for g in self._tables.support_groups.values() if user_id in g.member_ids}
        assigned = {i for i, u in self._tables.assignees if u == user_id}
        with_assignees = {i for i, _ in self._tables.assignees}
        found = [
            i
            for i in self._newest_first(only_open)
            if i.assigned_to_user_id == user_id
            or i.id in assigned
            or (i.assigned_group_id is not None and i.assigned_group_id in groups)
            or (
                i.assigned_to_user_id is None
                and i.assigned_group_id is None
                and i.id not in with_assignees
            )
        ]
        return found[skip : skip + limit]

    async def open_for_cooldown(
        self, *, device_id: int, rule_id: int, person_key: str, since: datetime
    ) -> Incident | None:
        found = [
            i
            for i in self._tables.incidents.values()
            if i.status.is_active
            and (i.device_id, i.rule_id, i.person_key) == (device_id, rule_id, person_key)
            and i.last_event_at is not None
            and i.last_event_at >= since
        ]
        return max(found, key=lambda i: (i.last_event_at or since, i.id), default=None)

    async def update(self, incident: Incident) -> Incident:
        if incident.id not in self._tables.incidents:
            raise StorageError(f"incident {incident.id} vanished")
        self._check(incident, incident.id)
        self._tables.incidents[incident.id] = incident
        return incident

    async def set_assignees(self, incident_id: int, user_ids: Collection[int]) -> None:
        for user_id in user_ids:
            if user_id not in self._host.users:
                raise NotFound("an assignee is not a user", code="user_not_found")
        kept = {a for a in self._tables.assignees if a[0] != incident_id}
        self._tables.assignees = kept | {(incident_id, u) for u in user_ids}

    async def assignees(self, incident_ids: Collection[int]) -> Mapping[int, Sequence[User]]:
        wanted = set(incident_ids)
        found: dict[int, list[User]] = {}
        for incident_id, user_id in sorted(self._tables.assignees):
            user = self._host.users.get(user_id)
            if incident_id in wanted and user is not None:
                found.setdefault(incident_id, []).append(user)
        return found

    async def count_for_group(self, group_id: int) -> int:
        return sum(1 for i in self._tables.incidents.values() if i.assigned_group_id == group_id)


class InMemoryIncidentMessageRepository(_Repository):
    async def add(self, message: NewIncidentMessage) -> IncidentMessage:
        if message.incident_id not in self._tables.incidents:
            raise NotFound(f"incident {message.incident_id} not found", code="incident_not_found")
        stored = IncidentMessage(
            id=next(self._ids), created_at=self._clock.now(), **msgspec.structs.asdict(message)
        )
        self._tables.messages[stored.id] = stored
        return stored

    async def list(
        self, incident_id: int, *, after_id: int | None = None, limit: int = 500
    ) -> Sequence[IncidentMessage]:
        found = sorted(
            (
                m
                for m in self._tables.messages.values()
                if m.incident_id == incident_id and m.id > (after_id or 0)
            ),
            key=lambda m: m.id,
        )
        return found[:limit]
