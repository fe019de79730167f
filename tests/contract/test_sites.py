"""The building, floor and floor-plan repositories behave the same on every adapter, deletions
included: sites cascade, devices are only taken off."""

import msgspec
import pytest

from securityvision.application.ports import Storage
from securityvision.domain.devices import NewDevice
from securityvision.domain.errors import Conflict, NotFound
from securityvision.domain.sites import (
    Building,
    Floor,
    FloorPlan,
    NewBuilding,
    NewFloor,
    NewFloorPlan,
    NewLocation,
    SiteDeletion,
)


class Site(msgspec.Struct, frozen=True, kw_only=True):
    building: Building
    floor: Floor
    plan: FloorPlan


async def add_site(storage: Storage, code: str = "TOWER_A", plan_name: str = "P") -> Site:
    async with storage.unit_of_work() as uow:
        building = await uow.buildings.add(NewBuilding(name=code, code=code))
        floor = await uow.floors.add(NewFloor(building_id=building.id, name="Ground"))
        plan = await uow.floor_plans.add(NewFloorPlan(floor_id=floor.id, name=plan_name))
        await uow.commit()
    return Site(building=building, floor=floor, plan=plan)


async def test_a_building_reads_back_by_id_and_by_exact_code(storage: Storage) -> None:
    new = NewBuilding(name="Tower A", code="TOWER_A", description="HQ", address="Main St 1")
    async with storage.unit_of_work() as uow:
        added = await uow.buildings.add(new)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.buildings.get(added.id) == added
        assert await uow.buildings.get_by_code("TOWER_A") == added
        assert await uow.buildings.get_by_code("tower_a") is None
        assert await uow.buildings.get(added.id + 1000) is None
    assert msgspec.structs.asdict(new) == {
        k: v for k, v in msgspec.structs.asdict(added).items() if k in new.__struct_fields__
    }
    assert added.created_at.tzinfo is not None


async def test_building_codes_are_unique_on_add_and_update(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.buildings.add(NewBuilding(name="A", code="A"))
        b = await uow.buildings.add(NewBuilding(name="B", code="B"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as on_add:
            await uow.buildings.add(NewBuilding(name="A2", code="A"))
    async with storage.unit_of_work() as uow:
        with pytest.raises(Conflict) as on_update:
            await uow.buildings.update(msgspec.structs.replace(b, code="A"))
    assert (on_add.value.code, on_update.value.code) == ("building_code_taken",) * 2


async def test_buildings_and_floors_list_in_id_order_filtered_before_paging(
    storage: Storage,
) -> None:
    a = await add_site(storage, "A")
    b = await add_site(storage, "B")
    async with storage.unit_of_work() as uow:
        upper = await uow.floors.add(NewFloor(building_id=a.building.id, name="First", level=1))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert [x.id for x in await uow.buildings.list()] == [a.building.id, b.building.id]
        assert [x.id for x in await uow.buildings.list(skip=1, limit=1)] == [b.building.id]
        in_a = await uow.floors.list(building_id=a.building.id, skip=1)
        assert [f.id for f in in_a] == [upper.id]
        assert [f.id for f in await uow.floors.list(limit=2)] == [a.floor.id, b.floor.id]
        many = await uow.floors.get_many([upper.id, 99_999, a.floor.id])
        assert [f.id for f in many] == [a.floor.id, upper.id]


async def test_floors_and_plans_refuse_a_missing_parent(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        with pytest.raises(NotFound) as floor:
            await uow.floors.add(NewFloor(building_id=99_999, name="F"))
    async with storage.unit_of_work() as uow:
        with pytest.raises(NotFound) as plan:
            await uow.floor_plans.add(NewFloorPlan(floor_id=99_999, name="P"))
    assert (floor.value.code, plan.value.code) == ("building_not_found", "floor_not_found")


async def test_a_plan_reads_back_with_every_field_and_its_floors_building(
    storage: Storage,
) -> None:
    here = await add_site(storage)
    new = NewFloorPlan(
        floor_id=here.floor.id,
        name="Ground_02",
        image_url="/media/floor_plans/" + "a" * 64 + ".png",
        image_file_name="a" * 64 + ".png",
        width=40.5,
        height=20.25,
        description="east wing",
    )
    async with storage.unit_of_work() as uow:
        added = await uow.floor_plans.add(new)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.floor_plans.get(added.id) == added
        assert [p.id for p in await uow.floor_plans.list()] == [here.plan.id, added.id]
        assert [p.id for p in await uow.floor_plans.list(skip=1)] == [added.id]
    assert added.building_id == here.building.id
    assert {k: getattr(added, k) for k in new.__struct_fields__} == msgspec.structs.asdict(new)


async def test_a_plan_follows_its_floor_to_another_building(storage: Storage) -> None:
    a = await add_site(storage, "A")
    b = await add_site(storage, "B")
    async with storage.unit_of_work() as uow:
        await uow.floors.update(msgspec.structs.replace(a.floor, building_id=b.building.id))
        moved = await uow.floor_plans.update(msgspec.structs.replace(a.plan, name="Moved"))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert (await uow.floor_plans.get(a.plan.id) or a.plan).building_id == b.building.id
        assert [p.id for p in await uow.floor_plans.in_building(a.building.id)] == []
    assert moved.building_id == b.building.id


async def test_a_buildings_plans_come_by_name_then_id(storage: Storage) -> None:
    here = await add_site(storage, plan_name="C")
    async with storage.unit_of_work() as uow:
        upper = await uow.floors.add(NewFloor(building_id=here.building.id, name="First"))
        b = await uow.floor_plans.add(NewFloorPlan(floor_id=upper.id, name="B"))
        a = await uow.floor_plans.add(NewFloorPlan(floor_id=here.floor.id, name="A"))
        b2 = await uow.floor_plans.add(NewFloorPlan(floor_id=here.floor.id, name="B"))
        await uow.commit()
    await add_site(storage, "OTHER", plan_name="A")
    async with storage.unit_of_work() as uow:
        plans = await uow.floor_plans.in_building(here.building.id)
    assert [p.id for p in plans] == [a.id, b.id, b2.id, here.plan.id]


async def test_devices_on_a_plan_or_a_floor_are_selected_by_the_store(storage: Storage) -> None:
    here = await add_site(storage)
    async with storage.unit_of_work() as uow:
        others = [await uow.devices.add(NewDevice(name=f"other {i}")) for i in range(3)]
        on = [
            await uow.devices.add(NewDevice(name=f"on {i}", floor_plan_id=here.plan.id))
            for i in range(3)
        ]
        on_floor = await uow.devices.add(NewDevice(name="on floor", floor_id=here.floor.id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found = await uow.devices.list(floor_plan_id=here.plan.id, limit=None)
        first = await uow.devices.list(floor_plan_id=here.plan.id, limit=1)
        by_floor = await uow.devices.list(floor_id=here.floor.id)
    assert [d.id for d in found] == [d.id for d in on]
    assert [d.id for d in first] == [on[0].id]
    assert [d.id for d in by_floor] == [on_floor.id]
    assert others[0].id < on[0].id


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("floor_plan_id", "floor_plan_not_found"),
        ("building_id", "building_not_found"),
        ("floor_id", "floor_not_found"),
        ("location_id", "location_not_found"),
    ],
)
async def test_a_device_cannot_be_placed_on_a_missing_site(
    storage: Storage, field: str, code: str
) -> None:
    async with storage.unit_of_work() as uow:
        with pytest.raises(NotFound) as caught:
            await uow.devices.add(msgspec.convert({"name": "GW", field: 99_999}, NewDevice))
    assert caught.value.code == code


async def test_deleting_a_building_cascades_to_its_sites_and_only_takes_devices_off(
    storage: Storage,
) -> None:
    here = await add_site(storage)
    away = await add_site(storage, "B")
    async with storage.unit_of_work() as uow:
        upper = await uow.floors.add(NewFloor(building_id=here.building.id, name="First"))
        lobby = await uow.locations.add(NewLocation(name="Lobby", floor_ids=(upper.id,)))
        other = await uow.locations.add(NewLocation(name="Other", floor_ids=(away.floor.id,)))
        on_plan = await uow.devices.add(
            NewDevice(
                name="on plan",
                building_id=here.building.id,
                floor_id=here.floor.id,
                floor_plan_id=here.plan.id,
                pos_x=0.5,
                pos_y=0.25,
            )
        )
        in_building = await uow.devices.add(
            NewDevice(name="in building", building_id=here.building.id)
        )
        elsewhere = await uow.devices.add(
            NewDevice(name="elsewhere", floor_plan_id=away.plan.id, pos_x=0.1, pos_y=0.1)
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        deletion = await uow.buildings.delete(here.building.id)
        assert await uow.buildings.delete(here.building.id + 1000) is None
        await uow.commit()
    assert deletion == SiteDeletion(
        building_ids=(here.building.id,),
        floor_ids=(here.floor.id, upper.id),
        floor_plan_ids=(here.plan.id,),
        unplaced_device_ids=(on_plan.id, in_building.id),
        changed_location_ids=(lobby.id,),
    )
    async with storage.unit_of_work() as uow:
        assert await uow.buildings.get(here.building.id) is None
        assert await uow.floors.get(upper.id) is None
        assert await uow.floor_plans.get(here.plan.id) is None
        devices = {d.id: d for d in await uow.devices.list(limit=None)}
        assert (await uow.locations.get(lobby.id) or lobby).floor_ids == ()
        assert await uow.locations.get(other.id) == other
    assert set(devices) == {on_plan.id, in_building.id, elsewhere.id}
    off = devices[on_plan.id]
    assert (off.building_id, off.floor_id, off.floor_plan_id, off.pos_x, off.pos_y) == (None,) * 5
    assert off.updated_at >= on_plan.updated_at
    assert devices[elsewhere.id] == elsewhere


async def test_deleting_a_floor_or_a_plan_keeps_what_is_above_it(storage: Storage) -> None:
    here = await add_site(storage)
    async with storage.unit_of_work() as uow:
        second = await uow.floor_plans.add(NewFloorPlan(floor_id=here.floor.id, name="P2"))
        device = await uow.devices.add(
            NewDevice(
                name="GW",
                building_id=here.building.id,
                floor_id=here.floor.id,
                floor_plan_id=here.plan.id,
                pos_x=1.0,
                pos_y=2.0,
            )
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        plan_gone = await uow.floor_plans.delete(here.plan.id)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        after_plan = await uow.devices.get(device.id)
        floor_gone = await uow.floors.delete(here.floor.id)
        assert await uow.floor_plans.delete(here.plan.id) is None
        await uow.commit()
    async with storage.unit_of_work() as uow:
        after_floor = await uow.devices.get(device.id)
        assert await uow.buildings.get(here.building.id) == here.building
        assert await uow.floor_plans.get(second.id) is None
    assert plan_gone == SiteDeletion(
        floor_plan_ids=(here.plan.id,), unplaced_device_ids=(device.id,)
    )
    assert floor_gone == SiteDeletion(
        floor_ids=(here.floor.id,), floor_plan_ids=(second.id,), unplaced_device_ids=(device.id,)
    )
    assert after_plan is not None
    assert after_floor is not None
    placement = (after_plan.floor_plan_id, after_plan.pos_x, after_plan.floor_id)
    assert placement == (None, None, here.floor.id)
    assert (after_floor.floor_id, after_floor.building_id) == (None, here.building.id)


async def test_a_rolled_back_deletion_changes_nothing(storage: Storage) -> None:
    here = await add_site(storage)
    async with storage.unit_of_work() as uow:
        device = await uow.devices.add(NewDevice(name="GW", floor_plan_id=here.plan.id))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.buildings.delete(here.building.id) is not None
    async with storage.unit_of_work() as uow:
        assert await uow.floor_plans.get(here.plan.id) == here.plan
        assert await uow.devices.get(device.id) == device
