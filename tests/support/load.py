"""A steady load of gateway readings and camera events, published at QoS 1 from a thread.

What counts as *sent* is what the broker acknowledged (PUBACK): paho keeps an unacknowledged
QoS 1 message and sends it again after a reconnection, so a message published while the
broker was away is sent once it is back. Every reading is identifiable afterwards:

- timestamped readings by (gateway, tag, time): each message has a time of its own (a random
  second of the last half hour, so readings arrive late and out of order, plus the message's
  sequence number in microseconds, so no two messages share one);
- readings without a timestamp (the worker gives them their time of receipt) by count: they
  are made only for ``TIMELESS_TAGS``, which nothing else reports;
- camera events by their ``EventID``.

``timeless`` may be turned off around a broker restart: a message whose PUBACK the broker
never sent is sent again by the publisher as a new message, and a reading without a
timestamp in it cannot be told from a new one (MQTT has no end-to-end message identity).
"""

import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

TAGS = [f"AA:BB:CC:00:01:{i:02X}" for i in range(24)]
TIMELESS_TAGS = [f"AA:BB:CC:00:02:{i:02X}" for i in range(4)]
GATEWAYS = [f"AC233FC0A0{i:02X}" for i in range(4)]
CAMERA = "chaoscam01"


def gateway_mac(gateway: str) -> str:
    return ":".join(gateway[i : i + 2] for i in range(0, 12, 2))


@dataclass
class Sent:
    mid: int
    acknowledged: bool = False
    readings: list[tuple[str, str, datetime]] = field(default_factory=list)
    timeless: int = 0
    event_id: str | None = None


class SteadyLoad:
    """Publishes ``rate`` messages a second (each with ``per_message`` readings, one in
    ``camera_every`` a camera event instead) until ``stop()``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        prefix: str,
        camera_base: str,
        rate: float,
        per_message: int = 8,
        camera_every: int = 10,
        seed: int = 20261129,
    ) -> None:
        self.prefix = prefix
        self.camera_base = camera_base
        self.rate = rate
        self.per_message = min(per_message, len(TAGS))
        self.camera_every = camera_every
        self.timeless = threading.Event()
        self.timeless.set()
        self._rnd = random.Random(seed)
        self._origin = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self._sent: list[Sent] = []
        self._lock = threading.Lock()
        # Message ids the broker acknowledged, appended by paho's thread (which holds paho's
        # own lock then: it must not wait for ours), matched with what was sent under ours.
        self._pubacks: deque[int] = deque()
        self._pending: dict[int, Sent] = {}
        self._early: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"chaos-load-{prefix.split('/', 1)[0]}"[:64],
            protocol=paho.MQTTv311,
            clean_session=True,
        )
        self._client.max_inflight_messages_set(200)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(0.2, 2)
        self._client.on_publish = self._on_publish
        self._client.connect_async(host, port, keepalive=10)

    def start(self) -> None:
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="steady-load", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing (what is in flight still gets its acknowledgement)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def close(self) -> None:
        self.stop()
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def published(self) -> int:
        with self._lock:
            return len(self._sent)

    def unacknowledged(self) -> int:
        with self._lock:
            self._match()
            return len(self._pending)

    def acknowledged(self) -> list[Sent]:
        with self._lock:
            self._match()
            return [s for s in self._sent if s.acknowledged]

    def _on_publish(self, client: object, userdata: object, mid: int, *_: object) -> None:
        self._pubacks.append(mid)

    def _match(self) -> None:
        while self._pubacks:
            mid = self._pubacks.popleft()
            sent = self._pending.pop(mid, None)
            if sent is None:
                self._early.add(mid)  # acknowledged before ``_record`` saw its id
            else:
                sent.acknowledged = True

    def acknowledged_readings(self) -> int:
        return sum(len(s.readings) + s.timeless for s in self.acknowledged())

    def _run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._publish_one()
            next_at += interval
            pause = next_at - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
            elif pause < -1.0:
                next_at = time.monotonic()  # behind by a second: do not burst to catch up

    def _publish_one(self) -> None:
        self._seq += 1
        seq = self._seq
        rnd = self._rnd
        gateway = GATEWAYS[seq % len(GATEWAYS)]
        if seq % self.camera_every == 0:
            event_id = f"chaos-{seq}"
            topic = f"{self.camera_base}/default/predio_a/terreo/camera/{CAMERA}/crossLine/events"
            body = {
                "AnalyticType": "CrossLineDetection",
                "DeviceID": CAMERA,
                "DeviceType": "camera",
                "EventID": event_id,
                "Timestamp": datetime.now(UTC).isoformat(),
                "Meta": {"action": "Start", "seq": seq},
            }
            self._record(Sent(mid=self._send(topic, body), event_id=event_id))
            return
        topic = f"{self.prefix}/{gateway}/beacon"
        if seq % 7 == 3 and self.timeless.is_set():
            body = {"readings": [{"tag_mac": tag, "rssi": -70} for tag in TIMELESS_TAGS]}
            self._record(Sent(mid=self._send(topic, body), timeless=len(TIMELESS_TAGS)))
            return
        at = self._origin + timedelta(seconds=rnd.randrange(1800), microseconds=seq % 1_000_000)
        tags = rnd.sample(TAGS, self.per_message)
        rssis = [rnd.randint(-95, -40) for _ in tags]
        payload: object
        if seq % 2:
            payload = {
                "readings": [
                    {"tag_mac": t, "rssi": r, "ts": at.isoformat()}
                    for t, r in zip(tags, rssis, strict=True)
                ]
            }
        else:
            payload = [{"type": "Gateway", "mac": gateway}] + [
                {
                    "type": "iBeacon",
                    "mac": t.replace(":", ""),
                    "rssi": r,
                    "timestamp": at.isoformat(),
                }
                for t, r in zip(tags, rssis, strict=True)
            ]
        mac = gateway_mac(gateway)
        readings = [(mac, tag, at) for tag in tags]
        self._record(Sent(mid=self._send(topic, payload), readings=readings))

    def _send(self, topic: str, body: object) -> int:
        # Returns at once; not connected, the message waits in paho's queue and goes out
        # after the reconnection.
        info = self._client.publish(topic, json.dumps(body).encode(), qos=1)
        return info.mid if info.rc != paho.MQTT_ERR_QUEUE_SIZE else -1

    def _record(self, sent: Sent) -> None:
        if sent.mid < 0:
            return
        with self._lock:
            self._sent.append(sent)
            self._match()
            if sent.mid in self._early:
                self._early.discard(sent.mid)
                sent.acknowledged = True
            else:
                self._pending[sent.mid] = sent
