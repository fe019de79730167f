"""HTTP bodies of ``/devices/cameras`` and ``/devices/camera-groups``, in the original's wire
shapes."""

from datetime import datetime
from typing import Annotated, Any

import msgspec

from securityvision.application.cambus_publishing import UplinkOrder, UplinkView
from securityvision.application.cameras import (
    CameraEventDraft,
    CameraGroupChanges,
    CameraPassword,
)
from securityvision.domain.cambus_publishing import UPLINK_TTL_MAX_SECONDS, UplinkAction
from securityvision.domain.cameras import CameraGroup, DeviceEvent, NewCameraGroup
from securityvision.domain.devices import Device
from securityvision.entrypoints.http.schemas_devices import (
    DeviceCreate,
    DeviceRead,
    DeviceUpdate,
)

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


class UplinkStart(msgspec.Struct, frozen=True, kw_only=True):
    """The front end posts ``{}``: the TTL is then CAMBUS_UPLINK_TTL_SECONDS."""

    ttl_seconds: Annotated[int, msgspec.Meta(ge=1, le=UPLINK_TTL_MAX_SECONDS)] | None = None


class UplinkRead(msgspec.Struct, frozen=True, kw_only=True):
    """A camera's uplink: the lease (``active`` until ``expires_at`` unless stopped) and the
    stream state cam-bus last reported on ``…/uplink/status`` (``state``: ``running``,
    ``stopped``, ``error`` or a container state)."""

    active: bool
    started_at: datetime | None
    expires_at: datetime | None
    ttl_seconds: int | None
    stopped_at: datetime | None
    stop_reason: str | None
    state: str | None
    state_reported_at: datetime | None
    state_error: str | None
    exit_code: int | None
    container_name: str | None

    @classmethod
    def of(cls, view: UplinkView) -> "UplinkRead":
        uplink, stream = view.uplink, view.uplink.stream
        return cls(
            active=view.active,
            started_at=uplink.started_at,
            expires_at=uplink.expires_at,
            ttl_seconds=uplink.ttl_seconds,
            stopped_at=uplink.stopped_at,
            stop_reason=None if uplink.stop_reason is None else uplink.stop_reason.value,
            state=None if stream is None else stream.state,
            state_reported_at=None if stream is None else stream.reported_at,
            state_error=None if stream is None else stream.error,
            exit_code=None if stream is None else stream.exit_code,
            container_name=None if stream is None else stream.container_name,
        )


class ViewerUrlsRead(msgspec.Struct, frozen=True, kw_only=True):
    srt: str
    webrtc: str
    hls: str


class UplinkOrderRead(msgspec.Struct, frozen=True, kw_only=True):
    """The original's answer (``status: queued``, ``topic``, ``payload``, ``action``), plus
    the lease; a start adds ``expires_at``, ``ttl_seconds``, whether it ``renewed`` a running
    lease, and the ``viewer_urls``."""

    status: str
    action: str
    topic: str
    payload: dict[str, Any]
    uplink: UplinkRead
    expires_at: datetime | None = None
    ttl_seconds: int | None = None
    renewed: bool | None = None
    viewer_urls: ViewerUrlsRead | None = None

    @classmethod
    def of(cls, order: UplinkOrder) -> "UplinkOrderRead":
        started = order.action is UplinkAction.START
        urls = order.viewer_urls
        return cls(
            status="queued",
            action=order.action.value,
            topic=order.topic,
            payload=order.payload,
            uplink=UplinkRead.of(order.uplink),
            expires_at=order.uplink.uplink.expires_at if started else None,
            ttl_seconds=order.uplink.uplink.ttl_seconds if started else None,
            renewed=order.renewed if started else None,
            viewer_urls=None
            if urls is None
            else ViewerUrlsRead(srt=urls.srt, webrtc=urls.webrtc, hls=urls.hls),
        )


class CameraRead(DeviceRead, frozen=True, kw_only=True):
    """A camera with its uplink (``null`` when none was ever started or reported)."""

    uplink: UplinkRead | None = None

    @classmethod
    def with_uplink(cls, device: Device, uplink: UplinkView | None) -> "CameraRead":
        return cls(
            **msgspec.structs.asdict(DeviceRead.of(device)),
            uplink=None if uplink is None else UplinkRead.of(uplink),
        )
