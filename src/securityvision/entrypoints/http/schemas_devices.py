"""HTTP bodies of ``/devices`` and ``/devices/gateways``, in the original's wire shapes."""

from datetime import datetime

import msgspec

from securityvision.application.devices import DeviceChanges, DeviceDeletion
from securityvision.domain.devices import Device, DeviceStatus, DeviceType, NewDevice

_UNSET = msgspec.UNSET


class DeviceCreate(msgspec.Struct, frozen=True, kw_only=True):
    """``password`` is accepted for the original's callers and not stored by these routes
    (see docs/api.md): it is never read back."""

    name: str
    description: str | None = None
    type: DeviceType = DeviceType.BLE_GATEWAY
    code: str | None = None
    mac_address: str | None = None
    floor_plan_id: int | None = None
    building_id: int | None = None
    floor_id: int | None = None
    location_id: int | None = None
    pos_x: float | None = None
    pos_y: float | None = None
    ip_address: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    rtsp_url: str | None = None
    proxy_path: str | None = None
    central_path: str | None = None
    record_retention_minutes: int | None = None
    central_media_mtx_ip: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    shard: str | None = None
    tenant: str | None = None
    analytics: list[str] | None = None
    last_seen_at: datetime | None = None

    def new_device(self) -> NewDevice:
        fields = msgspec.structs.asdict(self)
        del fields["password"]
        fields["analytics"] = tuple(self.analytics or ())
        return NewDevice(**fields)


class DeviceUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body: only the fields sent change; null clears a field."""

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
    password: str | msgspec.UnsetType | None = _UNSET
    rtsp_url: str | msgspec.UnsetType | None = _UNSET
    proxy_path: str | msgspec.UnsetType | None = _UNSET
    central_path: str | msgspec.UnsetType | None = _UNSET
    record_retention_minutes: int | msgspec.UnsetType | None = _UNSET
    central_media_mtx_ip: str | msgspec.UnsetType | None = _UNSET
    manufacturer: str | msgspec.UnsetType | None = _UNSET
    model: str | msgspec.UnsetType | None = _UNSET
    shard: str | msgspec.UnsetType | None = _UNSET
    tenant: str | msgspec.UnsetType | None = _UNSET
    analytics: list[str] | msgspec.UnsetType | None = _UNSET
    last_seen_at: datetime | msgspec.UnsetType | None = _UNSET

    def changes(self) -> DeviceChanges:
        fields = {
            name: value
            for name, value in msgspec.structs.asdict(self).items()
            if name != "password" and not isinstance(value, msgspec.UnsetType)
        }
        if "analytics" in fields:
            fields["analytics"] = tuple(fields["analytics"] or ())
        return DeviceChanges(**fields)


class DevicePositionUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PATCH body of ``/devices/{id}/position``: only the fields sent change."""

    floor_plan_id: int | msgspec.UnsetType | None = _UNSET
    pos_x: float | msgspec.UnsetType | None = _UNSET
    pos_y: float | msgspec.UnsetType | None = _UNSET

    def changes(self) -> DeviceChanges:
        return DeviceChanges(floor_plan_id=self.floor_plan_id, pos_x=self.pos_x, pos_y=self.pos_y)


class DeviceRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    description: str | None
    type: DeviceType
    code: str | None
    mac_address: str | None
    floor_plan_id: int | None
    building_id: int | None
    floor_id: int | None
    location_id: int | None
    pos_x: float | None
    pos_y: float | None
    ip_address: str | None
    port: int | None
    username: str | None
    rtsp_url: str | None
    proxy_path: str | None
    central_path: str | None
    record_retention_minutes: int | None
    central_media_mtx_ip: str | None
    manufacturer: str | None
    model: str | None
    shard: str | None
    tenant: str | None
    analytics: list[str]
    last_seen_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, device: Device) -> "DeviceRead":
        fields = msgspec.structs.asdict(device)
        del fields["reported_online"]
        fields["analytics"] = list(device.analytics)
        return cls(**fields)


class DeviceStatusRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    type: DeviceType
    mac_address: str | None
    ip_address: str | None
    building_id: int | None
    floor_id: int | None
    last_seen_at: datetime | None
    is_online: bool

    @classmethod
    def of(cls, status: DeviceStatus) -> "DeviceStatusRead":
        return cls(**msgspec.structs.asdict(status))


class DeviceDeletionRead(msgspec.Struct, frozen=True, kw_only=True):
    deleted_device_ids: list[int]
    readings_deleted: int

    @classmethod
    def of(cls, deletion: DeviceDeletion) -> "DeviceDeletionRead":
        return cls(
            deleted_device_ids=list(deletion.deleted_device_ids),
            readings_deleted=deletion.readings_deleted,
        )
