"""The ports of publishing to cam-bus: what was last published for each camera, and each
camera's uplink (the lease the backend holds and the stream state cam-bus reports).

Kept beside ``ports.py`` (whose ``UnitOfWork`` exposes them); the in-memory and PostgreSQL
adapters pass the same contract suite.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from securityvision.domain.cambus_publishing import CameraPublication, StreamState, Uplink


class CameraPublicationRepository(Protocol):
    """The ``/info`` last queued per camera (``camera_info_publications``). A row outlives
    its camera until the camera's tombstone is queued."""

    async def get(self, device_id: int) -> CameraPublication | None: ...

    async def find_by_segment(self, device_segment: str) -> CameraPublication | None:
        """The camera published under that device level (cam-bus echoes it back)."""
        ...

    async def save(self, publication: CameraPublication) -> None:
        """Insert or replace the camera's row; raises ``Conflict(code="camera_topic_taken")``
        when another camera's row has the same device level."""
        ...

    async def delete(self, device_id: int) -> None: ...


class CameraUplinkRepository(Protocol):
    """Cameras' uplinks (``camera_uplinks``); a camera's row goes with the camera."""

    async def get(self, device_id: int, *, for_update: bool = False) -> Uplink | None:
        """``for_update`` holds the row until the unit of work ends, so a renewal and the
        expiry of one uplink are decided one after the other."""
        ...

    async def of_devices(self, device_ids: Collection[int]) -> Mapping[int, Uplink]: ...

    async def save_lease(self, uplink: Uplink) -> None:
        """Insert or update the lease half (topic, request, TTL, times, stop); the stream
        state is left as it is."""
        ...

    async def expired(self, now: datetime, *, limit: int = 100) -> Sequence[Uplink]:
        """Leases neither stopped nor renewed whose expiry is at or before ``now``, oldest
        expiry first, held for update; rows another unit of work holds are skipped."""
        ...

    async def record_stream(self, device_id: int, stream: StreamState) -> bool:
        """Keep ``stream`` as the camera's stream state unless a newer report is kept
        already; whether it was kept."""
        ...
