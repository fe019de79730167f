"""HTTP bodies of ``/buildings``, ``/floors``, ``/floor-plans``, ``/locations`` and
``/device-users``, in the original's wire shapes."""

from datetime import datetime, time

import msgspec

from securityvision.application.device_users import DeviceUserChanges
from securityvision.application.locations import LocationChanges, LocationRuleChanges
from securityvision.application.sites import BuildingChanges, FloorChanges, FloorPlanChanges
from securityvision.domain.sites import (
    Building,
    DeviceUser,
    Floor,
    FloorPlan,
    Location,
    LocationRule,
    NewBuilding,
    NewDeviceUser,
    NewFloor,
    NewFloorPlan,
    NewLocation,
    NewLocationRule,
)

_UNSET = msgspec.UNSET


def _days(value: str | list[int] | None) -> str | None:
    """``avaliable_days`` is a comma list in the original; a JSON list of days is taken too."""
    if isinstance(value, list):
        return ",".join(str(day) for day in value)
    return value


def _user_id(value: str | int | None) -> str | None:
    """Controllers number their users: a numeric id is kept as its text."""
    return str(value) if isinstance(value, int) else value


# --- buildings ------------------------------------------------------------------------------


class BuildingCreate(msgspec.Struct, frozen=True, kw_only=True):
    """The front end posts ``{name, code, description: "", address: ""}``."""

    name: str
    code: str
    description: str | None = None
    address: str | None = None

    def new_building(self) -> NewBuilding:
        return NewBuilding(**msgspec.structs.asdict(self))


class BuildingUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body: only the fields sent change; null clears a field."""

    name: str | msgspec.UnsetType = _UNSET
    code: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    address: str | msgspec.UnsetType | None = _UNSET

    def changes(self) -> BuildingChanges:
        return BuildingChanges(**msgspec.structs.asdict(self))


class BuildingRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    code: str
    description: str | None
    address: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, building: Building) -> "BuildingRead":
        return cls(**msgspec.structs.asdict(building))


# --- floors ---------------------------------------------------------------------------------


class FloorCreate(msgspec.Struct, frozen=True, kw_only=True):
    """The front end posts ``{name, building_id, level: null}``."""

    building_id: int
    name: str
    level: int | None = None
    code: str | None = None
    description: str | None = None

    def new_floor(self) -> NewFloor:
        return NewFloor(**msgspec.structs.asdict(self))


class FloorUpdate(msgspec.Struct, frozen=True, kw_only=True):
    building_id: int | msgspec.UnsetType = _UNSET
    name: str | msgspec.UnsetType = _UNSET
    level: int | msgspec.UnsetType | None = _UNSET
    code: str | msgspec.UnsetType | None = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET

    def changes(self) -> FloorChanges:
        return FloorChanges(**msgspec.structs.asdict(self))


class FloorRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    building_id: int
    name: str
    level: int | None
    code: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, floor: Floor) -> "FloorRead":
        return cls(**msgspec.structs.asdict(floor))


# --- floor plans ----------------------------------------------------------------------------


class FloorPlanCreate(msgspec.Struct, frozen=True, kw_only=True):
    """The front end posts ``{name, floor_id}``; the image is uploaded afterwards."""

    floor_id: int
    name: str
    image_url: str | None = None
    width: float | None = None
    height: float | None = None
    description: str | None = None

    def new_floor_plan(self) -> NewFloorPlan:
        return NewFloorPlan(**msgspec.structs.asdict(self))


class FloorPlanUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body: only the fields sent change (the front end sends ``{image_url}``)."""

    floor_id: int | msgspec.UnsetType = _UNSET
    name: str | msgspec.UnsetType = _UNSET
    image_url: str | msgspec.UnsetType | None = _UNSET
    width: float | msgspec.UnsetType | None = _UNSET
    height: float | msgspec.UnsetType | None = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET

    def changes(self) -> FloorPlanChanges:
        return FloorPlanChanges(**msgspec.structs.asdict(self))


class FloorPlanRead(msgspec.Struct, frozen=True, kw_only=True):
    """``image_url`` is ``/media/floor_plans/<name>`` for an uploaded image (the front end
    prefixes its backend origin), ``image_file_name`` that name; ``building_id`` is the
    building of the plan's floor."""

    id: int
    name: str
    floor_id: int
    building_id: int
    image_url: str | None
    image_file_name: str | None
    width: float | None
    height: float | None
    description: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, plan: FloorPlan) -> "FloorPlanRead":
        return cls(**msgspec.structs.asdict(plan))


# --- locations ------------------------------------------------------------------------------


class LocationCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None
    status: str = "ACTIVE"
    floor_ids: list[int] | None = None

    def new_location(self) -> NewLocation:
        return NewLocation(
            name=self.name,
            description=self.description,
            status=self.status,
            floor_ids=tuple(self.floor_ids or ()),
        )


class LocationUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body: only the fields sent change; ``floor_ids`` replaces the floors."""

    name: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    status: str | msgspec.UnsetType = _UNSET
    floor_ids: list[int] | msgspec.UnsetType | None = _UNSET

    def changes(self) -> LocationChanges:
        floors = self.floor_ids
        return LocationChanges(
            name=self.name,
            description=self.description,
            status=self.status,
            floor_ids=floors if isinstance(floors, msgspec.UnsetType) else tuple(floors or ()),
        )


class LocationRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    description: str | None
    status: str
    floor_ids: list[int]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, location: Location) -> "LocationRead":
        return cls(**(msgspec.structs.asdict(location) | {"floor_ids": list(location.floor_ids)}))


class LocationRuleCreate(msgspec.Struct, frozen=True, kw_only=True):
    """``avaliable_days`` keeps the original's spelling: ``"1,2,3,4,5"``."""

    location_id: int
    capacity: int | None = None
    avaliable_days: str | list[int] | None = None
    start_time: time | None = None
    end_time: time | None = None
    status: str = "ACTIVE"
    validate: bool = True

    def new_rule(self) -> NewLocationRule:
        fields = msgspec.structs.asdict(self) | {"avaliable_days": _days(self.avaliable_days)}
        return NewLocationRule(**fields)


class LocationRuleUpdate(msgspec.Struct, frozen=True, kw_only=True):
    location_id: int | msgspec.UnsetType = _UNSET
    capacity: int | msgspec.UnsetType | None = _UNSET
    avaliable_days: str | list[int] | msgspec.UnsetType | None = _UNSET
    start_time: time | msgspec.UnsetType | None = _UNSET
    end_time: time | msgspec.UnsetType | None = _UNSET
    status: str | msgspec.UnsetType = _UNSET
    validate: bool | msgspec.UnsetType = _UNSET

    def changes(self) -> LocationRuleChanges:
        days = self.avaliable_days
        fields = msgspec.structs.asdict(self) | {
            "avaliable_days": days if isinstance(days, msgspec.UnsetType) else _days(days)
        }
        return LocationRuleChanges(**fields)


class LocationRuleRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    location_id: int
    capacity: int | None
    avaliable_days: str | None
    start_time: time | None
    end_time: time | None
    status: str
    validate: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: LocationRule) -> "LocationRuleRead":
        return cls(**msgspec.structs.asdict(rule))


# --- device users ---------------------------------------------------------------------------


class DeviceUserCreate(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    person_id: int
    device_user_id: str | int | None = None
    status: str = "ACTIVE"

    def new_device_user(self) -> NewDeviceUser:
        return NewDeviceUser(
            device_id=self.device_id,
            person_id=self.person_id,
            device_user_id=_user_id(self.device_user_id),
            status=self.status,
        )


class DeviceUserUpdate(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int | msgspec.UnsetType = _UNSET
    person_id: int | msgspec.UnsetType = _UNSET
    device_user_id: str | int | msgspec.UnsetType | None = _UNSET
    status: str | msgspec.UnsetType = _UNSET

    def changes(self) -> DeviceUserChanges:
        user_id = self.device_user_id
        return DeviceUserChanges(
            device_id=self.device_id,
            person_id=self.person_id,
            device_user_id=user_id if isinstance(user_id, msgspec.UnsetType) else _user_id(user_id),
            status=self.status,
        )


class DeviceUserRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    device_id: int
    person_id: int
    device_user_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: DeviceUser) -> "DeviceUserRead":
        return cls(**msgspec.structs.asdict(user))
