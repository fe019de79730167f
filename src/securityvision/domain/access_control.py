"""Access control: what the access controllers hear of people, devices and places.

The original backend published each change of a location, location rule, person ("user"),
device and device-user as a retained MQTT message, and a "projection" of every environment
(a location or a floor plan, named "<building> - <floor> - <environment>") on one retained
topic. Controllers and the vision-controller read exactly these topics and payloads, so they
are kept; what the original got wrong is fixed here (ORIGINAL.md §9, bugs 23 and 35):

- a deletion carries the id of what was deleted (the original sent an empty retained payload,
  which told nobody what went and wiped the retained message);
- projection ids are unique across locations and floor plans (``projection_id``);
- every instant is UTC with an explicit offset, never the server's local zone;
- a topic segment taken from configuration cannot add levels or wildcards (``topic_segment``).

Everything here is pure: payloads are built from domain values, encoded once, and handed to
the outbox by the application layer.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any

import msgspec

from securityvision.domain.devices import Device
from securityvision.domain.people import Person

SOURCE = "central-backend"
DEFAULT_TENANT = "default"


class Event(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class Entity(StrEnum):
    """An entity kind: its value is the topic level, ``name`` the envelope's ``entity``."""

    LOCATION = "locations"
    LOCATION_RULE = "locations-rules"
    USER = "users"
    DEVICE = "devices"
    DEVICE_USER = "device-users"

    @property
    def entity_name(self) -> str:
        return _ENTITY_NAMES[self]


_ENTITY_NAMES = {
    Entity.LOCATION: "location",
    Entity.LOCATION_RULE: "location_rule",
    Entity.USER: "user",
    Entity.DEVICE: "device",
    Entity.DEVICE_USER: "device_user",
}


class ProjectionSource(StrEnum):
    """What an environment of the projection is made from."""

    LOCATION = "location"
    FLOOR_PLAN = "floor_plan"


class Publication(msgspec.Struct, frozen=True, kw_only=True):
    """One MQTT message to send: QoS 1 and retained, as the controllers expect."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class AccessControlTopics(msgspec.Struct, frozen=True, kw_only=True):
    """Where publications go: ``<base_topic>/<tenant>/<entity>/<event>`` for entities,
    ``projection_topic`` for the projection."""

    base_topic: str = "security-vision/access-control"
    projection_topic: str = "security-vision/access-control/locations"
    tenant: str = DEFAULT_TENANT

    def entity_topic(self, entity: Entity, event: Event) -> str:
        base = self.base_topic.strip("/")
        return f"{base}/{topic_segment(self.tenant, DEFAULT_TENANT)}/{entity.value}/{event.value}"

    def entity(self, entity: Entity, event: Event, payload: Mapping[str, Any]) -> Publication:
        """An entity's change in the original's envelope."""
        body = {"event": event.value, "entity": entity.entity_name, "source": SOURCE}
        return Publication(
            topic=self.entity_topic(entity, event),
            payload=msgspec.json.encode(body | {"payload": payload}),
        )

    def projection(self, payload: Mapping[str, Any]) -> Publication:
        """One environment of the projection (no envelope, as the original)."""
        return Publication(
            topic=self.projection_topic.strip("/"), payload=msgspec.json.encode(payload)
        )


def topic_segment(text: str | None, default: str) -> str:
    """``text`` as one topic level.

    The original's spelling is kept (trimmed, lower case, spaces as ``_``, ``/`` as ``-``), so
    subscribers keep their topics; then the characters that would make a published topic
    invalid (the wildcards ``+`` and ``#``, and NUL) are percent-encoded or dropped, so a name
    can never add a level or turn the topic into a filter (the original let them through,
    bug 35). Blank is ``default``.
    """
    value = (text or "").strip() or default
    value = value.lower().replace(" ", "_").replace("/", "-")
    value = value.replace("+", "%2B").replace("#", "%23").replace("\x00", "")
    return value or default  # a name of NULs alone would leave an empty level


def utc_iso(value: datetime | None) -> str | None:
    """An instant in ISO 8601, UTC with an explicit ``+00:00``; a naive value is UTC (the
    original tagged naive values with the server's local zone, bug 23)."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def time_of_day(value: time | None) -> str | None:
    """A wall-clock time of a rule (``HH:MM:SS``): a time of day at the site, not an
    instant, so it has no zone."""
    return None if value is None else value.replace(tzinfo=None).isoformat()


def projection_id(source: ProjectionSource, source_id: int) -> int:
    """The projection's ``location_id``: a location's own id, a floor plan's id negated.

    The original used both ids as they were, so location 7 and floor plan 7 overwrote each
    other at the controllers (bug 23). Ids of both are positive, so the two ranges never
    meet; a location keeps the id its ``locations/*`` messages carry, and ``location_id``
    stays an integer for consumers that read it as one. ``source`` and ``source_id`` still
    say exactly where an environment comes from.
    """
    return source_id if source is ProjectionSource.LOCATION else -source_id


def deleted_payload(entity_id: int, deleted_at: datetime, **identity: Any) -> dict[str, Any]:
    """What a ``deleted`` message carries: the id (and, for a device-user, what identifies
    the link), and when — so a consumer replaying retained messages can tell a deletion from
    an older ``created``/``updated`` by comparing times."""
    return {"id": entity_id, **identity, "deleted_at": utc_iso(deleted_at)}


def user_payload(person: Person) -> dict[str, Any]:
    """A person as access control knows them (a "user"); blanks as the original sent them."""
    return {
        "id": person.id,
        "email": person.email,
        "full_name": person.full_name,
        "document_id": person.document_id or "",
        "cpf": person.document_id or "",
        "phone": person.phone or "",
        "user_type": person.user_type if person.user_type is not None else "UNKNOWN",
        "is_active": person.active,
        "created_at": utc_iso(person.created_at),
        "updated_at": utc_iso(person.updated_at),
    }


def device_payload(device: Device, location_id: int | None = None) -> dict[str, Any]:
    """A device in the original's mixed spelling (``brand``, ``serialNumber``, ``locationId``).

    ``location_id`` is the device's own location, else the caller's pick among the locations
    of its floor. ``config`` is the analytics list, or ``{}`` when there are none, as the
    original sent it. No credentials: a device's password never leaves the backend this way.
    """
    return {
        "id": device.id,
        "name": device.name,
        "type": device.type.value,
        "description": device.description,
        "code": device.code,
        "mac_address": device.mac_address,
        "ip_address": device.ip_address,
        "port": device.port,
        "username": device.username,
        "building_id": device.building_id,
        "floor_id": device.floor_id,
        "brand": device.manufacturer,
        "category": device.type.value,
        "serialNumber": device.code or device.mac_address,
        "config": list(device.analytics) if device.analytics else {},
        "locationId": device.location_id if device.location_id is not None else location_id,
        "created_at": utc_iso(device.created_at),
        "updated_at": utc_iso(device.updated_at),
    }


def location_payload(
    *,
    location_id: int,
    name: str,
    description: str | None,
    status: str | None,
    floor_ids: Sequence[int],
    created_at: datetime | None,
    updated_at: datetime | None,
) -> dict[str, Any]:
    """A location; ``status`` is a boolean on the wire (ACTIVE or not), as the original."""
    return {
        "id": location_id,
        "name": name,
        "description": description,
        "status": (status or "").upper() == "ACTIVE",
        "floor_ids": list(floor_ids),
        "created_at": utc_iso(created_at),
        "updated_at": utc_iso(updated_at),
    }


def location_rule_payload(
    *,
    rule_id: int,
    location_id: int,
    capacity: int | None,
    available_days: Sequence[int] | str | None,
    start_time: time | None,
    end_time: time | None,
    status: str | None,
    validate: bool,
    created_at: datetime | None,
    updated_at: datetime | None,
) -> dict[str, Any]:
    """A location rule; the days are integers (stored as a CSV by the original), under the
    original's spelling ``avaliable_days``."""
    return {
        "id": rule_id,
        "location_id": location_id,
        "capacity": capacity,
        "avaliable_days": weekdays(available_days),
        "start_time": time_of_day(start_time),
        "end_time": time_of_day(end_time),
        "status": status,
        "validate": validate,
        "created_at": utc_iso(created_at),
        "updated_at": utc_iso(updated_at),
    }


def weekdays(value: Sequence[int] | str | None) -> list[int]:
    """Days as integers, from a list or a CSV such as ``"1,2, 3"``; what is not a number is
    skipped, as the original did."""
    if value is None:
        return []
    items: Sequence[Any] = value.split(",") if isinstance(value, str) else value
    days = []
    for item in items:
        try:
            days.append(int(str(item).strip()))
        except ValueError:
            continue
    return days


def device_user_payload(
    *, link_id: int, device_id: int, person_id: int, device_user_id: str | None, status: str | None
) -> dict[str, Any]:
    """A person's account on a device; ``id`` (the link's own id) is an addition, so a later
    deletion can be matched."""
    return {
        "id": link_id,
        "device_id": device_id,
        "person_id": person_id,
        "deviceUserId": device_user_id,
        "status": status,
    }


def projection_payload(
    *,
    source: ProjectionSource,
    source_id: int,
    environment: str,
    building_id: int,
    building_name: str,
    floor_id: int,
    floor_name: str,
) -> dict[str, Any]:
    """One environment as the vision-controller reads it."""
    return {
        "location_id": projection_id(source, source_id),
        "name": f"{building_name} - {floor_name} - {environment}",
        "source": source.value,
        "source_id": source_id,
        "building_id": building_id,
        "building_name": building_name,
        "floor_id": floor_id,
        "floor_name": floor_name,
    }


def projection_removed(source: ProjectionSource, source_id: int) -> dict[str, Any]:
    """An environment that is gone (its location or plan deleted, or a location left with no
    floor): the same keys, nothing but the ids set, and ``deleted: true``."""
    return {
        "location_id": projection_id(source, source_id),
        "name": None,
        "source": source.value,
        "source_id": source_id,
        "building_id": None,
        "building_name": None,
        "floor_id": None,
        "floor_name": None,
        "deleted": True,
    }
