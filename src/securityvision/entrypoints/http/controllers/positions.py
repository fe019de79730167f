"""``/api/v1/positions`` and ``/api/v1/people/{id}/current-location``: where people are now."""

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, Parameter

from securityvision.application.positions import (
    MAX_AGE_LIMIT_SECONDS,
    CurrentPositions,
    DeviceOccupancy,
    PersonCurrentLocation,
    PositionFilter,
    PositionsByDevice,
    PositionView,
)

MaxAge = Annotated[int | None, Parameter(ge=0, le=MAX_AGE_LIMIT_SECONDS)]


def position_filter(
    *,
    building_id: FromQuery[int | None] = None,
    floor_id: FromQuery[int | None] = None,
    floor_plan_id: FromQuery[int | None] = None,
    device_id: FromQuery[int | None] = None,
    group_id: FromQuery[int | None] = None,
    only_active_people: FromQuery[bool] = True,
) -> PositionFilter:
    """The original's position filters, read once for both position routes."""
    return PositionFilter(
        building_id=building_id,
        floor_id=floor_id,
        floor_plan_id=floor_plan_id,
        device_id=device_id,
        group_id=group_id,
        only_active_people=only_active_people,
    )


class PositionsController(Controller):
    path = "/positions"
    tags = ["positions"]
    dependencies = {"where": Provide(position_filter, sync_to_thread=False)}

    @get("/current")
    async def current(
        self,
        current_positions: NamedDependency[CurrentPositions],
        where: NamedDependency[PositionFilter],
        max_age_seconds: MaxAge = None,
    ) -> list[PositionView]:
        """Each person at the gateway that hears their tag best (smoothed RSSI, with
        hysteresis), with its floor plan, floor and building and a ``confidence``;
        ``max_age_seconds`` absent: POSITION_STALE_THRESHOLD_SECONDS, 0: no expiry."""
        return await current_positions.execute(where, max_age_seconds)

    @get("/by-device")
    async def by_device(
        self,
        positions_by_device: NamedDependency[PositionsByDevice],
        where: NamedDependency[PositionFilter],
        max_age_seconds: MaxAge = None,
    ) -> list[DeviceOccupancy]:
        """The same positions grouped by gateway, people newest first."""
        return await positions_by_device.execute(where, max_age_seconds)


class PersonLocationController(Controller):
    path = "/people"
    tags = ["positions"]

    @get("/{person_id:int}/current-location")
    async def current_location(
        self,
        person_id: FromPath[int],
        person_current_location: NamedDependency[PersonCurrentLocation],
    ) -> PositionView:
        """Where the person was heard last, however long ago; 404 ``person_not_found``,
        ``no_position`` or ``device_not_placed`` says which link is missing."""
        return await person_current_location.execute(person_id)
