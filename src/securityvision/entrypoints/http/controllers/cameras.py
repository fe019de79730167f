"""``/api/v1/devices/cameras`` and ``/api/v1/devices/camera-groups``: cameras with their
encrypted credentials, their events, and groups of cameras.

Everyone signed in reads (the dashboard polls each camera's events); ADMIN and above write;
OPERATOR and above start and stop uplinks (docs/cambus.md).
"""

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.cambus_publishing import (
    CameraUplinks,
    GetUplink,
    StartUplink,
    StopUplink,
)
from securityvision.application.cameras import (
    CreateCamera,
    CreateCameraGroup,
    DeleteCameraGroup,
    GetCameraGroup,
    ListCameraEvents,
    ListCameraGroups,
    ListCameras,
    ListCameraStatuses,
    RecordCameraEvent,
    UpdateCamera,
    UpdateCameraGroup,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_cameras import (
    CameraCreate,
    CameraEventCreate,
    CameraGroupCreate,
    CameraGroupRead,
    CameraGroupUpdate,
    CameraRead,
    CameraUpdate,
    DeviceEventRead,
    UplinkOrderRead,
    UplinkRead,
    UplinkStart,
)
from securityvision.entrypoints.http.schemas_devices import DeviceRead, DeviceStatusRead

_WRITERS = [requires(Role.ADMIN)]
_OPERATORS = [requires(Role.OPERATOR)]

EventLimit = Annotated[int, Parameter(ge=1, le=1000, description="Events to return at most")]


class CamerasController(Controller):
    path = "/devices/cameras"
    tags = ["cameras"]

    @get("/")
    async def list_cameras(
        self,
        list_cameras: NamedDependency[ListCameras],
        camera_uplinks: NamedDependency[CameraUplinks],
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[CameraRead]:
        """Cameras, in id order (never their passwords), each with its ``uplink``: the lease
        and the stream state cam-bus last reported (``null`` when there was none)."""
        cameras = await list_cameras.execute(skip=skip, limit=limit)
        uplinks = await camera_uplinks.execute([c.id for c in cameras])
        return [CameraRead.with_uplink(c, uplinks.get(c.id)) for c in cameras]

    @get("/status")
    async def camera_statuses(
        self, list_camera_statuses: NamedDependency[ListCameraStatuses]
    ) -> list[DeviceStatusRead]:
        """Every camera's online state; reading it changes nothing."""
        return [DeviceStatusRead.of(s) for s in await list_camera_statuses.execute()]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_camera(
        self, data: JSONBody[CameraCreate], create_camera: NamedDependency[CreateCamera]
    ) -> DeviceRead:
        """Register a camera (type CAMERA whatever is sent; shard CAMBUS_DEFAULT_SHARD unless
        given). ``password`` is stored encrypted with DEVICE_SECRETS_KEY and never returned;
        without the key a password is refused (``422 secrets_key_missing``)."""
        device = await create_camera.execute(data.new_device(), data.camera_password())
        return DeviceRead.of(device)

    @put("/{device_id:int}", guards=_WRITERS)
    async def update_camera(
        self,
        device_id: FromPath[int],
        data: JSONBody[CameraUpdate],
        update_camera: NamedDependency[UpdateCamera],
    ) -> DeviceRead:
        """Change only the fields sent (``400 not_a_camera`` for another device); a
        ``password`` sent replaces the stored one."""
        device = await update_camera.execute(device_id, data.changes(), data.camera_password())
        return DeviceRead.of(device)

    @get("/{device_id:int}/events")
    async def list_camera_events(
        self,
        device_id: FromPath[int],
        list_camera_events: NamedDependency[ListCameraEvents],
        limit: EventLimit = 100,
    ) -> list[DeviceEventRead]:
        """The camera's events, newest first, ``payload`` as an object."""
        events = await list_camera_events.execute(device_id, limit=limit)
        return [DeviceEventRead.of(e) for e in events]

    @post("/{device_id:int}/events", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def record_camera_event(
        self,
        device_id: FromPath[int],
        data: JSONBody[CameraEventCreate],
        record_camera_event: NamedDependency[RecordCameraEvent],
    ) -> DeviceEventRead:
        """Store an event ``{topic, analytic_type, payload, occurred_at}`` and run it through
        the incident rules; the answer's ``incident_id`` is the incident it opened or
        joined."""
        recorded = await record_camera_event.execute(device_id, data.draft())
        return DeviceEventRead.of(recorded.event)

    @post("/{device_id:int}/uplink/start", status_code=HTTP_200_OK, guards=_OPERATORS)
    async def start_uplink(
        self,
        device_id: FromPath[int],
        start_uplink: NamedDependency[StartUplink],
        data: JSONBody[UplinkStart | None] = None,
    ) -> UplinkOrderRead:
        """Ask cam-bus to uplink the camera's stream to its media shard for ``ttl_seconds``
        (default CAMBUS_UPLINK_TTL_SECONDS); calling it again before ``expires_at`` renews
        it, and one not renewed in time is stopped. The answer adds the ``viewer_urls``.
        ``400 uplink_not_configured`` when the camera has no media host, ``409
        cambus_disabled`` when publishing to cam-bus is off."""
        ttl = None if data is None else data.ttl_seconds
        return UplinkOrderRead.of(await start_uplink.execute(device_id, ttl))

    @post("/{device_id:int}/uplink/stop", status_code=HTTP_200_OK, guards=_OPERATORS)
    async def stop_uplink(
        self, device_id: FromPath[int], stop_uplink: NamedDependency[StopUplink]
    ) -> UplinkOrderRead:
        """Ask cam-bus to stop the camera's uplink (a body, ``{}`` from the front end, is
        not read)."""
        return UplinkOrderRead.of(await stop_uplink.execute(device_id))

    @get("/{device_id:int}/uplink")
    async def get_uplink(
        self, device_id: FromPath[int], get_uplink: NamedDependency[GetUplink]
    ) -> UplinkRead:
        """The camera's uplink: the lease and the stream state cam-bus last reported."""
        return UplinkRead.of(await get_uplink.execute(device_id))


class CameraGroupsController(Controller):
    path = "/devices/camera-groups"
    tags = ["cameras"]

    @get("/")
    async def list_camera_groups(
        self,
        list_camera_groups: NamedDependency[ListCameraGroups],
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[CameraGroupRead]:
        groups = await list_camera_groups.execute(skip=skip, limit=limit)
        return [CameraGroupRead.of(g) for g in groups]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_camera_group(
        self,
        data: JSONBody[CameraGroupCreate],
        create_camera_group: NamedDependency[CreateCameraGroup],
    ) -> CameraGroupRead:
        """A group (unique ``name``, ``400 camera_group_name_taken``) of existing devices."""
        group = await create_camera_group.execute(data.new_group(), data.device_ids)
        return CameraGroupRead.of(group)

    @get("/{group_id:int}")
    async def get_camera_group(
        self, group_id: FromPath[int], get_camera_group: NamedDependency[GetCameraGroup]
    ) -> CameraGroupRead:
        return CameraGroupRead.of(await get_camera_group.execute(group_id))

    @patch("/{group_id:int}", guards=_WRITERS)
    async def update_camera_group(
        self,
        group_id: FromPath[int],
        data: JSONBody[CameraGroupUpdate],
        update_camera_group: NamedDependency[UpdateCameraGroup],
    ) -> CameraGroupRead:
        """Change the fields sent; ``{device_ids}`` replaces the group's cameras."""
        return CameraGroupRead.of(await update_camera_group.execute(group_id, data.changes()))

    @delete("/{group_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_camera_group(
        self, group_id: FromPath[int], delete_camera_group: NamedDependency[DeleteCameraGroup]
    ) -> None:
        """Remove the group (its cameras stay; rules scoped to it go)."""
        await delete_camera_group.execute(group_id)
