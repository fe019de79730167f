"""In-memory sites: buildings, floors, floor plans, locations with their rules, and device
users, over the tables of ``memory.py``'s state.

Kept apart from ``memory.py`` so that file stays readable; the contract suite runs these and
the PostgreSQL repositories through the same tests. What the foreign keys do there is done by
hand here: deleting a site cascades to the sites below it and takes devices off it (never
deleting one); deleting a device or a person drops their enrolments.
"""

import itertools
from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

import msgspec

from securityvision.application.ports import Clock
from securityvision.domain.devices import Device, NewDevice
from securityvision.domain.errors import Conflict, NotFound, StorageError
from securityvision.domain.people import Person
from securityvision.domain.sites import (
    Building,
    DeviceUser,
    Floor,
    FloorPlan,
    Location,
    LocationRule,
    NewBuilding,
    NewDeviceUser,
    NewFloor,
    NewFloorPlan,
    NewLocation,
    NewLocationRule,
    SiteDeletion,
)


class SiteTables(msgspec.Struct, kw_only=True):
    buildings: dict[int, Building] = msgspec.field(default_factory=dict)
    floors: dict[int, Floor] = msgspec.field(default_factory=dict)
    # Plans are kept without their derived ``building_id`` being trusted: it is read from the
    # floor on every read, as PostgreSQL joins it.
    floor_plans: dict[int, FloorPlan] = msgspec.field(default_factory=dict)
    locations: dict[int, Location] = msgspec.field(default_factory=dict)
    location_rules: dict[int, LocationRule] = msgspec.field(default_factory=dict)
    device_users: dict[int, DeviceUser] = msgspec.field(default_factory=dict)

    def clone(self) -> "SiteTables":
        return SiteTables(
            buildings=dict(self.buildings),
            floors=dict(self.floors),
            floor_plans=dict(self.floor_plans),
            locations=dict(self.locations),
            location_rules=dict(self.location_rules),
            device_users=dict(self.device_users),
        )


class SitesHost(Protocol):
    """The parts of the in-memory state the sites touch (``memory._State``)."""

    @property
    def sites(self) -> SiteTables: ...

    @property
    def devices(self) -> dict[int, Device]: ...

    @property
    def people(self) -> dict[int, Person]: ...


def check_placement(tables: SiteTables, device: NewDevice | Device) -> None:
    """What the devices' foreign keys refuse in PostgreSQL."""
    for value, found, code in (
        (device.floor_plan_id, tables.floor_plans, "floor_plan_not_found"),
        (device.building_id, tables.buildings, "building_not_found"),
        (device.floor_id, tables.floors, "floor_not_found"),
        (device.location_id, tables.locations, "location_not_found"),
    ):
        if value is not None and value not in found:
            raise NotFound(f"{code.removesuffix('_not_found')} {value} not found", code=code)


def forget_device(tables: SiteTables, device_id: int) -> None:
    """A deleted device's enrolments go with it (a cascading key in PostgreSQL)."""
    tables.device_users = {i: u for i, u in tables.device_users.items() if u.device_id != device_id}


def forget_person(tables: SiteTables, person_id: int) -> None:
    """A deleted person's enrolments go with them (a cascading key in PostgreSQL)."""
    tables.device_users = {i: u for i, u in tables.device_users.items() if u.person_id != person_id}


class _Repository:
    def __init__(self, host: SitesHost, ids: "itertools.count[int]", clock: Clock) -> None:
        self._host = host
        self._ids = ids
        self._clock = clock

    @property
    def _tables(self) -> SiteTables:
        return self._host.sites

    def _plan(self, plan: FloorPlan) -> FloorPlan:
        """The plan with the building its floor is in now."""
        floor = self._tables.floors.get(plan.floor_id)
        if floor is None or floor.building_id == plan.building_id:
            return plan
        return msgspec.structs.replace(plan, building_id=floor.building_id)

    def _remove(
        self,
        *,
        building_ids: Collection[int] = (),
        floor_ids: Collection[int] = (),
        floor_plan_ids: Collection[int] = (),
    ) -> SiteDeletion:
        """As the PostgreSQL repositories do: devices taken off, locations losing floors
        noted, then the sites removed."""
        b, f, p = set(building_ids), set(floor_ids), set(floor_plan_ids)
        unplaced = []
        now = self._clock.now()
        for device in sorted(self._host.devices.values(), key=lambda d: d.id):
            if device.building_id in b or device.floor_id in f or device.floor_plan_id in p:
                off_plan = device.floor_plan_id in p
                self._host.devices[device.id] = msgspec.structs.replace(
                    device,
                    building_id=None if device.building_id in b else device.building_id,
                    floor_id=None if device.floor_id in f else device.floor_id,
                    floor_plan_id=None if off_plan else device.floor_plan_id,
                    pos_x=None if off_plan else device.pos_x,
                    pos_y=None if off_plan else device.pos_y,
                    updated_at=now,
                )
                unplaced.append(device.id)
        changed = []
        for location in sorted(self._tables.locations.values(), key=lambda loc: loc.id):
            if f & set(location.floor_ids):
                kept = tuple(i for i in location.floor_ids if i not in f)
                self._tables.locations[location.id] = msgspec.structs.replace(
                    location, floor_ids=kept
                )
                changed.append(location.id)
        tables = self._tables
        tables.buildings = {i: row for i, row in tables.buildings.items() if i not in b}
        tables.floors = {i: row for i, row in tables.floors.items() if i not in f}
        tables.floor_plans = {i: row for i, row in tables.floor_plans.items() if i not in p}
        return SiteDeletion(
            building_ids=tuple(sorted(b)),
            floor_ids=tuple(sorted(f)),
            floor_plan_ids=tuple(sorted(p)),
            unplaced_device_ids=tuple(unplaced),
            changed_location_ids=tuple(changed),
        )


class InMemoryBuildingRepository(_Repository):
    def _check_code(self, code: str, building_id: int | None = None) -> None:
        if any(b.code == code and b.id != building_id for b in self._tables.buildings.values()):
            raise Conflict(
                f"a building with code {code!r} already exists", code="building_code_taken"
            )

    async def add(self, building: NewBuilding) -> Building:
        self._check_code(building.code)
        now = self._clock.now()
        stored = Building(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(building)
        )
        self._tables.buildings[stored.id] = stored
        return stored

    async def get(self, building_id: int) -> Building | None:
        return self._tables.buildings.get(building_id)

    async def get_by_code(self, code: str) -> Building | None:
        return next((b for b in self._tables.buildings.values() if b.code == code), None)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Building]:
        ordered = sorted(self._tables.buildings.values(), key=lambda b: b.id)
        return ordered[skip : skip + limit]

    async def update(self, building: Building) -> Building:
        if building.id not in self._tables.buildings:
            raise StorageError(f"building {building.id} vanished")
        self._check_code(building.code, building.id)
        stored = msgspec.structs.replace(building, updated_at=self._clock.now())
        self._tables.buildings[building.id] = stored
        return stored

    async def delete(self, building_id: int) -> SiteDeletion | None:
        if building_id not in self._tables.buildings:
            return None
        floors = {f.id for f in self._tables.floors.values() if f.building_id == building_id}
        plans = {p.id for p in self._tables.floor_plans.values() if p.floor_id in floors}
        return self._remove(building_ids=[building_id], floor_ids=floors, floor_plan_ids=plans)


class InMemoryFloorRepository(_Repository):
    def _check_building(self, floor: NewFloor | Floor) -> None:
        if floor.building_id not in self._tables.buildings:
            raise NotFound(f"building {floor.building_id} not found", code="building_not_found")

    async def add(self, floor: NewFloor) -> Floor:
        self._check_building(floor)
        now = self._clock.now()
        stored = Floor(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(floor)
        )
        self._tables.floors[stored.id] = stored
        return stored

    async def get(self, floor_id: int) -> Floor | None:
        return self._tables.floors.get(floor_id)

    async def get_many(self, floor_ids: Collection[int]) -> Sequence[Floor]:
        floors = self._tables.floors
        return [floors[i] for i in sorted(set(floor_ids)) if i in floors]

    async def list(
        self, *, building_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> Sequence[Floor]:
        floors = sorted(self._tables.floors.values(), key=lambda f: f.id)
        if building_id is not None:
            floors = [f for f in floors if f.building_id == building_id]
        return floors[skip : skip + limit]

    async def update(self, floor: Floor) -> Floor:
        if floor.id not in self._tables.floors:
            raise StorageError(f"floor {floor.id} vanished")
        self._check_building(floor)
        stored = msgspec.structs.replace(floor, updated_at=self._clock.now())
        self._tables.floors[floor.id] = stored
        return stored

    async def delete(self, floor_id: int) -> SiteDeletion | None:
        if floor_id not in self._tables.floors:
            return None
        plans = {p.id for p in self._tables.floor_plans.values() if p.floor_id == floor_id}
        return self._remove(floor_ids=[floor_id], floor_plan_ids=plans)


class InMemoryFloorPlanRepository(_Repository):
    def _floor(self, plan: NewFloorPlan | FloorPlan) -> Floor:
        floor = self._tables.floors.get(plan.floor_id)
        if floor is None:
            raise NotFound(f"floor {plan.floor_id} not found", code="floor_not_found")
        return floor

    async def add(self, plan: NewFloorPlan) -> FloorPlan:
        floor = self._floor(plan)
        now = self._clock.now()
        stored = FloorPlan(
            id=next(self._ids),
            building_id=floor.building_id,
            created_at=now,
            updated_at=now,
            **msgspec.structs.asdict(plan),
        )
        self._tables.floor_plans[stored.id] = stored
        return stored

    async def get(self, plan_id: int) -> FloorPlan | None:
        plan = self._tables.floor_plans.get(plan_id)
        return None if plan is None else self._plan(plan)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[FloorPlan]:
        ordered = sorted(self._tables.floor_plans.values(), key=lambda p: p.id)
        return [self._plan(p) for p in ordered[skip : skip + limit]]

    async def in_building(self, building_id: int) -> Sequence[FloorPlan]:
        plans = [self._plan(p) for p in self._tables.floor_plans.values()]
        return sorted((p for p in plans if p.building_id == building_id), key=_name_then_id)

    async def update(self, plan: FloorPlan) -> FloorPlan:
        if plan.id not in self._tables.floor_plans:
            raise StorageError(f"floor plan {plan.id} vanished")
        floor = self._floor(plan)
        stored = msgspec.structs.replace(
            plan, building_id=floor.building_id, updated_at=self._clock.now()
        )
        self._tables.floor_plans[plan.id] = stored
        return stored

    async def delete(self, plan_id: int) -> SiteDeletion | None:
        if plan_id not in self._tables.floor_plans:
            return None
        return self._remove(floor_plan_ids=[plan_id])


def _name_then_id(plan: FloorPlan) -> tuple[str, int]:
    return plan.name, plan.id


class InMemoryLocationRepository(_Repository):
    def _check_floors(self, floor_ids: Iterable[int]) -> tuple[int, ...]:
        wanted = sorted(set(floor_ids))
        for floor_id in wanted:
            if floor_id not in self._tables.floors:
                raise NotFound("a floor of the location no longer exists", code="floor_not_found")
        return tuple(wanted)

    async def add(self, location: NewLocation) -> Location:
        floors = self._check_floors(location.floor_ids)
        now = self._clock.now()
        fields = msgspec.structs.asdict(location) | {"floor_ids": floors}
        stored = Location(id=next(self._ids), created_at=now, updated_at=now, **fields)
        self._tables.locations[stored.id] = stored
        return stored

    async def get(self, location_id: int) -> Location | None:
        return self._tables.locations.get(location_id)

    async def list(self, *, skip: int = 0, limit: int = 100) -> Sequence[Location]:
        ordered = sorted(self._tables.locations.values(), key=lambda loc: loc.id)
        return ordered[skip : skip + limit]

    async def update(self, location: Location) -> Location:
        if location.id not in self._tables.locations:
            raise StorageError(f"location {location.id} vanished")
        stored = msgspec.structs.replace(
            location,
            floor_ids=self._check_floors(location.floor_ids),
            updated_at=self._clock.now(),
        )
        self._tables.locations[location.id] = stored
        return stored

    async def delete(self, location_id: int) -> SiteDeletion | None:
        if self._tables.locations.pop(location_id, None) is None:
            return None
        rules = self._tables.location_rules
        gone = tuple(sorted(i for i, r in rules.items() if r.location_id == location_id))
        self._tables.location_rules = {i: r for i, r in rules.items() if i not in gone}
        unplaced = []
        now = self._clock.now()
        for device in sorted(self._host.devices.values(), key=lambda d: d.id):
            if device.location_id == location_id:
                self._host.devices[device.id] = msgspec.structs.replace(
                    device, location_id=None, updated_at=now
                )
                unplaced.append(device.id)
        return SiteDeletion(
            location_ids=(location_id,), location_rule_ids=gone, unplaced_device_ids=tuple(unplaced)
        )


class InMemoryLocationRuleRepository(_Repository):
    def _check_location(self, rule: NewLocationRule | LocationRule) -> None:
        if rule.location_id not in self._tables.locations:
            raise NotFound(f"location {rule.location_id} not found", code="location_not_found")

    async def add(self, rule: NewLocationRule) -> LocationRule:
        self._check_location(rule)
        now = self._clock.now()
        stored = LocationRule(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(rule)
        )
        self._tables.location_rules[stored.id] = stored
        return stored

    async def get(self, rule_id: int) -> LocationRule | None:
        return self._tables.location_rules.get(rule_id)

    async def list(self, *, location_id: int) -> Sequence[LocationRule]:
        rules = self._tables.location_rules.values()
        return sorted((r for r in rules if r.location_id == location_id), key=lambda r: r.id)

    async def update(self, rule: LocationRule) -> LocationRule:
        if rule.id not in self._tables.location_rules:
            raise StorageError(f"location rule {rule.id} vanished")
        self._check_location(rule)
        stored = msgspec.structs.replace(rule, updated_at=self._clock.now())
        self._tables.location_rules[rule.id] = stored
        return stored

    async def delete(self, rule_id: int) -> LocationRule | None:
        return self._tables.location_rules.pop(rule_id, None)


class InMemoryDeviceUserRepository(_Repository):
    def _check(self, user: NewDeviceUser | DeviceUser, user_id: int | None = None) -> None:
        if user.device_id not in self._host.devices:
            raise NotFound(f"device {user.device_id} not found", code="device_not_found")
        if user.person_id not in self._host.people:
            raise NotFound(f"person {user.person_id} not found", code="person_not_found")
        if user.device_user_id is not None and any(
            u.device_id == user.device_id
            and u.device_user_id == user.device_user_id
            and u.id != user_id
            for u in self._tables.device_users.values()
        ):
            raise Conflict(
                f"device {user.device_id} already has a user {user.device_user_id!r}",
                code="device_user_id_taken",
            )

    async def add(self, user: NewDeviceUser) -> DeviceUser:
        self._check(user)
        now = self._clock.now()
        stored = DeviceUser(
            id=next(self._ids), created_at=now, updated_at=now, **msgspec.structs.asdict(user)
        )
        self._tables.device_users[stored.id] = stored
        return stored

    async def get(self, device_user_id: int) -> DeviceUser | None:
        return self._tables.device_users.get(device_user_id)

    async def list(
        self,
        *,
        device_id: int | None = None,
        person_id: int | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[DeviceUser]:
        found = [
            u
            for u in sorted(self._tables.device_users.values(), key=lambda u: u.id)
            if (device_id is None or u.device_id == device_id)
            and (person_id is None or u.person_id == person_id)
        ]
        return found[skip : skip + limit]

    async def update(self, user: DeviceUser) -> DeviceUser:
        if user.id not in self._tables.device_users:
            raise StorageError(f"device user {user.id} vanished")
        self._check(user, user.id)
        stored = msgspec.structs.replace(user, updated_at=self._clock.now())
        self._tables.device_users[user.id] = stored
        return stored

    async def delete(self, device_user_id: int) -> DeviceUser | None:
        return self._tables.device_users.pop(device_user_id, None)
