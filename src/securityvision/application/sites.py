"""Buildings, floors and floor plans: the places devices are put on, and the plans' images.

Every write runs in one unit of work and returns what it stored (a deletion: what it removed,
cascades included), so that a publication of the change can join the same transaction.
"""

from typing import Any, TypeVar

import msgspec

from securityvision.application.access_control import AccessControl
from securityvision.application.cambus_publishing import CamBusPublications
from securityvision.application.ports import MediaStore, UnitOfWorkFactory
from securityvision.application.webhooks import WebhookEvents, building_payload
from securityvision.domain.access_control import Event
from securityvision.domain.devices import Device
from securityvision.domain.errors import NotFound
from securityvision.domain.media import MAX_IMAGE_PIXELS, MediaKind, check_image
from securityvision.domain.sites import (
    Building,
    Floor,
    FloorPlan,
    NewBuilding,
    NewFloor,
    NewFloorPlan,
    SiteDeletion,
    check_building,
    check_floor,
    check_floor_plan,
)
from securityvision.domain.webhooks import WebhookEventType

_UNSET = msgspec.UNSET
_B = TypeVar("_B", NewBuilding, Building)
_F = TypeVar("_F", NewFloor, Floor)
_P = TypeVar("_P", NewFloorPlan, FloorPlan)


class BuildingChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update: UNSET fields are left as they are, None clears a field."""

    name: str | msgspec.UnsetType = _UNSET
    code: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    address: str | msgspec.UnsetType | None = _UNSET


class FloorChanges(msgspec.Struct, frozen=True, kw_only=True):
    building_id: int | msgspec.UnsetType = _UNSET
    name: str | msgspec.UnsetType = _UNSET
    level: int | msgspec.UnsetType | None = _UNSET
    code: str | msgspec.UnsetType | None = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET


class FloorPlanChanges(msgspec.Struct, frozen=True, kw_only=True):
    """``image_url`` is what the front end sends alone (a URL the user typed)."""

    floor_id: int | msgspec.UnsetType = _UNSET
    name: str | msgspec.UnsetType = _UNSET
    image_url: str | msgspec.UnsetType | None = _UNSET
    width: float | msgspec.UnsetType | None = _UNSET
    height: float | msgspec.UnsetType | None = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET


def changed(changes: msgspec.Struct) -> dict[str, Any]:
    """The fields a partial update sets (UNSET ones left out)."""
    return {
        name: value
        for name in changes.__struct_fields__
        if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
    }


def stripped(text: str | None) -> str | None:
    """Surrounding blanks are typing accidents; a blank optional text is no text."""
    return None if text is None or not text.strip() else text.strip()


def building_not_found(building_id: int) -> NotFound:
    return NotFound(f"building {building_id} not found", code="building_not_found")


def floor_not_found(floor_id: int) -> NotFound:
    return NotFound(f"floor {floor_id} not found", code="floor_not_found")


def floor_plan_not_found(plan_id: int) -> NotFound:
    return NotFound(f"floor plan {plan_id} not found", code="floor_plan_not_found")


def _building(building: _B) -> _B:
    return msgspec.structs.replace(building, name=building.name.strip(), code=building.code.strip())


def _floor(floor: _F) -> _F:
    return msgspec.structs.replace(floor, name=floor.name.strip(), code=stripped(floor.code))


def _plan(plan: _P) -> _P:
    return msgspec.structs.replace(plan, name=plan.name.strip(), image_url=stripped(plan.image_url))


# --- buildings ------------------------------------------------------------------------------


class CreateBuilding:
    """Create a building.

    - A name and a code are required; codes are unique (``building_code_taken``) and may not
      carry MQTT separators or wildcards (``/``, ``+``, ``#``), since topics are built from
      them.
    """

    def __init__(self, uow: UnitOfWorkFactory, webhooks: WebhookEvents | None = None) -> None:
        self._uow = uow
        self._webhooks = webhooks

    async def execute(self, draft: NewBuilding) -> Building:
        new = _building(draft)
        check_building(new)
        async with self._uow() as uow:
            building = await uow.buildings.add(new)
            if self._webhooks is not None:
                await self._webhooks.tell(
                    uow, WebhookEventType.BUILDING_CREATED, building_payload(building)
                )
            await uow.commit()
        return building


class UpdateBuilding:
    """Change only the fields sent, with the rules of ``CreateBuilding``."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_control: AccessControl | None = None,
        cambus: CamBusPublications | None = None,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()
        self._cambus = cambus or CamBusPublications()
        self._webhooks = webhooks

    async def execute(self, building_id: int, changes: BuildingChanges) -> Building:
        async with self._uow() as uow:
            building = await uow.buildings.get(building_id)
            if building is None:
                raise building_not_found(building_id)
            values = changed(changes)
            if not values:
                return building
            updated = _building(msgspec.structs.replace(building, **values))
            check_building(updated)
            saved = await uow.buildings.update(updated)
            await self._access_control.building_changed(uow, saved)
            await self._cambus.site_changed(uow, building_id=building_id)
            if self._webhooks is not None:
                await self._webhooks.tell(
                    uow, WebhookEventType.BUILDING_UPDATED, building_payload(saved)
                )
            await uow.commit()
        return saved


class DeleteBuilding:
    """Remove a building with its floors and their plans (the foreign keys cascade).

    - Devices on them are never deleted: their placement (building, floor, plan and position)
      is cleared. The original's ORM deleted them, with all their readings.
    - Locations lose the removed floors.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_control: AccessControl | None = None,
        cambus: CamBusPublications | None = None,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()
        self._cambus = cambus or CamBusPublications()
        self._webhooks = webhooks

    async def execute(self, building_id: int) -> SiteDeletion:
        async with self._uow() as uow:
            deletion = await uow.buildings.delete(building_id)
            if deletion is None:
                raise building_not_found(building_id)
            await self._access_control.site_deleted(uow, deletion)
            await self._cambus.cameras_changed(uow, deletion.unplaced_device_ids)
            if self._webhooks is not None:
                await self._webhooks.tell_deleted(
                    uow, WebhookEventType.BUILDING_DELETED, "building_id", deletion.building_ids
                )
            await uow.commit()
        return deletion


class GetBuilding:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, building_id: int) -> Building:
        async with self._uow() as uow:
            building = await uow.buildings.get(building_id)
        if building is None:
            raise building_not_found(building_id)
        return building


class GetBuildingByCode:
    """A building by its exact code."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, code: str) -> Building:
        async with self._uow() as uow:
            building = await uow.buildings.get_by_code(code)
        if building is None:
            raise NotFound(f"no building has code {code!r}", code="building_not_found")
        return building


class ListBuildings:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> list[Building]:
        async with self._uow() as uow:
            return list(await uow.buildings.list(skip=skip, limit=limit))


class ListBuildingFloorPlans:
    """The plans of every floor of a building, by name (the dashboard's plan picker)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, building_id: int) -> list[FloorPlan]:
        async with self._uow() as uow:
            if await uow.buildings.get(building_id) is None:
                raise building_not_found(building_id)
            return list(await uow.floor_plans.in_building(building_id))


# --- floors ---------------------------------------------------------------------------------


class CreateFloor:
    """Create a floor of an existing building; a name is required, the code (optional) has
    the rules of a building's."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, draft: NewFloor) -> Floor:
        new = _floor(draft)
        check_floor(new)
        async with self._uow() as uow:
            if await uow.buildings.get(new.building_id) is None:
                raise building_not_found(new.building_id)
            floor = await uow.floors.add(new)
            await uow.commit()
        return floor


class UpdateFloor:
    """Change only the fields sent.

    - A new ``building_id`` must exist. The floor's plans move with it (theirs is derived),
      and so do the devices on the floor: their ``building_id`` follows in the same unit of
      work (each a device update), so no device is left on a floor of one building while
      being in another.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_control: AccessControl | None = None,
        cambus: CamBusPublications | None = None,
    ) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()
        self._cambus = cambus or CamBusPublications()

    async def execute(self, floor_id: int, changes: FloorChanges) -> Floor:
        async with self._uow() as uow:
            floor = await uow.floors.get(floor_id)
            if floor is None:
                raise floor_not_found(floor_id)
            values = changed(changes)
            if not values:
                return floor
            updated = _floor(msgspec.structs.replace(floor, **values))
            check_floor(updated)
            if (
                updated.building_id != floor.building_id
                and await uow.buildings.get(updated.building_id) is None
            ):
                raise building_not_found(updated.building_id)
            saved = await uow.floors.update(updated)
            if saved.building_id != floor.building_id:
                for device in await uow.devices.list(floor_id=floor_id, limit=None):
                    moved = await uow.devices.update(
                        msgspec.structs.replace(device, building_id=saved.building_id)
                    )
                    await self._access_control.device_changed(uow, Event.UPDATED, moved)
            await self._access_control.floor_changed(uow, saved)
            await self._cambus.site_changed(uow, floor_id=floor_id)
            await uow.commit()
        return saved


class DeleteFloor:
    """Remove a floor with its plans; devices on them stay, taken off (floor, plan and
    position cleared); locations lose the floor."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_control: AccessControl | None = None,
        cambus: CamBusPublications | None = None,
    ) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()
        self._cambus = cambus or CamBusPublications()

    async def execute(self, floor_id: int) -> SiteDeletion:
        async with self._uow() as uow:
            deletion = await uow.floors.delete(floor_id)
            if deletion is None:
                raise floor_not_found(floor_id)
            await self._access_control.site_deleted(uow, deletion)
            await self._cambus.cameras_changed(uow, deletion.unplaced_device_ids)
            await uow.commit()
        return deletion


class GetFloor:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, floor_id: int) -> Floor:
        async with self._uow() as uow:
            floor = await uow.floors.get(floor_id)
        if floor is None:
            raise floor_not_found(floor_id)
        return floor


class ListFloors:
    """Floors in id order, of one building if asked (filtered before paging)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, *, building_id: int | None = None, skip: int = 0, limit: int = 100
    ) -> list[Floor]:
        async with self._uow() as uow:
            return list(await uow.floors.list(building_id=building_id, skip=skip, limit=limit))


# --- floor plans ----------------------------------------------------------------------------


class CreateFloorPlan:
    """Create a plan of an existing floor.

    - A name is required; ``image_url``, when given, is an http(s) address or a ``/media/``
      path (never ``javascript:`` or ``data:``). Images are better uploaded
      (``SetFloorPlanImage``).
    """

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, draft: NewFloorPlan) -> FloorPlan:
        new = _plan(msgspec.structs.replace(draft, image_file_name=None))
        check_floor_plan(new)
        async with self._uow() as uow:
            if await uow.floors.get(new.floor_id) is None:
                raise floor_not_found(new.floor_id)
            plan = await uow.floor_plans.add(new)
            await self._access_control.floor_plan_changed(uow, plan)
            await uow.commit()
        return plan


class UpdateFloorPlan:
    """Change only the fields sent (the front end sends ``{image_url}`` alone).

    - A new ``image_url`` detaches the uploaded file (``image_file_name`` becomes None) unless
      it is that file's own address.
    - A new ``floor_id`` must exist.
    """

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, plan_id: int, changes: FloorPlanChanges) -> FloorPlan:
        async with self._uow() as uow:
            plan = await uow.floor_plans.get(plan_id)
            if plan is None:
                raise floor_plan_not_found(plan_id)
            values = changed(changes)
            if not values:
                return plan
            updated = _plan(msgspec.structs.replace(plan, **values))
            if updated.image_file_name is not None and updated.image_url != plan.image_url:
                updated = msgspec.structs.replace(updated, image_file_name=None)
            check_floor_plan(updated)
            if updated.floor_id != plan.floor_id and await uow.floors.get(updated.floor_id) is None:
                raise floor_not_found(updated.floor_id)
            saved = await uow.floor_plans.update(updated)
            await self._access_control.floor_plan_changed(uow, saved)
            await uow.commit()
        return saved


class DeleteFloorPlan:
    """Remove a plan; devices on it stay, taken off it (plan and position cleared). Its image
    file stays: files are shared by content and cost little."""

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, plan_id: int) -> SiteDeletion:
        async with self._uow() as uow:
            deletion = await uow.floor_plans.delete(plan_id)
            if deletion is None:
                raise floor_plan_not_found(plan_id)
            await self._access_control.site_deleted(uow, deletion)
            await uow.commit()
        return deletion


class GetFloorPlan:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, plan_id: int) -> FloorPlan:
        async with self._uow() as uow:
            plan = await uow.floor_plans.get(plan_id)
        if plan is None:
            raise floor_plan_not_found(plan_id)
        return plan


class ListFloorPlans:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> list[FloorPlan]:
        async with self._uow() as uow:
            return list(await uow.floor_plans.list(skip=skip, limit=limit))


class ListFloorPlanDevices:
    """Every device on a plan, in id order: selected by the store, never a first page
    filtered afterwards (the original looked at the first 100 devices only)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, plan_id: int) -> list[Device]:
        async with self._uow() as uow:
            if await uow.floor_plans.get(plan_id) is None:
                raise floor_plan_not_found(plan_id)
            return list(await uow.devices.list(floor_plan_id=plan_id, limit=None))


class SetFloorPlanImage:
    """Give a plan an uploaded image.

    - The bytes must be a real PNG, JPEG or WebP image (by its own header, never by the name
      or content type the client sent) within ``max_bytes`` and the pixel limit, with no
      markup at either end (``check_image``); a refused image writes nothing.
    - It is kept by content hash (``media/floor_plans/<sha256>.<ext>``) and the plan's
      ``image_url`` becomes ``/media/floor_plans/<name>``, ``image_file_name`` the name.
    - The plan is checked before the file is written; should the transaction fail after, the
      file stays unreferenced (harmless: names are content hashes).
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        media: MediaStore,
        max_bytes: int,
        max_pixels: int = MAX_IMAGE_PIXELS,
    ) -> None:
        self._uow = uow
        self._media = media
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels

    async def execute(self, plan_id: int, data: bytes) -> FloorPlan:
        image = check_image(data, max_bytes=self._max_bytes, max_pixels=self._max_pixels)
        async with self._uow() as uow:
            plan = await uow.floor_plans.get(plan_id)
            if plan is None:
                raise floor_plan_not_found(plan_id)
            stored = await self._media.save(image, MediaKind.FLOOR_PLANS)
            saved = await uow.floor_plans.update(
                msgspec.structs.replace(
                    plan, image_url=stored.url, image_file_name=stored.file_name
                )
            )
            await uow.commit()
        return saved


__all__ = [
    "BuildingChanges",
    "CreateBuilding",
    "CreateFloor",
    "CreateFloorPlan",
    "DeleteBuilding",
    "DeleteFloor",
    "DeleteFloorPlan",
    "FloorChanges",
    "FloorPlanChanges",
    "GetBuilding",
    "GetBuildingByCode",
    "GetFloor",
    "GetFloorPlan",
    "ListBuildingFloorPlans",
    "ListBuildings",
    "ListFloorPlanDevices",
    "ListFloorPlans",
    "ListFloors",
    "SetFloorPlanImage",
    "UpdateBuilding",
    "UpdateFloor",
    "UpdateFloorPlan",
]
