"""Tags, gateways and the readings that tie them together."""

import re
from datetime import UTC, datetime

import msgspec

from securityvision.domain.errors import InvalidInput

RSSI_MIN = -127
RSSI_MAX = 20
_NON_HEX = re.compile(r"[^0-9A-Fa-f]")
_SEPARATORS = re.compile(r"[\s:\-.]")


def normalize_mac(value: str) -> str:
    """``aa-bb-cc-dd-ee-ff``, ``AABB.CCDD.EEFF`` and ``aabbccddeeff`` all become
    ``AA:BB:CC:DD:EE:FF``; MACs are stored and compared only in that form.

    Anything but hex digits and the usual separators is refused rather than stripped, so a
    gateway id that merely contains twelve hex digits is not mistaken for a MAC.
    """
    compact = _SEPARATORS.sub("", value)
    if len(compact) != 12 or _NON_HEX.search(compact):
        raise InvalidInput(f"not a MAC address: {value[:64]!r}", code="invalid_mac")
    upper = compact.upper()
    return ":".join(upper[i : i + 2] for i in range(0, 12, 2))


def is_mac(value: str) -> bool:
    try:
        normalize_mac(value)
    except InvalidInput:
        return False
    return True


def as_utc(moment: datetime) -> datetime:
    """A time without a zone is taken as UTC (the original stored naive UTC everywhere)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def gateway_code(key: str, mac: str | None) -> str:
    """The code of a gateway registered from MQTT: ``GW_<MAC without separators>``, as the
    original named them, or ``GW_<id>`` for a gateway whose id is not a MAC."""
    ident = mac.replace(":", "") if mac else key
    return f"GW_{ident}"[:64]


def check_rssi(rssi: int) -> int:
    if not RSSI_MIN <= rssi <= RSSI_MAX:
        raise InvalidInput(f"rssi {rssi} is outside {RSSI_MIN}..{RSSI_MAX}", code="invalid_rssi")
    return rssi


class Tag(msgspec.Struct, frozen=True, kw_only=True):
    """A BLE tag worn by a person or fixed to an asset."""

    id: int
    mac_address: str
    label: str | None = None
    person_id: int | None = None
    active: bool = True
    notes: str | None = None
    created_at: datetime
    updated_at: datetime


class NewTag(msgspec.Struct, frozen=True, kw_only=True):
    """A tag about to be registered; ``mac_address`` already normalized."""

    mac_address: str
    label: str | None = None
    person_id: int | None = None
    active: bool = True
    notes: str | None = None


TAG_LABEL_MAX_LENGTH = 255


def check_tag(tag: "NewTag | Tag") -> None:
    if tag.label is not None and len(tag.label) > TAG_LABEL_MAX_LENGTH:
        raise InvalidInput(
            f"label must have at most {TAG_LABEL_MAX_LENGTH} characters", code="too_long"
        )


class UnknownTag(msgspec.Struct, frozen=True, kw_only=True):
    """A MAC heard by gateways that no registered tag has: listed so an operator can register
    it. ``last_device_name`` is read from the device at query time."""

    mac_address: str
    last_device_id: int | None = None
    last_device_name: str | None = None
    last_rssi: int | None = None
    first_seen_at: datetime
    last_seen_at: datetime
    readings_count: int = 0


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    """One sighting of a tag by a gateway. Its identity is (gateway, tag, ts)."""

    gateway_mac: str
    tag_mac: str
    rssi: int
    ts: datetime
    received_at: datetime

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.gateway_mac, self.tag_mac, self.ts)


RAW_PAYLOAD_MAX_LENGTH = 4096


class CollectionLog(msgspec.Struct, frozen=True, kw_only=True):
    """A stored reading (a row of ``collection_logs``): ``created_at`` is the reading's own
    time, ``received_at`` when the system got it."""

    id: int
    device_id: int
    tag_id: int
    rssi: int
    created_at: datetime
    received_at: datetime
    raw_payload: str | None = None


class NewCollectionLog(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    tag_id: int
    rssi: int
    created_at: datetime
    received_at: datetime
    raw_payload: str | None = None


def check_raw_payload(raw_payload: str | None) -> None:
    if raw_payload is not None and len(raw_payload) > RAW_PAYLOAD_MAX_LENGTH:
        raise InvalidInput(
            f"raw_payload must have at most {RAW_PAYLOAD_MAX_LENGTH} characters",
            code="raw_payload_too_long",
        )


# --- What a gateway's MQTT message carries, once decoded ------------------------------------

MAX_FUTURE_SKEW_SECONDS = 300


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """Why one reading, or a whole message, was refused. ``reason`` is a stable metric label
    (``undecodable``, ``wrong_type``, ``invalid_mac``, ``invalid_rssi``, ``invalid_timestamp``,
    ``future_timestamp``, ``unknown_topic``, ``too_large``, ``no_gateway``, ``unknown_tag``);
    ``detail`` is for the log and never holds more than a short excerpt of the input."""

    reason: str
    detail: str = ""


class GatewayTopic(msgspec.Struct, frozen=True, kw_only=True):
    """Where a message came from, as its topic says.

    ``gateway_id`` is the topic's gateway segment as sent; ``gateway_mac`` its normalized MAC
    when it is one (``ESP32-LOBBY`` is a gateway id, not a MAC). ``kind`` is ``beacon``,
    ``detection``, ``status``, ``heartbeat`` or None.
    """

    gateway_id: str
    gateway_mac: str | None = None
    kind: str | None = None
    tenant: str | None = None
    building: str | None = None
    floor: str | None = None


class Observation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One tag heard, as decoded: ``ts`` None means the payload gave no time (the time the
    message was first received stands in)."""

    tag_mac: str
    rssi: int
    ts: datetime | None = None


class GatewayMessage(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one MQTT message says: who sent it, the tags it heard, whether it reports the
    gateway on- or offline, and what in it was refused (the rest still counts)."""

    topic: GatewayTopic
    gateway_mac: str | None = None
    observations: tuple[Observation, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    online: bool | None = None

    @property
    def gateway_key(self) -> str:
        """The gateway's identity: its MAC when known (from the topic or the payload), else the
        topic's gateway id."""
        return self.gateway_mac or self.topic.gateway_mac or self.topic.gateway_id
