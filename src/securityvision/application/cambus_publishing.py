"""Publishing to cam-bus: each camera's retained ``/info`` (and its tombstone), uplink
requests with their expiry, and what cam-bus says about uplinks.

Everything goes out through the outbox, in the unit of work of the change that caused it
(docs/access-control.md explains why), and is delivered by the ``mqtt`` relay.

- ``/info`` is kept in step with the camera by comparing it with what was last queued
  (``camera_publications``): a camera created, changed, moved, renamed with its building
  or floor, or deleted queues exactly what cam-bus needs — the new document, and an empty
  retained payload (a tombstone) on the topic it leaves.
- The camera's password is never written anywhere in clear: the outbox row carries a
  reference, and :class:`CameraSecretsPublisher` (around the relay's publisher) reads the
  encrypted password and puts it in the document at the moment it sends — and only when
  the broker has authentication configured.
- An uplink is a lease: started (or renewed) with a TTL, stopped on request, or stopped by
  :class:`UplinkExpiry` when not renewed in time; the lease lives in the database, so
  several processes (one of which does the expiry, under a lock) and restarts agree on it.
"""

import asyncio
import hashlib
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import msgspec

from securityvision.application.incident_ports import SecretCipher
from securityvision.application.ports import (
    Clock,
    Locks,
    Publisher,
    UnitOfWork,
    UnitOfWorkFactory,
)
from securityvision.domain.cambus import UplinkStatus
from securityvision.domain.cambus_publishing import (
    CameraPlace,
    CameraPublication,
    StopReason,
    StreamState,
    Uplink,
    UplinkAction,
    UplinkRequest,
    ViewerUrls,
    camera_info,
    camera_paths,
    camera_place,
    central_host,
    check_ttl,
    info_digest,
    uplink_topic,
    viewer_host,
    viewer_urls,
    with_password,
)
from securityvision.domain.devices import Device, DeviceType
from securityvision.domain.errors import Conflict, DomainError, InvalidInput, NotFound, StorageError
from securityvision.domain.outbox import MQTT_CHANNEL, NewOutboxMessage, OutboxMessage

log = logging.getLogger("securityvision.cambus")

# The outbox option that asks the relay to put a camera's password in the payload it sends.
RENDER_OPTION = "render"
RENDER_CAMERA_CREDENTIALS = "camera_credentials"


class CamBusPublishing(msgspec.Struct, frozen=True, kw_only=True):
    """How the backend talks to cam-bus (the CAMBUS_* settings).

    - ``send_passwords``: whether camera passwords go in ``/info`` at all — only to a
      broker with authentication configured (SPEC §7).
    - The URL templates take ``{host}`` and ``{path}``.
    """

    info_base_topic: str = "rtls/cameras"
    uplink_base_topic: str = "security-vision/cameras"
    tenant: str = "default"
    default_shard: str = "shard-1"
    srt_port: int = 8890
    shard_hosts: Mapping[str, str] = msgspec.field(default_factory=dict)
    default_ttl_seconds: int = 300
    webrtc_url_template: str = "https://{host}/{path}/whep"
    hls_url_template: str = "https://{host}/{path}/index.m3u8"
    send_passwords: bool = False

    def host_of(self, camera: Device) -> str | None:
        """Where cam-bus sends the camera's SRT: the camera's ``central_media_mtx_ip``, else
        its shard's host from CAMBUS_SHARD_HOSTS."""
        return central_host(camera.central_media_mtx_ip) or self.shard_hosts.get(
            camera.shard or self.default_shard
        )

    def web_host_of(self, camera: Device) -> str | None:
        return viewer_host(camera.central_media_mtx_ip) or self.shard_hosts.get(
            camera.shard or self.default_shard
        )


def cambus_disabled() -> DomainError:
    return DomainError(
        "publishing to cam-bus is off (CAMBUS_MQTT_ENABLED or RTLS_MQTT_ENABLED is false)",
        code="cambus_disabled",
    )


async def place_of(uow: UnitOfWork, camera: Device, default_tenant: str) -> CameraPlace:
    building = None if camera.building_id is None else await uow.buildings.get(camera.building_id)
    floor = None if camera.floor_id is None else await uow.floors.get(camera.floor_id)
    return camera_place(
        camera,
        building_name=None if building is None else building.name,
        floor_name=None if floor is None else floor.name,
        default_tenant=default_tenant,
    )


async def camera_for_segment(uow: UnitOfWork, segment: str) -> Device | None:
    """The camera cam-bus means by a topic's device level: the one published under it, else
    the camera whose code it is (any case; a camera cam-bus was told about by hand)."""
    publication = await uow.camera_publications.find_by_segment(segment)
    if publication is not None:
        device = await uow.devices.get(publication.device_id)
        if device is not None and device.type is DeviceType.CAMERA:
            return device
    return await uow.devices.find_camera(segment)


async def _enqueue(
    uow: UnitOfWork, topic: str, payload: bytes, *, retain: bool, **options: Any
) -> None:
    await uow.outbox.add(
        NewOutboxMessage(
            channel=MQTT_CHANNEL,
            destination=topic,
            payload=payload,
            options={"qos": 1, "retain": retain, **options},
        )
    )


class CamBusPublications:
    """Keeps each camera's retained ``/info`` in step with the camera, for the use cases
    that change cameras or the sites they are on.

    - Off (``config`` None: CAMBUS_MQTT_ENABLED or RTLS_MQTT_ENABLED false) nothing is
      read or queued.
    - A camera whose document or topic changed gets its new document (QoS 1, retained); a
      camera that left a topic — moved, renamed, its building or floor renamed, deleted, or
      no longer a camera — gets an empty retained payload there, which clears the broker's
      copy and is cam-bus's tombstone. An unchanged camera gets nothing.
    - Two cameras may not share a device level (cam-bus tells cameras apart by it alone):
      the second is refused with ``409 camera_topic_taken``.
    """

    def __init__(self, config: CamBusPublishing | None = None) -> None:
        self._config = config

    @property
    def enabled(self) -> bool:
        return self._config is not None

    async def camera_changed(self, uow: UnitOfWork, device_id: int) -> None:
        """The device was created, changed or deleted: bring its ``/info`` in step."""
        config = self._config
        if config is None:
            return
        device = await uow.devices.get(device_id)
        published = await uow.camera_publications.get(device_id)
        if device is None or device.type is not DeviceType.CAMERA:
            if published is not None:
                await self._tombstone(uow, published)
            return
        place = await place_of(uow, device, config.tenant)
        document = camera_info(
            device,
            place,
            host=config.host_of(device),
            srt_port=config.srt_port,
            default_shard=config.default_shard,
        )
        options: dict[str, Any] = {}
        marker = ""
        if config.send_passwords:
            encrypted = await uow.device_secrets.password(device_id)
            if encrypted is not None:
                # Stands for this very ciphertext: a new password (encrypted afresh) re-sends.
                marker = hashlib.sha256(encrypted).hexdigest()
                options = {RENDER_OPTION: RENDER_CAMERA_CREDENTIALS, "device_id": device_id}
        topic = place.info_topic(config.info_base_topic)
        digest = info_digest(document, marker)
        if published is not None and published.topic == topic and published.digest == digest:
            return
        await self._claim(uow, device, place.device)
        if published is not None and published.topic != topic:
            await _enqueue(uow, published.topic, b"", retain=True)
        await _enqueue(uow, topic, msgspec.json.encode(document), retain=True, **options)
        await uow.camera_publications.save(
            CameraPublication(
                device_id=device_id, device_segment=place.device, topic=topic, digest=digest
            )
        )

    async def cameras_changed(self, uow: UnitOfWork, device_ids: Collection[int]) -> None:
        for device_id in sorted(set(device_ids)):
            await self.camera_changed(uow, device_id)

    async def site_changed(
        self, uow: UnitOfWork, *, building_id: int | None = None, floor_id: int | None = None
    ) -> None:
        """A building or floor was renamed or moved: its cameras' topics carry its name."""
        if self._config is None:
            return
        cameras = await uow.devices.list(type=DeviceType.CAMERA, limit=None)
        await self.cameras_changed(
            uow,
            [
                c.id
                for c in cameras
                if (building_id is not None and c.building_id == building_id)
                or (floor_id is not None and c.floor_id == floor_id)
            ],
        )

    async def _claim(self, uow: UnitOfWork, camera: Device, segment: str) -> None:
        """Refuse a device level another camera is published under; a row left by a camera
        that is gone (deleted without its tombstone) is cleared instead."""
        holder = await uow.camera_publications.find_by_segment(segment)
        if holder is None or holder.device_id == camera.id:
            return
        other = await uow.devices.get(holder.device_id)
        if other is None or other.type is not DeviceType.CAMERA:
            await self._tombstone(uow, holder)
            return
        raise Conflict(
            f"camera code {camera.code!r} is published to cam-bus as {segment!r}, which camera"
            f" {other.id} ({other.code!r}) already uses; choose another code",
            code="camera_topic_taken",
        )

    async def _tombstone(self, uow: UnitOfWork, published: CameraPublication) -> None:
        await _enqueue(uow, published.topic, b"", retain=True)
        await uow.camera_publications.delete(published.device_id)


class SyncCameraInfo:
    """Bring every camera's ``/info`` in step with the camera — those registered before this
    backend published to cam-bus, or changed behind its back — queuing only what differs
    from what was last queued. Each camera in a transaction of its own: one that cannot be
    published (``camera_topic_taken``) is named in a warning and the others go on."""

    def __init__(self, uow: UnitOfWorkFactory, cambus: CamBusPublications) -> None:
        self._uow = uow
        self._cambus = cambus

    async def execute(self) -> int:
        if not self._cambus.enabled:
            return 0
        async with self._uow() as uow:
            cameras = await uow.devices.list(type=DeviceType.CAMERA, limit=None)
        for camera in cameras:
            try:
                async with self._uow() as uow:
                    await self._cambus.camera_changed(uow, camera.id)
                    await uow.commit()
            except Conflict as exc:
                log.warning("camera %d is not published to cam-bus: %s", camera.id, exc.detail)
        return len(cameras)


class CameraSecretsPublisher:
    """The relay's publisher, with camera passwords put into ``/info`` as it sends.

    - An outbox message asking for it (``render: camera_credentials``) is sent with the
      camera's password, decrypted from its encrypted column at that moment; it exists in
      clear only in this process's memory, on its way to the broker.
    - No password stored (or the camera gone): the document goes without one. One that
      cannot be decrypted (DEVICE_SECRETS_KEY changed) goes without one, with a warning that
      names the camera, never the secret.
    - Every other message passes through untouched.
    """

    def __init__(
        self, inner: Publisher, uow: UnitOfWorkFactory, cipher: SecretCipher | None
    ) -> None:
        self._inner = inner
        self._uow = uow
        self._cipher = cipher

    @property
    def connected(self) -> bool:
        return self._inner.connected

    async def start(self) -> None:
        await self._inner.start()

    async def stop(self) -> None:
        await self._inner.stop()

    async def wait_connected(self, within: float) -> bool:
        return await self._inner.wait_connected(within)

    async def publish(self, message: OutboxMessage) -> None:
        if message.options.get(RENDER_OPTION) == RENDER_CAMERA_CREDENTIALS:
            message = await self._rendered(message)
        await self._inner.publish(message)

    async def _rendered(self, message: OutboxMessage) -> OutboxMessage:
        device_id = message.options.get("device_id")
        if not isinstance(device_id, int) or self._cipher is None:
            return message
        async with self._uow() as uow:
            encrypted = await uow.device_secrets.password(device_id)
        if encrypted is None:
            return message
        try:
            password = self._cipher.decrypt(encrypted)
        except StorageError:
            log.warning(
                "the password of camera %d cannot be decrypted with DEVICE_SECRETS_KEY;"
                " its /info goes without it",
                device_id,
            )
            return message
        return msgspec.structs.replace(message, payload=with_password(message.payload, password))


# --- uplinks ----------------------------------------------------------------------------


class UplinkView(msgspec.Struct, frozen=True, kw_only=True):
    """An uplink and whether its lease is active now."""

    uplink: Uplink
    active: bool


class UplinkOrder(msgspec.Struct, frozen=True, kw_only=True):
    """What was queued for cam-bus (the original's answer: the action, the topic, the
    payload), the lease as it now is, and for a start where to watch."""

    action: UplinkAction
    topic: str
    payload: dict[str, Any]
    uplink: UplinkView
    renewed: bool = False
    viewer_urls: ViewerUrls | None = None


def _not_found(device_id: int) -> NotFound:
    return NotFound(f"device {device_id} not found", code="device_not_found")


async def _camera(uow: UnitOfWork, device_id: int) -> Device:
    device = await uow.devices.get(device_id)
    if device is None:
        raise _not_found(device_id)
    if device.type is not DeviceType.CAMERA:
        raise InvalidInput(f"device {device_id} is not a camera", code="not_a_camera")
    return device


class _Uplinks:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, config: CamBusPublishing | None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._config = config

    def _request(
        self, camera: Device, place: CameraPlace, host: str, ttl_seconds: int
    ) -> UplinkRequest:
        assert self._config is not None
        paths = camera_paths(camera, place)
        return UplinkRequest(
            camera_id=place.device,
            proxy_path=paths.proxy,
            central_path=paths.central,
            central_host=host,
            central_srt_port=self._config.srt_port,
            ttl_seconds=ttl_seconds,
        )


class StartUplink(_Uplinks):
    """Ask cam-bus to uplink a camera's stream to its media shard (``POST
    …/uplink/start``), for ``ttl_seconds`` (default CAMBUS_UPLINK_TTL_SECONDS, 1..86400).

    - The request goes on ``<CAMBUS_UPLINK_BASE_TOPIC>/…/camera/<device>/uplink/start``
      (QoS 1, not retained) with cam-bus's keys; the paths are the camera's, else the ones
      cam-bus would use; the host is the camera's ``central_media_mtx_ip``, else its shard's
      from CAMBUS_SHARD_HOSTS — with neither, ``400 uplink_not_configured``.
    - Calling it again before the expiry renews the lease: the TTL counts again from now
      (cam-bus refreshes its own the same way).
    - The answer adds the expiry and the viewer URLs (SRT, WebRTC, HLS).
    """

    async def execute(self, device_id: int, ttl_seconds: int | None = None) -> UplinkOrder:
        config = self._config
        if config is None:
            raise cambus_disabled()
        ttl = check_ttl(ttl_seconds if ttl_seconds is not None else config.default_ttl_seconds)
        async with self._uow() as uow:
            camera = await _camera(uow, device_id)
            host = config.host_of(camera)
            if host is None:
                raise InvalidInput(
                    f"camera {device_id} has no central_media_mtx_ip and its shard"
                    f" {camera.shard or config.default_shard!r} has no host in"
                    " CAMBUS_SHARD_HOSTS: there is nowhere to uplink to",
                    code="uplink_not_configured",
                )
            place = await place_of(uow, camera, config.tenant)
            request = self._request(camera, place, host, ttl)
            now = self._clock.now()
            current = await uow.camera_uplinks.get(device_id, for_update=True)
            current = current or Uplink(device_id=device_id)
            renewal = current.active(now)
            topics = place.uplink_topics(config.uplink_base_topic)
            lease = current.started(topics=topics, request=request, now=now, renewal=renewal)
            await uow.camera_uplinks.save_lease(lease)
            topic = uplink_topic(topics, UplinkAction.START)
            payload = request.document()
            await _enqueue(uow, topic, msgspec.json.encode(payload), retain=False)
            await uow.commit()
        return UplinkOrder(
            action=UplinkAction.START,
            topic=topic,
            payload=payload,
            uplink=UplinkView(uplink=lease, active=True),
            renewed=renewal,
            viewer_urls=viewer_urls(
                srt_host=host,
                srt_port=config.srt_port,
                web_host=config.web_host_of(camera) or host,
                central_path=request.central_path,
                webrtc_template=config.webrtc_url_template,
                hls_template=config.hls_url_template,
            ),
        )


class StopUplink(_Uplinks):
    """Ask cam-bus to stop a camera's uplink (``POST …/uplink/stop``).

    - Sent even when no lease is active, as the original did (cam-bus may be uplinking for
      a start this backend did not record): to where the active lease's start went when
      there is one, with the same payload, else to the camera's topics now.
    - The lease is marked stopped, so the expiry sends nothing more.
    """

    async def execute(self, device_id: int) -> UplinkOrder:
        config = self._config
        if config is None:
            raise cambus_disabled()
        async with self._uow() as uow:
            camera = await _camera(uow, device_id)
            now = self._clock.now()
            current = await uow.camera_uplinks.get(device_id, for_update=True)
            current = current or Uplink(device_id=device_id)
            if current.active(now) and current.topics and current.request is not None:
                topic = uplink_topic(current.topics, UplinkAction.STOP)
                payload = current.request
                current = current.stopped(now, StopReason.REQUESTED)
                await uow.camera_uplinks.save_lease(current)
            else:
                place = await place_of(uow, camera, config.tenant)
                topic = uplink_topic(
                    place.uplink_topics(config.uplink_base_topic), UplinkAction.STOP
                )
                request = self._request(
                    camera, place, config.host_of(camera) or "", config.default_ttl_seconds
                )
                payload = request.document()
            await _enqueue(uow, topic, msgspec.json.encode(payload), retain=False)
            await uow.commit()
        return UplinkOrder(
            action=UplinkAction.STOP,
            topic=topic,
            payload=payload,
            uplink=UplinkView(uplink=current, active=False),
        )


class GetUplink:
    """A camera's uplink: its lease and the stream state cam-bus last reported."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, device_id: int) -> UplinkView:
        async with self._uow() as uow:
            await _camera(uow, device_id)
            found = await uow.camera_uplinks.get(device_id)
        uplink = found or Uplink(device_id=device_id)
        return UplinkView(uplink=uplink, active=uplink.active(self._clock.now()))


class CameraUplinks:
    """The uplinks of some cameras, for the cameras' read model."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, device_ids: Sequence[int]) -> Mapping[int, UplinkView]:
        if not device_ids:
            return {}
        async with self._uow() as uow:
            found = await uow.camera_uplinks.of_devices(device_ids)
        now = self._clock.now()
        return {i: UplinkView(uplink=u, active=u.active(now)) for i, u in found.items()}


class ExpireUplinks:
    """One pass of the expiry: every lease past its expiry and neither renewed nor stopped
    is stopped — its stop queued (to where its start went, with the same payload) and the
    lease marked ``expired`` — in one transaction, so a stop is queued exactly once."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, *, batch_size: int = 100) -> None:
        self._uow = uow
        self._clock = clock
        self.batch_size = batch_size

    async def execute(self) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            due = await uow.camera_uplinks.expired(now, limit=self.batch_size)
            for uplink in due:
                if uplink.topics is not None and uplink.request is not None:
                    topic = uplink_topic(uplink.topics, UplinkAction.STOP)
                    await _enqueue(uow, topic, msgspec.json.encode(uplink.request), retain=False)
                await uow.camera_uplinks.save_lease(uplink.stopped(now, StopReason.EXPIRED))
            await uow.commit()
        for uplink in due:
            log.info("the uplink of camera %d expired; stop queued", uplink.device_id)
        return len(due)


class UplinkExpiry:
    """Stops uplinks not renewed in time, for as long as the process runs.

    - One process at a time does it (it holds the ``uplink-expiry`` lock, as the outbox
      relay holds its channel's); the others stand by and take over when it goes.
    - On taking over it first brings every camera's ``/info`` in step (``sync``), so cameras
      registered before cam-bus publishing existed reach cam-bus without an edit.
    - It looks every ``poll_seconds`` (at once again after a full batch); the database
      going away, or a bug, never ends it.
    """

    def __init__(
        self,
        expire: ExpireUplinks,
        locks: Locks,
        *,
        sync: SyncCameraInfo | None = None,
        poll_seconds: float = 0.5,
        standby_seconds: float = 5.0,
    ) -> None:
        self._expire = expire
        self._locks = locks
        self._sync = sync
        self._poll = poll_seconds
        self._standby = standby_seconds

    async def run(self, stop: asyncio.Event) -> None:
        """Expire uplinks until ``stop`` is set."""
        retry = 1.0
        while not stop.is_set():
            try:
                async with self._locks.try_hold("uplink-expiry") as lease:
                    if lease is None:
                        await _sleep_unless(stop, self._standby)
                        continue
                    if self._sync is not None:
                        await self._sync.execute()
                    while not stop.is_set() and await lease.held():
                        if await self._expire.execute() < self._expire.batch_size:
                            await _sleep_unless(stop, self._poll)
            except StorageError as exc:
                log.warning("uplink expiry: %s; retrying in %.0f s", exc, retry)
            except Exception:
                # A bug must not end the expiry for the life of the process either.
                log.exception("uplink expiry failed; retrying in %.0f s", retry)
            else:
                retry = 1.0
                continue
            await _sleep_unless(stop, retry)
            retry = min(retry * 2, 30.0)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return


class UplinkReport(msgspec.Struct, frozen=True, kw_only=True):
    known_camera: bool
    recorded: bool = False


class RecordUplinkStatus:
    """Take in cam-bus's ``…/uplink/status`` reply as the camera's stream state.

    - The camera is the one published under the topic's device level (else the camera with
      that code); an unknown camera's reply is counted, not stored.
    - A reply older than the state kept changes nothing, so a redelivery or a late reply
      never turns a running stream back into a stopped one.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, device_segment: str, status: UplinkStatus) -> UplinkReport:
        stream = StreamState(
            state=status.state,
            reported_at=status.reported_at,
            error=status.error,
            exit_code=status.exit_code,
            container_name=status.container_name,
            central_path=status.central_path,
        )
        async with self._uow() as uow:
            camera = await camera_for_segment(uow, device_segment)
            if camera is None:
                return UplinkReport(known_camera=False)
            recorded = await uow.camera_uplinks.record_stream(camera.id, stream)
            await uow.commit()
        return UplinkReport(known_camera=True, recorded=recorded)


__all__ = [
    "CamBusPublications",
    "CamBusPublishing",
    "CameraSecretsPublisher",
    "CameraUplinks",
    "ExpireUplinks",
    "GetUplink",
    "RecordUplinkStatus",
    "StartUplink",
    "StopUplink",
    "SyncCameraInfo",
    "UplinkExpiry",
    "UplinkOrder",
    "UplinkReport",
    "UplinkView",
    "camera_for_segment",
    "place_of",
]
