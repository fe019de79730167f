"""An MQTT subscription whose messages are acknowledged by the caller, after they are stored.

Built on paho-mqtt's public API rather than aiomqtt: aiomqtt 2.x has no manual
acknowledgement (paho's ``manual_ack``) and drops the DUP flag, and both are what "acknowledge
only after commit" and "a redelivery adds nothing" rest on. paho's network loop runs in its
own thread (``loop_start``); messages cross to the asyncio loop through a queue, and acks go
back through paho's thread-safe ``ack``.

Sessions are persistent (MQTT 5 ``clean_start=False`` with a session expiry; MQTT 3.1.1
``clean_session=False``) under a fixed client id, so messages that arrive while the worker is
down, or that it received but never acknowledged, are delivered again when it returns. The
broker never has more unacknowledged messages out than its receive window (MQTT 5 Receive
Maximum, which we announce; Mosquitto's ``max_inflight_messages`` for 3.1.1), which bounds
memory here.
"""

import asyncio
import logging
import ssl
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger("securityvision.mqtt")

Protocol = Literal["auto", "5", "3.1.1"]
_UNSUPPORTED_PROTOCOL = 132  # MQTT 5 CONNACK reason "Unsupported Protocol Version"
_PROTOCOL_PROBE_SECONDS = 3.0


class InboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    topic: str
    payload: bytes
    qos: int
    mid: int
    redelivered: bool
    retained: bool
    received_at: datetime
    generation: int


class MqttSubscriber:
    """Subscribes at QoS 1 to ``topics`` (as ``$share/<group>/…`` when ``shared_group`` is
    set) and reconnects by itself with backoff; ``ack`` each message once it is safe."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        topics: Sequence[str],
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        shared_group: str | None = None,
        receive_maximum: int = 1000,
        session_expiry_seconds: int = 86400,
        protocol: Protocol = "auto",
    ) -> None:
        self._host = host
        self._port = port
        self._client_id = client_id
        self._filters = [f"$share/{shared_group}/{t}" if shared_group else t for t in topics]
        self._username = username
        self._password = password
        self._tls = tls
        self._receive_maximum = receive_maximum
        self._session_expiry = session_expiry_seconds
        self._protocol = protocol
        self._queue: asyncio.Queue[InboundMessage] = asyncio.Queue()
        # Mosquitto releases a whole new window of messages for a single acknowledgement
        # (eclipse-mosquitto#2301), so the window alone does not bound what piles up here:
        # paho's thread waits for room instead, and TCP backpressure holds the broker back.
        self._room = threading.Semaphore(2 * receive_maximum)
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: paho.Client | None = None
        self._lock = threading.Lock()
        self._generation = 0
        self._connected = threading.Event()
        self._first_connack: asyncio.Future[int] | None = None
        self.version: Literal["5", "3.1.1"] = "5" if protocol != "3.1.1" else "3.1.1"

    @property
    def connected(self) -> bool:
        """Connected and subscribed (the broker acknowledged the subscription)."""
        return self._connected.is_set()

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    @property
    def generation(self) -> int:
        """Which connection messages came in on; acks of an older one are void."""
        return self._generation

    async def start(self, connect_seconds: float = 10.0) -> None:
        """Connect (falling back from MQTT 5 to 3.1.1 for brokers that only speak 3.1.1);
        raises ``ConnectionError`` when the broker cannot be reached or refuses us."""
        self._loop = asyncio.get_running_loop()
        if self._protocol == "auto" and self.version == "5":
            # A 3.1.1-only broker may refuse MQTT 5 with a CONNACK, or just hang up (amqtt,
            # choking on the CONNECT properties): either way, try 3.1.1 next.
            try:
                reason = await self._connect(min(connect_seconds, _PROTOCOL_PROBE_SECONDS))
            except ConnectionError:
                reason = _UNSUPPORTED_PROTOCOL
            if reason == _UNSUPPORTED_PROTOCOL:
                await self.stop()
                self.version = "3.1.1"
                reason = await self._connect(connect_seconds)
        else:
            reason = await self._connect(connect_seconds)
        if reason != 0:
            await self.stop()
            raise ConnectionError(
                f"broker {self._host}:{self._port} refused the connection (reason {reason})"
            )
        if not await asyncio.to_thread(self._connected.wait, connect_seconds):
            await self.stop()
            raise ConnectionError(
                f"broker {self._host}:{self._port} did not confirm our subscription"
            )

    async def _connect(self, connect_seconds: float) -> int:
        assert self._loop is not None
        self._first_connack = self._loop.create_future()
        v5 = self.version == "5"
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id,
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        if self._username:
            client.username_pw_set(self._username, self._password)
        if self._tls:
            client.tls_set_context(ssl.create_default_context())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.reconnect_delay_set(1, 30)
        self._client = client
        properties = None
        if v5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self._session_expiry
            properties.ReceiveMaximum = self._receive_maximum
        try:
            client.connect_async(
                self._host,
                self._port,
                keepalive=30,
                clean_start=False if v5 else paho.MQTT_CLEAN_START_FIRST_ONLY,
                properties=properties,
            )
            client.loop_start()
            return await asyncio.wait_for(asyncio.shield(self._first_connack), connect_seconds)
        except (TimeoutError, OSError) as exc:
            await self.stop()
            raise ConnectionError(
                f"broker {self._host}:{self._port} unreachable: {exc or 'timed out'}"
            ) from exc

    async def stop(self) -> None:
        client, self._client = self._client, None
        self._connected.clear()
        if client is None:
            return
        self._stopping = True
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)
        self._stopping = False

    async def receive(self, wait_seconds: float | None = None) -> InboundMessage | None:
        """The next message, or None when ``wait_seconds`` pass first."""
        if wait_seconds is None:
            message = await self._queue.get()
        else:
            try:
                message = await asyncio.wait_for(self._queue.get(), max(wait_seconds, 0))
            except TimeoutError:
                return None
        self._room.release()
        return message

    def receive_nowait(self) -> InboundMessage | None:
        try:
            message = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        self._room.release()
        return message

    def ack(self, message: InboundMessage) -> bool:
        """Acknowledge ``message`` to the broker; False when its connection is gone (the broker
        will deliver it again, and storing it again changes nothing)."""
        with self._lock:
            if message.generation != self._generation or self._client is None:
                return False
            if message.qos == 0:
                return True
            return self._client.ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS

    # paho's thread ---------------------------------------------------------------------------

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        code = reason.value if isinstance(reason, ReasonCode) else int(reason)
        if code == 0:
            with self._lock:
                self._generation += 1
            client.subscribe([(topic, 1) for topic in self._filters])
            log.info(
                "connected to %s:%s (MQTT %s, session %s)",
                self._host,
                self._port,
                self.version,
                "resumed" if flags.session_present else "new",
            )
        else:
            log.warning("broker refused the connection: %s", reason)
        self._resolve_first_connack(code)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._connected.is_set():
            log.warning("lost the broker (%s); reconnecting", reason)
        self._connected.clear()

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        # Connected, for us, means subscribed: from here on nothing published is missed.
        self._connected.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        while not self._room.acquire(timeout=1.0):
            if self._stopping:
                return  # not acknowledged: the broker delivers it again
        inbound = InboundMessage(
            topic=message.topic,
            payload=bytes(message.payload),
            qos=message.qos,
            mid=message.mid,
            redelivered=bool(message.dup),
            retained=bool(message.retain),
            received_at=datetime.now(UTC),
            generation=self._generation,
        )
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, inbound)

    def _resolve_first_connack(self, code: int) -> None:
        future, loop = self._first_connack, self._loop
        if future is None or loop is None:
            return

        def resolve() -> None:
            if not future.done():
                future.set_result(code)

        loop.call_soon_threadsafe(resolve)
