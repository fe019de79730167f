"""People and person groups: the register of who is tracked, and how they are grouped."""

from collections.abc import Collection, Sequence

import msgspec

from securityvision.application.access_control import AccessControl
from securityvision.application.ports import UnitOfWork, UnitOfWorkFactory
from securityvision.application.webhooks import WebhookEvents, person_payload
from securityvision.domain.access_control import Event
from securityvision.domain.errors import NotFound
from securityvision.domain.people import (
    NewPerson,
    NewPersonGroup,
    Person,
    PersonGroup,
    check_group,
    check_person,
)
from securityvision.domain.webhooks import WebhookEventType


class PersonDetails(msgspec.Struct, frozen=True, kw_only=True):
    """A person as the front end reads one: with the groups they belong to."""

    person: Person
    groups: tuple[PersonGroup, ...] = ()


class GroupWithMembers(msgspec.Struct, frozen=True, kw_only=True):
    group: PersonGroup
    people: tuple[PersonDetails, ...] = ()


class PersonDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A new person as the caller asks for it; ``group_ids`` None leaves them in no group."""

    full_name: str
    document_id: str | None = None
    email: str | None = None
    phone: str | None = None
    user_type: int | None = None
    active: bool = True
    notes: str | None = None
    group_ids: tuple[int, ...] | None = None


class PersonChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update: UNSET fields are left as they are; ``group_ids`` replaces the
    person's groups."""

    full_name: str | msgspec.UnsetType = msgspec.UNSET
    document_id: str | msgspec.UnsetType | None = msgspec.UNSET
    email: str | msgspec.UnsetType | None = msgspec.UNSET
    phone: str | msgspec.UnsetType | None = msgspec.UNSET
    user_type: int | msgspec.UnsetType | None = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    notes: str | msgspec.UnsetType | None = msgspec.UNSET
    group_ids: tuple[int, ...] | msgspec.UnsetType = msgspec.UNSET


class GroupDraft(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None


class GroupChanges(msgspec.Struct, frozen=True, kw_only=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET


def _person_not_found(person_id: int) -> NotFound:
    return NotFound(f"person {person_id} not found", code="person_not_found")


def _group_not_found(group_id: int) -> NotFound:
    return NotFound(f"person group {group_id} not found", code="person_group_not_found")


async def _details(uow: UnitOfWork, people: Sequence[Person]) -> list[PersonDetails]:
    groups = await uow.person_groups.groups_of([p.id for p in people])
    return [PersonDetails(person=p, groups=tuple(groups.get(p.id, ()))) for p in people]


async def _existing_groups(uow: UnitOfWork, group_ids: Collection[int]) -> set[int]:
    wanted = set(group_ids)
    found = {g.id for g in await uow.person_groups.get_many(wanted)}
    missing = sorted(wanted - found)
    if missing:
        raise _group_not_found(missing[0])
    return wanted


async def _existing_people(uow: UnitOfWork, person_ids: Collection[int]) -> set[int]:
    wanted = set(person_ids)
    found = {p.id for p in await uow.people.get_many(wanted)}
    missing = sorted(wanted - found)
    if missing:
        raise _person_not_found(missing[0])
    return wanted


class CreatePerson:
    """Register a person.

    - A name is required; texts must fit their columns.
    - ``group_ids``, when given, must all name existing groups.
    - Access control hears of the new user (``users/created``) in the same transaction.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_control: AccessControl | None = None,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()
        self._webhooks = webhooks

    async def execute(self, draft: PersonDraft) -> PersonDetails:
        new = NewPerson(
            full_name=draft.full_name.strip(),
            document_id=draft.document_id,
            email=draft.email,
            phone=draft.phone,
            user_type=draft.user_type,
            active=draft.active,
            notes=draft.notes,
        )
        check_person(new)
        async with self._uow() as uow:
            groups = await _existing_groups(uow, draft.group_ids or ())
            person = await uow.people.add(new)
            if groups:
                await uow.person_groups.set_groups_of(person.id, groups)
            await self._access_control.user_changed(uow, Event.CREATED, person)
            if self._webhooks is not None:
                await self._webhooks.tell(
                    uow, WebhookEventType.PERSON_CREATED, person_payload(person)
                )
            (details,) = await _details(uow, [person])
            await uow.commit()
        return details


class UpdatePerson:
    """Change only what the caller sent (the front end sends ``{group_ids}`` alone).

    - ``group_ids`` replaces the person's groups; every id must name an existing group.
    - The same checks as on creation apply to the result.
    - Access control hears of a change of the person's own fields (``users/updated``); a
      change of groups alone is none of its business.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_control: AccessControl | None = None,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()
        self._webhooks = webhooks

    async def execute(self, person_id: int, changes: PersonChanges) -> PersonDetails:
        async with self._uow() as uow:
            person = await uow.people.get(person_id)
            if person is None:
                raise _person_not_found(person_id)
            values = {
                name: value
                for name in msgspec.structs.asdict(changes)
                if name != "group_ids"
                and not isinstance(value := getattr(changes, name), msgspec.UnsetType)
            }
            if isinstance(values.get("full_name"), str):
                values["full_name"] = values["full_name"].strip()
            updated = msgspec.structs.replace(person, **values)
            check_person(updated)
            if not isinstance(changes.group_ids, msgspec.UnsetType):
                groups = await _existing_groups(uow, changes.group_ids)
                await uow.person_groups.set_groups_of(person_id, groups)
            saved = await uow.people.update(updated) if values else person
            if values:
                await self._access_control.user_changed(uow, Event.UPDATED, saved)
                if self._webhooks is not None:
                    await self._webhooks.tell(
                        uow, WebhookEventType.PERSON_UPDATED, person_payload(saved)
                    )
            (details,) = await _details(uow, [saved])
            await uow.commit()
        return details


class DeletePerson:
    """Remove a person; their group memberships go, their tags stay with nobody assigned (the
    tags' readings are history that outlives the assignment); access control hears the id
    (``users/deleted``)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_control: AccessControl | None = None,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._access_control = access_control or AccessControl()
        self._webhooks = webhooks

    async def execute(self, person_id: int) -> None:
        async with self._uow() as uow:
            if not await uow.people.delete(person_id):
                raise _person_not_found(person_id)
            await self._access_control.user_deleted(uow, person_id)
            if self._webhooks is not None:
                await self._webhooks.tell_deleted(
                    uow, WebhookEventType.PERSON_DELETED, "person_id", [person_id]
                )
            await uow.commit()


class GetPerson:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, person_id: int) -> PersonDetails:
        async with self._uow() as uow:
            person = await uow.people.get(person_id)
            if person is None:
                raise _person_not_found(person_id)
            (details,) = await _details(uow, [person])
        return details


class ListPeople:
    """People in id order, each with their groups."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> list[PersonDetails]:
        async with self._uow() as uow:
            people = await uow.people.list(skip=skip, limit=limit)
            return await _details(uow, people)


class CreatePersonGroup:
    """Create a group; names are unique."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, draft: GroupDraft) -> PersonGroup:
        new = NewPersonGroup(name=draft.name.strip(), description=draft.description)
        check_group(new)
        async with self._uow() as uow:
            group = await uow.person_groups.add(new)
            await uow.commit()
        return group


class UpdatePersonGroup:
    """Rename or describe a group: only the fields sent change; names stay unique."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int, changes: GroupChanges) -> PersonGroup:
        async with self._uow() as uow:
            group = await uow.person_groups.get(group_id)
            if group is None:
                raise _group_not_found(group_id)
            values = {
                name: value
                for name in ("name", "description")
                if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
            }
            if isinstance(values.get("name"), str):
                values["name"] = values["name"].strip()
            updated = msgspec.structs.replace(group, **values)
            check_group(updated)
            saved = await uow.person_groups.update(updated)
            await uow.commit()
        return saved


class DeletePersonGroup:
    """Remove a group; its people stay."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int) -> None:
        async with self._uow() as uow:
            if not await uow.person_groups.delete(group_id):
                raise _group_not_found(group_id)
            await uow.commit()


class GetPersonGroup:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int) -> PersonGroup:
        async with self._uow() as uow:
            group = await uow.person_groups.get(group_id)
        if group is None:
            raise _group_not_found(group_id)
        return group


class ListPersonGroups:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, *, skip: int = 0, limit: int = 100) -> list[PersonGroup]:
        async with self._uow() as uow:
            return list(await uow.person_groups.list(skip=skip, limit=limit))


class GetGroupMembers:
    """A group with its people (each with all their groups)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int) -> GroupWithMembers:
        async with self._uow() as uow:
            group = await uow.person_groups.get(group_id)
            if group is None:
                raise _group_not_found(group_id)
            people = await _details(uow, await uow.person_groups.members(group_id))
        return GroupWithMembers(group=group, people=tuple(people))


class SetGroupMembers:
    """Replace a group's members with exactly the people named.

    - Every id must name an existing person, else nothing changes.
    - Repeated ids count once.
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, group_id: int, person_ids: Collection[int]) -> GroupWithMembers:
        async with self._uow() as uow:
            group = await uow.person_groups.get(group_id)
            if group is None:
                raise _group_not_found(group_id)
            members = await _existing_people(uow, person_ids)
            await uow.person_groups.set_members(group_id, members)
            people = await _details(uow, await uow.person_groups.members(group_id))
            await uow.commit()
        return GroupWithMembers(group=group, people=tuple(people))


__all__ = [
    "CreatePerson",
    "CreatePersonGroup",
    "DeletePerson",
    "DeletePersonGroup",
    "GetGroupMembers",
    "GetPerson",
    "GetPersonGroup",
    "GroupChanges",
    "GroupDraft",
    "GroupWithMembers",
    "ListPeople",
    "ListPersonGroups",
    "PersonChanges",
    "PersonDetails",
    "PersonDraft",
    "SetGroupMembers",
    "UpdatePerson",
]
