"""The cam-bus half of the worker: camera events and statuses, one message at a time (a
site's cameras send a few messages a second, not thousands), each stored and run through
the incident rules in its own transaction, then acknowledged; and cam-bus's replies about
uplinks (``…/uplink/status`` under CAMBUS_UPLINK_BASE_TOPIC), kept as cameras' stream
state."""

import asyncio
import logging

from securityvision.adapters.mqtt.cambus import (
    CambusTopic,
    decode_uplink_status,
    parse_cambus_topic,
)
from securityvision.adapters.mqtt.subscriber import InboundMessage, MqttSubscriber
from securityvision.adapters.prometheus import WorkerMetrics
from securityvision.application.cambus_ingest import CameraMessage, CameraOutcome
from securityvision.codecs import camera_message
from securityvision.config import Settings
from securityvision.container import Container
from securityvision.domain.cambus import UplinkStatus
from securityvision.domain.errors import StorageError
from securityvision.domain.rtls import Rejection
from securityvision.entrypoints.worker import (
    DRAIN_IDLE_SECONDS,
    DRAIN_SECONDS,
    RateLimitedLog,
    default_client_id,
    sleep_unless,
)

log = logging.getLogger("securityvision.cameras")


class CameraWorker:
    def __init__(self, settings: Settings, container: Container, metrics: WorkerMetrics) -> None:
        self._settings = settings
        self._container = container
        self._metrics = metrics
        self._base = settings.cambus_mqtt_base_topic
        self._uplink_base = settings.cambus_uplink_base_topic
        self._log = RateLimitedLog()

    def _topics(self) -> list[str]:
        """Everything under the base; and uplink replies under the uplink base, when that
        is another tree (cam-bus deployments usually give both one value)."""
        topics = [f"{self._base}/#"]
        if not f"{self._uplink_base}/".startswith(f"{self._base}/"):
            topics.append(f"{self._uplink_base}/+/+/+/+/+/uplink/status")
        return topics

    def _subscriber(self) -> MqttSubscriber:
        s = self._settings
        return MqttSubscriber(
            host=s.mqtt_host,
            port=s.rtls_mqtt_port,
            client_id=f"{default_client_id(s)}-cambus"[:64],
            topics=self._topics(),
            username=s.rtls_mqtt_username,
            password=s.rtls_mqtt_password.reveal() if s.rtls_mqtt_password else None,
            tls=s.rtls_mqtt_tls,
            shared_group=s.mqtt_shared_group,
            protocol=s.rtls_mqtt_protocol,
            receive_maximum=100,
        )

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            subscriber = self._subscriber()
            try:
                await subscriber.start()
            except ConnectionError as exc:
                self._log.warning("broker_unavailable", f"{exc}; retrying in {backoff:.0f} s")
                await sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            try:
                while not stop.is_set():
                    inbound = await subscriber.receive(0.5)
                    if inbound is not None and await self._handle(inbound, stop):
                        subscriber.ack(inbound)
                await self._drain(subscriber, stop)
            finally:
                await subscriber.stop()

    async def _drain(self, subscriber: MqttSubscriber, stop: asyncio.Event) -> None:
        """Stopping: handle what has arrived and what the broker still sends until it pauses
        (bounded in time); the rest is delivered again later."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        while loop.time() < deadline:
            inbound = await subscriber.receive(DRAIN_IDLE_SECONDS)
            if inbound is None or not await self._handle(inbound, stop):
                return
            subscriber.ack(inbound)

    async def _handle(self, inbound: InboundMessage, stop: asyncio.Event) -> bool:
        """Store the message, retrying while the database is away; True when it may be
        acknowledged (stored, a duplicate, or nothing of ours)."""
        uplink = self._uplink_status(inbound)
        if uplink is not None:
            return await self._record_uplink(inbound, *uplink, stop)
        message = self._decode(inbound)
        if message is None:
            return True
        backoff = 0.5
        while True:
            try:
                report = await self._container.ingest_camera_message().execute(message)
            except StorageError as exc:
                self._log.warning("storage_unavailable", f"{exc}; retrying")
                if stop.is_set():
                    return False
                await sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            break
        self._metrics.messages.labels("cambus").inc()
        if report.outcome is CameraOutcome.UNKNOWN_CAMERA:
            self._reject("unknown_camera", f"no camera with code {message.camera_code!r}")
        if report.bad_image:
            self._reject("bad_image", f"{report.bad_image} in {inbound.topic[:120]}")
        return True

    def _uplink_status(self, inbound: InboundMessage) -> tuple[str, UplinkStatus] | None:
        """A reply about an uplink, as (the camera's device level, the status); None for
        any other message."""
        if not inbound.topic.endswith("/uplink/status"):
            return None
        for base in (self._uplink_base, self._base):
            topic = parse_cambus_topic(inbound.topic, base)
            if isinstance(topic, CambusTopic) and topic.kind == "uplink_status":
                break
        else:
            return None
        status = decode_uplink_status(inbound.payload, inbound.received_at)
        if isinstance(status, Rejection):
            self._reject(status.reason, f"{status.detail} ({inbound.topic[:120]})")
            return None
        return topic.device_id or status.camera_id, status

    async def _record_uplink(
        self, inbound: InboundMessage, segment: str, status: UplinkStatus, stop: asyncio.Event
    ) -> bool:
        backoff = 0.5
        while True:
            try:
                report = await self._container.record_uplink_status().execute(segment, status)
            except StorageError as exc:
                self._log.warning("storage_unavailable", f"{exc}; retrying")
                if stop.is_set():
                    return False
                await sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            break
        self._metrics.messages.labels("cambus").inc()
        if not report.known_camera:
            self._reject("unknown_camera", f"no camera {segment!r} ({inbound.topic[:120]})")
        return True

    def _decode(self, inbound: InboundMessage) -> CameraMessage | None:
        """The message as the library decodes it (``securityvision.codecs``); None, counted
        and logged when rejected, for anything there is nothing to store of."""
        result = camera_message(
            inbound.topic, inbound.payload, received_at=inbound.received_at, base=self._base
        )
        if isinstance(result, Rejection):
            self._reject(result.reason, f"{result.detail} ({inbound.topic[:120]})")
            return None
        return result  # None: our own /info, uplink requests, collector status

    def _reject(self, reason: str, detail: str) -> None:
        self._metrics.readings_rejected.labels(reason).inc()
        self._log.warning(reason, detail)
