"""Made-up but plausible cam-bus traffic, as publications: what ``securityvision simulate``
sends for cameras, shaped exactly as cam-bus's Go code emits it (CLIENTS.md §15).

The world: a few cameras on one floor of the demo site, each reporting its status every
15 s (retained, as cam-bus does), their collector reporting its own on the same tick, and
faces walking past — a ``faceCapture`` with a small generated JPEG inline (``SnapshotB64``),
followed now and then by the face router's ``faceRecognized`` of the same capture (same
``EventID``, the person in ``Meta``). A seed makes the run repeatable. Nothing here touches
a network.
"""

import base64
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec

from securityvision.adapters.mqtt.simulator import Publication

__all__ = [
    "DEMO_CAMERA_PLACE",
    "STATUS_SECONDS",
    "CameraSimulator",
    "camera_code",
    "face_jpeg",
]

STATUS_SECONDS = 15.0
# The demo site of `securityvision dev` as cam-bus's topics name it: the default tenant,
# "Demo building", "Ground floor" (each as a topic level).
DEMO_CAMERA_PLACE = ("default", "demo_building", "ground_floor")
_RECOGNIZED_SHARE = 0.6
_RECOGNITION_DELAY = (0.5, 2.0)
_FIRST_CAPTURE_WITHIN = 1.0
_PEOPLE = (
    ("Ana Souza", 101),
    ("Bruno Lima", 102),
    ("Carla Dias", 103),
    ("Diego Alves", 104),
    ("Elisa Rocha", 105),
)


def camera_code(index: int) -> str:
    """``SIM-CAM-01`` for the first camera (index 0): how ``dev --simulate`` registers them."""
    return f"SIM-CAM-{index + 1:02d}"


class _Draws(random.Random):
    """The simulation's seeded draws: repeatable traffic, never anything secret."""


class _Pending(msgspec.Struct, kw_only=True):
    camera: int
    due: float
    capture: dict[str, object]
    meta: dict[str, object]


class CameraSimulator:
    """The simulated cameras: call :meth:`tick` with the time; it returns what is due."""

    def __init__(
        self,
        *,
        cameras: int,
        seed: int,
        prefix: str = "rtls/cameras",
        place: tuple[str, str, str] = DEMO_CAMERA_PLACE,
        captures_per_minute: float = 4.0,
    ) -> None:
        if cameras < 0:
            raise ValueError(f"cameras must not be negative, not {cameras}")
        if captures_per_minute <= 0:
            raise ValueError("captures_per_minute must be positive")
        self._draws = _Draws(seed)
        self._prefix = prefix.removesuffix("#").strip("/")
        self._tenant, self._building, self._floor = place
        self.codes = tuple(camera_code(i) for i in range(cameras))
        self._per_second = captures_per_minute / 60.0
        self._start: datetime | None = None
        self._next_status = 0.0
        self._next_capture = [
            self._draws.uniform(0.0, _FIRST_CAPTURE_WITHIN) for _ in range(cameras)
        ]
        self._pending: list[_Pending] = []
        self._events = 0

    def topic(self, camera: int, *rest: str) -> str:
        device = self.codes[camera].lower()
        return "/".join(
            (self._prefix, self._tenant, self._building, self._floor, "camera", device, *rest)
        )

    def tick(self, now: datetime) -> list[Publication]:
        """Statuses due, then captures and recognitions due by ``now``."""
        elapsed = self._elapsed(now)
        due: list[Publication] = []
        if self.codes and elapsed >= self._next_status:
            due.extend(self._statuses(now))
            self._next_status += STATUS_SECONDS * (
                1 + (elapsed - self._next_status) // STATUS_SECONDS
            )
        for camera in range(len(self.codes)):
            while self._next_capture[camera] <= elapsed:
                due.append(self._capture(camera, now))
                self._next_capture[camera] += self._draws.expovariate(self._per_second)
        ready = [p for p in self._pending if p.due <= elapsed]
        self._pending = [p for p in self._pending if p.due > elapsed]
        due.extend(self._recognition(p, now) for p in ready)
        return due

    def _statuses(self, now: datetime) -> Iterator[Publication]:
        stamp = _rfc3339(now)
        for camera in range(len(self.codes)):
            document = {
                "analytics_active": ["faceCapture"],
                "analytics_configured": ["faceCapture"],
                "building": self._building,
                "device_id": self.codes[camera].lower(),
                "device_type": "camera",
                "ever_connected": True,
                "floor": self._floor,
                "shard": "shard-1",
                "status": "online",
                "status_since": _rfc3339(self._start or now),
                "tenant": self._tenant,
                "timestamp": stamp,
            }
            yield Publication(
                topic=self.topic(camera, "status"),
                payload=msgspec.json.encode(document),
                retain=True,
            )
        collector = {
            "cameras": len(self.codes),
            "collector": "cam-bus",
            "cpu_percent": round(self._draws.uniform(1.0, 6.0), 1),
            "hostname": "cambus-simulator",
            "memory_percent": round(self._draws.uniform(0.5, 2.0), 1),
            "memory_rss_bytes": 52_428_800,
            "shard": "shard-1",
            "status": "online",
            "timestamp": stamp,
        }
        yield Publication(
            topic=f"{self._prefix}/{self._tenant}/{self._building}/collector/status",
            payload=msgspec.json.encode(collector),
            retain=True,
        )

    def _capture(self, camera: int, now: datetime) -> Publication:
        self._events += 1
        nanos = int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000 + self._events
        meta: dict[str, object] = {
            "bestScore": self._draws.randint(60, 99),
            "channelID": 1,
            "channelName": "Camera 01",
            "eventDescription": "faceCapture",
            "eventState": "active",
            "eventType": "faceCapture",
            "facesCount": 1,
        }
        document: dict[str, object] = {
            "AnalyticType": "faceCapture",
            "Building": self._building,
            "CameraIP": f"10.0.9.{camera + 10}",
            "CameraName": f"Simulated camera {camera + 1}",
            "DeviceID": self.codes[camera].lower(),
            "DeviceType": "camera",
            "EventID": f"json-{nanos}",
            "Floor": self._floor,
            "Meta": meta,
            "Tenant": self._tenant,
            "Timestamp": _rfc3339_nano(now),
        }
        if self._draws.random() < _RECOGNIZED_SHARE:
            self._pending.append(
                _Pending(
                    camera=camera,
                    due=self._elapsed(now) + self._draws.uniform(*_RECOGNITION_DELAY),
                    capture=document,
                    meta=meta,
                )
            )
        inline = document | {"SnapshotB64": base64.b64encode(face_jpeg(self._draws)).decode()}
        return Publication(
            topic=self.topic(camera, "faceCapture", "events"),
            payload=msgspec.json.encode(inline, order="sorted"),
        )

    def _recognition(self, pending: _Pending, now: datetime) -> Publication:
        """The face router's copy of a capture: same EventID, the person in ``Meta``."""
        name, card = self._draws.choice(_PEOPLE)
        meta = pending.meta | {
            "ff_card_id": card,
            "ff_confidence": round(self._draws.uniform(0.80, 0.99), 4),
            "ff_event_id": f"{self._draws.getrandbits(24):06x}",
            "ff_matched": True,
            "ff_person_name": name,
        }
        document = pending.capture | {"AnalyticType": "faceRecognized", "Meta": meta}
        return Publication(
            topic=self.topic(pending.camera, "faceRecognized", "events"),
            payload=msgspec.json.encode(document, order="sorted"),
        )

    def _elapsed(self, now: datetime) -> float:
        if self._start is None:
            self._start = now
        return (now - self._start).total_seconds()


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc3339_nano(moment: datetime) -> str:
    """Go's RFC3339Nano (nanoseconds, trailing zeros dropped)."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}000".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


# --- a small JPEG, written by hand ----------------------------------------------------------
#
# A baseline greyscale JPEG whose 8x8 blocks each hold one flat grey (only the DC coefficient
# is coded): a blurry face-like mosaic, a few hundred bytes, that every decoder reads.

_SIZE_BLOCKS = 6  # 48 x 48 pixels
# The standard luminance DC table (ITU T.81, Annex K.3): code lengths, then the symbols.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
# An AC table with one symbol, EOB (0x00), coded as the one-bit code 0.
_AC_BITS = (1, *([0] * 15))
_AC_VALUES = (0,)
_DC_QUANT = 8  # a flat block's DC coefficient is 8 x (grey - 128)


def _huffman_codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """Symbol -> (code, length), assigned canonically as T.81 Annex C does."""
    codes: dict[int, tuple[int, int]] = {}
    code, index = 0, 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[index]] = (code, length)
            code += 1
            index += 1
        code <<= 1
    return codes


_DC_CODES = _huffman_codes(_DC_BITS, _DC_VALUES)
_EOB = _huffman_codes(_AC_BITS, _AC_VALUES)[0]


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._count = 0

    def put(self, value: int, length: int) -> None:
        for shift in range(length - 1, -1, -1):
            self._acc = (self._acc << 1) | ((value >> shift) & 1)
            self._count += 1
            if self._count == 8:
                self._emit()

    def flush(self) -> bytes:
        while self._count:
            self.put(1, 1)  # pad with ones
        return bytes(self.out)

    def _emit(self) -> None:
        self.out.append(self._acc)
        if self._acc == 0xFF:
            self.out.append(0x00)  # byte stuffing
        self._acc, self._count = 0, 0


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body


def face_jpeg(draws: random.Random) -> bytes:
    """A small greyscale JPEG of a face-like blob (lighter oval on a darker ground)."""
    n = _SIZE_BLOCKS
    centre = (n - 1) / 2
    greys = []
    for row in range(n):
        for col in range(n):
            inside = ((col - centre) / (n * 0.36)) ** 2 + ((row - centre) / (n * 0.45)) ** 2
            base = 200 if inside <= 1 else 60
            greys.append(max(0, min(255, base + draws.randint(-25, 25))))
    bits = _Bits()
    previous = 0
    for grey in greys:
        dc = grey - 128  # quantized: 8 x (grey - 128) / _DC_QUANT
        diff = dc - previous
        previous = dc
        size = abs(diff).bit_length()
        bits.put(*_DC_CODES[size])
        if size:
            bits.put(diff if diff > 0 else diff + (1 << size) - 1, size)
        bits.put(*_EOB)
    side = (n * 8).to_bytes(2, "big")
    quant = bytes((_DC_QUANT, *([1] * 63)))
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, b"\x00" + quant),
            _segment(0xC0, b"\x08" + side + side + b"\x01\x01\x11\x00"),
            _segment(0xC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALUES)),
            _segment(0xC4, b"\x10" + bytes(_AC_BITS) + bytes(_AC_VALUES)),
            _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            bits.flush(),
            b"\xff\xd9",
        )
    )
