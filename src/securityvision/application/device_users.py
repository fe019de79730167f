"""Enrolment of people on access controllers (``device_users``): which person a controller
knows under which of its user ids.

Every write runs in one unit of work and returns the stored row (a deletion: the row as it
was), so that a publication to the controller can join the same transaction.
"""

import msgspec

from securityvision.application.access_control import AccessControl
from securityvision.application.ports import UnitOfWork, UnitOfWorkFactory
from securityvision.application.sites import changed, stripped
from securityvision.domain.access_control import Event
from securityvision.domain.errors import NotFound
from securityvision.domain.sites import DeviceUser, NewDeviceUser, check_device_user

_UNSET = msgspec.UNSET


class DeviceUserChanges(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int | msgspec.UnsetType = _UNSET
    person_id: int | msgspec.UnsetType = _UNSET
    device_user_id: str | msgspec.UnsetType | None = _UNSET
    status: str | msgspec.UnsetType = _UNSET


def _not_found(device_user_id: int) -> NotFound:
    return NotFound(f"device user {device_user_id} not found", code="device_user_not_found")


async def _check_links(uow: UnitOfWork, user: NewDeviceUser | DeviceUser) -> None:
    if await uow.devices.get(user.device_id) is None:
        raise NotFound(f"device {user.device_id} not found", code="device_not_found")
    if await uow.people.get(user.person_id) is None:
        raise NotFound(f"person {user.person_id} not found", code="person_not_found")


class CreateDeviceUser:
    """Enrol a person on a device.

    - Device and person must exist (``device_not_found``, ``person_not_found``).
    - One device knows one person by a given ``device_user_id`` (``device_user_id_taken``).
    """

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, draft: NewDeviceUser) -> DeviceUser:
        new = msgspec.structs.replace(draft, device_user_id=stripped(draft.device_user_id))
        check_device_user(new)
        async with self._uow() as uow:
            await _check_links(uow, new)
            user = await uow.device_users.add(new)
            await self._access_control.device_user_changed(uow, Event.CREATED, user)
            await uow.commit()
        return user


class UpdateDeviceUser:
    """Change only the fields sent, with the rules of ``CreateDeviceUser``."""

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, device_user_id: int, changes: DeviceUserChanges) -> DeviceUser:
        async with self._uow() as uow:
            user = await uow.device_users.get(device_user_id)
            if user is None:
                raise _not_found(device_user_id)
            values = changed(changes)
            if not values:
                return user
            updated = msgspec.structs.replace(user, **values)
            updated = msgspec.structs.replace(
                updated, device_user_id=stripped(updated.device_user_id)
            )
            check_device_user(updated)
            await _check_links(uow, updated)
            saved = await uow.device_users.update(updated)
            await self._access_control.device_user_changed(uow, Event.UPDATED, saved)
            await uow.commit()
        return saved


class DeleteDeviceUser:
    """Remove an enrolment; returns it as it was (its device is who must hear of it)."""

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, device_user_id: int) -> DeviceUser:
        async with self._uow() as uow:
            user = await uow.device_users.delete(device_user_id)
            if user is None:
                raise _not_found(device_user_id)
            await self._access_control.device_user_deleted(uow, user)
            await uow.commit()
        return user


class GetDeviceUser:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, device_user_id: int) -> DeviceUser:
        async with self._uow() as uow:
            user = await uow.device_users.get(device_user_id)
        if user is None:
            raise _not_found(device_user_id)
        return user


class ListDeviceUsers:
    """Enrolments in id order; ``device_id`` and ``person_id`` filter before paging (the
    original paged first and filtered the page)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self,
        *,
        device_id: int | None = None,
        person_id: int | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> list[DeviceUser]:
        async with self._uow() as uow:
            found = await uow.device_users.list(
                device_id=device_id, person_id=person_id, skip=skip, limit=limit
            )
        return list(found)


__all__ = [
    "CreateDeviceUser",
    "DeleteDeviceUser",
    "DeviceUserChanges",
    "GetDeviceUser",
    "ListDeviceUsers",
    "UpdateDeviceUser",
]
