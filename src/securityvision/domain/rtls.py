"""Tags, gateways and the readings that tie them together."""

import re
from datetime import datetime

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
