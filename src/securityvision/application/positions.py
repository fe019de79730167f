"""Where people are now: the read side of positions."""

from datetime import datetime, timedelta
from typing import Protocol

import msgspec

from securityvision.application.ports import Clock, UnitOfWorkFactory
from securityvision.domain.errors import NotFound

MAX_AGE_LIMIT_SECONDS = 86400


class PositionFilter(msgspec.Struct, frozen=True, kw_only=True):
    building_id: int | None = None
    floor_id: int | None = None
    floor_plan_id: int | None = None
    device_id: int | None = None
    group_id: int | None = None
    person_id: int | None = None
    only_active_people: bool = True
    seen_since: datetime | None = None


class PositionView(msgspec.Struct, frozen=True, kw_only=True):
    """A person where their tag is heard best now, with the place of that gateway.
    ``confidence`` (new) is the gateway's share of the tag's received power."""

    person_id: int
    person_full_name: str
    tag_id: int
    tag_mac_address: str
    device_id: int
    device_name: str
    device_mac_address: str | None
    device_pos_x: float | None
    device_pos_y: float | None
    floor_plan_id: int | None
    floor_plan_name: str | None
    floor_plan_image_url: str | None
    floor_id: int | None
    floor_name: str | None
    building_id: int | None
    building_name: str | None
    last_seen_at: datetime
    confidence: float


class DeviceOccupancy(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str
    device_mac_address: str | None
    device_pos_x: float | None
    device_pos_y: float | None
    floor_plan_id: int | None
    floor_plan_name: str | None
    floor_plan_image_url: str | None
    floor_id: int | None
    floor_name: str | None
    building_id: int | None
    building_name: str | None
    people: tuple[PositionView, ...]


class PositionQueries(Protocol):
    """Read model of positions: one row per person (their most recently heard tag), joined in
    the store — never a query per tag."""

    async def current(self, where: PositionFilter) -> list[PositionView]:
        """Positions matching ``where``, placed or not (a gateway off any floor plan still
        says where a tag is)."""
        ...


def _sort_key(p: PositionView) -> tuple[int, int, int, str]:
    return (p.building_id or 0, p.floor_plan_id or 0, p.device_id, p.person_full_name)


class CurrentPositions:
    """``/positions/current``: people on the map now.

    - ``max_age_seconds`` None means ``POSITION_STALE_THRESHOLD_SECONDS``; 0 means no expiry.
    - Only people placed on a floor plan of a floor of a building are listed (as the
      original: the map needs all three).
    - Sorted by building, plan, gateway and name.
    """

    def __init__(self, queries: PositionQueries, clock: Clock, stale_after: timedelta) -> None:
        self._queries = queries
        self._clock = clock
        self._stale_after = stale_after

    async def execute(
        self, where: PositionFilter, max_age_seconds: int | None = None
    ) -> list[PositionView]:
        age = self._stale_after if max_age_seconds is None else timedelta(seconds=max_age_seconds)
        since = None if max_age_seconds == 0 else self._clock.now() - age
        rows = await self._queries.current(msgspec.structs.replace(where, seen_since=since))
        placed = [p for p in rows if p.floor_plan_id and p.floor_id is not None and p.building_id]
        return sorted(placed, key=_sort_key)


class PositionsByDevice:
    """``/positions/by-device``: each gateway with the people it holds, newest first."""

    def __init__(self, current: CurrentPositions) -> None:
        self._current = current

    async def execute(
        self, where: PositionFilter, max_age_seconds: int | None = None
    ) -> list[DeviceOccupancy]:
        by_device: dict[int, list[PositionView]] = {}
        for position in await self._current.execute(where, max_age_seconds):
            by_device.setdefault(position.device_id, []).append(position)
        result = []
        for people in by_device.values():
            first = people[0]
            result.append(
                DeviceOccupancy(
                    device_id=first.device_id,
                    device_name=first.device_name,
                    device_mac_address=first.device_mac_address,
                    device_pos_x=first.device_pos_x,
                    device_pos_y=first.device_pos_y,
                    floor_plan_id=first.floor_plan_id,
                    floor_plan_name=first.floor_plan_name,
                    floor_plan_image_url=first.floor_plan_image_url,
                    floor_id=first.floor_id,
                    floor_name=first.floor_name,
                    building_id=first.building_id,
                    building_name=first.building_name,
                    people=tuple(sorted(people, key=lambda p: p.last_seen_at, reverse=True)),
                )
            )
        return result


class PersonCurrentLocation:
    """``/people/{id}/current-location``: where a person was heard last, however long ago.

    - 404 ``person_not_found``, ``no_position`` (never heard), ``device_not_placed`` (the
      gateway is on no floor plan) — each missing link says which, as the original meant to.
    """

    def __init__(self, uow: UnitOfWorkFactory, queries: PositionQueries) -> None:
        self._uow = uow
        self._queries = queries

    async def execute(self, person_id: int) -> PositionView:
        async with self._uow() as uow:
            if await uow.people.get(person_id) is None:
                raise NotFound(f"person {person_id} not found", code="person_not_found")
        rows = await self._queries.current(
            PositionFilter(person_id=person_id, only_active_people=False)
        )
        if not rows:
            raise NotFound("no tag of this person has been heard", code="no_position")
        position = max(rows, key=lambda p: p.last_seen_at)
        if position.floor_plan_id is None or position.building_id is None:
            raise NotFound(
                "the gateway that last heard this person is on no floor plan",
                code="device_not_placed",
            )
        return position
