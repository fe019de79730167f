"""``/api/v1/devices`` and ``/api/v1/devices/gateways``: the device register, placement on
floor plans, online state, and removal.

Everyone signed in reads (status boards poll ``/devices/status``); ADMIN and above write.
"""

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.devices import (
    CreateDevice,
    DeleteDevice,
    DeleteGatewaysByMac,
    GetDevice,
    ListDevices,
    ListDeviceStatuses,
    UpdateDevice,
)
from securityvision.domain.devices import DeviceType
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_devices import (
    DeviceCreate,
    DeviceDeletionRead,
    DevicePositionUpdate,
    DeviceRead,
    DeviceStatusRead,
    DeviceUpdate,
)

_WRITERS = [requires(Role.ADMIN)]


class DevicesController(Controller):
    path = "/devices"
    tags = ["devices"]

    @get("/")
    async def list_devices(
        self, list_devices: NamedDependency[ListDevices], skip: Skip = 0, limit: Limit = 100
    ) -> list[DeviceRead]:
        """Devices of every type, in id order."""
        devices = await list_devices.execute(skip=skip, limit=limit)
        return [DeviceRead.of(d) for d in devices]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_device(
        self, data: JSONBody[DeviceCreate], create_device: NamedDependency[CreateDevice]
    ) -> DeviceRead:
        """Register a device; a MAC in any spelling is stored ``AA:BB:CC:DD:EE:FF``; duplicate
        codes and MACs answer ``400``. ``password`` is accepted and not stored."""
        return DeviceRead.of(await create_device.execute(data.new_device()))

    @get("/status")
    async def device_statuses(
        self,
        list_device_statuses: NamedDependency[ListDeviceStatuses],
        only_gateways: FromQuery[bool] = False,
    ) -> list[DeviceStatusRead]:
        """Every device's online state (all of them, never a first page); reading it changes
        nothing."""
        statuses = await list_device_statuses.execute(only_gateways=only_gateways)
        return [DeviceStatusRead.of(s) for s in statuses]

    @get("/{device_id:int}")
    async def get_device(
        self, device_id: FromPath[int], get_device: NamedDependency[GetDevice]
    ) -> DeviceRead:
        return DeviceRead.of(await get_device.execute(device_id))

    @put("/{device_id:int}", guards=_WRITERS)
    async def update_device(
        self,
        device_id: FromPath[int],
        data: JSONBody[DeviceUpdate],
        update_device: NamedDependency[UpdateDevice],
    ) -> DeviceRead:
        """Change only the fields sent (``{floor_plan_id, pos_x, pos_y}``, ``{name}``, ...);
        null clears a field."""
        return DeviceRead.of(await update_device.execute(device_id, data.changes()))

    @patch("/{device_id:int}/position", guards=_WRITERS)
    async def update_position(
        self,
        device_id: FromPath[int],
        data: JSONBody[DevicePositionUpdate],
        update_device: NamedDependency[UpdateDevice],
    ) -> DeviceRead:
        """Place the device on a floor plan (only the fields sent change)."""
        return DeviceRead.of(await update_device.execute(device_id, data.changes()))

    @delete("/{device_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_device(
        self,
        device_id: FromPath[int],
        delete_device: NamedDependency[DeleteDevice],
        purge_related: FromQuery[bool] = False,
    ) -> None:
        """Remove a device. One with readings needs ``purge_related=true``, which removes them
        too; otherwise ``409 device_has_history``."""
        await delete_device.execute(device_id, purge_related=purge_related)


class GatewaysController(Controller):
    path = "/devices/gateways"
    tags = ["devices"]

    @get("/")
    async def list_gateways(
        self, list_devices: NamedDependency[ListDevices], skip: Skip = 0, limit: Limit = 100
    ) -> list[DeviceRead]:
        """BLE gateways, in id order."""
        gateways = await list_devices.execute(type=DeviceType.BLE_GATEWAY, skip=skip, limit=limit)
        return [DeviceRead.of(g) for g in gateways]

    @get("/status")
    async def gateway_statuses(
        self, list_device_statuses: NamedDependency[ListDeviceStatuses]
    ) -> list[DeviceStatusRead]:
        """Every gateway's online state; reading it changes nothing."""
        statuses = await list_device_statuses.execute(only_gateways=True)
        return [DeviceStatusRead.of(s) for s in statuses]

    @delete("/{device_id:int}", status_code=HTTP_200_OK, guards=_WRITERS)
    async def delete_gateway(
        self,
        device_id: FromPath[int],
        delete_device: NamedDependency[DeleteDevice],
        purge_related: FromQuery[bool] = False,
    ) -> DeviceDeletionRead:
        """Remove a gateway (``400 not_a_gateway`` for other devices); with readings it needs
        ``purge_related=true``."""
        deletion = await delete_device.execute(
            device_id, purge_related=purge_related, gateways_only=True
        )
        return DeviceDeletionRead.of(deletion)

    @delete("/by-mac/{mac:str}", status_code=HTTP_200_OK, guards=_WRITERS)
    async def delete_gateways_by_mac(
        self,
        mac: FromPath[str],
        delete_gateways_by_mac: NamedDependency[DeleteGatewaysByMac],
        delete_all_matches: FromQuery[bool] = False,
        purge_related: FromQuery[bool] = False,
    ) -> DeviceDeletionRead:
        """Remove the gateway with this MAC, written in any spelling."""
        deletion = await delete_gateways_by_mac.execute(
            mac, delete_all_matches=delete_all_matches, purge_related=purge_related
        )
        return DeviceDeletionRead.of(deletion)
