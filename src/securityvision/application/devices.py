"""Devices: registering and placing gateways, cameras and access controllers, their online
state, and removing them with (or without) their history."""

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec

from securityvision.application.access_control import AccessControl
from securityvision.application.cambus_publishing import CamBusPublications
from securityvision.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from securityvision.application.sites import (
    building_not_found,
    floor_not_found,
    floor_plan_not_found,
)
from securityvision.application.webhooks import (
    DEVICE_POSITION_FIELDS,
    WebhookEvents,
    device_payload,
)
from securityvision.domain.access_control import Event
from securityvision.domain.devices import (
    Device,
    DeviceStatus,
    DeviceType,
    NewDevice,
    blank_to_none,
    check_device,
    device_mac,
)
from securityvision.domain.errors import Conflict, InvalidInput, NotFound
from securityvision.domain.rtls import as_utc
from securityvision.domain.webhooks import WebhookEventType

_UNSET = msgspec.UNSET
_D = TypeVar("_D", NewDevice, Device)


class DeviceChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update: UNSET fields are left as they are, None clears a field (the front
    end's "remove from plan" sends ``{floor_plan_id: null, pos_x: null, pos_y: null}``)."""

    name: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    type: DeviceType | msgspec.UnsetType = _UNSET
    code: str | msgspec.UnsetType | None = _UNSET
    mac_address: str | msgspec.UnsetType | None = _UNSET
    floor_plan_id: int | msgspec.UnsetType | None = _UNSET
    building_id: int | msgspec.UnsetType | None = _UNSET
    floor_id: int | msgspec.UnsetType | None = _UNSET
    location_id: int | msgspec.UnsetType | None = _UNSET
    pos_x: float | msgspec.UnsetType | None = _UNSET
    pos_y: float | msgspec.UnsetType | None = _UNSET
    ip_address: str | msgspec.UnsetType | None = _UNSET
    port: int | msgspec.UnsetType | None = _UNSET
    username: str | msgspec.UnsetType | None = _UNSET
    rtsp_url: str | msgspec.UnsetType | None = _UNSET
    proxy_path: str | msgspec.UnsetType | None = _UNSET
    central_path: str | msgspec.UnsetType | None = _UNSET
    record_retention_minutes: int | msgspec.UnsetType | None = _UNSET
    central_media_mtx_ip: str | msgspec.UnsetType | None = _UNSET
    manufacturer: str | msgspec.UnsetType | None = _UNSET
    model: str | msgspec.UnsetType | None = _UNSET
    shard: str | msgspec.UnsetType | None = _UNSET
    tenant: str | msgspec.UnsetType | None = _UNSET
    analytics: tuple[str, ...] | msgspec.UnsetType = _UNSET
    last_seen_at: datetime | msgspec.UnsetType | None = _UNSET


class DeviceDeletion(msgspec.Struct, frozen=True, kw_only=True):
    """What a deletion removed: the devices, and how many of their readings went with them."""

    deleted_device_ids: tuple[int, ...]
    readings_deleted: int = 0


def device_not_found(device_id: int) -> NotFound:
    return NotFound(f"device {device_id} not found", code="device_not_found")


def _normalized(device: _D) -> _D:
    """MACs in their stored spelling, blank codes as none, naive times as UTC."""
    return msgspec.structs.replace(
        device,
        name=device.name.strip(),
        code=blank_to_none(device.code),
        mac_address=device_mac(device.mac_address),
        last_seen_at=None if device.last_seen_at is None else as_utc(device.last_seen_at),
    )


_PLACEMENT = frozenset({"floor_plan_id", "floor_id", "building_id"})


async def _placed(uow: UnitOfWork, device: _D, sent: Collection[str]) -> _D:
    """The device with its floor and building following from the most precise placement it
    has: a plan gives its floor and building, a floor its building.

    The front end's drag sends ``{floor_plan_id, pos_x, pos_y}`` alone and "move to this plan"
    adds ``floor_id``: either way the device ends up on the plan's floor and building. A
    floor or building the caller sent too must agree (``placement_mismatch``) — to move a
    device off its plan, send ``floor_plan_id: null``. Every site sent must exist.
    """
    plan = None
    if device.floor_plan_id is not None:
        plan = await uow.floor_plans.get(device.floor_plan_id)
        if plan is None:
            raise floor_plan_not_found(device.floor_plan_id)
    floor_id, building_id = device.floor_id, device.building_id
    if "floor_id" in sent and floor_id is not None and await uow.floors.get(floor_id) is None:
        raise floor_not_found(floor_id)
    if (
        "building_id" in sent
        and building_id is not None
        and await uow.buildings.get(building_id) is None
    ):
        raise building_not_found(building_id)
    if plan is not None:
        _agree("floor_id", floor_id, plan.floor_id, sent, f"floor plan {plan.id}")
        floor_id = plan.floor_id
    if floor_id is not None:
        floor = await uow.floors.get(floor_id)
        if floor is None:
            raise floor_not_found(floor_id)
        _agree("building_id", building_id, floor.building_id, sent, f"floor {floor_id}")
        building_id = floor.building_id
    return msgspec.structs.replace(device, floor_id=floor_id, building_id=building_id)


def _agree(field: str, value: int | None, expected: int, sent: Collection[str], on: str) -> None:
    if field in sent and value != expected:
        raise InvalidInput(
            f"{field} {value} does not match {on}, which is on {field.removesuffix('_id')}"
            f" {expected}",
            code="placement_mismatch",
        )


class CreateDevice:
    """Register a device.

    - A name is required; the type is BLE_GATEWAY unless said otherwise.
    - ``mac_address`` in any MAC spelling is stored as ``AA:BB:CC:DD:EE:FF`` (a non-MAC
      gateway id is kept as given); codes and MACs are unique (``device_code_taken``,
      ``device_mac_taken``).
    - A placement must name sites that exist; a plan sets the floor and building, a floor
      the building, and any sent too must agree (``placement_mismatch``).
    - Access control hears of it (``devices/created``) in the same transaction, and cam-bus
      of a camera (its ``/info``).
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

    async def execute(self, draft: NewDevice) -> Device:
        async with self._uow() as uow:
            device = await add_device(uow, draft, self._access_control)
            await self._cambus.camera_changed(uow, device.id)
            await tell_device_changed(self._webhooks, uow, None, device)
            await uow.commit()
        return device


async def add_device(uow: UnitOfWork, draft: NewDevice, access_control: AccessControl) -> Device:
    """``CreateDevice``'s rules inside the caller's unit of work (the camera routes store the
    camera's credentials in the same transaction)."""
    new = _normalized(draft)
    check_device(new)
    sent = {f for f in _PLACEMENT if getattr(new, f) is not None}
    if sent:
        new = await _placed(uow, new, sent)
    device = await uow.devices.add(new)
    await access_control.device_changed(uow, Event.CREATED, device)
    return device


async def tell_device_changed(
    webhooks: WebhookEvents | None, uow: UnitOfWork, before: Device | None, after: Device
) -> None:
    """Webhook subscribers hear of a device registered (no ``before``: DEVICE_CREATED) or
    changed (DEVICE_UPDATED, and DEVICE_POSITION_UPDATED when its plan or its place on it
    moved), in the caller's unit of work; every route that registers or changes a device
    (``/devices``, ``/devices/cameras``) goes through here."""
    if webhooks is None:
        return
    if before is None:
        await webhooks.tell(uow, WebhookEventType.DEVICE_CREATED, device_payload(after))
        return
    await webhooks.tell(uow, WebhookEventType.DEVICE_UPDATED, device_payload(after))
    if any(getattr(before, f) != getattr(after, f) for f in DEVICE_POSITION_FIELDS):
        await webhooks.tell(uow, WebhookEventType.DEVICE_POSITION_UPDATED, device_payload(after))


class UpdateDevice:
    """Change only the fields sent (the front end sends partial bodies: a drag on the plan is
    ``{floor_plan_id, pos_x, pos_y}``, a rename ``{name}``), with the rules of
    ``CreateDevice``; an explicit null clears a field. Access control hears of a change
    (``devices/updated``); a body that changes nothing publishes nothing."""

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

    async def execute(self, device_id: int, changes: DeviceChanges) -> Device:
        values = changed_fields(changes)
        async with self._uow() as uow:
            device = await uow.devices.get(device_id)
            if device is None:
                raise device_not_found(device_id)
            if not values:
                return device
            saved = await change_device(uow, device, values, self._access_control)
            await self._cambus.camera_changed(uow, device_id)
            await tell_device_changed(self._webhooks, uow, device, saved)
            await uow.commit()
        return saved


def changed_fields(changes: DeviceChanges) -> dict[str, object]:
    """The fields a partial update sent (UNSET ones left out)."""
    return {
        name: value
        for name in changes.__struct_fields__
        if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
    }


async def change_device(
    uow: UnitOfWork, device: Device, values: Mapping[str, object], access_control: AccessControl
) -> Device:
    """``UpdateDevice``'s rules for the fields in ``values``, inside the caller's unit of
    work."""
    updated = _normalized(msgspec.structs.replace(device, **values))
    check_device(updated)
    if _PLACEMENT & values.keys():
        updated = await _placed(uow, updated, values.keys())
    saved = await uow.devices.update(updated)
    await access_control.device_changed(uow, Event.UPDATED, saved)
    return saved


class DeleteDevice:
    """Remove a device.

    - Its readings are history every presence report is built from: a device that has any is
      removed only when the caller asks for the purge (``purge_related``), which removes them
      with it; otherwise the answer is ``device_has_history`` and nothing changes.
    - Unknown tags it heard last forget it; its status events go with it.
    - Access control hears the id (``devices/deleted``); cam-bus gets a camera's tombstone.
    - ``gateways_only`` (the ``/devices/gateways`` routes) refuses any other type.
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

    async def execute(
        self, device_id: int, *, purge_related: bool = False, gateways_only: bool = False
    ) -> DeviceDeletion:
        async with self._uow() as uow:
            device = await uow.devices.get_for_update(device_id)
            if device is None:
                raise device_not_found(device_id)
            if gateways_only and not device.is_gateway:
                raise InvalidInput(
                    f"device {device_id} is a {device.type}, not a gateway", code="not_a_gateway"
                )
            deletion = await _delete(
                uow, [device], purge_related=purge_related, access_control=self._access_control
            )
            await self._cambus.camera_changed(uow, device_id)
            if self._webhooks is not None:
                await self._webhooks.tell_deleted(
                    uow, WebhookEventType.DEVICE_DELETED, "device_id", deletion.deleted_device_ids
                )
            await uow.commit()
        return deletion


class DeleteGatewaysByMac:
    """Remove the gateway(s) answering to a MAC, written in any spelling.

    - MACs are unique, so at most one gateway matches; ``delete_all_matches`` is accepted for
      the original's callers and removes every match should there ever be several.
    - A MAC that belongs to a device of another type is refused (``not_a_gateway``).
    - History is kept unless ``purge_related``, as in ``DeleteDevice``.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_control: AccessControl | None = None,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()
        self._webhooks = webhooks

    async def execute(
        self, mac_address: str, *, delete_all_matches: bool = False, purge_related: bool = False
    ) -> DeviceDeletion:
        stored = device_mac(mac_address)
        if stored is None:
            raise InvalidInput("a MAC address is required", code="invalid_mac")
        async with self._uow() as uow:
            matches = list(await uow.devices.find_by_mac(stored))
            gateways = [d for d in matches if d.is_gateway]
            if not gateways:
                if matches:
                    raise InvalidInput(
                        f"the device with MAC {stored} is not a gateway", code="not_a_gateway"
                    )
                raise NotFound(f"no gateway has MAC {stored}", code="gateway_not_found")
            if len(gateways) > 1 and not delete_all_matches:
                raise Conflict(
                    f"{len(gateways)} gateways have MAC {stored}; send delete_all_matches=true",
                    code="several_gateways_match",
                )
            locked = [
                device
                for gateway in gateways
                if (device := await uow.devices.get_for_update(gateway.id)) is not None
            ]
            deletion = await _delete(
                uow, locked, purge_related=purge_related, access_control=self._access_control
            )
            if self._webhooks is not None:
                await self._webhooks.tell_deleted(
                    uow, WebhookEventType.DEVICE_DELETED, "device_id", deletion.deleted_device_ids
                )
            await uow.commit()
        return deletion


async def _delete(
    uow: UnitOfWork, devices: list[Device], *, purge_related: bool, access_control: AccessControl
) -> DeviceDeletion:
    if not purge_related:
        for device in devices:
            if await uow.collection_logs.has_for_device(device.id):
                raise Conflict(
                    f"device {device.id} has readings; delete with purge_related=true to remove"
                    " them too",
                    code="device_has_history",
                )
    purged = 0
    for device in devices:
        if purge_related:
            purged += await uow.collection_logs.delete_for_device(device.id)
        await uow.devices.delete(device.id)
        await access_control.device_deleted(uow, device.id)
    return DeviceDeletion(deleted_device_ids=tuple(d.id for d in devices), readings_deleted=purged)


class GetDevice:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, device_id: int) -> Device:
        async with self._uow() as uow:
            device = await uow.devices.get(device_id)
        if device is None:
            raise device_not_found(device_id)
        return device


class ListDevices:
    """Devices in id order, of one type if asked (filtered before paging)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, *, type: DeviceType | None = None, skip: int = 0, limit: int = 100
    ) -> list[Device]:
        async with self._uow() as uow:
            return list(await uow.devices.list(type=type, skip=skip, limit=limit))


class ListDeviceStatuses:
    """Every device's (or gateway's) online state, as the status boards poll it every few
    seconds.

    - Online: heard from within ``threshold`` (DEVICE_OFFLINE_THRESHOLD_SECONDS) and not last
      reported offline.
    - All devices, not a first page: a board must see every gateway.
    - Read-only: polling never records transitions or fires alerts; the worker does that, once,
      whoever is watching.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, threshold: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._threshold = threshold

    async def execute(self, *, only_gateways: bool = False) -> list[DeviceStatus]:
        kind = DeviceType.BLE_GATEWAY if only_gateways else None
        async with self._uow(read_only=True) as uow:
            devices = await uow.devices.list(type=kind, limit=None)
        now = self._clock.now()
        return [DeviceStatus.of(d, now, self._threshold) for d in devices]


__all__ = [
    "CreateDevice",
    "DeleteDevice",
    "DeleteGatewaysByMac",
    "DeviceChanges",
    "DeviceDeletion",
    "GetDevice",
    "ListDeviceStatuses",
    "ListDevices",
    "UpdateDevice",
    "add_device",
    "change_device",
    "changed_fields",
    "device_not_found",
    "tell_device_changed",
]
