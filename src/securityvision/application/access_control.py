"""Telling access control about changes: the publications of domain/access_control.py,
enqueued in the outbox inside the unit of work of the change itself.

So a change and its publication commit together (a rolled-back change publishes nothing),
and a broker that is down never fails the change: the publication waits in the outbox until
the relay delivers it (the original answered 500 after committing, ORIGINAL.md §9 bug 24).

The projection (one retained message per environment on ``ACCESS_CONTROL_MQTT_TOPIC``) is
rebuilt from what the unit of work sees after the change: a location's environment is the
location on its lowest-id floor, a floor plan's is the plan on its floor, both named with
their building and floor, so renaming a building or a floor re-sends the environments on it.
"""

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from securityvision.application.ports import Clock, UnitOfWork
from securityvision.domain.access_control import (
    AccessControlTopics,
    Entity,
    Event,
    ProjectionSource,
    Publication,
    deleted_payload,
    device_payload,
    device_user_payload,
    location_payload,
    location_rule_payload,
    projection_payload,
    projection_removed,
    user_payload,
)
from securityvision.domain.devices import Device
from securityvision.domain.outbox import MQTT_CHANNEL, NewOutboxMessage
from securityvision.domain.people import Person
from securityvision.domain.sites import (
    Building,
    DeviceUser,
    Floor,
    FloorPlan,
    Location,
    LocationRule,
    SiteDeletion,
)

# Locations are few (areas of a site); they are read in pages of this size when the floor
# they span is what is known.
_PAGE = 500


class AccessControl:
    """The access-control publications of the use cases.

    - Switched off (``topics`` None: ACCESS_CONTROL_MQTT_ENABLED=false, or MQTT disabled
      altogether) nothing is enqueued and nothing is read.
    - Every publication is QoS 1 and retained, on the ``mqtt`` channel of the outbox.
    - A deletion carries the id (domain/access_control.py says why and what else); a site
      deletion announces everything it took with it (``SiteDeletion``).
    """

    def __init__(
        self, topics: AccessControlTopics | None = None, clock: Clock | None = None
    ) -> None:
        self._topics = topics
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._topics is not None

    # --- users (people) ---------------------------------------------------------------------

    async def user_changed(self, uow: UnitOfWork, event: Event, person: Person) -> None:
        await self._entity(uow, Entity.USER, event, user_payload(person))

    async def user_deleted(self, uow: UnitOfWork, person_id: int) -> None:
        await self._deleted(uow, Entity.USER, person_id)

    # --- devices ----------------------------------------------------------------------------

    async def device_changed(self, uow: UnitOfWork, event: Event, device: Device) -> None:
        """A device; without a location of its own, ``locationId`` is the lowest-id location
        spanning its floor, as the original resolved it."""
        if self._topics is None:
            return
        location_id = None
        if device.location_id is None and device.floor_id is not None:
            on_floor = await _locations_on(uow, {device.floor_id})
            location_id = on_floor[0].id if on_floor else None
        await self._entity(uow, Entity.DEVICE, event, device_payload(device, location_id))

    async def device_deleted(self, uow: UnitOfWork, device_id: int) -> None:
        await self._deleted(uow, Entity.DEVICE, device_id)

    # --- device users -----------------------------------------------------------------------

    async def device_user_changed(self, uow: UnitOfWork, event: Event, link: DeviceUser) -> None:
        await self._entity(uow, Entity.DEVICE_USER, event, _device_user(link))

    async def device_user_deleted(self, uow: UnitOfWork, link: DeviceUser) -> None:
        """The enrolment's id and what the controller knows it by (the original's payloads
        carried no id of their own)."""
        await self._deleted(
            uow,
            Entity.DEVICE_USER,
            link.id,
            device_id=link.device_id,
            person_id=link.person_id,
            deviceUserId=link.device_user_id,
        )

    # --- locations and their rules ----------------------------------------------------------

    async def location_changed(self, uow: UnitOfWork, event: Event, location: Location) -> None:
        """The location, and its environment in the projection (removed when an update left
        it on no floor)."""
        if self._topics is None:
            return
        await self._entity(uow, Entity.LOCATION, event, _location(location))
        await self._project_locations(uow, [location], announce_removal=event is Event.UPDATED)

    async def location_rule_changed(
        self, uow: UnitOfWork, event: Event, rule: LocationRule
    ) -> None:
        await self._entity(uow, Entity.LOCATION_RULE, event, _rule(rule))

    async def location_rule_deleted(self, uow: UnitOfWork, rule: LocationRule) -> None:
        await self._deleted(uow, Entity.LOCATION_RULE, rule.id, location_id=rule.location_id)

    # --- sites (the projection) -------------------------------------------------------------

    async def building_changed(self, uow: UnitOfWork, building: Building) -> None:
        """Every environment on the building's floors, under its (new) name."""
        if self._topics is None:
            return
        floors = await _floors_of(uow, building.id)
        plans = await uow.floor_plans.in_building(building.id)
        await self._project_plans(uow, plans)
        await self._project_locations(uow, await _locations_on(uow, {f.id for f in floors}))

    async def floor_changed(self, uow: UnitOfWork, floor: Floor) -> None:
        """Every environment on the floor, under its (new) name and building."""
        if self._topics is None:
            return
        plans = await uow.floor_plans.in_building(floor.building_id)
        await self._project_plans(uow, [p for p in plans if p.floor_id == floor.id])
        await self._project_locations(uow, await _locations_on(uow, {floor.id}))

    async def floor_plan_changed(self, uow: UnitOfWork, plan: FloorPlan) -> None:
        if self._topics is not None:
            await self._project_plans(uow, [plan])

    async def site_deleted(self, uow: UnitOfWork, deletion: SiteDeletion) -> None:
        """Everything a deletion took with it, as each consumer hears of such things:

        - locations: ``locations/deleted``, and their environments removed from the projection;
        - their rules: ``locations-rules/deleted``;
        - floor plans: their environments removed from the projection;
        - locations that lost a floor: ``locations/updated``, and their environment re-sent on
          the floor they now use (or removed, if none is left);
        - devices taken off the site: ``devices/updated`` (their placement changed).
        """
        if self._topics is None:
            return
        for location_id in deletion.location_ids:
            await self._deleted(uow, Entity.LOCATION, location_id)
            await self._projection(uow, projection_removed(ProjectionSource.LOCATION, location_id))
        # Rules go only with their location, so there is exactly one then.
        owner = deletion.location_ids[0] if len(deletion.location_ids) == 1 else None
        for rule_id in deletion.location_rule_ids:
            await self._deleted(uow, Entity.LOCATION_RULE, rule_id, location_id=owner)
        for plan_id in deletion.floor_plan_ids:
            await self._projection(uow, projection_removed(ProjectionSource.FLOOR_PLAN, plan_id))
        for location_id in deletion.changed_location_ids:
            location = await uow.locations.get(location_id)
            if location is not None:
                await self.location_changed(uow, Event.UPDATED, location)
        for device_id in deletion.unplaced_device_ids:
            device = await uow.devices.get(device_id)
            if device is not None:
                await self.device_changed(uow, Event.UPDATED, device)

    async def _project_plans(self, uow: UnitOfWork, plans: Iterable[FloorPlan]) -> None:
        for plan in plans:
            floor = await uow.floors.get(plan.floor_id)
            building = None if floor is None else await uow.buildings.get(floor.building_id)
            if floor is None or building is None:
                continue  # not reachable through the foreign keys; nothing to name it by
            await self._projection(
                uow,
                _environment(ProjectionSource.FLOOR_PLAN, plan.id, plan.name, building, floor),
            )

    async def _project_locations(
        self, uow: UnitOfWork, locations: Sequence[Location], *, announce_removal: bool = False
    ) -> None:
        """Each location on its lowest-id floor. One on no floor has no environment: the
        original skipped it; after an update it may have had one, so it is removed then."""
        floors = {
            f.id: f for f in await uow.floors.get_many({i for x in locations for i in x.floor_ids})
        }
        for location in locations:
            placed = sorted(i for i in location.floor_ids if i in floors)
            building = await uow.buildings.get(floors[placed[0]].building_id) if placed else None
            if not placed or building is None:
                if announce_removal:
                    removed = projection_removed(ProjectionSource.LOCATION, location.id)
                    await self._projection(uow, removed)
                continue
            await self._projection(
                uow,
                _environment(
                    ProjectionSource.LOCATION,
                    location.id,
                    location.name,
                    building,
                    floors[placed[0]],
                ),
            )

    async def _entity(
        self, uow: UnitOfWork, entity: Entity, event: Event, payload: dict[str, Any]
    ) -> None:
        if self._topics is not None:
            await _enqueue(uow, self._topics.entity(entity, event, payload))

    async def _deleted(
        self, uow: UnitOfWork, entity: Entity, entity_id: int, **identity: Any
    ) -> None:
        if self._topics is None:
            return
        now = self._clock.now() if self._clock is not None else datetime.now(UTC)
        await self._entity(uow, entity, Event.DELETED, deleted_payload(entity_id, now, **identity))

    async def _projection(self, uow: UnitOfWork, payload: dict[str, Any]) -> None:
        if self._topics is not None:
            await _enqueue(uow, self._topics.projection(payload))


def _environment(
    source: ProjectionSource, source_id: int, name: str, building: Building, floor: Floor
) -> dict[str, Any]:
    return projection_payload(
        source=source,
        source_id=source_id,
        environment=name,
        building_id=building.id,
        building_name=building.name,
        floor_id=floor.id,
        floor_name=floor.name,
    )


def _location(location: Location) -> dict[str, Any]:
    return location_payload(
        location_id=location.id,
        name=location.name,
        description=location.description,
        status=location.status,
        floor_ids=sorted(location.floor_ids),
        created_at=location.created_at,
        updated_at=location.updated_at,
    )


def _rule(rule: LocationRule) -> dict[str, Any]:
    return location_rule_payload(
        rule_id=rule.id,
        location_id=rule.location_id,
        capacity=rule.capacity,
        available_days=rule.avaliable_days,
        start_time=rule.start_time,
        end_time=rule.end_time,
        status=rule.status,
        validate=rule.validate,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


def _device_user(link: DeviceUser) -> dict[str, Any]:
    return device_user_payload(
        link_id=link.id,
        device_id=link.device_id,
        person_id=link.person_id,
        device_user_id=link.device_user_id,
        status=link.status,
    )


async def _floors_of(uow: UnitOfWork, building_id: int) -> list[Floor]:
    floors: list[Floor] = []
    while page := await uow.floors.list(building_id=building_id, skip=len(floors), limit=_PAGE):
        floors.extend(page)
        if len(page) < _PAGE:
            break
    return floors


async def _locations_on(uow: UnitOfWork, floor_ids: Collection[int]) -> list[Location]:
    """The locations spanning any of ``floor_ids``, in id order."""
    if not floor_ids:
        return []
    found: list[Location] = []
    skip = 0
    while page := await uow.locations.list(skip=skip, limit=_PAGE):
        found.extend(x for x in page if set(x.floor_ids) & set(floor_ids))
        if len(page) < _PAGE:
            break
        skip += _PAGE
    return found


async def _enqueue(uow: UnitOfWork, publication: Publication) -> None:
    await uow.outbox.add(
        NewOutboxMessage(
            channel=MQTT_CHANNEL,
            destination=publication.topic,
            payload=publication.payload,
            options={"qos": publication.qos, "retain": publication.retain},
        )
    )


__all__ = ["AccessControl"]
