"""Locations (access-control areas spanning floors) and the rules of when and how many people
they admit.

Every write runs in one unit of work and returns what it stored (a deletion: what it removed),
so that a publication of the change can join the same transaction.
"""

from collections.abc import Collection
from datetime import time

import msgspec

from securityvision.application.access_control import AccessControl
from securityvision.application.ports import UnitOfWork, UnitOfWorkFactory
from securityvision.application.sites import changed, floor_not_found
from securityvision.domain.access_control import Event
from securityvision.domain.errors import InvalidInput, NotFound
from securityvision.domain.sites import (
    Location,
    LocationRule,
    NewLocation,
    NewLocationRule,
    SiteDeletion,
    available_days,
    check_location,
    check_location_rule,
)

_UNSET = msgspec.UNSET


class LocationChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update; ``floor_ids``, when sent, replaces the location's floors."""

    name: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    status: str | msgspec.UnsetType = _UNSET
    floor_ids: tuple[int, ...] | msgspec.UnsetType = _UNSET


class LocationRuleChanges(msgspec.Struct, frozen=True, kw_only=True):
    location_id: int | msgspec.UnsetType = _UNSET
    capacity: int | msgspec.UnsetType | None = _UNSET
    avaliable_days: str | msgspec.UnsetType | None = _UNSET
    start_time: time | msgspec.UnsetType | None = _UNSET
    end_time: time | msgspec.UnsetType | None = _UNSET
    status: str | msgspec.UnsetType = _UNSET
    validate: bool | msgspec.UnsetType = _UNSET


def location_not_found(location_id: int) -> NotFound:
    return NotFound(f"location {location_id} not found", code="location_not_found")


def _rule_not_found(rule_id: int) -> NotFound:
    return NotFound(f"location rule {rule_id} not found", code="location_rule_not_found")


async def _existing_floors(uow: UnitOfWork, floor_ids: Collection[int]) -> tuple[int, ...]:
    """The floors, each once and in order, all existing (else ``floor_not_found``, naming the
    first missing one)."""
    wanted = sorted(set(floor_ids))
    found = {f.id for f in await uow.floors.get_many(wanted)}
    missing = [f for f in wanted if f not in found]
    if missing:
        raise floor_not_found(missing[0])
    return tuple(wanted)


class CreateLocation:
    """Create a location over existing floors.

    - A name is required; ``status`` defaults to ACTIVE.
    - Every id of ``floor_ids`` must name a floor (``floor_not_found``), else nothing is
      stored; repeats count once.
    """

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, draft: NewLocation) -> Location:
        new = msgspec.structs.replace(draft, name=draft.name.strip())
        check_location(new)
        async with self._uow() as uow:
            new = msgspec.structs.replace(new, floor_ids=await _existing_floors(uow, new.floor_ids))
            location = await uow.locations.add(new)
            await self._access_control.location_changed(uow, Event.CREATED, location)
            await uow.commit()
        return location


class UpdateLocation:
    """Change only the fields sent; ``floor_ids`` replaces the floors (all must exist)."""

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, location_id: int, changes: LocationChanges) -> Location:
        async with self._uow() as uow:
            location = await uow.locations.get(location_id)
            if location is None:
                raise location_not_found(location_id)
            values = changed(changes)
            if not values:
                return location
            if "floor_ids" in values:
                values["floor_ids"] = await _existing_floors(uow, values["floor_ids"])
            updated = msgspec.structs.replace(location, **values)
            updated = msgspec.structs.replace(updated, name=updated.name.strip())
            check_location(updated)
            saved = await uow.locations.update(updated)
            await self._access_control.location_changed(uow, Event.UPDATED, saved)
            await uow.commit()
        return saved


class DeleteLocation:
    """Remove a location with its rules; devices in it stay, with no location."""

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, location_id: int) -> SiteDeletion:
        async with self._uow() as uow:
            deletion = await uow.locations.delete(location_id)
            if deletion is None:
                raise location_not_found(location_id)
            await self._access_control.site_deleted(uow, deletion)
            await uow.commit()
        return deletion


class GetLocation:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, location_id: int) -> Location:
        async with self._uow() as uow:
            location = await uow.locations.get(location_id)
        if location is None:
            raise location_not_found(location_id)
        return location


class ListLocations:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> list[Location]:
        async with self._uow() as uow:
            return list(await uow.locations.list(skip=skip, limit=limit))


def _normalized(rule: NewLocationRule) -> NewLocationRule:
    return msgspec.structs.replace(rule, avaliable_days=available_days(rule.avaliable_days))


class CreateLocationRule:
    """Add a rule to a location.

    - The rule's ``location_id`` must be the location addressed (``location_id_mismatch``,
      answered 400 as the original did) and exist.
    - ``avaliable_days`` is day numbers 0-7 separated by commas (stored without spaces or
      repeats); ``capacity`` is not negative. Times may wrap past midnight (22:00-06:00).
    """

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, location_id: int, draft: NewLocationRule) -> LocationRule:
        if draft.location_id != location_id:
            raise InvalidInput(
                f"the rule's location_id ({draft.location_id}) is not the location addressed"
                f" ({location_id})",
                code="location_id_mismatch",
            )
        new = _normalized(draft)
        check_location_rule(new)
        async with self._uow() as uow:
            if await uow.locations.get(location_id) is None:
                raise location_not_found(location_id)
            rule = await uow.location_rules.add(new)
            await self._access_control.location_rule_changed(uow, Event.CREATED, rule)
            await uow.commit()
        return rule


class UpdateLocationRule:
    """Change only the fields sent, with the rules of ``CreateLocationRule``; a rule may move
    to another existing location."""

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, rule_id: int, changes: LocationRuleChanges) -> LocationRule:
        async with self._uow() as uow:
            rule = await uow.location_rules.get(rule_id)
            if rule is None:
                raise _rule_not_found(rule_id)
            values = changed(changes)
            if not values:
                return rule
            updated = msgspec.structs.replace(rule, **values)
            updated = msgspec.structs.replace(
                updated, avaliable_days=available_days(updated.avaliable_days)
            )
            check_location_rule(updated)
            if (
                updated.location_id != rule.location_id
                and await uow.locations.get(updated.location_id) is None
            ):
                raise location_not_found(updated.location_id)
            saved = await uow.location_rules.update(updated)
            await self._access_control.location_rule_changed(uow, Event.UPDATED, saved)
            await uow.commit()
        return saved


class DeleteLocationRule:
    """Remove a rule; returns it as it was (its location is who must hear of it)."""

    def __init__(self, uow: UnitOfWorkFactory, access_control: AccessControl | None = None) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()

    async def execute(self, rule_id: int) -> LocationRule:
        async with self._uow() as uow:
            rule = await uow.location_rules.delete(rule_id)
            if rule is None:
                raise _rule_not_found(rule_id)
            await self._access_control.location_rule_deleted(uow, rule)
            await uow.commit()
        return rule


class ListLocationRules:
    """A location's rules, in id order."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, location_id: int) -> list[LocationRule]:
        async with self._uow() as uow:
            if await uow.locations.get(location_id) is None:
                raise location_not_found(location_id)
            return list(await uow.location_rules.list(location_id=location_id))


__all__ = [
    "CreateLocation",
    "CreateLocationRule",
    "DeleteLocation",
    "DeleteLocationRule",
    "GetLocation",
    "ListLocationRules",
    "ListLocations",
    "LocationChanges",
    "LocationRuleChanges",
    "UpdateLocation",
    "UpdateLocationRule",
]
