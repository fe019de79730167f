"""The person and person-group repositories behave the same on every adapter."""

import msgspec
import pytest

from securityvision.application.ports import Storage
from securityvision.domain.errors import Conflict
from securityvision.domain.people import NewPerson, NewPersonGroup, Person, PersonGroup
from securityvision.domain.rtls import NewTag


async def add_people(storage: Storage, *names: str) -> list[Person]:
    async with storage.unit_of_work() as uow:
        people = [await uow.people.add(NewPerson(full_name=name)) for name in names]
        await uow.commit()
    return people


async def add_groups(storage: Storage, *names: str) -> list[PersonGroup]:
    async with storage.unit_of_work() as uow:
        groups = [await uow.person_groups.add(NewPersonGroup(name=name)) for name in names]
        await uow.commit()
    return groups


async def test_a_stored_person_reads_back_with_every_field(storage: Storage) -> None:
    new = NewPerson(
        full_name="Ana Souza",
        document_id="123.456.789-00",
        email="ana@example.com",
        phone="+55 11 5555-0000",
        user_type=2,
        active=False,
        notes="visitor",
    )
    async with storage.unit_of_work() as uow:
        added = await uow.people.add(new)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        again = await uow.people.get(added.id)
        assert await uow.people.get(added.id + 1000) is None
    assert again == added
    assert msgspec.structs.asdict(new) == {
        k: v for k, v in msgspec.structs.asdict(added).items() if k in new.__struct_fields__
    }
    assert added.status == "INACTIVE"
    assert added.created_at.tzinfo is not None


async def test_people_list_in_id_order_with_skip_and_limit_and_get_many_skips_the_missing(
    storage: Storage,
) -> None:
    people = await add_people(storage, "A", "B", "C", "D")
    ids = [p.id for p in people]
    async with storage.unit_of_work() as uow:
        assert [p.id for p in await uow.people.list()] == ids
        assert [p.id for p in await uow.people.list(skip=1, limit=2)] == ids[1:3]
        many = await uow.people.get_many([ids[2], ids[0], 99_999])
        assert [p.id for p in many] == [ids[0], ids[2]]
        assert list(await uow.people.get_many([])) == []


async def test_updating_a_person_persists_every_field_and_moves_updated_at(
    storage: Storage,
) -> None:
    (ana,) = await add_people(storage, "Ana")
    changed = msgspec.structs.replace(
        ana, full_name="Ana Maria", document_id="42", active=False, notes="left", user_type=1
    )
    async with storage.unit_of_work() as uow:
        saved = await uow.people.update(changed)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.people.get(ana.id) == saved
    assert (saved.full_name, saved.document_id, saved.active, saved.notes, saved.user_type) == (
        "Ana Maria",
        "42",
        False,
        "left",
        1,
    )
    assert saved.updated_at >= ana.updated_at
    assert saved.created_at == ana.created_at


async def test_deleting_a_person_drops_memberships_and_unassigns_their_tags(
    storage: Storage,
) -> None:
    ana, bia = await add_people(storage, "Ana", "Bia")
    (group,) = await add_groups(storage, "Night shift")
    async with storage.unit_of_work() as uow:
        await uow.person_groups.set_members(group.id, [ana.id, bia.id])
        tag = await uow.tags.add(NewTag(mac_address="AA:BB:CC:DD:EE:FF", person_id=ana.id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.people.delete(ana.id) is True
        assert await uow.people.delete(ana.id) is False
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert [p.id for p in await uow.person_groups.members(group.id)] == [bia.id]
        kept = await uow.tags.get(tag.id)
    assert kept is not None
    assert kept.person_id is None


async def test_group_names_are_unique_on_add_and_on_update(storage: Storage) -> None:
    night, _ = await add_groups(storage, "Night shift", "Day shift")
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as on_add:
            await uow.person_groups.add(NewPersonGroup(name="Day shift"))
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as on_update:
            await uow.person_groups.update(msgspec.structs.replace(night, name="Day shift"))
    assert on_add.value.code == on_update.value.code == "person_group_name_taken"


async def test_a_group_is_updated_and_listed_in_id_order(storage: Storage) -> None:
    night, day = await add_groups(storage, "Night shift", "Day shift")
    async with storage.unit_of_work() as uow:
        saved = await uow.person_groups.update(
            msgspec.structs.replace(night, name="Night", description="22h to 6h")
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.person_groups.get(night.id) == saved
        assert [g.id for g in await uow.person_groups.list()] == [night.id, day.id]
        assert [g.id for g in await uow.person_groups.list(skip=1)] == [day.id]
        assert [g.id for g in await uow.person_groups.get_many([day.id, 12345])] == [day.id]
    assert (saved.name, saved.description) == ("Night", "22h to 6h")


async def test_setting_members_replaces_them_and_each_person_knows_their_groups(
    storage: Storage,
) -> None:
    ana, bia, caio = await add_people(storage, "Ana", "Bia", "Caio")
    night, day = await add_groups(storage, "Night shift", "Day shift")
    async with storage.unit_of_work() as uow:
        await uow.person_groups.set_members(night.id, [caio.id, ana.id])
        await uow.person_groups.set_members(day.id, [ana.id])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        await uow.person_groups.set_members(night.id, [bia.id, caio.id])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert [p.id for p in await uow.person_groups.members(night.id)] == [bia.id, caio.id]
        groups = await uow.person_groups.groups_of([ana.id, bia.id, caio.id, 99_999])
    assert {person_id: [g.id for g in found] for person_id, found in groups.items()} == {
        ana.id: [day.id],
        bia.id: [night.id],
        caio.id: [night.id],
    }


async def test_setting_a_persons_groups_replaces_only_that_persons_memberships(
    storage: Storage,
) -> None:
    ana, bia = await add_people(storage, "Ana", "Bia")
    night, day = await add_groups(storage, "Night shift", "Day shift")
    async with storage.unit_of_work() as uow:
        await uow.person_groups.set_members(night.id, [ana.id, bia.id])
        await uow.person_groups.set_groups_of(ana.id, [day.id])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert [p.id for p in await uow.person_groups.members(night.id)] == [bia.id]
        assert [p.id for p in await uow.person_groups.members(day.id)] == [ana.id]
        await uow.person_groups.set_groups_of(ana.id, [])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.person_groups.members(day.id) == []


async def test_deleting_a_group_keeps_its_people(storage: Storage) -> None:
    (ana,) = await add_people(storage, "Ana")
    (night,) = await add_groups(storage, "Night shift")
    async with storage.unit_of_work() as uow:
        await uow.person_groups.set_members(night.id, [ana.id])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.person_groups.delete(night.id) is True
        assert await uow.person_groups.delete(night.id) is False
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.person_groups.get(night.id) is None
        assert await uow.people.get(ana.id) is not None
        assert await uow.person_groups.groups_of([ana.id]) == {}
