"""``/api/v1/device-users``: who is enrolled on which access controller, under which id.

Everyone signed in reads; ADMIN and above write: enrolling people on access control opens
doors, which is an administrator's call (the same role that manages the devices).
"""

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.device_users import (
    CreateDeviceUser,
    DeleteDeviceUser,
    GetDeviceUser,
    ListDeviceUsers,
    UpdateDeviceUser,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_sites import (
    DeviceUserCreate,
    DeviceUserRead,
    DeviceUserUpdate,
)

_WRITERS = [requires(Role.ADMIN)]


class DeviceUsersController(Controller):
    path = "/device-users"
    tags = ["device-users"]

    @get("/")
    async def list_device_users(
        self,
        list_device_users: NamedDependency[ListDeviceUsers],
        device_id: FromQuery[int | None] = None,
        person_id: FromQuery[int | None] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[DeviceUserRead]:
        """Enrolments in id order; ``device_id`` and ``person_id`` filter before paging."""
        users = await list_device_users.execute(
            device_id=device_id, person_id=person_id, skip=skip, limit=limit
        )
        return [DeviceUserRead.of(u) for u in users]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_device_user(
        self,
        data: JSONBody[DeviceUserCreate],
        create_device_user: NamedDependency[CreateDeviceUser],
    ) -> DeviceUserRead:
        """Enrol a person on a device (``404 device_not_found`` / ``person_not_found``; one
        ``device_user_id`` per device: ``400 device_user_id_taken``)."""
        return DeviceUserRead.of(await create_device_user.execute(data.new_device_user()))

    @get("/{device_user_id:int}")
    async def get_device_user(
        self, device_user_id: FromPath[int], get_device_user: NamedDependency[GetDeviceUser]
    ) -> DeviceUserRead:
        return DeviceUserRead.of(await get_device_user.execute(device_user_id))

    @put("/{device_user_id:int}", guards=_WRITERS)
    async def update_device_user(
        self,
        device_user_id: FromPath[int],
        data: JSONBody[DeviceUserUpdate],
        update_device_user: NamedDependency[UpdateDeviceUser],
    ) -> DeviceUserRead:
        """Change only the fields sent."""
        user = await update_device_user.execute(device_user_id, data.changes())
        return DeviceUserRead.of(user)

    @delete("/{device_user_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_device_user(
        self, device_user_id: FromPath[int], delete_device_user: NamedDependency[DeleteDeviceUser]
    ) -> None:
        await delete_device_user.execute(device_user_id)
