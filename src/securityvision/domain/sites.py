"""Sites: the buildings, floors and floor plans devices hang on, the locations access control
is organised by (with their rules), and who is enrolled on which access controller."""

import re
from datetime import datetime, time

import msgspec

from securityvision.domain.errors import InvalidInput
from securityvision.domain.people import check_length

NAME_MAX_LENGTH = 255
CODE_MAX_LENGTH = 64
STATUS_MAX_LENGTH = 32
IMAGE_URL_MAX_LENGTH = 2048
AVAILABLE_DAYS_MAX_LENGTH = 64
DEVICE_USER_ID_MAX_LENGTH = 128

# Codes name MQTT topic segments (``<tenant>/<building>/<floor>/...``): a separator or a
# wildcard inside one would make every topic built from it mean something else.
_TOPIC_BREAKERS = re.compile(r"[/+#\x00-\x1f\x7f]")


class Building(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    code: str
    description: str | None = None
    address: str | None = None
    created_at: datetime
    updated_at: datetime


class NewBuilding(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    code: str
    description: str | None = None
    address: str | None = None


class Floor(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    building_id: int
    name: str
    level: int | None = None
    code: str | None = None
    description: str | None = None
    created_at: datetime
    updated_at: datetime


class NewFloor(msgspec.Struct, frozen=True, kw_only=True):
    building_id: int
    name: str
    level: int | None = None
    code: str | None = None
    description: str | None = None


class NewFloorPlan(msgspec.Struct, frozen=True, kw_only=True):
    floor_id: int
    name: str
    image_url: str | None = None
    # The stored file behind ``image_url`` when the image was uploaded (a content-hash name
    # under ``media/floor_plans/``); None for an image that lives elsewhere.
    image_file_name: str | None = None
    width: float | None = None
    height: float | None = None
    description: str | None = None


class FloorPlan(NewFloorPlan, frozen=True, kw_only=True):
    id: int
    # The building of the plan's floor: derived, never written (the front end reads it).
    building_id: int
    created_at: datetime
    updated_at: datetime


class NewLocation(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None
    status: str = "ACTIVE"
    floor_ids: tuple[int, ...] = ()


class Location(NewLocation, frozen=True, kw_only=True):
    """An access-control area (a lobby, a data centre) spanning one or more floors."""

    id: int
    created_at: datetime
    updated_at: datetime


class NewLocationRule(msgspec.Struct, frozen=True, kw_only=True):
    """When and how many people a location admits. ``avaliable_days`` keeps the original's
    spelling (the access controllers read it): a comma list of day numbers."""

    location_id: int
    capacity: int | None = None
    avaliable_days: str | None = None
    start_time: time | None = None
    end_time: time | None = None
    status: str = "ACTIVE"
    validate: bool = True


class LocationRule(NewLocationRule, frozen=True, kw_only=True):
    id: int
    created_at: datetime
    updated_at: datetime


class NewDeviceUser(msgspec.Struct, frozen=True, kw_only=True):
    """A person enrolled on an access controller, under the id the controller knows them by."""

    device_id: int
    person_id: int
    device_user_id: str | None = None
    status: str = "ACTIVE"


class DeviceUser(NewDeviceUser, frozen=True, kw_only=True):
    id: int
    created_at: datetime
    updated_at: datetime


class SiteDeletion(msgspec.Struct, frozen=True, kw_only=True):
    """What removing a site took with it, cascades included, so that whoever mirrors sites
    elsewhere (the access-control publications) can say so in the same transaction.

    Devices are never deleted with a site: those placed on it are only taken off
    (``unplaced_device_ids``); locations that lost a floor are ``changed_location_ids``.
    """

    building_ids: tuple[int, ...] = ()
    floor_ids: tuple[int, ...] = ()
    floor_plan_ids: tuple[int, ...] = ()
    location_ids: tuple[int, ...] = ()
    location_rule_ids: tuple[int, ...] = ()
    unplaced_device_ids: tuple[int, ...] = ()
    changed_location_ids: tuple[int, ...] = ()


def check_name(name: str) -> None:
    if not name.strip():
        raise InvalidInput("name is required", code="name_required")
    check_length("name", name, NAME_MAX_LENGTH)


def check_code(code: str | None, *, required: bool) -> None:
    """Codes are unique keys people type and MQTT topics are built from."""
    if code is None or not code.strip():
        if required:
            raise InvalidInput("code is required", code="code_required")
        return
    check_length("code", code, CODE_MAX_LENGTH)
    if _TOPIC_BREAKERS.search(code):
        raise InvalidInput(
            "code may not contain '/', '+', '#' or control characters: it names MQTT topics",
            code="invalid_code",
        )


def check_building(building: NewBuilding | Building) -> None:
    check_name(building.name)
    check_code(building.code, required=True)


def check_floor(floor: NewFloor | Floor) -> None:
    check_name(floor.name)
    check_code(floor.code, required=False)


def check_image_url(url: str | None) -> None:
    """A plan's image is one of ours (``/media/...``) or an http(s) address: anything else
    (``javascript:``, ``data:``, a bare path) has no business in an ``<img src>``."""
    if url is None:
        return
    check_length("image_url", url, IMAGE_URL_MAX_LENGTH)
    if url.startswith("/media/") or re.match(r"^https?://[^\s/]+", url, re.IGNORECASE):
        if any(c.isspace() or ord(c) < 32 for c in url):
            raise InvalidInput("image_url may not contain spaces", code="invalid_image_url")
        return
    raise InvalidInput(
        "image_url must be an http(s) address or a /media/ path", code="invalid_image_url"
    )


def check_floor_plan(plan: NewFloorPlan | FloorPlan) -> None:
    check_name(plan.name)
    check_image_url(plan.image_url)
    for field, value in (("width", plan.width), ("height", plan.height)):
        if value is not None and not value > 0:
            raise InvalidInput(f"{field} must be positive", code=f"invalid_{field}")


def check_status(status: str) -> None:
    if not status.strip():
        raise InvalidInput("status may not be empty", code="status_required")
    check_length("status", status, STATUS_MAX_LENGTH)


def check_location(location: NewLocation | Location) -> None:
    check_name(location.name)
    check_status(location.status)


def available_days(text: str | None) -> str | None:
    """The stored form of ``avaliable_days``: day numbers (0-7, so that both the 0 = Sunday
    and the ISO 1 = Monday conventions fit) separated by commas, without spaces or repeats;
    a blank is no restriction written down (None)."""
    if text is None or not text.strip():
        return None
    days: list[int] = []
    for part in text.split(","):
        item = part.strip()
        if not item.isdigit() or not 0 <= int(item) <= 7:
            raise InvalidInput(
                f"avaliable_days must be day numbers 0-7 separated by commas, not {text!r}",
                code="invalid_available_days",
            )
        if int(item) not in days:
            days.append(int(item))
    joined = ",".join(str(d) for d in days)
    check_length("avaliable_days", joined, AVAILABLE_DAYS_MAX_LENGTH)
    return joined


def check_location_rule(rule: NewLocationRule | LocationRule) -> None:
    if rule.capacity is not None and rule.capacity < 0:
        raise InvalidInput("capacity cannot be negative", code="invalid_capacity")
    check_status(rule.status)


def check_device_user(user: NewDeviceUser | DeviceUser) -> None:
    check_length("device_user_id", user.device_user_id, DEVICE_USER_ID_MAX_LENGTH)
    check_status(user.status)
