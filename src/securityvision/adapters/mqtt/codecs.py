"""Gateway payloads of every make, read into one :class:`GatewayMessage`.

The shape is told by the content, never by configuration, because a site mixes makes and an
operator cannot be asked which firmware sits behind every topic:

- a first byte of ``0x80`` or above (no BOM) is MessagePack: April Brother V4
  ``{"mac": <gateway>, "devices": [<bin>]}``, each device ``type(1) MAC(6) rssi(1, signed)
  adv…``;
- ``$`` starts Ingics text lines ``$GPRP,<tag>,<gateway>,<rssi>,<adv hex>[,<unix ts>]``;
- anything else is JSON: ``{"readings": [...]}``, a flat detection, an ESPresense report,
  a Minew array, or a heartbeat or status document; a bare ``online``/``offline`` word (a
  broker's last will, often) is a status too.

How a message is accounted for — the invariant the tests hold this module to: every message
yields at least one observation, or at least one rejection, or an ``online`` verdict. A
problem with one reading rejects that reading alone and keeps its neighbours. A valid but
empty report (``{"readings": []}``, a Minew array with only its gateway element, any
document or an empty payload on a ``heartbeat``/``status`` topic) says the gateway is alive:
``online=True``. A document of a shape nothing here reads is ``wrong_type``.

Decisions where the formats leave room:

- The gateway is the topic's MAC when its id is one (as the original did), else the first
  valid MAC the payload names (``gateway_mac``, ``gateway``, ``gw_mac``, ``device_mac``, a
  Minew ``Gateway`` element, the Ingics gateway field, April Brother's ``mac``; a top-level
  ``mac`` counts only when something else names the tag). A gateway MAC in the payload that
  is not one is ignored, not rejected: the topic still names the gateway.
- ``mac`` is the tag when no ``tag_mac``/``tag``/``tagMac`` is present (flat detections,
  ESPresense, Minew elements).
- RSSI must be a JSON number (floats are rounded); a numeric string is ``invalid_rssi``, as
  is a missing one. A missing or non-string tag MAC is ``invalid_mac``; a reading that is
  not an object is ``wrong_type``.
- Timestamps: ISO 8601 (naive means UTC; any offset is converted to UTC), or epoch numbers
  (or digit strings): seconds below 1e11, else milliseconds (1e11 s is the year 5138, 1e11 ms
  is 1973). Anything before 2000-01-01 is ``invalid_timestamp``: it is a gateway whose clock
  was never set (uptime counted from 1970), and storing it would bury the reading decades
  back. Absent means None. Whether a time is too far ahead is the ingest use case's call.
- An empty payload on a topic that is not ``heartbeat``/``status`` is ``undecodable``.
- Over 256 KiB is one ``too_large`` rejection and nothing else is read.
- Only with no gateway identity at all (a hand-built topic with an empty id and a payload
  naming none) is the message ``no_gateway``; its readings cannot be attributed and are
  dropped with it.
"""

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import msgspec

from securityvision.domain.errors import InvalidInput
from securityvision.domain.rtls import (
    RSSI_MAX,
    RSSI_MIN,
    GatewayMessage,
    GatewayTopic,
    Observation,
    Rejection,
    normalize_mac,
)

__all__ = ["INTERNAL_ERROR", "MAX_PAYLOAD_BYTES", "decode_gateway_message"]

MAX_PAYLOAD_BYTES: Final = 256 * 1024
# The detail of the rejection given when this module itself fails; tests assert it never
# appears, since every input is meant to be read or rejected on purpose.
INTERNAL_ERROR: Final = "internal error"

_MAX_DETAIL: Final = 120
_EXCERPT: Final = 48
_MAX_MAC_TEXT: Final = 32
_MAX_TIME_TEXT: Final = 40
_MAX_STATUS_WORD: Final = 16
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
_MILLISECONDS_FROM: Final = 1e11
_BOM: Final = b"\xef\xbb\xbf"
_MSGPACK_FROM: Final = 0x80
_DOLLAR: Final = ord("$")
_DEVICE_RECORD_MIN: Final = 8
_INGICS_FIELDS: Final = (5, 6)

_TAG_KEYS: Final = ("tag_mac", "tag", "tagMac")
_GATEWAY_KEYS: Final = ("gateway_mac", "gateway", "gw_mac", "device_mac")
_ACTIVITY_KINDS: Final = frozenset({"heartbeat", "status"})
_STATUS_WORDS: Final = {
    "online": True,
    "connected": True,
    "up": True,
    "alive": True,
    "ok": True,
    "true": True,
    "offline": False,
    "disconnected": False,
    "down": False,
    "dead": False,
    "lost": False,
    "false": False,
}

_decode_json = msgspec.json.Decoder().decode
_decode_msgpack = msgspec.msgpack.Decoder().decode


def decode_gateway_message(topic: GatewayTopic, payload: bytes) -> GatewayMessage:
    """Everything one MQTT message of a gateway says; never raises, whatever the bytes."""
    parts = _Parts()
    try:
        _read_payload(topic, payload, parts)
    except Exception as exc:
        # Unreachable by design; should a bug make it reachable, it costs one message, and is
        # counted, rather than the worker.
        parts = _Parts()
        parts.reject("undecodable", f"{INTERNAL_ERROR}: {type(exc).__name__}")
    return parts.message(topic)


class _Parts:
    """What a message has yielded so far; mutable while reading, frozen by ``message``."""

    __slots__ = ("gateway", "observations", "online", "recognized", "rejections")

    def __init__(self) -> None:
        self.gateway: str | None = None
        self.observations: list[Observation] = []
        self.rejections: list[Rejection] = []
        self.online: bool | None = None
        # A document of a known shape, even an empty one: the gateway is talking.
        self.recognized = False

    def reject(self, reason: str, detail: str) -> None:
        self.rejections.append(Rejection(reason=reason, detail=detail[:_MAX_DETAIL]))

    def offer_gateway(self, value: object) -> None:
        if self.gateway is None:
            self.gateway = _any_mac(value)

    def offer_gateway_keys(self, document: dict[Any, Any], keys: Iterable[str]) -> None:
        if self.gateway is not None:
            return
        for key in keys:
            value = document.get(key)
            if value is not None:
                mac = _any_mac(value)
                if mac is not None:
                    self.gateway = mac
                    return

    def message(self, topic: GatewayTopic) -> GatewayMessage:
        gateway = topic.gateway_mac or self.gateway
        if gateway is None and not topic.gateway_id.strip():
            detail = "neither the topic nor the payload names a gateway"
            return GatewayMessage(
                topic=topic, rejections=(Rejection(reason="no_gateway", detail=detail),)
            )
        online = self.online
        if not self.observations and not self.rejections and online is None:
            if self.recognized:
                online = True
            else:
                self.reject("wrong_type", "no readings, status or heartbeat in the payload")
        return GatewayMessage(
            topic=topic,
            gateway_mac=gateway,
            observations=tuple(self.observations),
            rejections=tuple(self.rejections),
            online=online,
        )


# --- the payload as a whole ---------------------------------------------------------------


def _read_payload(topic: GatewayTopic, payload: bytes, parts: _Parts) -> None:
    size = len(payload)
    if size > MAX_PAYLOAD_BYTES:
        parts.reject("too_large", f"{size} bytes, more than {MAX_PAYLOAD_BYTES}")
        return
    if size and payload[0] >= _MSGPACK_FROM and not payload.startswith(_BOM):
        _read_msgpack(topic, payload, parts)
        return
    body = payload.removeprefix(_BOM).strip()
    if not body:
        if topic.kind in _ACTIVITY_KINDS:
            parts.online = True
        else:
            parts.reject("undecodable", "empty payload")
        return
    if body[0] == _DOLLAR:
        _read_ingics(body, parts)
        return
    try:
        document = _decode_json(body)
    except (msgspec.DecodeError, RecursionError):
        word = body.lower().decode("ascii", "replace") if len(body) <= _MAX_STATUS_WORD else ""
        if word in _STATUS_WORDS:
            parts.online = _STATUS_WORDS[word]
        else:
            parts.reject("undecodable", f"neither JSON, MessagePack nor Ingics: {_excerpt(body)}")
        return
    _read_document(topic, document, parts)


def _read_msgpack(topic: GatewayTopic, payload: bytes, parts: _Parts) -> None:
    try:
        document = _decode_msgpack(payload)
    except (msgspec.DecodeError, RecursionError):
        parts.reject("undecodable", f"not MessagePack: {_excerpt(payload)}")
        return
    _read_document(topic, document, parts)


def _read_document(topic: GatewayTopic, document: object, parts: _Parts) -> None:
    if isinstance(document, dict):
        _read_object(topic, document, parts)
    elif isinstance(document, list):
        _read_array(document, parts)
    elif isinstance(document, str) and document.strip().lower() in _STATUS_WORDS:
        parts.online = _STATUS_WORDS[document.strip().lower()]
    else:
        parts.reject("wrong_type", f"a document that is a {type(document).__name__}")


def _read_object(topic: GatewayTopic, document: dict[Any, Any], parts: _Parts) -> None:
    parts.online = _online_of(document)
    if "readings" in document:
        parts.offer_gateway_keys(document, (*_GATEWAY_KEYS, "mac"))
        _read_readings(document["readings"], parts)
    elif "devices" in document:
        parts.offer_gateway_keys(document, ("mac", *_GATEWAY_KEYS))
        _read_devices(document["devices"], parts)
    elif any(key in document for key in _TAG_KEYS):
        parts.offer_gateway_keys(document, (*_GATEWAY_KEYS, "mac"))
        _read_reading(document, parts)
    elif "rssi" in document or "RSSI" in document:
        # Flat detection or ESPresense without a tag key: then ``mac`` is the tag.
        parts.offer_gateway_keys(document, _GATEWAY_KEYS)
        _read_reading(document, parts)
    else:
        parts.offer_gateway_keys(document, (*_GATEWAY_KEYS, "mac"))
        kind = document.get("type")
        parts.recognized = topic.kind in _ACTIVITY_KINDS or (
            isinstance(kind, str) and kind.lower() == "gateway"
        )


def _online_of(document: dict[Any, Any]) -> bool | None:
    for key in ("online", "status", "state"):
        value = document.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and len(value) <= _MAX_STATUS_WORD:
            verdict = _STATUS_WORDS.get(value.strip().lower())
            if verdict is not None:
                return verdict
    return None


def _read_readings(readings: object, parts: _Parts) -> None:
    if not isinstance(readings, list):
        parts.reject("wrong_type", f"readings is a {type(readings).__name__}, not a list")
        return
    parts.recognized = True
    for reading in readings:
        _read_reading(reading, parts)


def _read_array(elements: Sequence[object], parts: _Parts) -> None:
    """Minew-style: a ``Gateway`` element names the gateway, the others are tags."""
    parts.recognized = True
    for element in elements:
        if not isinstance(element, dict):
            parts.reject("wrong_type", f"an array element that is a {type(element).__name__}")
            continue
        kind = element.get("type")
        if isinstance(kind, str) and kind.lower() == "gateway":
            parts.offer_gateway(element.get("mac"))
            continue
        parts.offer_gateway_keys(element, _GATEWAY_KEYS)
        _read_reading(element, parts)


# --- one reading --------------------------------------------------------------------------


def _read_reading(record: object, parts: _Parts) -> None:
    if not isinstance(record, dict):
        parts.reject("wrong_type", f"a reading that is a {type(record).__name__}")
        return
    raw_tag = None
    for key in _TAG_KEYS:
        raw_tag = record.get(key)
        if raw_tag is not None:
            break
    else:
        raw_tag = record.get("mac")
    tag = _text_mac(raw_tag)
    if tag is None:
        parts.reject("invalid_mac", f"tag {_excerpt(raw_tag)}")
        return
    raw_rssi = record.get("rssi")
    if raw_rssi is None:
        raw_rssi = record.get("RSSI")
    rssi = _rssi(raw_rssi)
    if rssi is None:
        parts.reject("invalid_rssi", f"rssi {_excerpt(raw_rssi)} of tag {tag}")
        return
    raw_ts = record.get("ts")
    if raw_ts is None:
        raw_ts = record.get("timestamp")
    ts = None
    if raw_ts is not None:
        ts = _timestamp(raw_ts)
        if ts is None:
            parts.reject("invalid_timestamp", f"time {_excerpt(raw_ts)} of tag {tag}")
            return
    parts.observations.append(Observation(tag_mac=tag, rssi=rssi, ts=ts))


def _rssi(value: object) -> int | None:
    # ``type() is`` rather than isinstance: a JSON true is a bool, and a bool is an int.
    if type(value) is int:
        rssi = value
    elif type(value) is float and math.isfinite(value):
        rssi = round(value)
    else:
        return None
    return rssi if RSSI_MIN <= rssi <= RSSI_MAX else None


def _timestamp(value: object) -> datetime | None:
    """UTC, or None when the value is no time a gateway could mean."""
    try:
        if isinstance(value, str):
            moment = _text_time(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            moment = _epoch(value)
        elif isinstance(value, datetime):  # MessagePack's timestamp extension
            moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    if moment is None or moment < _EARLIEST:
        return None
    return moment


def _text_time(text: str) -> datetime | None:
    text = text.strip()
    if len(text) > _MAX_TIME_TEXT or not text:
        return None
    if text.isascii() and text.replace(".", "", 1).isdigit():
        return _epoch(float(text) if "." in text else int(text))
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _epoch(number: float) -> datetime | None:
    if not math.isfinite(number) or number < 0:
        return None
    if number >= _MILLISECONDS_FROM:
        return _EPOCH + timedelta(milliseconds=number)
    return _EPOCH + timedelta(seconds=number)


# --- Ingics and April Brother ---------------------------------------------------------------


def _read_ingics(body: bytes, parts: _Parts) -> None:
    """One reading per line; a line that cannot be read is rejected alone."""
    parts.recognized = True
    for raw_line in body.decode("utf-8", "replace").splitlines():
        line = raw_line.strip()
        if not line:
            continue
        fields = line.split(",")
        if fields[0] != "$GPRP" or len(fields) not in _INGICS_FIELDS:
            parts.reject("wrong_type", f"not a $GPRP line: {_excerpt(line)}")
            continue
        tag = _text_mac(fields[1])
        gateway = _text_mac(fields[2])
        if tag is None or gateway is None:
            parts.reject("invalid_mac", f"line {_excerpt(line)}")
            continue
        parts.offer_gateway(gateway)
        rssi = _ingics_rssi(fields[3])
        if rssi is None:
            parts.reject("invalid_rssi", f"rssi {_excerpt(fields[3])} of tag {tag}")
            continue
        ts = None
        if len(fields) == _INGICS_FIELDS[1] and fields[5].strip():
            ts = _timestamp(fields[5])
            if ts is None:
                parts.reject("invalid_timestamp", f"time {_excerpt(fields[5])} of tag {tag}")
                continue
        parts.observations.append(Observation(tag_mac=tag, rssi=rssi, ts=ts))


def _ingics_rssi(text: str) -> int | None:
    text = text.strip()
    if len(text) > 4:
        return None
    try:
        return _rssi(int(text))
    except ValueError:
        return None


def _read_devices(devices: object, parts: _Parts) -> None:
    """April Brother V4: each device is ``type(1) MAC(6) rssi(1, signed) advertisement…``."""
    if not isinstance(devices, list):
        parts.reject("wrong_type", f"devices is a {type(devices).__name__}, not a list")
        return
    parts.recognized = True
    for device in devices:
        if not isinstance(device, bytes) or len(device) < _DEVICE_RECORD_MIN:
            parts.reject("wrong_type", f"device record {_excerpt(device)}")
            continue
        raw_rssi = device[7]
        rssi = _rssi(raw_rssi - 256 if raw_rssi >= 128 else raw_rssi)
        tag = device[1:7].hex(":").upper()
        if rssi is None:
            parts.reject("invalid_rssi", f"rssi byte {raw_rssi:#04x} of tag {tag}")
            continue
        parts.observations.append(Observation(tag_mac=tag, rssi=rssi))


# --- MACs and excerpts --------------------------------------------------------------------


def _normalize_or_none(text: str) -> str | None:
    try:
        return normalize_mac(text)
    except InvalidInput:
        return None


# Tags and gateways repeat message after message: normalise each spelling once. Only short
# strings reach the cache, so made-up values cannot grow it past a few megabytes.
_cached_mac = lru_cache(maxsize=1 << 16)(_normalize_or_none)


def _text_mac(value: object) -> str | None:
    if type(value) is not str or len(value) > _MAX_MAC_TEXT:
        return None
    return _cached_mac(value)


def _any_mac(value: object) -> str | None:
    """A MAC given as text, or as six raw bytes (MessagePack gateways)."""
    if isinstance(value, bytes) and len(value) == 6:
        return value.hex(":").upper()
    return _text_mac(value)


def _excerpt(value: object) -> str:
    """A short, safe rendering of a bad value for a log line: never the whole input."""
    if isinstance(value, str | bytes):
        text = repr(value[:_EXCERPT])
    elif isinstance(value, dict | list | tuple):
        return f"<{type(value).__name__} of {len(value)}>"
    elif isinstance(value, int) and not -(10**12) < value < 10**12:
        return f"<int of {value.bit_length()} bits>"
    else:
        text = repr(value)
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 3] + "..."
