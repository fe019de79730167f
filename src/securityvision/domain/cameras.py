"""Camera events as stored (``device_events``), what the incident pipeline reads from their
payloads, and camera groups.

A payload is cam-bus's ``AnalyticEvent`` (CLIENTS.md §15) or whatever an operator posted:
keys are looked up case-insensitively and in camelCase or snake_case alike (``EventID``,
``eventId``, ``event_id``), since publishers differ and the original read both spellings.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from securityvision.domain.errors import InvalidInput

# Keys whose values are secrets: never stored in an event, whatever the depth (the original
# stored its own retained /info, camera password included, as an event; bug 31).
_SECRET_KEYS = frozenset({"password", "passwd", "pass", "secret", "token", "api_key", "apikey"})

EVENT_PAYLOAD_MAX_BYTES = 256 * 1024
ANALYTIC_TYPE_MAX_LENGTH = 128
TOPIC_MAX_LENGTH = 512
EVENT_ID_MAX_LENGTH = 255

UNKNOWN_PERSON = "unknown"


class NewDeviceEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Something a camera reported: an analytic event, a status, or a posted event.

    ``event_id`` is the publisher's id of the sighting (cam-bus's ``EventID``): a camera's
    events are unique by (``analytic_type``, ``event_id``), and a ``faceRecognized`` repeats
    the ``EventID`` of the ``faceCapture`` it enriches.
    """

    device_id: int
    topic: str | None = None
    analytic_type: str
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    occurred_at: datetime
    event_id: str | None = None


class DeviceEvent(NewDeviceEvent, frozen=True, kw_only=True):
    id: int
    created_at: datetime
    # The incident the event opened, joined or enriched; None while it has none.
    incident_id: int | None = None


def check_device_event(event: NewDeviceEvent) -> None:
    if not event.analytic_type.strip():
        raise InvalidInput("analytic_type is required", code="analytic_type_required")
    for name, value, limit in (
        ("analytic_type", event.analytic_type, ANALYTIC_TYPE_MAX_LENGTH),
        ("topic", event.topic, TOPIC_MAX_LENGTH),
        ("event_id", event.event_id, EVENT_ID_MAX_LENGTH),
    ):
        if value is not None and len(value) > limit:
            raise InvalidInput(f"{name} must have at most {limit} characters", code="too_long")
    if len(msgspec.json.encode(event.payload)) > EVENT_PAYLOAD_MAX_BYTES:
        raise InvalidInput(
            f"payload must encode to at most {EVENT_PAYLOAD_MAX_BYTES} bytes",
            code="payload_too_large",
        )


def without_secrets(value: Any) -> Any:
    """``value`` with every key that names a secret (``password``, ``token``, ...) removed, at
    any depth: what is kept of a payload."""
    if isinstance(value, Mapping):
        return {
            key: without_secrets(item)
            for key, item in value.items()
            if not (isinstance(key, str) and _folded(key) in _SECRET_KEYS)
        }
    if isinstance(value, list | tuple):
        return [without_secrets(item) for item in value]
    return value


def _folded(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def lookup(payload: Mapping[str, Any], *names: str) -> Any:
    """The first of ``names`` present in ``payload``, compared case-insensitively and
    ignoring ``_`` (``EventID`` = ``eventId`` = ``event_id``); None when absent."""
    folded = {_folded(k): v for k, v in payload.items() if isinstance(k, str)}
    for name in names:
        value = folded.get(_folded(name))
        if value is not None:
            return value
    return None


def text(payload: Mapping[str, Any], *names: str) -> str | None:
    """A lookup as stripped text (numbers too, as cam-bus's card ids); blank is None."""
    value = lookup(payload, *names)
    if isinstance(value, bool) or value is None or isinstance(value, Mapping | list):
        return None
    shown = str(value).strip()
    return shown or None


def meta(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    found = lookup(payload, "Meta")
    return found if isinstance(found, Mapping) else {}


class EventFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the incident pipeline reads from an event's payload."""

    event_id: str | None = None
    tenant: str | None = None
    camera_name: str | None = None
    building: str | None = None
    floor: str | None = None
    person_name: str | None = None
    card_id: str | None = None
    confidence: float | None = None

    @property
    def person_key(self) -> str:
        """Who the event is about, for the cooldown: the card id, else the name, else
        ``unknown`` (events of unknown people join each other, as SPEC §7 says)."""
        if self.card_id and self.card_id != "0":
            return f"card:{self.card_id}"
        if self.person_name:
            return f"name:{self.person_name.lower()}"
        return UNKNOWN_PERSON


def event_facts(payload: Mapping[str, Any]) -> EventFacts:
    """The facts of a payload; anything missing or of the wrong type is simply unknown."""
    details = meta(payload)
    confidence = lookup(details, "ff_confidence")
    is_number = isinstance(confidence, int | float) and not isinstance(confidence, bool)
    return EventFacts(
        event_id=text(payload, "EventID"),
        tenant=text(payload, "Tenant"),
        camera_name=text(payload, "CameraName"),
        building=text(payload, "Building"),
        floor=text(payload, "Floor"),
        person_name=text(details, "ff_person_name", "person_name"),
        card_id=text(details, "ff_card_id"),
        confidence=float(confidence) if is_number and 0 <= confidence <= 1 else None,
    )


def is_face_recognition(analytic_type: str) -> bool:
    """As the front end tells them apart (CLIENTS.md §7)."""
    return analytic_type.strip().lower() in {"facerecognized", "face_recognized", "face recognized"}


class NewCameraGroup(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None
    tenant: str | None = None


class CameraGroup(NewCameraGroup, frozen=True, kw_only=True):
    id: int
    created_at: datetime
    updated_at: datetime
    device_ids: tuple[int, ...] = ()


def check_camera_group(group: NewCameraGroup) -> None:
    if not group.name.strip():
        raise InvalidInput("name is required", code="name_required")
    if len(group.name) > 255 or (group.tenant is not None and len(group.tenant) > 64):
        raise InvalidInput("name (255) or tenant (64) too long", code="too_long")
