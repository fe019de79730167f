"""The MQTT worker: receive, decode, batch, store, and only then acknowledge.

Many workers may run side by side: with ``MQTT_SHARED_GROUP`` set they share one
subscription, and everything they must agree on (readings, gateway state) lives in
PostgreSQL, so none of them needs another's memory.
"""

import asyncio
import contextlib
import hashlib
import logging
import socket
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

from securityvision.adapters.mqtt.codecs import decode_gateway_message
from securityvision.adapters.mqtt.subscriber import InboundMessage, MqttSubscriber
from securityvision.adapters.mqtt.topics import parse_gateway_topic
from securityvision.adapters.prometheus import WorkerMetrics
from securityvision.application.ingest import Delivery, IngestGatewayMessages, needs_receipt
from securityvision.config import Settings
from securityvision.container import Container
from securityvision.domain.errors import StorageError
from securityvision.domain.rtls import Rejection

log = logging.getLogger("securityvision.worker")

MAX_BATCH_READINGS = 5000
# Behind (messages still waiting once a batch is full), a batch grows up to this many times
# the usual size: the per-batch costs (locks, statements, commits) are shared by more readings
# (8 rather than 4: a site's load kept up with at 32,000 readings/s instead of 30,000, and
# caught up sooner, bench/README.md run J).
BEHIND_BATCH_FACTOR = 8
LINGER_SECONDS = 0.1
# A receipt is forgotten only once its message's acknowledgement has been on its way this
# long over a connection that is still up: an acknowledgement lost with its connection (a
# broker restart, a SIGKILL) brings the message back as a redelivery, which must find its
# receipt. Receipts of connections lost meanwhile stay until the periodic prune (a day).
RECEIPT_GRACE_SECONDS = 120.0
IDLE_FLUSH_SECONDS = 0.01
# On SIGTERM: keep storing what the broker still has in flight for us until it pauses this
# long, for at most DRAIN_SECONDS; whatever is left stays unacknowledged and is delivered
# again (to this worker's next run, or to another of a shared group).
DRAIN_IDLE_SECONDS = 0.3
DRAIN_SECONDS = 5.0


class Received(msgspec.Struct, kw_only=True):
    """A message as received, and what decoding made of it (``delivery`` None: nothing in it
    to store, only rejections)."""

    inbound: InboundMessage
    delivery: Delivery | None
    rejections: Counter[str]

    @property
    def readings(self) -> int:
        return len(self.delivery.message.observations) if self.delivery else 0


class RateLimitedLog:
    """At most one line per reason per interval, saying how many were suppressed."""

    def __init__(self, interval: float = 60.0) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def warning(self, reason: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(reason, -self._interval) < self._interval:
            self._suppressed[reason] += 1
            return
        suppressed = self._suppressed.pop(reason, 0)
        self._last[reason] = now
        extra = f" ({suppressed} more since the last report)" if suppressed else ""
        log.warning("%s: %s%s", reason, message, extra)


def rtls_prefix(settings: Settings) -> str:
    return settings.rtls_mqtt_topic_prefix


def default_client_id(settings: Settings) -> str:
    """A fixed id per host, so a restarted worker resumes its persistent session."""
    return settings.rtls_mqtt_client_id or f"securityvision-worker-{socket.gethostname()}"[:64]


class IngestWorker:
    def __init__(
        self,
        settings: Settings,
        container: Container,
        metrics: WorkerMetrics,
        *,
        subscriber_factory: Callable[[], MqttSubscriber] | None = None,
        max_batch_readings: int = MAX_BATCH_READINGS,
        linger_seconds: float = LINGER_SECONDS,
    ) -> None:
        self._settings = settings
        self._container = container
        self._metrics = metrics
        self._subscriber_factory = subscriber_factory or self._subscriber
        self._max_batch = max_batch_readings
        self._linger = linger_seconds
        self._prefix = rtls_prefix(settings)
        self._client_id = default_client_id(settings)
        self._log = RateLimitedLog()
        # Receipts of acknowledged messages, (when, on which connection, fingerprint), in the
        # order acknowledged; forgotten with a later batch once RECEIPT_GRACE_SECONDS passed.
        self._acknowledged: deque[tuple[float, int, bytes]] = deque()
        self._ingest_use_case: IngestGatewayMessages | None = None

    @property
    def _ingest(self) -> IngestGatewayMessages:
        """One use case for the worker's life: overlapping batches take turns through it."""
        if self._ingest_use_case is None:
            self._ingest_use_case = self._container.ingest_gateway_messages()
        return self._ingest_use_case

    def _subscriber(self) -> MqttSubscriber:
        s = self._settings
        return MqttSubscriber(
            host=s.mqtt_host,
            port=s.rtls_mqtt_port,
            client_id=self._client_id,
            topics=[s.rtls_mqtt_topic],
            username=s.rtls_mqtt_username,
            password=s.rtls_mqtt_password.reveal() if s.rtls_mqtt_password else None,
            tls=s.rtls_mqtt_tls,
            shared_group=s.mqtt_shared_group,
            protocol=s.rtls_mqtt_protocol,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; the batch in hand is stored and acknowledged first."""
        chores = [
            asyncio.create_task(self._watch_gateways(stop)),
            asyncio.create_task(self._refresh_totals_periodically(stop)),
        ]
        if self._settings.presence_rollup_enabled:
            chores.append(asyncio.create_task(self._roll_up_periodically(stop)))
        try:
            await self._consume(stop)
        finally:
            for chore in chores:
                chore.cancel()
            for chore in chores:
                with contextlib.suppress(asyncio.CancelledError):
                    await chore

    async def _consume(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            subscriber = self._subscriber_factory()
            try:
                await subscriber.start()
            except ConnectionError as exc:
                self._metrics.broker_connected.set(0)
                self._log.warning("broker_unavailable", f"{exc}; retrying in {backoff:.0f} s")
                await sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            # Batches are stored while the next ones are received and decoded, so that the
            # database and the worker use a core each; with PostgreSQL two are stored at once
            # (IngestGatewayMessages.overlapping: the second's lanes take turns after the
            # first's). Batches are acknowledged in order, each once all of it committed.
            depth = 2 if self._ingest.overlapping else 1
            storing: deque[tuple[list[Received], asyncio.Task[bool]]] = deque()
            try:
                while not stop.is_set():
                    self._metrics.broker_connected.set(1 if subscriber.connected else 0)
                    batch = await self._collect(subscriber, stop)
                    while storing and (len(storing) >= depth or storing[0][1].done()):
                        await self._finish(subscriber, *storing.popleft())
                    if batch:
                        forget = self._receipts_to_forget(subscriber.generation)
                        storing.append(
                            (batch, asyncio.create_task(self._store(batch, stop, forget)))
                        )
                    self._metrics.queue_depth.set(subscriber.queue_depth)
                while storing:
                    await self._finish(subscriber, *storing.popleft())
                await self._drain(subscriber)
            finally:
                await subscriber.stop()
                self._metrics.broker_connected.set(0)

    async def _drain(self, subscriber: MqttSubscriber) -> None:
        """Stopping: store and acknowledge what has arrived, and what the broker still sends
        until it pauses (bounded in time), before disconnecting."""
        if not subscriber.connected and not subscriber.queue_depth:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        drained = 0
        while loop.time() < deadline:
            batch: list[Received] = []
            readings = 0
            inbound = await subscriber.receive(DRAIN_IDLE_SECONDS)
            while inbound is not None and readings < self._max_batch:
                item = self._decode(inbound)
                batch.append(item)
                readings += item.readings
                inbound = subscriber.receive_nowait()
            if inbound is not None:
                batch.append(self._decode(inbound))
            if not batch:
                break
            stored = asyncio.create_task(self._store(batch, asyncio.Event()))
            try:
                await asyncio.wait_for(asyncio.shield(stored), deadline - loop.time())
            except TimeoutError:
                stored.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stored
                break
            await self._finish(subscriber, batch, stored)
            drained += len(batch)
        if drained:
            log.info("stored %s messages received before stopping", drained)

    async def _finish(
        self, subscriber: MqttSubscriber, batch: list[Received], stored: "asyncio.Task[bool]"
    ) -> None:
        """Acknowledge a batch once it is committed (not at all if it was not)."""
        if not await stored:
            return
        for item in batch:
            acked = subscriber.ack(item.inbound)
            if acked and item.delivery and needs_receipt(item.delivery):
                self._acknowledged.append(
                    (time.monotonic(), subscriber.generation, item.delivery.fingerprint)
                )

    async def _collect(self, subscriber: MqttSubscriber, stop: asyncio.Event) -> list[Received]:
        """Gather a batch: up to ``max_batch_readings`` readings (up to
        ``BEHIND_BATCH_FACTOR`` times as many while more messages are already waiting) or
        ``linger`` seconds, and no longer than a short idle pause — when the broker stops
        sending (its window of unacknowledged messages is full, or traffic is light) waiting
        would only add latency."""
        loop = asyncio.get_running_loop()
        batch: list[Received] = []
        readings = 0
        deadline = 0.0
        while not stop.is_set():
            if batch:
                timeout = min(IDLE_FLUSH_SECONDS, deadline - loop.time())
                if timeout <= 0:
                    break
            else:
                timeout = 0.5
            inbound = await subscriber.receive(timeout)
            if inbound is None:
                if batch:
                    break
                return batch
            if not batch:
                deadline = loop.time() + self._linger
            while inbound is not None:
                item = self._decode(inbound)
                batch.append(item)
                readings += item.readings
                if readings >= self._max_batch and (
                    readings >= self._max_batch * BEHIND_BATCH_FACTOR or subscriber.queue_depth == 0
                ):
                    return batch
                inbound = subscriber.receive_nowait()
        return batch

    def _decode(self, inbound: InboundMessage) -> Received:
        rejections: Counter[str] = Counter()
        if inbound.retained:
            # Retained messages are old news replayed on subscribe, not gateway activity.
            rejections["retained"] += 1
            return Received(inbound=inbound, delivery=None, rejections=rejections)
        topic = parse_gateway_topic(inbound.topic, self._prefix)
        if isinstance(topic, Rejection):
            rejections[topic.reason] += 1
            self._log.warning(topic.reason, f"{topic.detail} (topic {inbound.topic[:120]!r})")
            return Received(inbound=inbound, delivery=None, rejections=rejections)
        message = decode_gateway_message(topic, inbound.payload)
        for rejection in message.rejections:
            self._log.warning(
                rejection.reason, f"{rejection.detail} (topic {inbound.topic[:120]!r})"
            )
        fingerprint = hashlib.blake2b(
            f"{self._client_id}\0{inbound.mid}\0{inbound.topic}\0".encode() + inbound.payload,
            digest_size=16,
        ).digest()
        delivery = Delivery(
            message=message,
            received_at=inbound.received_at,
            fingerprint=fingerprint,
            redelivered=inbound.redelivered,
        )
        return Received(inbound=inbound, delivery=delivery, rejections=rejections)

    def _receipts_to_forget(self, generation: int) -> list[bytes]:
        """The receipts whose acknowledgement surely reached the broker: sent at least
        RECEIPT_GRACE_SECONDS ago on the connection still in use. Those of an earlier
        connection are let go without forgetting them (their acknowledgement may have been
        lost with it); the prune removes them later."""
        forget: list[bytes] = []
        now = time.monotonic()
        while self._acknowledged:
            at, acked_on, fingerprint = self._acknowledged[0]
            if acked_on == generation and now - at < RECEIPT_GRACE_SECONDS:
                break
            self._acknowledged.popleft()
            if acked_on == generation:
                forget.append(fingerprint)
        return forget

    async def _store(
        self, batch: list[Received], stop: asyncio.Event, forget: list[bytes] | None = None
    ) -> bool:
        """Store the batch, retrying while the database is away; False if stopped first (the
        messages stay unacknowledged, and the broker delivers them again)."""
        deliveries = [item.delivery for item in batch if item.delivery is not None]
        backoff = 0.5
        while True:
            started = time.perf_counter()
            try:
                report = await self._ingest.execute(deliveries, acknowledged=forget or ())
                break
            except StorageError as exc:
                self._metrics.storage_errors.inc()
                self._log.warning("storage_unavailable", f"{exc}; retrying the batch")
                if stop.is_set():
                    return False
                await sleep_unless(stop, backoff)
                backoff = min(backoff * 2, 10.0)
        committed = datetime.now(UTC)
        m = self._metrics
        m.commit_seconds.observe(time.perf_counter() - started)
        m.batch_readings.observe(sum(item.readings for item in batch))
        m.messages.labels("rtls").inc(len(batch))
        m.readings_accepted.inc(report.stored)
        m.readings_duplicate.inc(report.duplicates)
        m.unknown_tag_readings.inc(report.unknown_tags)
        m.count_rejections(report.rejected)
        for item in batch:
            m.count_rejections(item.rejections)
            m.ingest_lag.observe(max(0.0, (committed - item.inbound.received_at).total_seconds()))
        m.gateway_transitions.labels("online").inc(len(report.gateways_online))
        m.gateway_transitions.labels("offline").inc(len(report.gateways_offline))
        return True

    async def _watch_gateways(self, stop: asyncio.Event) -> None:
        threshold = self._settings.device_offline_threshold_seconds
        interval = max(5, min(60, threshold // 2))
        detect = self._container.detect_silent_gateways()
        while not stop.is_set():
            await sleep_unless(stop, interval)
            try:
                offline = await detect.execute()
            except StorageError as exc:
                self._log.warning("storage_unavailable", str(exc))
                continue
            self._metrics.gateway_transitions.labels("offline").inc(len(offline))

    async def _roll_up_periodically(self, stop: asyncio.Event) -> None:
        """PRESENCE_ROLLUP_ENABLED: every worker may run it; a day is rolled up under a lock,
        once, and a second run finds nothing left to do."""
        interval = self._settings.presence_rollup_interval_minutes * 60
        while not stop.is_set():
            try:
                done = await self._container.roll_up_presence().execute(
                    self._settings.presence_log_retention_days
                )
            except StorageError as exc:
                self._log.warning("storage_unavailable", str(exc))
            else:
                for day in done:
                    log.info(
                        "rolled up %s: %s sessions, %s readings",
                        day.day,
                        day.sessions,
                        day.readings,
                    )
            await sleep_unless(stop, interval)

    async def _refresh_totals_periodically(self, stop: asyncio.Event) -> None:
        """Every PRESENCE_TOTALS_INTERVAL_SECONDS: the hours and days the overview reads
        instead of sessions (docs/presence.md). Every worker may run it; refreshes take turns
        under a lock and a second one finds nothing left. Reports stay exact without it,
        only slower."""
        interval = self._settings.presence_totals_interval_seconds
        while not stop.is_set():
            await sleep_unless(stop, interval)
            if stop.is_set():
                return
            try:
                done = await self._container.refresh_presence_totals().execute()
            except StorageError as exc:
                self._log.warning("storage_unavailable", str(exc))
                continue
            if done.hours or done.dropped:
                log.info(
                    "presence totals: %s hours refreshed in %s batches, %s dropped",
                    done.hours,
                    done.batches,
                    done.dropped,
                )


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


__all__ = ["IngestWorker", "RateLimitedLog", "default_client_id"]
