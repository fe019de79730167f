"""Made-up but plausible RTLS gateway traffic, as ``(topic, payload)`` publications.

It exists so the ingest path can be watched and loaded without a building full of hardware,
and so every payload format the decoder reads has a writer to round-trip against. Nothing
here touches a network: the ``simulate`` command publishes what this generates.

The world: gateways stand along a corridor (gateway *i* neighbours *i-1* and *i+1*); every
tag stays near one gateway for a random dwell, then walks to a neighbour. Each time a tag is
heard, its current gateway hears it strongest (about -55..-72 dBm) and up to two neighbours
weaker (-76..-90 dBm), so the nearest is always the loudest. Gateways heartbeat every 10 s.
A seed makes the whole run repeatable: the same seed and the same calls give the same bytes.
"""

import random
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

__all__ = [
    "HEARTBEAT_SECONDS",
    "MIXED",
    "PAYLOAD_FORMATS",
    "Publication",
    "SimulatedGateway",
    "SimulatedReading",
    "TrafficSimulator",
    "encode_heartbeat",
    "encode_readings",
    "gateway_mac",
    "tag_mac",
]

PAYLOAD_FORMATS = ("readings", "flat", "minew", "espresense", "ingics", "aprilbrother")
MIXED = "mixed"
HEARTBEAT_SECONDS = 10.0
MAX_GATEWAYS = 0xFFFF - 0xEE00
DEMO_TENANT = "demo"
DEMO_BUILDING = "hq"

_DWELL_SECONDS = (30.0, 300.0)
_NEAREST_DBM = (-72.0, -55.0)
_NEIGHBOUR_DBM = (-90.0, -76.0)
_WEAKEST_DBM = -95
_FLOORS = 3
_IBEACON_ADV = bytes.fromhex("0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E003E805DCC5")
_IBEACON_UUID = "E2C56DB5DFFB48D2B060D0F5A71096E0"


class Publication(msgspec.Struct, frozen=True, kw_only=True):
    """One MQTT message to publish, and how many readings it carries."""

    topic: str
    payload: bytes
    readings: int = 0
    retain: bool = False


class SimulatedGateway(msgspec.Struct, frozen=True, kw_only=True):
    """A gateway of the simulated site; ``payload_format`` is the firmware it speaks."""

    index: int
    mac: str
    payload_format: str
    floor: str

    @property
    def compact_mac(self) -> str:
        return self.mac.replace(":", "")


class SimulatedReading(msgspec.Struct, frozen=True, kw_only=True):
    """A tag heard by a gateway at a moment: what an encoder turns into bytes."""

    gateway_mac: str
    tag_mac: str
    rssi: int
    ts: datetime


class _Draws(random.Random):
    """The simulation's seeded draws: repeatable traffic, never anything secret."""

    def dbm(self, bounds: tuple[float, float]) -> int:
        return round(self.uniform(*bounds) + self.gauss(0.0, 1.5))


class _TagState:
    __slots__ = ("gateway", "until")

    def __init__(self, gateway: int, until: float) -> None:
        self.gateway = gateway
        self.until = until


def gateway_mac(index: int) -> str:
    """``AA:BB:CC:DD:EE:01`` for the first gateway (index 0), as the original simulator."""
    value = 0xAABBCCDDEE00 + index + 1
    return _mac(value)


def tag_mac(index: int) -> str:
    """``11:22:33:44:55:66``, ``…:77``, ``…:88``, ``…:99`` (the original's four tags), then on
    in steps of 0x11."""
    return _mac(0x112233445566 + index * 0x11)


def _mac(value: int) -> str:
    return value.to_bytes(6, "big").hex(":").upper()


class TrafficSimulator:
    """The simulated site: call :meth:`tick` with the time and how many readings are due."""

    def __init__(
        self,
        *,
        gateways: int,
        tags: int,
        seed: int,
        prefix: str = "rtls/gateways",
        payload_format: str = MIXED,
    ) -> None:
        if not 1 <= gateways <= MAX_GATEWAYS:
            raise ValueError(f"gateways must be 1..{MAX_GATEWAYS}, not {gateways}")
        if tags < 1:
            raise ValueError(f"tags must be at least 1, not {tags}")
        if payload_format != MIXED and payload_format not in PAYLOAD_FORMATS:
            raise ValueError(f"unknown payload format {payload_format!r}")
        self._draws = _Draws(seed)
        self._prefix = prefix.removesuffix("#").strip("/")
        self.gateways = tuple(
            SimulatedGateway(
                index=index,
                mac=gateway_mac(index),
                payload_format=(
                    PAYLOAD_FORMATS[index % len(PAYLOAD_FORMATS)]
                    if payload_format == MIXED
                    else payload_format
                ),
                floor=str(index % _FLOORS + 1),
            )
            for index in range(gateways)
        )
        self.tag_macs = tuple(tag_mac(index) for index in range(tags))
        self._tags = [
            _TagState(self._draws.randrange(gateways), self._draws.uniform(*_DWELL_SECONDS))
            for _ in range(tags)
        ]
        self._cursor = 0
        self._start: datetime | None = None
        # Every gateway announces itself on the first tick, so all of them show up at once.
        self._next_heartbeat = [0.0] * gateways
        self._message_id = 0

    def neighbours(self, index: int) -> tuple[int, ...]:
        return tuple(i for i in (index - 1, index + 1) if 0 <= i < len(self.gateways))

    def location_of(self, tag: str) -> str:
        """The MAC of the gateway the tag is nearest to now."""
        return self.gateways[self._tags[self.tag_macs.index(tag)].gateway].mac

    def tick(self, now: datetime, readings: int) -> list[Publication]:
        """Heartbeats due by ``now`` and ``readings`` readings heard at ``now``, encoded each
        in its gateway's format."""
        publications = self.heartbeats(now)
        heard = self.readings(now, readings)
        by_gateway: dict[str, list[SimulatedReading]] = {}
        for reading in heard:
            by_gateway.setdefault(reading.gateway_mac, []).append(reading)
        for gateway in self.gateways:
            batch = by_gateway.get(gateway.mac)
            if batch:
                self._message_id += 1
                publications.extend(
                    encode_readings(
                        gateway, batch, prefix=self._prefix, message_id=self._message_id
                    )
                )
        return publications

    def heartbeats(self, now: datetime) -> list[Publication]:
        elapsed = self._elapsed(now)
        due: list[Publication] = []
        for gateway in self.gateways:
            if self._next_heartbeat[gateway.index] <= elapsed:
                due.append(encode_heartbeat(gateway, now, prefix=self._prefix))
                self._next_heartbeat[gateway.index] += HEARTBEAT_SECONDS * (
                    1 + (elapsed - self._next_heartbeat[gateway.index]) // HEARTBEAT_SECONDS
                )
        return due

    def readings(self, now: datetime, count: int) -> list[SimulatedReading]:
        """Exactly ``count`` readings: tags take turns, each heard by one to three gateways."""
        elapsed = self._elapsed(now)
        heard: list[SimulatedReading] = []
        while len(heard) < count:
            index = self._cursor
            self._cursor = (self._cursor + 1) % len(self._tags)
            state = self._tags[index]
            if elapsed >= state.until:
                state.gateway = self._draws.choice(
                    self.neighbours(state.gateway) or (state.gateway,)
                )
                state.until = elapsed + self._draws.uniform(*_DWELL_SECONDS)
            heard.extend(self._heard(self.tag_macs[index], state.gateway, now))
        del heard[count:]
        return heard

    def _heard(self, tag: str, nearest: int, now: datetime) -> list[SimulatedReading]:
        loudest = min(self._draws.dbm(_NEAREST_DBM), -50)
        heard = [
            SimulatedReading(
                gateway_mac=self.gateways[nearest].mac, tag_mac=tag, rssi=loudest, ts=now
            )
        ]
        neighbours = self.neighbours(nearest)
        for other in self._draws.sample(neighbours, self._draws.randint(0, len(neighbours))):
            rssi = max(min(self._draws.dbm(_NEIGHBOUR_DBM), loudest - 3), _WEAKEST_DBM)
            heard.append(
                SimulatedReading(
                    gateway_mac=self.gateways[other].mac, tag_mac=tag, rssi=rssi, ts=now
                )
            )
        return heard

    def _elapsed(self, now: datetime) -> float:
        if self._start is None:
            self._start = now
        return (now - self._start).total_seconds()


# --- encoders: one per firmware -------------------------------------------------------------


def encode_heartbeat(gateway: SimulatedGateway, now: datetime, *, prefix: str) -> Publication:
    """The original simulator's heartbeat, on ``<prefix>/<gateway MAC>/heartbeat``."""
    document = {"gateway_mac": gateway.mac, "timestamp": _naive_iso(now), "online": True}
    return Publication(
        topic=f"{prefix}/{gateway.mac}/heartbeat", payload=msgspec.json.encode(document)
    )


def encode_readings(
    gateway: SimulatedGateway,
    readings: Sequence[SimulatedReading],
    *,
    prefix: str,
    message_id: int = 0,
) -> list[Publication]:
    """The readings of one gateway in its format: one message for the formats that batch,
    one per reading for those that do not (flat detections, ESPresense)."""
    match gateway.payload_format:
        case "readings":
            return [_documented(gateway, readings, prefix)]
        case "flat":
            return [_flat(gateway, reading, prefix) for reading in readings]
        case "minew":
            return [_minew(gateway, readings, prefix)]
        case "espresense":
            return [_espresense(gateway, reading, prefix) for reading in readings]
        case "ingics":
            return [_ingics(gateway, readings, prefix)]
        case "aprilbrother":
            return [_april_brother(gateway, readings, prefix, message_id)]
        case other:
            raise ValueError(f"unknown payload format {other!r}")


def _documented(
    gateway: SimulatedGateway, readings: Sequence[SimulatedReading], prefix: str
) -> Publication:
    document = {
        "readings": [{"tag_mac": r.tag_mac, "rssi": r.rssi, "ts": _iso_z(r.ts)} for r in readings]
    }
    return Publication(
        topic=f"{prefix}/{gateway.compact_mac}/beacon",
        payload=msgspec.json.encode(document),
        readings=len(readings),
    )


def _flat(gateway: SimulatedGateway, reading: SimulatedReading, prefix: str) -> Publication:
    document = {
        "gateway_mac": gateway.mac,
        "tag_mac": reading.tag_mac,
        "rssi": reading.rssi,
        "timestamp": _naive_iso(reading.ts),
    }
    return Publication(
        topic=f"{prefix}/{gateway.mac}/detection",
        payload=msgspec.json.encode(document),
        readings=1,
    )


def _minew(
    gateway: SimulatedGateway, readings: Sequence[SimulatedReading], prefix: str
) -> Publication:
    elements: list[dict[str, object]] = [
        {
            "timestamp": _iso_z(readings[0].ts),
            "type": "Gateway",
            "mac": gateway.compact_mac,
            "gatewayFree": 90,
            "gatewayLoad": 0.4,
        }
    ]
    elements.extend(
        {
            "timestamp": _iso_z(r.ts),
            "type": "iBeacon",
            "mac": r.tag_mac.replace(":", ""),
            "bleName": "",
            "ibeaconUuid": _IBEACON_UUID,
            "ibeaconMajor": 1000,
            "ibeaconMinor": 1500,
            "rssi": r.rssi,
            "ibeaconTxPower": -59,
            "battery": 100,
        }
        for r in readings
    )
    topic = f"{prefix}/{DEMO_TENANT}/{DEMO_BUILDING}/{gateway.floor}/gateway/{gateway.compact_mac}"
    return Publication(topic=topic, payload=msgspec.json.encode(elements), readings=len(readings))


def _espresense(gateway: SimulatedGateway, reading: SimulatedReading, prefix: str) -> Publication:
    # ESPresense reports no time and no gateway: the topic names the gateway.
    distance = round(10 ** ((-59 - reading.rssi) / 20), 2)
    document = {
        "id": f"iBeacon:{_IBEACON_UUID.lower()}-1000-1500",
        "mac": reading.tag_mac.replace(":", "").lower(),
        "rssi@1m": -59,
        "rssi": reading.rssi,
        "rxAdj": 0,
        "distance": distance,
    }
    return Publication(
        topic=f"{prefix}/{gateway.compact_mac}",
        payload=msgspec.json.encode(document),
        readings=1,
    )


def _ingics(
    gateway: SimulatedGateway, readings: Sequence[SimulatedReading], prefix: str
) -> Publication:
    advertisement = _IBEACON_ADV.hex().upper()
    lines = [
        f"$GPRP,{r.tag_mac.replace(':', '')},{gateway.compact_mac},{r.rssi},{advertisement},"
        f"{int(r.ts.timestamp())}"
        for r in readings
    ]
    return Publication(
        topic=f"{prefix}/{gateway.compact_mac}/beacon",
        payload="\r\n".join(lines).encode("ascii"),
        readings=len(readings),
    )


def _april_brother(
    gateway: SimulatedGateway,
    readings: Sequence[SimulatedReading],
    prefix: str,
    message_id: int,
) -> Publication:
    devices = [
        b"\x00"
        + bytes.fromhex(r.tag_mac.replace(":", ""))
        + (r.rssi & 0xFF).to_bytes(1, "big")
        + _IBEACON_ADV
        for r in readings
    ]
    document = {
        "v": 1,
        "mid": message_id,
        "time": int(readings[0].ts.timestamp()) if readings else 0,
        "ip": f"10.0.{gateway.index // 250}.{gateway.index % 250 + 2}",
        "mac": gateway.mac,
        "rssi": -45,
        "devices": devices,
    }
    return Publication(
        topic=f"{prefix}/{gateway.compact_mac}/beacon",
        payload=msgspec.msgpack.encode(document),
        readings=len(readings),
    )


def _iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Minew firmware writes it."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _naive_iso(moment: datetime) -> str:
    """Naive ISO 8601 meaning UTC, as the original simulator wrote it."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
