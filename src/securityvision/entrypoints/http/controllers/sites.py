"""``/api/v1/buildings``, ``/api/v1/floors`` and ``/api/v1/floor-plans``: where devices are.

Everyone signed in reads; ADMIN and above write (sites are an administrator's). Deleting a
site never deletes a device: devices on it are taken off it.
"""

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.sites import (
    CreateBuilding,
    CreateFloor,
    CreateFloorPlan,
    DeleteBuilding,
    DeleteFloor,
    DeleteFloorPlan,
    GetBuilding,
    GetBuildingByCode,
    GetFloor,
    GetFloorPlan,
    ListBuildingFloorPlans,
    ListBuildings,
    ListFloorPlanDevices,
    ListFloorPlans,
    ListFloors,
    SetFloorPlanImage,
    UpdateBuilding,
    UpdateFloor,
    UpdateFloorPlan,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_devices import DeviceRead
from securityvision.entrypoints.http.schemas_sites import (
    BuildingCreate,
    BuildingRead,
    BuildingUpdate,
    FloorCreate,
    FloorPlanCreate,
    FloorPlanRead,
    FloorPlanUpdate,
    FloorRead,
    FloorUpdate,
)

_WRITERS = [requires(Role.ADMIN)]


class BuildingsController(Controller):
    path = "/buildings"
    tags = ["buildings"]

    @get("/")
    async def list_buildings(
        self, list_buildings: NamedDependency[ListBuildings], skip: Skip = 0, limit: Limit = 100
    ) -> list[BuildingRead]:
        """Buildings in id order."""
        return [BuildingRead.of(b) for b in await list_buildings.execute(skip=skip, limit=limit)]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_building(
        self, data: JSONBody[BuildingCreate], create_building: NamedDependency[CreateBuilding]
    ) -> BuildingRead:
        """Create a building; codes are unique (``400 building_code_taken``) and may not
        contain ``/``, ``+`` or ``#`` (MQTT topics are built from them)."""
        return BuildingRead.of(await create_building.execute(data.new_building()))

    @get("/by-code/{code:str}")
    async def get_building_by_code(
        self, code: FromPath[str], get_building_by_code: NamedDependency[GetBuildingByCode]
    ) -> BuildingRead:
        return BuildingRead.of(await get_building_by_code.execute(code))

    @get("/{building_id:int}")
    async def get_building(
        self, building_id: FromPath[int], get_building: NamedDependency[GetBuilding]
    ) -> BuildingRead:
        return BuildingRead.of(await get_building.execute(building_id))

    @put("/{building_id:int}", guards=_WRITERS)
    async def update_building(
        self,
        building_id: FromPath[int],
        data: JSONBody[BuildingUpdate],
        update_building: NamedDependency[UpdateBuilding],
    ) -> BuildingRead:
        """Change only the fields sent."""
        return BuildingRead.of(await update_building.execute(building_id, data.changes()))

    @delete("/{building_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_building(
        self, building_id: FromPath[int], delete_building: NamedDependency[DeleteBuilding]
    ) -> None:
        """Remove a building with its floors and plans; devices on them stay, taken off."""
        await delete_building.execute(building_id)

    @get("/{building_id:int}/floor-plans")
    async def list_building_floor_plans(
        self,
        building_id: FromPath[int],
        list_building_floor_plans: NamedDependency[ListBuildingFloorPlans],
    ) -> list[FloorPlanRead]:
        """The plans of every floor of the building, by name."""
        plans = await list_building_floor_plans.execute(building_id)
        return [FloorPlanRead.of(p) for p in plans]


class FloorsController(Controller):
    path = "/floors"
    tags = ["floors"]

    @get("/")
    async def list_floors(
        self,
        list_floors: NamedDependency[ListFloors],
        building_id: FromQuery[int | None] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[FloorRead]:
        """Floors in id order; ``building_id`` filters before paging."""
        floors = await list_floors.execute(building_id=building_id, skip=skip, limit=limit)
        return [FloorRead.of(f) for f in floors]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_floor(
        self, data: JSONBody[FloorCreate], create_floor: NamedDependency[CreateFloor]
    ) -> FloorRead:
        """Create a floor of an existing building (``404 building_not_found``)."""
        return FloorRead.of(await create_floor.execute(data.new_floor()))

    @get("/{floor_id:int}")
    async def get_floor(
        self, floor_id: FromPath[int], get_floor: NamedDependency[GetFloor]
    ) -> FloorRead:
        return FloorRead.of(await get_floor.execute(floor_id))

    @put("/{floor_id:int}", guards=_WRITERS)
    async def update_floor(
        self,
        floor_id: FromPath[int],
        data: JSONBody[FloorUpdate],
        update_floor: NamedDependency[UpdateFloor],
    ) -> FloorRead:
        """Change only the fields sent."""
        return FloorRead.of(await update_floor.execute(floor_id, data.changes()))

    @delete("/{floor_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_floor(
        self, floor_id: FromPath[int], delete_floor: NamedDependency[DeleteFloor]
    ) -> None:
        """Remove a floor with its plans; devices on them stay, taken off."""
        await delete_floor.execute(floor_id)


class FloorPlansController(Controller):
    path = "/floor-plans"
    tags = ["floor-plans"]

    @get("/")
    async def list_floor_plans(
        self, list_floor_plans: NamedDependency[ListFloorPlans], skip: Skip = 0, limit: Limit = 100
    ) -> list[FloorPlanRead]:
        """Plans in id order, each with the ``building_id`` of its floor."""
        plans = await list_floor_plans.execute(skip=skip, limit=limit)
        return [FloorPlanRead.of(p) for p in plans]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_floor_plan(
        self, data: JSONBody[FloorPlanCreate], create_floor_plan: NamedDependency[CreateFloorPlan]
    ) -> FloorPlanRead:
        """Create a plan of an existing floor (``404 floor_not_found``); upload its image
        with ``POST /floor-plans/{id}/image``."""
        return FloorPlanRead.of(await create_floor_plan.execute(data.new_floor_plan()))

    @get("/{plan_id:int}")
    async def get_floor_plan(
        self, plan_id: FromPath[int], get_floor_plan: NamedDependency[GetFloorPlan]
    ) -> FloorPlanRead:
        return FloorPlanRead.of(await get_floor_plan.execute(plan_id))

    @put("/{plan_id:int}", guards=_WRITERS)
    async def update_floor_plan(
        self,
        plan_id: FromPath[int],
        data: JSONBody[FloorPlanUpdate],
        update_floor_plan: NamedDependency[UpdateFloorPlan],
    ) -> FloorPlanRead:
        """Change only the fields sent; ``{image_url}`` (an http(s) address or a ``/media/``
        path) is what the front end sends."""
        return FloorPlanRead.of(await update_floor_plan.execute(plan_id, data.changes()))

    @delete("/{plan_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_floor_plan(
        self, plan_id: FromPath[int], delete_floor_plan: NamedDependency[DeleteFloorPlan]
    ) -> None:
        """Remove a plan; devices on it stay, taken off it."""
        await delete_floor_plan.execute(plan_id)

    @get("/{plan_id:int}/devices")
    async def list_floor_plan_devices(
        self, plan_id: FromPath[int], list_floor_plan_devices: NamedDependency[ListFloorPlanDevices]
    ) -> list[DeviceRead]:
        """Every device on the plan, in id order."""
        return [DeviceRead.of(d) for d in await list_floor_plan_devices.execute(plan_id)]


class ImageUpload(msgspec.Struct, kw_only=True):
    """The multipart body: the image in field ``file``. Its name and content type are
    ignored: the bytes say what they are."""

    file: UploadFile


class FloorPlanImageController(Controller):
    """The upload route, mounted apart so that its request body limit follows
    ``MEDIA_MAX_BYTES`` (see ``app_factory.create_app``): a larger body is refused as it
    arrives (``413 payload_too_large``), never buffered first."""

    path = "/floor-plans"
    tags = ["floor-plans"]

    @post("/{plan_id:int}/image", status_code=HTTP_200_OK, guards=_WRITERS)
    async def upload_floor_plan_image(
        self,
        plan_id: FromPath[int],
        data: Annotated[ImageUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        set_floor_plan_image: NamedDependency[SetFloorPlanImage],
    ) -> FloorPlanRead:
        """Upload the plan's image (multipart field ``file``): PNG, JPEG or WebP, checked by
        its own bytes, at most ``MEDIA_MAX_BYTES`` and 40 megapixels. It is served at the
        returned ``image_url`` (``/media/floor_plans/<sha256>.<ext>``)."""
        try:
            content = await data.file.read()
        finally:
            await data.file.close()
        return FloorPlanRead.of(await set_floor_plan_image.execute(plan_id, content))
