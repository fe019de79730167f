"""``/api/v1/people`` and ``/api/v1/person-groups``: who is tracked, and their groups.

Everyone signed in reads; OPERATOR and above write (operators manage people).
"""

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from securityvision.application.people import (
    CreatePerson,
    CreatePersonGroup,
    DeletePerson,
    DeletePersonGroup,
    GetGroupMembers,
    GetPerson,
    GetPersonGroup,
    ListPeople,
    ListPersonGroups,
    SetGroupMembers,
    UpdatePerson,
    UpdatePersonGroup,
)
from securityvision.domain.identity import Role
from securityvision.entrypoints.http.auth import requires
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_people import (
    GroupMembersUpdate,
    PersonCreate,
    PersonGroupCreate,
    PersonGroupRead,
    PersonGroupUpdate,
    PersonGroupWithMembersRead,
    PersonRead,
    PersonUpdate,
)

_WRITERS = [requires(Role.OPERATOR)]


class PeopleController(Controller):
    path = "/people"
    tags = ["people"]

    @get("/")
    async def list_people(
        self, list_people: NamedDependency[ListPeople], skip: Skip = 0, limit: Limit = 100
    ) -> list[PersonRead]:
        """People in id order, each with ``groups``."""
        people = await list_people.execute(skip=skip, limit=limit)
        return [PersonRead.of(p) for p in people]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_person(
        self, data: JSONBody[PersonCreate], create_person: NamedDependency[CreatePerson]
    ) -> PersonRead:
        """Register a person; ``name`` stands for ``full_name`` and ``cpf`` for
        ``document_id``, as in the original."""
        return PersonRead.of(await create_person.execute(data.draft()))

    @get("/{person_id:int}")
    async def get_person(
        self, person_id: FromPath[int], get_person: NamedDependency[GetPerson]
    ) -> PersonRead:
        return PersonRead.of(await get_person.execute(person_id))

    @put("/{person_id:int}", guards=_WRITERS)
    async def update_person(
        self,
        person_id: FromPath[int],
        data: JSONBody[PersonUpdate],
        update_person: NamedDependency[UpdatePerson],
    ) -> PersonRead:
        """Change only the fields sent; ``group_ids`` replaces the person's groups."""
        return PersonRead.of(await update_person.execute(person_id, data.changes()))

    @delete("/{person_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_person(
        self, person_id: FromPath[int], delete_person: NamedDependency[DeletePerson]
    ) -> None:
        """Remove a person; their tags stay, assigned to nobody."""
        await delete_person.execute(person_id)


class PersonGroupsController(Controller):
    path = "/person-groups"
    tags = ["person-groups"]

    @get("/")
    async def list_person_groups(
        self,
        list_person_groups: NamedDependency[ListPersonGroups],
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[PersonGroupRead]:
        groups = await list_person_groups.execute(skip=skip, limit=limit)
        return [PersonGroupRead.of(g) for g in groups]

    @post("/", status_code=HTTP_201_CREATED, guards=_WRITERS)
    async def create_person_group(
        self,
        data: JSONBody[PersonGroupCreate],
        create_person_group: NamedDependency[CreatePersonGroup],
    ) -> PersonGroupRead:
        """Create a group; names are unique (``400 person_group_name_taken``)."""
        return PersonGroupRead.of(await create_person_group.execute(data.draft()))

    @get("/{group_id:int}")
    async def get_person_group(
        self, group_id: FromPath[int], get_person_group: NamedDependency[GetPersonGroup]
    ) -> PersonGroupRead:
        return PersonGroupRead.of(await get_person_group.execute(group_id))

    @put("/{group_id:int}", guards=_WRITERS)
    async def update_person_group(
        self,
        group_id: FromPath[int],
        data: JSONBody[PersonGroupUpdate],
        update_person_group: NamedDependency[UpdatePersonGroup],
    ) -> PersonGroupRead:
        """Change only the fields sent."""
        return PersonGroupRead.of(await update_person_group.execute(group_id, data.changes()))

    @delete("/{group_id:int}", status_code=HTTP_204_NO_CONTENT, guards=_WRITERS)
    async def delete_person_group(
        self, group_id: FromPath[int], delete_person_group: NamedDependency[DeletePersonGroup]
    ) -> None:
        """Remove a group; its people stay."""
        await delete_person_group.execute(group_id)

    @get("/{group_id:int}/people")
    async def list_group_people(
        self, group_id: FromPath[int], get_group_members: NamedDependency[GetGroupMembers]
    ) -> list[PersonRead]:
        """The group's people, in id order."""
        found = await get_group_members.execute(group_id)
        return [PersonRead.of(p) for p in found.people]

    @put("/{group_id:int}/people", guards=_WRITERS)
    async def set_group_people(
        self,
        group_id: FromPath[int],
        data: JSONBody[GroupMembersUpdate],
        set_group_members: NamedDependency[SetGroupMembers],
    ) -> PersonGroupWithMembersRead:
        """Replace the members with exactly ``people_ids``; returns the group with ``people``."""
        found = await set_group_members.execute(group_id, data.people_ids)
        return PersonGroupWithMembersRead.of(found)

    @get("/{group_id:int}/with-members")
    async def get_group_with_members(
        self, group_id: FromPath[int], get_group_members: NamedDependency[GetGroupMembers]
    ) -> PersonGroupWithMembersRead:
        return PersonGroupWithMembersRead.of(await get_group_members.execute(group_id))
