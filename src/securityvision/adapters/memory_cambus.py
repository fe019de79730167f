"""What was published to cam-bus, and cameras' uplinks, in process memory (memory.py's
state), held to the PostgreSQL adapter's behaviour by the contract suite."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from securityvision.domain.cambus_publishing import CameraPublication, StreamState, Uplink
from securityvision.domain.devices import Device
from securityvision.domain.errors import Conflict


class CamBusTables(msgspec.Struct, kw_only=True):
    publications: dict[int, CameraPublication] = msgspec.field(default_factory=dict)
    uplinks: dict[int, Uplink] = msgspec.field(default_factory=dict)

    def clone(self) -> "CamBusTables":
        return CamBusTables(publications=dict(self.publications), uplinks=dict(self.uplinks))


class CamBusHost(Protocol):
    """The parts of the in-memory state these repositories touch (``memory._State``)."""

    @property
    def cambus_tables(self) -> CamBusTables: ...

    @property
    def devices(self) -> dict[int, Device]: ...


class InMemoryCameraPublicationRepository:
    def __init__(self, host: CamBusHost) -> None:
        self._tables = host.cambus_tables

    async def get(self, device_id: int) -> CameraPublication | None:
        return self._tables.publications.get(device_id)

    async def find_by_segment(self, device_segment: str) -> CameraPublication | None:
        return next(
            (p for p in self._tables.publications.values() if p.device_segment == device_segment),
            None,
        )

    async def save(self, publication: CameraPublication) -> None:
        holder = await self.find_by_segment(publication.device_segment)
        if holder is not None and holder.device_id != publication.device_id:
            raise Conflict(
                f"another camera is published as {publication.device_segment!r}",
                code="camera_topic_taken",
            )
        self._tables.publications[publication.device_id] = publication

    async def delete(self, device_id: int) -> None:
        self._tables.publications.pop(device_id, None)


class InMemoryCameraUplinkRepository:
    """Rows of devices that are gone are not seen (PostgreSQL's key cascades them away)."""

    def __init__(self, host: CamBusHost) -> None:
        self._host = host
        self._tables = host.cambus_tables

    def _live(self, device_id: int) -> Uplink | None:
        if device_id not in self._host.devices:
            self._tables.uplinks.pop(device_id, None)
            return None
        return self._tables.uplinks.get(device_id)

    async def get(self, device_id: int, *, for_update: bool = False) -> Uplink | None:
        return self._live(device_id)

    async def of_devices(self, device_ids: Collection[int]) -> Mapping[int, Uplink]:
        return {i: u for i in device_ids if (u := self._live(i)) is not None}

    async def save_lease(self, uplink: Uplink) -> None:
        if uplink.device_id not in self._host.devices:
            return
        current = self._tables.uplinks.get(uplink.device_id)
        stream = None if current is None else current.stream
        self._tables.uplinks[uplink.device_id] = msgspec.structs.replace(uplink, stream=stream)

    async def expired(self, now: datetime, *, limit: int = 100) -> Sequence[Uplink]:
        due = [
            u
            for i in list(self._tables.uplinks)
            if (u := self._live(i)) is not None
            and u.stopped_at is None
            and u.expires_at is not None
            and u.expires_at <= now
        ]
        due.sort(key=lambda u: (u.expires_at, u.device_id))
        return due[:limit]

    async def record_stream(self, device_id: int, stream: StreamState) -> bool:
        if device_id not in self._host.devices:
            return False
        current = self._live(device_id) or Uplink(device_id=device_id)
        if current.stream is not None and current.stream.reported_at > stream.reported_at:
            return False
        self._tables.uplinks[device_id] = msgspec.structs.replace(current, stream=stream)
        return True
