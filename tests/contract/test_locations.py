"""The location, location-rule and device-user repositories behave the same on every
adapter."""

from datetime import time

import msgspec
import pytest

from securityvision.application.ports import Storage
from securityvision.domain.devices import Device, NewDevice
from securityvision.domain.errors import Conflict, NotFound
from securityvision.domain.people import NewPerson, Person
from securityvision.domain.sites import (
    Floor,
    NewBuilding,
    NewDeviceUser,
    NewFloor,
    NewLocation,
    NewLocationRule,
    SiteDeletion,
)


async def add_floors(storage: Storage, count: int) -> list[Floor]:
    async with storage.unit_of_work() as uow:
        building = await uow.buildings.add(NewBuilding(name="Tower", code="TOWER"))
        floors = [
            await uow.floors.add(NewFloor(building_id=building.id, name=f"F{i}", level=i))
            for i in range(count)
        ]
        await uow.commit()
    return floors


async def test_a_location_reads_back_with_its_floors_in_id_order(storage: Storage) -> None:
    floors = await add_floors(storage, 3)
    new = NewLocation(
        name="Lobby",
        description="ground hall",
        status="INACTIVE",
        floor_ids=(floors[2].id, floors[0].id),
    )
    async with storage.unit_of_work() as uow:
        added = await uow.locations.add(new)
        bare = await uow.locations.add(NewLocation(name="Roof"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.locations.get(added.id) == added
        assert await uow.locations.list() == [added, bare]
        assert await uow.locations.list(skip=1) == [bare]
        assert await uow.locations.get(bare.id + 1000) is None
    assert added.floor_ids == (floors[0].id, floors[2].id)
    assert (added.name, added.description, added.status) == ("Lobby", "ground hall", "INACTIVE")
    assert bare.floor_ids == ()


async def test_updating_a_location_replaces_its_floors(storage: Storage) -> None:
    floors = await add_floors(storage, 3)
    async with storage.unit_of_work() as uow:
        added = await uow.locations.add(NewLocation(name="Lobby", floor_ids=(floors[0].id,)))
        await uow.commit()
    changed = msgspec.structs.replace(added, name="Hall", floor_ids=(floors[1].id, floors[2].id))
    async with storage.unit_of_work() as uow:
        saved = await uow.locations.update(changed)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.locations.get(added.id) == saved
    assert (saved.name, saved.floor_ids) == ("Hall", (floors[1].id, floors[2].id))
    assert saved.updated_at >= added.updated_at


async def test_deleting_a_location_removes_its_rules_and_unsets_its_devices(
    storage: Storage,
) -> None:
    floors = await add_floors(storage, 1)
    async with storage.unit_of_work() as uow:
        lobby = await uow.locations.add(NewLocation(name="Lobby", floor_ids=(floors[0].id,)))
        other = await uow.locations.add(NewLocation(name="Other"))
        rules = [await uow.location_rules.add(NewLocationRule(location_id=lobby.id)) for _ in "ab"]
        kept = await uow.location_rules.add(NewLocationRule(location_id=other.id))
        door = await uow.devices.add(NewDevice(name="Door", location_id=lobby.id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        deletion = await uow.locations.delete(lobby.id)
        assert await uow.locations.delete(lobby.id) is None
        await uow.commit()
    assert deletion == SiteDeletion(
        location_ids=(lobby.id,),
        location_rule_ids=tuple(r.id for r in rules),
        unplaced_device_ids=(door.id,),
    )
    async with storage.unit_of_work() as uow:
        assert await uow.location_rules.get(rules[0].id) is None
        assert await uow.location_rules.list(location_id=other.id) == [kept]
        after = await uow.devices.get(door.id)
        assert await uow.floors.get(floors[0].id) == floors[0]
    assert after is not None
    assert after.location_id is None


async def test_a_rule_reads_back_with_every_field_and_needs_its_location(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        lobby = await uow.locations.add(NewLocation(name="Lobby"))
        await uow.commit()
    new = NewLocationRule(
        location_id=lobby.id,
        capacity=12,
        avaliable_days="1,2,3,4,5",
        start_time=time(8, 0),
        end_time=time(18, 30),
        status="INACTIVE",
        validate=False,
    )
    async with storage.unit_of_work() as uow:
        added = await uow.location_rules.add(new)
        other = await uow.location_rules.add(NewLocationRule(location_id=lobby.id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.location_rules.get(added.id) == added
        assert await uow.location_rules.list(location_id=lobby.id) == [added, other]
        with pytest.raises(NotFound) as missing:
            await uow.location_rules.add(NewLocationRule(location_id=lobby.id + 1000))
    assert {k: getattr(added, k) for k in new.__struct_fields__} == msgspec.structs.asdict(new)
    assert (other.status, other.validate, other.start_time) == ("ACTIVE", True, None)
    assert missing.value.code == "location_not_found"


async def test_a_rule_is_updated_in_full_and_deleted_returning_what_it_was(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        lobby = await uow.locations.add(NewLocation(name="Lobby"))
        added = await uow.location_rules.add(
            NewLocationRule(location_id=lobby.id, capacity=3, start_time=time(9))
        )
        await uow.commit()
    changed = msgspec.structs.replace(added, capacity=None, start_time=None, avaliable_days="6")
    async with storage.unit_of_work() as uow:
        saved = await uow.location_rules.update(changed)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        removed = await uow.location_rules.delete(added.id)
        assert await uow.location_rules.delete(added.id) is None
        await uow.commit()
    assert msgspec.structs.replace(saved, updated_at=changed.updated_at) == changed
    assert removed == saved


async def people_and_devices(storage: Storage) -> tuple[list[Person], list[Device]]:
    async with storage.unit_of_work() as uow:
        people = [await uow.people.add(NewPerson(full_name=n)) for n in ("Ana", "Bia")]
        devices = [await uow.devices.add(NewDevice(name=n)) for n in ("Door 1", "Door 2")]
        await uow.commit()
    return people, devices


async def test_a_device_user_reads_back_and_lists_filtered_before_paging(
    storage: Storage,
) -> None:
    (ana, bia), (door1, door2) = await people_and_devices(storage)
    async with storage.unit_of_work() as uow:
        added = [
            await uow.device_users.add(
                NewDeviceUser(device_id=d.id, person_id=p.id, device_user_id=f"{d.id}-{p.id}")
            )
            for d in (door1, door2)
            for p in (ana, bia)
        ]
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.device_users.get(added[0].id) == added[0]
        assert await uow.device_users.list() == added
        assert await uow.device_users.list(device_id=door2.id, limit=1) == [added[2]]
        assert await uow.device_users.list(person_id=bia.id, skip=1) == [added[3]]
        assert await uow.device_users.list(device_id=door1.id, person_id=bia.id) == [added[1]]
        assert await uow.device_users.get(added[-1].id + 1000) is None
    assert (added[0].status, added[0].device_user_id) == ("ACTIVE", f"{door1.id}-{ana.id}")


async def test_one_device_knows_one_person_by_a_user_id(storage: Storage) -> None:
    (ana, bia), (door1, door2) = await people_and_devices(storage)
    async with storage.unit_of_work() as uow:
        first = await uow.device_users.add(
            NewDeviceUser(device_id=door1.id, person_id=ana.id, device_user_id="7")
        )
        await uow.device_users.add(
            NewDeviceUser(device_id=door2.id, person_id=bia.id, device_user_id="7")
        )
        for _ in range(2):
            await uow.device_users.add(NewDeviceUser(device_id=door1.id, person_id=bia.id))
        await uow.commit()
    codes = []
    for attempt in [
        NewDeviceUser(device_id=door1.id, person_id=bia.id, device_user_id="7"),
        NewDeviceUser(device_id=door1.id + 1000, person_id=ana.id),
        NewDeviceUser(device_id=door1.id, person_id=ana.id + 1000),
    ]:
        async with storage.unit_of_work() as uow:
            with pytest.raises((Conflict, NotFound)) as caught:
                await uow.device_users.add(attempt)
            codes.append(caught.value.code)
    assert codes == ["device_user_id_taken", "device_not_found", "person_not_found"]
    async with storage.unit_of_work() as uow:
        moved = await uow.device_users.update(msgspec.structs.replace(first, status="BLOCKED"))
        await uow.commit()
    assert (moved.status, moved.device_user_id) == ("BLOCKED", "7")


async def test_deleting_a_device_or_a_person_drops_their_enrolments(storage: Storage) -> None:
    (ana, bia), (door1, door2) = await people_and_devices(storage)
    async with storage.unit_of_work() as uow:
        gone_with_door = await uow.device_users.add(
            NewDeviceUser(device_id=door1.id, person_id=bia.id)
        )
        gone_with_ana = await uow.device_users.add(
            NewDeviceUser(device_id=door2.id, person_id=ana.id)
        )
        kept = await uow.device_users.add(NewDeviceUser(device_id=door2.id, person_id=bia.id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        await uow.devices.delete(door1.id)
        await uow.people.delete(ana.id)
        removed = await uow.device_users.delete(kept.id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.device_users.list() == []
        assert await uow.device_users.get(gone_with_door.id) is None
        assert await uow.device_users.get(gone_with_ana.id) is None
    assert removed == kept
