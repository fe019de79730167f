"""HTTP bodies of ``/devices/cameras`` and ``/devices/camera-groups``, in the original's wire
shapes."""

from datetime import datetime
from typing import Any

import msgspec

from securityvision.application.cameras import (
    CameraEventDraft,
    CameraGroupChanges,
    CameraPassword,
)
from securityvision.domain.cameras import CameraGroup, DeviceEvent, NewCameraGroup
from securityvision.entrypoints.http.schemas_devices import DeviceCreate, DeviceUpdate

_UNSET = msgspec.UNSET


class CameraCreate(DeviceCreate, frozen=True, kw_only=True):
    """The device body; ``type`` is CAMERA whatever is sent, ``password`` is stored encrypted
    (write-only)."""

    def camera_password(self) -> CameraPassword | None:
        return None if self.password is None else CameraPassword(value=self.password)


class CameraUpdate(DeviceUpdate, frozen=True, kw_only=True):
    """PUT body: only the fields sent change; ``password`` sent replaces the stored one
    (null clears it), left out keeps it."""

    def camera_password(self) -> CameraPassword | None:
        if isinstance(self.password, msgspec.UnsetType):
            return None
        return CameraPassword(value=self.password)


class DeviceEventRead(msgspec.Struct, frozen=True, kw_only=True):
    """``payload`` is an object (the front end reads its keys), never a JSON string."""

    id: int
    device_id: int
    topic: str | None
    analytic_type: str
    payload: dict[str, Any]
    occurred_at: datetime
    created_at: datetime
    event_id: str | None
    incident_id: int | None

    @classmethod
    def of(cls, event: DeviceEvent) -> "DeviceEventRead":
        return cls(
            id=event.id,
            device_id=event.device_id,
            topic=event.topic,
            analytic_type=event.analytic_type,
            payload=event.payload,
            occurred_at=event.occurred_at,
            created_at=event.created_at,
            event_id=event.event_id,
            incident_id=event.incident_id,
        )


class CameraEventCreate(msgspec.Struct, frozen=True, kw_only=True):
    """``analytic_type`` may be left out when the payload names it (``AnalyticType``)."""

    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    analytic_type: str | None = None
    topic: str | None = None
    occurred_at: datetime | None = None

    def draft(self) -> CameraEventDraft:
        named = self.analytic_type or next(
            (
                str(v)
                for k, v in self.payload.items()
                if k.replace("_", "").lower() == "analytictype" and isinstance(v, str)
            ),
            "",
        )
        return CameraEventDraft(
            analytic_type=named,
            payload=self.payload,
            topic=self.topic,
            occurred_at=self.occurred_at,
        )


class CameraGroupCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None
    tenant: str | None = None
    device_ids: list[int] = msgspec.field(default_factory=list)

    def new_group(self) -> NewCameraGroup:
        return NewCameraGroup(name=self.name, description=self.description, tenant=self.tenant)


class CameraGroupUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PATCH body: only the fields sent change; ``device_ids`` replaces the cameras."""

    name: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    tenant: str | msgspec.UnsetType | None = _UNSET
    device_ids: list[int] | msgspec.UnsetType | None = _UNSET

    def changes(self) -> CameraGroupChanges:
        devices = self.device_ids
        return CameraGroupChanges(
            name=self.name,
            description=self.description,
            tenant=self.tenant,
            device_ids=(
                devices if isinstance(devices, msgspec.UnsetType) else tuple(devices or ())
            ),
        )


class CameraGroupRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    description: str | None
    tenant: str | None
    device_ids: list[int]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, group: CameraGroup) -> "CameraGroupRead":
        return cls(
            id=group.id,
            name=group.name,
            description=group.description,
            tenant=group.tenant,
            device_ids=list(group.device_ids),
            created_at=group.created_at,
            updated_at=group.updated_at,
        )
