"""What cam-bus reports, taken in: camera events (and the incidents they open) and statuses."""

import base64
import binascii
import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import msgspec

from securityvision.application.cambus_publishing import camera_for_segment
from securityvision.application.incident_pipeline import EventMedia, IncidentPipeline
from securityvision.application.ports import Clock, MediaStore, UnitOfWorkFactory
from securityvision.domain.cambus import AnalyticEvent, CameraStatus
from securityvision.domain.cameras import NewDeviceEvent, without_secrets
from securityvision.domain.errors import Conflict, InvalidInput
from securityvision.domain.media import MediaKind, check_image


class ImageFetcher(Protocol):
    async def fetch(self, url: str) -> bytes:
        """The bytes at ``url``; ``InvalidInput`` (with the refusal as ``code``) when the URL
        may not, or cannot, be fetched."""
        ...


class CameraOutcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    UNKNOWN_CAMERA = "unknown_camera"


class CameraReport(msgspec.Struct, frozen=True, kw_only=True):
    outcome: CameraOutcome
    incident_id: int | None = None
    bad_image: str | None = None


class CameraMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded cam-bus message of one camera: an analytic ``event`` or a ``status``."""

    camera_code: str
    topic: str
    received_at: datetime
    payload: dict[str, Any]
    event: AnalyticEvent | None = None
    status: CameraStatus | None = None


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(msgspec.json.encode(payload, order="sorted")).hexdigest()[:32]


class IngestCameraMessage:
    """Store what a camera reported, once, and run events through the incident rules.

    - The camera is the one published under the topic's device level, else the one with
      that code (any case); an unknown camera's messages are counted, not stored.
    - An event is identified by (camera, analytic type, ``EventID`` — else a hash of the
      payload): a redelivery, or the same event published twice, is stored once and opens
      nothing more. A ``faceRecognized`` repeating a ``faceCapture``'s id is a new event of
      another type, and enriches the capture's incident (the pipeline's rule).
    - A status is stored as an event of type ``status`` (the consoles read a camera's state
      from its events, as the original's did), identified by its own timestamp.
    - An inline snapshot (``SnapshotB64``) is checked to be the image it claims before it is
      kept; a bad image is refused alone — the event still lands.
    - Secrets in payloads are dropped before storing; the inline image is not kept in the
      event.
    - The camera's ``last_seen_at`` moves forward.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        pipeline: IncidentPipeline,
        media: MediaStore,
        *,
        media_max_bytes: int,
        fetcher: ImageFetcher | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._pipeline = pipeline
        self._media = media
        self._media_max_bytes = media_max_bytes
        self._fetcher = fetcher

    async def execute(self, message: CameraMessage) -> CameraReport:
        event, status = message.event, message.status
        analytic = event.analytic_type if event else "status"
        occurred_at = (
            event.occurred_at if event else status.reported_at if status else message.received_at
        )
        payload = without_secrets(
            {
                k: v
                for k, v in message.payload.items()
                if k.lower().replace("_", "") != "snapshotb64"
            }
        )
        event_id = (event.event_id if event else None) or (
            f"status-{occurred_at.isoformat()}" if status else payload_hash(payload)
        )
        media, bad_image = await self._snapshot(event)
        try:
            async with self._uow() as uow:
                camera = await camera_for_segment(uow, message.camera_code)
                if camera is None:
                    return CameraReport(outcome=CameraOutcome.UNKNOWN_CAMERA)
                same = await uow.device_events.with_event_id(camera.id, event_id)
                if any(e.analytic_type == analytic for e in same):
                    return CameraReport(outcome=CameraOutcome.DUPLICATE)
                stored = await uow.device_events.add(
                    NewDeviceEvent(
                        device_id=camera.id,
                        topic=message.topic,
                        analytic_type=analytic,
                        payload=payload,
                        occurred_at=occurred_at,
                        event_id=event_id,
                    )
                )
                incident_id = None
                if event is not None:
                    result = await self._pipeline.process(uow, stored, media)
                    incident_id = result.incident.id if result.incident else None
                if camera.last_seen_at is None or camera.last_seen_at < occurred_at:
                    await uow.devices.update(
                        msgspec.structs.replace(camera, last_seen_at=occurred_at)
                    )
                await uow.commit()
        except Conflict:
            # Another worker stored the same event a moment ago.
            return CameraReport(outcome=CameraOutcome.DUPLICATE)
        return CameraReport(
            outcome=CameraOutcome.STORED, incident_id=incident_id, bad_image=bad_image
        )

    async def _snapshot(self, event: AnalyticEvent | None) -> tuple[list[EventMedia], str | None]:
        """The event's images (its snapshot, inline or by URL; the enrolled photo of a
        recognised person), each checked; the first refusal is reported."""
        if event is None:
            return [], None
        when = event.occurred_at.isoformat()
        wanted: list[tuple[bytes | str, str]] = []
        if event.snapshot_b64:
            wanted.append(
                (event.snapshot_b64.encode(), f"Snapshot do evento {event.analytic_type} às {when}")
            )
        elif event.snapshot_url:
            wanted.append(
                (event.snapshot_url, f"Snapshot do evento {event.analytic_type} às {when}")
            )
        if event.recognized and event.person_photo_url:
            confidence = f" ({event.confidence:.0%})" if event.confidence is not None else ""
            wanted.append(
                (
                    event.person_photo_url,
                    f"Face cadastrada: {event.person_name}{confidence} às {when}",
                )
            )
        media: list[EventMedia] = []
        refused: str | None = None
        for source, caption in wanted:
            try:
                data = (
                    base64.b64decode(source, validate=True)
                    if isinstance(source, bytes)
                    else await self._download(source)
                )
                image = check_image(data, max_bytes=self._media_max_bytes)
            except (binascii.Error, ValueError, InvalidInput) as exc:
                refused = refused or (
                    exc.code if isinstance(exc, InvalidInput) else "invalid_base64"
                )
                continue
            media.append(
                EventMedia(
                    media=await self._media.save(image, MediaKind.INCIDENTS), caption=caption
                )
            )
        return media, refused

    async def _download(self, url: str) -> bytes:
        if self._fetcher is None:
            raise InvalidInput("fetching images is off", code="fetch_disabled")
        return await self._fetcher.fetch(url)
