"""Publishing outbox messages to the MQTT broker over one long-lived connection.

The original opened a new connection for every message (ORIGINAL.md §9, bug 39) and failed
the HTTP request when the broker was away (bug 24). Here the relay owns one aiomqtt client
connection, kept up in the background and re-made with backoff when it drops; a publication
returns only once the broker acknowledged it (QoS 1: the PUBACK), so the relay removes a
message from the outbox only when the broker has it.

MQTT 3.1.1, which every broker speaks — the embedded one of ``securityvision dev`` (amqtt)
speaks nothing else — and is all that QoS 1 retained publications need. Each connection is
a new client with a clean session, so nothing a lost connection had in flight is re-sent
behind the relay's back: the relay decides what is published again, and in which order.
"""

import asyncio
import contextlib
import logging
import ssl

import aiomqtt

from securityvision.domain.outbox import DeliveryFailed, OutboxMessage

log = logging.getLogger("securityvision.mqtt.publisher")


class MqttPublisher:
    """The ``Publisher`` of the ``mqtt`` channel: ``destination`` is the topic, ``options``
    carry ``qos`` and ``retain``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        keepalive: int = 30,
        publish_timeout: float = 10.0,
        max_backoff: float = 30.0,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._tls = tls
        self._keepalive = keepalive
        self._publish_timeout = publish_timeout
        self._max_backoff = max_backoff
        self._client: aiomqtt.Client | None = None
        self._lost: asyncio.Event | None = None
        self._ready: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def address(self) -> str:
        return f"{self._host}:{self._port}"

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(self._stopping), name="mqtt-publisher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if self._stopping is not None:
            self._stopping.set()
        try:
            # A graceful DISCONNECT, unless the broker does not answer in time.
            await asyncio.wait_for(asyncio.shield(task), timeout=5.0)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_connected(self, within: float) -> bool:
        ready = self._ready
        if ready is None:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), timeout=within)
        return self.connected

    async def publish(self, message: OutboxMessage) -> None:
        client, lost = self._client, self._lost
        if client is None or lost is None:
            raise DeliveryFailed(f"not connected to the broker {self.address}")
        publication = asyncio.ensure_future(
            client.publish(
                message.destination, message.payload, qos=message.qos, retain=message.retain
            )
        )
        disconnection = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait(
                {publication, disconnection},
                timeout=self._publish_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            disconnection.cancel()
        if publication not in done:
            publication.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await publication
            reason = "the connection was lost" if disconnection in done else "no PUBACK in time"
            raise DeliveryFailed(f"publishing to {self.address}: {reason}")
        try:
            publication.result()
        except (aiomqtt.MqttError, ValueError) as exc:
            raise DeliveryFailed(f"publishing to {self.address}: {exc}") from exc

    async def _run(self, stopping: asyncio.Event) -> None:
        backoff = 1.0
        unreachable_logged = False
        while not stopping.is_set():
            client = aiomqtt.Client(
                self._host,
                self._port,
                username=self._username,
                password=self._password,
                tls_context=ssl.create_default_context() if self._tls else None,
                keepalive=self._keepalive,
                timeout=10.0,
                protocol=aiomqtt.ProtocolVersion.V311,
                clean_session=True,
            )
            try:
                async with client:
                    log.info("publishing to the MQTT broker %s", self.address)
                    backoff, unreachable_logged = 1.0, False
                    await self._serve(client, stopping)
            except aiomqtt.MqttError as exc:
                # Without credentials in it: aiomqtt's errors name codes and reasons only.
                if not unreachable_logged:
                    log.warning("MQTT broker %s unavailable: %s; retrying", self.address, exc)
                    unreachable_logged = True
            finally:
                self._client = None
                if self._ready is not None:
                    self._ready.clear()
            if stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _serve(self, client: aiomqtt.Client, stopping: asyncio.Event) -> None:
        """Hold the connection until it drops or the publisher stops.

        Iterating the (empty) message stream is how aiomqtt tells a publisher that the
        connection is gone: the iteration raises.
        """
        self._lost = asyncio.Event()
        self._client = client
        if self._ready is not None:
            self._ready.set()
        watch = asyncio.ensure_future(_until_disconnected(client))
        stop = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({watch, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._client = None
            self._lost.set()
            for task in (watch, stop):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if not watch.cancelled():
            watch.result()  # the MqttError that ended the connection


async def _until_disconnected(client: aiomqtt.Client) -> None:
    async for _ in client.messages:
        continue
