"""Devices: BLE gateways, cameras and access controllers, and whether they are online."""

from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from securityvision.domain.errors import InvalidInput
from securityvision.domain.rtls import is_mac, normalize_mac


class DeviceType(StrEnum):
    BLE_GATEWAY = "BLE_GATEWAY"
    CAMERA = "CAMERA"
    ACCESS_CONTROLLER = "ACCESS_CONTROLLER"


class _DeviceFields(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator (or the ingest path) says about a device; no password: a camera's
    credentials are a secret kept apart, never part of the device as it is read."""

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
    rtsp_url: str | None = None
    proxy_path: str | None = None
    central_path: str | None = None
    record_retention_minutes: int | None = None
    central_media_mtx_ip: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    shard: str | None = None
    tenant: str | None = None
    analytics: tuple[str, ...] = ()
    last_seen_at: datetime | None = None


class NewDevice(_DeviceFields, frozen=True, kw_only=True):
    """A device about to be stored; ``mac_address`` already in its stored form."""


class Device(_DeviceFields, frozen=True, kw_only=True):
    id: int
    # The on/offline state last announced by the worker; None until a transition is recorded.
    reported_online: bool | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def is_gateway(self) -> bool:
        return self.type is DeviceType.BLE_GATEWAY

    def is_online(self, now: datetime, threshold: timedelta) -> bool:
        """Online when heard from within ``threshold`` and not last reported offline.

        A gateway that said it is going offline stays offline even if its last message was
        recent; one never heard from is offline.
        """
        if self.reported_online is False or self.last_seen_at is None:
            return False
        return self.last_seen_at >= now - threshold


class DeviceStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A device's identity, placement and online state, as the status boards poll it."""

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
    def of(cls, device: Device, now: datetime, threshold: timedelta) -> "DeviceStatus":
        return cls(
            id=device.id,
            name=device.name,
            type=device.type,
            mac_address=device.mac_address,
            ip_address=device.ip_address,
            building_id=device.building_id,
            floor_id=device.floor_id,
            last_seen_at=device.last_seen_at,
            is_online=device.is_online(now, threshold),
        )


_TEXT_LIMITS = {
    "name": 255,
    "code": 64,
    "mac_address": 64,
    "ip_address": 255,
    "username": 255,
    "central_media_mtx_ip": 255,
    "manufacturer": 255,
    "model": 255,
    "shard": 64,
    "tenant": 64,
}


def device_mac(value: str | None) -> str | None:
    """The stored form of a device's ``mac_address``: a MAC in any spelling becomes
    ``AA:BB:CC:DD:EE:FF``; anything else (a gateway known by an id such as ``ESP32-LOBBY``)
    is kept as given; a blank is no address at all, so it never collides with another."""
    if value is None or not value.strip():
        return None
    stripped = value.strip()
    return normalize_mac(stripped) if is_mac(stripped) else stripped


def blank_to_none(value: str | None) -> str | None:
    """An empty ``code`` is no code: two devices without one must not collide on it."""
    return None if value is None or not value.strip() else value.strip()


def check_device(device: NewDevice | Device) -> None:
    """A device needs a name; texts fit their columns; port and retention are plausible."""
    if not device.name.strip():
        raise InvalidInput("name is required", code="name_required")
    for field, limit in _TEXT_LIMITS.items():
        value = getattr(device, field)
        if value is not None and len(value) > limit:
            raise InvalidInput(f"{field} must have at most {limit} characters", code="too_long")
    if device.port is not None and not 1 <= device.port <= 65535:
        raise InvalidInput("port must be between 1 and 65535", code="invalid_port")
    if device.record_retention_minutes is not None and device.record_retention_minutes < 0:
        raise InvalidInput(
            "record_retention_minutes cannot be negative", code="invalid_record_retention"
        )


class DeviceStatusEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A gateway going online or offline, as recorded once by whichever worker saw it."""

    id: int
    device_id: int
    online: bool
    occurred_at: datetime
    last_seen_at: datetime | None = None
