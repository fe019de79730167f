"""Support groups: the teams incidents are assigned to, and their members."""

from collections.abc import Collection, Sequence

import msgspec

from securityvision.application.ports import UnitOfWork, UnitOfWorkFactory
from securityvision.domain.errors import Conflict, NotFound
from securityvision.domain.identity import User
from securityvision.domain.incident_rules import (
    NewSupportGroup,
    SupportGroup,
    check_support_group,
)


class SupportGroupDetails(msgspec.Struct, frozen=True, kw_only=True):
    group: SupportGroup
    members: tuple[User, ...] = ()


class SupportGroupChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update (the front end sends ``{member_ids}`` alone); ``member_ids``
    replaces the members."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    default_sla_minutes: int | msgspec.UnsetType | None = msgspec.UNSET
    chatwoot_inbox_identifier: str | msgspec.UnsetType | None = msgspec.UNSET
    chatwoot_team_id: int | msgspec.UnsetType | None = msgspec.UNSET
    member_ids: tuple[int, ...] | msgspec.UnsetType = msgspec.UNSET


def support_group_not_found(group_id: int) -> NotFound:
    return NotFound(f"support group {group_id} not found", code="support_group_not_found")


async def _existing_users(uow: UnitOfWork, user_ids: Collection[int]) -> set[int]:
    wanted = set(user_ids)
    for user_id in sorted(wanted):
        if await uow.users.get(user_id) is None:
            raise NotFound(f"user {user_id} not found", code="user_not_found")
    return wanted


async def _details(uow: UnitOfWork, groups: Sequence[SupportGroup]) -> list[SupportGroupDetails]:
    users: dict[int, User] = {}
    for user_id in sorted({m for g in groups for m in g.member_ids}):
        user = await uow.users.get(user_id)
        if user is not None:
            users[user_id] = user
    return [
        SupportGroupDetails(group=g, members=tuple(users[m] for m in g.member_ids if m in users))
        for g in groups
    ]


class CreateSupportGroup:
    """A team (unique name, ``400 support_group_name_taken``) with its members (existing
    users, ``404 user_not_found``)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, draft: NewSupportGroup, member_ids: Collection[int] = ()
    ) -> SupportGroupDetails:
        group = msgspec.structs.replace(draft, name=draft.name.strip())
        check_support_group(group)
        async with self._uow() as uow:
            members = await _existing_users(uow, member_ids)
            added = await uow.support_groups.add(group)
            await uow.support_groups.set_members(added.id, members)
            found = await uow.support_groups.get(added.id) or added
            (details,) = await _details(uow, [found])
            await uow.commit()
        return details


class UpdateSupportGroup:
    """Change the fields sent; ``member_ids`` replaces the members."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int, changes: SupportGroupChanges) -> SupportGroupDetails:
        fields = {
            name: value
            for name in changes.__struct_fields__
            if name != "member_ids"
            and not isinstance(value := getattr(changes, name), msgspec.UnsetType)
        }
        async with self._uow() as uow:
            group = await uow.support_groups.get(group_id)
            if group is None:
                raise support_group_not_found(group_id)
            if fields:
                changed = msgspec.structs.replace(group, **fields)
                changed = msgspec.structs.replace(changed, name=changed.name.strip())
                check_support_group(changed)
                await uow.support_groups.update(changed)
            if not isinstance(changes.member_ids, msgspec.UnsetType):
                members = await _existing_users(uow, changes.member_ids)
                await uow.support_groups.set_members(group_id, members)
            found = await uow.support_groups.get(group_id) or group
            (details,) = await _details(uow, [found])
            await uow.commit()
        return details


class GetSupportGroup:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int) -> SupportGroupDetails:
        async with self._uow() as uow:
            group = await uow.support_groups.get(group_id)
            if group is None:
                raise support_group_not_found(group_id)
            (details,) = await _details(uow, [group])
        return details


class ListSupportGroups:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> list[SupportGroupDetails]:
        async with self._uow() as uow:
            return await _details(uow, await uow.support_groups.list(skip=skip, limit=limit))


class DeleteSupportGroup:
    """Remove a group and its memberships; refused while incidents are assigned to it
    (``409 support_group_in_use``), as the original. Rules assigning to it lose the group."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int) -> None:
        async with self._uow() as uow:
            if await uow.support_groups.get(group_id) is None:
                raise support_group_not_found(group_id)
            used = await uow.incidents.count_for_group(group_id)
            if used:
                raise Conflict(
                    f"{used} incident(s) are assigned to support group {group_id}; reassign them"
                    " first",
                    code="support_group_in_use",
                )
            await uow.support_groups.delete(group_id)
            await uow.commit()


__all__ = [
    "CreateSupportGroup",
    "DeleteSupportGroup",
    "GetSupportGroup",
    "ListSupportGroups",
    "SupportGroupChanges",
    "SupportGroupDetails",
    "UpdateSupportGroup",
    "support_group_not_found",
]
