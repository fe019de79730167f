"""HTTP bodies of ``/tags``, in the original's wire shapes."""

from datetime import datetime

import msgspec

from securityvision.application.tags import TagChanges, TagDraft
from securityvision.domain.rtls import Tag, UnknownTag

_UNSET = msgspec.UNSET


def _activity(
    is_active: bool | msgspec.UnsetType, active: bool | msgspec.UnsetType
) -> bool | msgspec.UnsetType:
    """The front end posts ``is_active``, the original named it ``active``: either is taken,
    ``is_active`` first when both are sent."""
    return active if isinstance(is_active, msgspec.UnsetType) else is_active


class TagCreate(msgspec.Struct, frozen=True, kw_only=True):
    mac_address: str
    label: str | None = None
    person_id: int | None = None
    active: bool | msgspec.UnsetType = _UNSET
    is_active: bool | msgspec.UnsetType = _UNSET
    notes: str | None = None

    def draft(self) -> TagDraft:
        active = _activity(self.is_active, self.active)
        return TagDraft(
            mac_address=self.mac_address,
            label=self.label,
            person_id=self.person_id,
            active=True if isinstance(active, msgspec.UnsetType) else active,
            notes=self.notes,
        )


class TagUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PUT body: only the fields sent change."""

    mac_address: str | msgspec.UnsetType = _UNSET
    label: str | msgspec.UnsetType | None = _UNSET
    person_id: int | msgspec.UnsetType | None = _UNSET
    active: bool | msgspec.UnsetType = _UNSET
    is_active: bool | msgspec.UnsetType = _UNSET
    notes: str | msgspec.UnsetType | None = _UNSET

    def changes(self) -> TagChanges:
        return TagChanges(
            mac_address=self.mac_address,
            label=self.label,
            person_id=self.person_id,
            active=_activity(self.is_active, self.active),
            notes=self.notes,
        )


class TagRead(msgspec.Struct, frozen=True, kw_only=True):
    """``active`` is the original's name, ``is_active`` the one the front end uses."""

    id: int
    mac_address: str
    label: str | None
    person_id: int | None
    active: bool
    is_active: bool
    notes: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, tag: Tag) -> "TagRead":
        return cls(
            id=tag.id,
            mac_address=tag.mac_address,
            label=tag.label,
            person_id=tag.person_id,
            active=tag.active,
            is_active=tag.active,
            notes=tag.notes,
            created_at=tag.created_at,
            updated_at=tag.updated_at,
        )


class UnknownTagRead(msgspec.Struct, frozen=True, kw_only=True):
    mac_address: str
    last_device_id: int | None
    last_device_name: str | None
    last_rssi: int | None
    first_seen_at: datetime
    last_seen_at: datetime
    readings_count: int

    @classmethod
    def of(cls, unknown: UnknownTag) -> "UnknownTagRead":
        return cls(
            mac_address=unknown.mac_address,
            last_device_id=unknown.last_device_id,
            last_device_name=unknown.last_device_name,
            last_rssi=unknown.last_rssi,
            first_seen_at=unknown.first_seen_at,
            last_seen_at=unknown.last_seen_at,
            readings_count=unknown.readings_count,
        )
