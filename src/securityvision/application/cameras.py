"""Cameras: registering them (with their credentials encrypted), their online state, their
events, and camera groups."""

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from securityvision.application.access_control import AccessControl
from securityvision.application.cambus_publishing import CamBusPublications
from securityvision.application.devices import (
    DeviceChanges,
    add_device,
    change_device,
    changed_fields,
    device_not_found,
    tell_device_changed,
)
from securityvision.application.incident_pipeline import IncidentPipeline, PipelineResult
from securityvision.application.incident_ports import SecretCipher
from securityvision.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from securityvision.application.webhooks import WebhookEvents
from securityvision.domain.cameras import (
    CameraGroup,
    DeviceEvent,
    NewCameraGroup,
    NewDeviceEvent,
    check_camera_group,
    check_device_event,
    text,
    without_secrets,
)
from securityvision.domain.devices import Device, DeviceStatus, DeviceType, NewDevice
from securityvision.domain.errors import InvalidInput, NotFound
from securityvision.domain.rtls import as_utc

EVENTS_MAX_LIMIT = 1000
PASSWORD_MAX_LENGTH = 255


class CameraPassword(msgspec.Struct, frozen=True, kw_only=True):
    """A password sent with a camera: ``value`` None (or blank) clears the stored one."""

    value: str | None


def not_a_camera(device_id: int) -> InvalidInput:
    return InvalidInput(f"device {device_id} is not a camera", code="not_a_camera")


class _Credentials:
    """Encrypts camera passwords with DEVICE_SECRETS_KEY; without the key a password is
    refused (``secrets_key_missing``), never kept in clear."""

    def __init__(self, cipher: SecretCipher | None) -> None:
        self._cipher = cipher

    def check(self, password: CameraPassword | None) -> None:
        if password is None or not (password.value or "").strip():
            return
        if len(password.value or "") > PASSWORD_MAX_LENGTH:
            raise InvalidInput(
                f"password must have at most {PASSWORD_MAX_LENGTH} characters", code="too_long"
            )
        if self._cipher is None:
            raise InvalidInput(
                "camera passwords are stored encrypted and DEVICE_SECRETS_KEY is not set; set it"
                " or send the camera without a password",
                code="secrets_key_missing",
            )

    async def store(self, uow: UnitOfWork, device_id: int, password: CameraPassword) -> None:
        value = password.value if password.value and password.value.strip() else None
        if value is None or self._cipher is None:
            await uow.device_secrets.set_password(device_id, None)
            return
        await uow.device_secrets.set_password(device_id, self._cipher.encrypt(value))


class CreateCamera:
    """Register a camera (``POST /devices/cameras/``).

    - The type is CAMERA whatever was sent; the shard defaults to CAMBUS_DEFAULT_SHARD.
    - Otherwise the rules of ``CreateDevice`` (unique code, ``400 device_code_taken``;
      placements; access control hears of it).
    - The password is encrypted with DEVICE_SECRETS_KEY in the same transaction; without the
      key a password is refused (``secrets_key_missing``). It is never returned.
    - cam-bus is sent the camera's retained ``/info`` (docs/cambus.md), and webhook
      subscribers ``DEVICE_CREATED`` as from ``CreateDevice``, in the same transaction.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        cipher: SecretCipher | None,
        default_shard: str,
        access_control: AccessControl | None = None,
        cambus: CamBusPublications | None = None,
        *,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._credentials = _Credentials(cipher)
        self._default_shard = default_shard
        self._access_control = access_control or AccessControl()
        self._cambus = cambus or CamBusPublications()
        self._webhooks = webhooks

    async def execute(self, draft: NewDevice, password: CameraPassword | None = None) -> Device:
        self._credentials.check(password)
        camera = msgspec.structs.replace(
            draft, type=DeviceType.CAMERA, shard=draft.shard or self._default_shard
        )
        async with self._uow() as uow:
            device = await add_device(uow, camera, self._access_control)
            if password is not None:
                await self._credentials.store(uow, device.id, password)
            await self._cambus.camera_changed(uow, device.id)
            await tell_device_changed(self._webhooks, uow, None, device)
            await uow.commit()
        return device


class UpdateCamera:
    """Change the fields sent of a camera (``PUT /devices/cameras/{id}``, partial as the
    front end sends it); ``400 not_a_camera`` for another type. A password sent replaces
    the stored one (null or blank clears it). cam-bus is sent the changed ``/info``, and a
    tombstone on the topic the camera left; webhook subscribers ``DEVICE_UPDATED`` (and
    ``DEVICE_POSITION_UPDATED``) as from ``UpdateDevice``, in the same transaction — a
    password alone is a change too, a body sending nothing is none."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        cipher: SecretCipher | None,
        access_control: AccessControl | None = None,
        cambus: CamBusPublications | None = None,
        *,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._credentials = _Credentials(cipher)
        self._access_control = access_control or AccessControl()
        self._cambus = cambus or CamBusPublications()
        self._webhooks = webhooks

    async def execute(
        self, device_id: int, changes: DeviceChanges, password: CameraPassword | None = None
    ) -> Device:
        self._credentials.check(password)
        values = changed_fields(changes)
        values.pop("type", None)
        async with self._uow() as uow:
            device = await uow.devices.get(device_id)
            if device is None:
                raise device_not_found(device_id)
            if device.type is not DeviceType.CAMERA:
                raise not_a_camera(device_id)
            saved = device
            if values:
                saved = await change_device(uow, device, values, self._access_control)
            if password is not None:
                await self._credentials.store(uow, device_id, password)
            await self._cambus.camera_changed(uow, device_id)
            if values or password is not None:
                await tell_device_changed(self._webhooks, uow, device, saved)
            await uow.commit()
        return saved


class ListCameras:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> list[Device]:
        async with self._uow() as uow:
            return list(await uow.devices.list(type=DeviceType.CAMERA, skip=skip, limit=limit))


class ListCameraStatuses:
    """Every camera's online state (heard from within DEVICE_OFFLINE_THRESHOLD_SECONDS);
    read-only."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, threshold: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._threshold = threshold

    async def execute(self) -> list[DeviceStatus]:
        async with self._uow() as uow:
            cameras = await uow.devices.list(type=DeviceType.CAMERA, limit=None)
        now = self._clock.now()
        return [DeviceStatus.of(c, now, self._threshold) for c in cameras]


async def _camera(uow: UnitOfWork, device_id: int) -> Device:
    device = await uow.devices.get(device_id)
    if device is None:
        raise device_not_found(device_id)
    if device.type is not DeviceType.CAMERA:
        raise not_a_camera(device_id)
    return device


class ListCameraEvents:
    """A camera's events, newest first (the dashboard reads the latest status and analytic
    events from the top), at most 1000."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, device_id: int, *, limit: int = 100) -> list[DeviceEvent]:
        async with self._uow(read_only=True) as uow:
            await _camera(uow, device_id)
            return list(
                await uow.device_events.list_for_device(
                    device_id, limit=min(limit, EVENTS_MAX_LIMIT)
                )
            )


class CameraEventDraft(msgspec.Struct, frozen=True, kw_only=True):
    analytic_type: str
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    topic: str | None = None
    occurred_at: datetime | None = None


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    event: DeviceEvent
    pipeline: PipelineResult


class RecordCameraEvent:
    """Store an event of a camera and run it through the incident rules, in one transaction.

    - Only cameras (``not_a_camera``); ``occurred_at`` defaults to now (naive times are UTC).
    - Secrets in the payload (``password``, ``token``, ... at any depth) are dropped before
      it is stored (the original kept its own camera passwords in events, bug 31).
    - The publisher's ``EventID`` (any spelling) identifies it: a second event of the camera
      with the same analytic type and id is refused (``device_event_exists``).
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, pipeline: IncidentPipeline) -> None:
        self._uow = uow
        self._clock = clock
        self._pipeline = pipeline

    async def execute(self, device_id: int, draft: CameraEventDraft) -> RecordedEvent:
        payload = without_secrets(draft.payload)
        new = NewDeviceEvent(
            device_id=device_id,
            topic=draft.topic,
            analytic_type=draft.analytic_type.strip(),
            payload=payload,
            occurred_at=as_utc(draft.occurred_at) if draft.occurred_at else self._clock.now(),
            event_id=text(payload, "EventID"),
        )
        check_device_event(new)
        async with self._uow() as uow:
            await _camera(uow, device_id)
            event = await uow.device_events.add(new)
            result = await self._pipeline.process(uow, event)
            stored = await uow.device_events.get(event.id) or event
            await uow.commit()
        return RecordedEvent(event=stored, pipeline=result)


# --- camera groups ------------------------------------------------------------------------


class CameraGroupChanges(msgspec.Struct, frozen=True, kw_only=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET
    tenant: str | msgspec.UnsetType | None = msgspec.UNSET
    device_ids: tuple[int, ...] | msgspec.UnsetType = msgspec.UNSET


def camera_group_not_found(group_id: int) -> NotFound:
    return NotFound(f"camera group {group_id} not found", code="camera_group_not_found")


async def _existing_devices(uow: UnitOfWork, device_ids: Collection[int]) -> set[int]:
    wanted = set(device_ids)
    for device_id in sorted(wanted):
        if await uow.devices.get(device_id) is None:
            raise device_not_found(device_id)
    return wanted


class CreateCameraGroup:
    """A named group of cameras (unique name, ``400 camera_group_name_taken``); every device
    named must exist."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, draft: NewCameraGroup, device_ids: Collection[int] = ()) -> CameraGroup:
        group = msgspec.structs.replace(draft, name=draft.name.strip())
        check_camera_group(group)
        async with self._uow() as uow:
            wanted = await _existing_devices(uow, device_ids)
            added = await uow.camera_groups.add(group)
            await uow.camera_groups.set_devices(added.id, wanted)
            found = await uow.camera_groups.get(added.id)
            await uow.commit()
        return found or added


class UpdateCameraGroup:
    """Change the fields sent; ``device_ids`` replaces the group's cameras (the front end
    sends ``{device_ids}`` alone)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int, changes: CameraGroupChanges) -> CameraGroup:
        async with self._uow() as uow:
            group = await uow.camera_groups.get(group_id)
            if group is None:
                raise camera_group_not_found(group_id)
            fields = {
                name: value
                for name in ("name", "description", "tenant")
                if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
            }
            if fields:
                changed = msgspec.structs.replace(group, **fields)
                changed = msgspec.structs.replace(changed, name=changed.name.strip())
                check_camera_group(changed)
                await uow.camera_groups.update(changed)
            if not isinstance(changes.device_ids, msgspec.UnsetType):
                wanted = await _existing_devices(uow, changes.device_ids)
                await uow.camera_groups.set_devices(group_id, wanted)
            found = await uow.camera_groups.get(group_id)
            await uow.commit()
        return found or group


class GetCameraGroup:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int) -> CameraGroup:
        async with self._uow() as uow:
            group = await uow.camera_groups.get(group_id)
        if group is None:
            raise camera_group_not_found(group_id)
        return group


class ListCameraGroups:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> Sequence[CameraGroup]:
        async with self._uow() as uow:
            return await uow.camera_groups.list(skip=skip, limit=limit)


class DeleteCameraGroup:
    """Remove a group (its cameras stay); incident rules scoped to it go with it, since a
    rule whose scope vanished would silently turn global."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int) -> None:
        async with self._uow() as uow:
            if not await uow.camera_groups.delete(group_id):
                raise camera_group_not_found(group_id)
            await uow.commit()


__all__ = [
    "CameraEventDraft",
    "CameraGroupChanges",
    "CameraPassword",
    "CreateCamera",
    "CreateCameraGroup",
    "DeleteCameraGroup",
    "GetCameraGroup",
    "ListCameraEvents",
    "ListCameraGroups",
    "ListCameraStatuses",
    "ListCameras",
    "RecordCameraEvent",
    "RecordedEvent",
    "UpdateCamera",
    "UpdateCameraGroup",
    "not_a_camera",
]
