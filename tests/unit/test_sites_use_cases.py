"""Sites, locations, device users and floor-plan images: the use cases on the in-memory
adapters."""

from datetime import time

import msgspec
import pytest

from securityvision.adapters.media import InMemoryMediaStore
from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.device_users import DeviceUserChanges
from securityvision.application.devices import DeviceChanges
from securityvision.application.locations import LocationChanges, LocationRuleChanges
from securityvision.application.sites import BuildingChanges, FloorChanges, FloorPlanChanges
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.devices import Device, NewDevice
from securityvision.domain.errors import Conflict, InvalidInput, NotFound
from securityvision.domain.people import NewPerson
from securityvision.domain.sites import (
    Building,
    Floor,
    FloorPlan,
    NewBuilding,
    NewDeviceUser,
    NewFloor,
    NewFloorPlan,
    NewLocation,
    NewLocationRule,
    SiteDeletion,
)
from tests.support import images
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def storage(clock: FakeClock) -> InMemoryStorage:
    return InMemoryStorage(clock)


@pytest.fixture
def media() -> InMemoryMediaStore:
    return InMemoryMediaStore()


@pytest.fixture
def container(clock: FakeClock, storage: InMemoryStorage, media: InMemoryMediaStore) -> Container:
    settings = load_settings(
        {"SVPOS_SECRET_KEY": "k" * 48, "MEDIA_MAX_BYTES": "10000"}, env_file=None
    )
    return build_container(settings, storage=storage, clock=clock, media_store=media)


class Site(msgspec.Struct, frozen=True, kw_only=True):
    building: Building
    floor: Floor
    plan: FloorPlan


async def site(container: Container, code: str = "TOWER_A") -> Site:
    building = await container.create_building().execute(NewBuilding(name=code, code=code))
    floor = await container.create_floor().execute(NewFloor(building_id=building.id, name="Ground"))
    plan = await container.create_floor_plan().execute(
        NewFloorPlan(floor_id=floor.id, name="Ground_01")
    )
    return Site(building=building, floor=floor, plan=plan)


async def gateway(container: Container, name: str = "GW", **fields: object) -> Device:
    return await container.create_device().execute(
        msgspec.convert({"name": name} | fields, NewDevice)
    )


# --- buildings, floors, plans ---------------------------------------------------------------


async def test_a_building_needs_a_name_and_a_code_fit_for_a_topic(container: Container) -> None:
    codes = []
    for draft in [
        NewBuilding(name=" ", code="A"),
        NewBuilding(name="A", code=" "),
        NewBuilding(name="A", code="TOWER/A"),
        NewBuilding(name="A", code="TOWER+"),
        NewBuilding(name="A", code="#"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            await container.create_building().execute(draft)
        codes.append(caught.value.code)
    assert codes == [
        "name_required",
        "code_required",
        "invalid_code",
        "invalid_code",
        "invalid_code",
    ]
    assert await container.list_buildings().execute() == []


async def test_building_codes_are_unique_and_found_exactly(container: Container) -> None:
    tower = await container.create_building().execute(NewBuilding(name="Tower", code=" TOWER "))
    with pytest.raises(Conflict) as taken:
        await container.create_building().execute(NewBuilding(name="Other", code="TOWER"))
    assert taken.value.code == "building_code_taken"
    assert tower.code == "TOWER"
    assert await container.get_building_by_code().execute("TOWER") == tower
    with pytest.raises(NotFound):
        await container.get_building_by_code().execute("tower")


async def test_updating_a_building_changes_only_what_was_sent(container: Container) -> None:
    tower = await container.create_building().execute(
        NewBuilding(name="Tower", code="TOWER", address="Main St 1")
    )
    updated = await container.update_building().execute(tower.id, BuildingChanges(description="HQ"))
    assert (updated.name, updated.code, updated.address, updated.description) == (
        "Tower",
        "TOWER",
        "Main St 1",
        "HQ",
    )
    with pytest.raises(NotFound) as missing:
        await container.update_building().execute(999, BuildingChanges(name="x"))
    assert missing.value.code == "building_not_found"


async def test_floors_and_plans_need_their_parent_and_plans_carry_its_building(
    container: Container,
) -> None:
    with pytest.raises(NotFound) as no_building:
        await container.create_floor().execute(NewFloor(building_id=999, name="F"))
    with pytest.raises(NotFound) as no_floor:
        await container.create_floor_plan().execute(NewFloorPlan(floor_id=999, name="P"))
    here = await site(container)
    assert (no_building.value.code, no_floor.value.code) == (
        "building_not_found",
        "floor_not_found",
    )
    assert here.plan.building_id == here.building.id
    assert await container.list_building_floor_plans().execute(here.building.id) == [here.plan]


async def test_a_building_lists_its_plans_by_name(container: Container) -> None:
    here = await site(container)
    upper = await container.create_floor().execute(
        NewFloor(building_id=here.building.id, name="First", level=1)
    )
    b = await container.create_floor_plan().execute(NewFloorPlan(floor_id=upper.id, name="B"))
    a = await container.create_floor_plan().execute(NewFloorPlan(floor_id=here.floor.id, name="A"))
    other = await site(container, "TOWER_B")
    names = [p.name for p in await container.list_building_floor_plans().execute(here.building.id)]
    assert names == [a.name, b.name, "Ground_01"]
    assert other.plan not in await container.list_building_floor_plans().execute(here.building.id)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:image/png;base64,AAAA", "plan.png"])
async def test_a_plan_image_url_is_an_http_address_or_one_of_ours(
    container: Container, url: str
) -> None:
    here = await site(container)
    with pytest.raises(InvalidInput) as caught:
        await container.update_floor_plan().execute(here.plan.id, FloorPlanChanges(image_url=url))
    assert caught.value.code == "invalid_image_url"
    for fine in ["https://cdn.example.com/plan.png", "/media/floor_plans/x.png", None]:
        saved = await container.update_floor_plan().execute(
            here.plan.id, FloorPlanChanges(image_url=fine)
        )
        assert saved.image_url == fine


async def test_moving_a_floor_to_another_building_takes_its_devices_along(
    container: Container,
) -> None:
    here = await site(container)
    other = await site(container, "TOWER_B")
    on_floor = await gateway(container, "On floor", floor_plan_id=here.plan.id)
    elsewhere = await gateway(container, "Elsewhere", floor_plan_id=other.plan.id)
    moved = await container.update_floor().execute(
        here.floor.id, FloorChanges(building_id=other.building.id)
    )
    assert moved.building_id == other.building.id
    after = await container.get_device().execute(on_floor.id)
    assert (after.floor_id, after.building_id) == (here.floor.id, other.building.id)
    assert await container.get_device().execute(elsewhere.id) == elsewhere
    assert (await container.get_floor_plan().execute(here.plan.id)).building_id == (
        other.building.id
    )
    with pytest.raises(NotFound) as missing:
        await container.update_floor().execute(here.floor.id, FloorChanges(building_id=999))
    assert missing.value.code == "building_not_found"


# --- deletions ------------------------------------------------------------------------------


async def test_deleting_a_building_takes_its_devices_off_and_never_deletes_them(
    container: Container, clock: FakeClock
) -> None:
    here = await site(container)
    elsewhere = await site(container, "TOWER_B")
    location = await container.create_location().execute(
        NewLocation(name="Lobby", floor_ids=(here.floor.id, elsewhere.floor.id))
    )
    on_plan = await gateway(container, "On plan", floor_plan_id=here.plan.id, pos_x=0.5, pos_y=0.5)
    on_floor = await gateway(container, "On floor", floor_id=here.floor.id)
    away = await gateway(container, "Away", floor_plan_id=elsewhere.plan.id, pos_x=0.1, pos_y=0.1)
    clock.advance(minutes=1)
    deletion = await container.delete_building().execute(here.building.id)
    assert deletion == SiteDeletion(
        building_ids=(here.building.id,),
        floor_ids=(here.floor.id,),
        floor_plan_ids=(here.plan.id,),
        unplaced_device_ids=(on_plan.id, on_floor.id),
        changed_location_ids=(location.id,),
    )
    devices = {d.id: d for d in await container.list_devices().execute()}
    assert set(devices) == {on_plan.id, on_floor.id, away.id}
    taken_off = devices[on_plan.id]
    placement = ("building_id", "floor_id", "floor_plan_id", "pos_x", "pos_y")
    assert [getattr(taken_off, f) for f in placement] == [None] * 5
    assert taken_off.updated_at == clock.now()
    assert devices[away.id] == away
    assert (await container.get_location().execute(location.id)).floor_ids == (elsewhere.floor.id,)
    with pytest.raises(NotFound):
        await container.get_floor_plan().execute(here.plan.id)
    with pytest.raises(NotFound) as again:
        await container.delete_building().execute(here.building.id)
    assert again.value.code == "building_not_found"


async def test_deleting_a_plan_keeps_the_devices_floor_and_building(container: Container) -> None:
    here = await site(container)
    device = await gateway(container, floor_plan_id=here.plan.id, pos_x=0.3, pos_y=0.4)
    deletion = await container.delete_floor_plan().execute(here.plan.id)
    after = await container.get_device().execute(device.id)
    assert deletion == SiteDeletion(
        floor_plan_ids=(here.plan.id,), unplaced_device_ids=(device.id,)
    )
    assert (after.floor_plan_id, after.pos_x, after.floor_id, after.building_id) == (
        None,
        None,
        here.floor.id,
        here.building.id,
    )


async def test_deleting_a_floor_removes_its_plans_and_keeps_the_devices_building(
    container: Container,
) -> None:
    here = await site(container)
    device = await gateway(container, floor_plan_id=here.plan.id, pos_x=0.3, pos_y=0.4)
    deletion = await container.delete_floor().execute(here.floor.id)
    after = await container.get_device().execute(device.id)
    assert (deletion.floor_ids, deletion.floor_plan_ids, deletion.unplaced_device_ids) == (
        (here.floor.id,),
        (here.plan.id,),
        (device.id,),
    )
    assert (after.floor_plan_id, after.floor_id, after.building_id) == (
        None,
        None,
        here.building.id,
    )


# --- device placement -----------------------------------------------------------------------


async def test_a_bare_drag_onto_a_plan_sets_the_plans_floor_and_building(
    container: Container,
) -> None:
    here = await site(container)
    other = await site(container, "TOWER_B")
    device = await gateway(container, floor_id=other.floor.id)
    dragged = await container.update_device().execute(
        device.id, DeviceChanges(floor_plan_id=here.plan.id, pos_x=0.2, pos_y=0.8)
    )
    assert (dragged.floor_plan_id, dragged.floor_id, dragged.building_id) == (
        here.plan.id,
        here.floor.id,
        here.building.id,
    )
    moved = await container.update_device().execute(
        device.id,
        DeviceChanges(floor_plan_id=other.plan.id, floor_id=other.floor.id, pos_x=0.5, pos_y=0.5),
    )
    assert (moved.floor_id, moved.building_id) == (other.floor.id, other.building.id)
    created = await gateway(container, "New", floor_plan_id=here.plan.id)
    assert (created.floor_id, created.building_id) == (here.floor.id, here.building.id)


async def test_taking_a_device_off_its_plan_keeps_floor_and_building(
    container: Container,
) -> None:
    here = await site(container)
    device = await gateway(container, floor_plan_id=here.plan.id, pos_x=0.2, pos_y=0.8)
    off = await container.update_device().execute(
        device.id, DeviceChanges(floor_plan_id=None, pos_x=None, pos_y=None)
    )
    assert (off.floor_plan_id, off.pos_x, off.floor_id, off.building_id) == (
        None,
        None,
        here.floor.id,
        here.building.id,
    )
    renamed = await container.update_device().execute(device.id, DeviceChanges(name="Lobby"))
    assert (renamed.name, renamed.floor_id) == ("Lobby", here.floor.id)


async def test_a_floor_or_building_that_contradicts_the_placement_is_refused(
    container: Container,
) -> None:
    here = await site(container)
    other = await site(container, "TOWER_B")
    device = await gateway(container, floor_plan_id=here.plan.id)
    attempts = [
        DeviceChanges(floor_plan_id=here.plan.id, floor_id=other.floor.id),
        DeviceChanges(building_id=other.building.id),
        DeviceChanges(floor_id=None),
        DeviceChanges(floor_plan_id=None, floor_id=here.floor.id, building_id=other.building.id),
    ]
    for changes in attempts:
        with pytest.raises(InvalidInput) as caught:
            await container.update_device().execute(device.id, changes)
        assert caught.value.code == "placement_mismatch"
    with pytest.raises(NotFound) as missing:
        await container.update_device().execute(device.id, DeviceChanges(floor_plan_id=999))
    assert missing.value.code == "floor_plan_not_found"
    assert await container.get_device().execute(device.id) == device


# --- locations and rules --------------------------------------------------------------------


async def test_a_location_spans_existing_floors_only(container: Container) -> None:
    here = await site(container)
    with pytest.raises(NotFound) as missing:
        await container.create_location().execute(
            NewLocation(name="Lobby", floor_ids=(here.floor.id, 999))
        )
    assert missing.value.code == "floor_not_found"
    assert await container.list_locations().execute() == []
    lobby = await container.create_location().execute(
        NewLocation(name=" Lobby ", floor_ids=(here.floor.id, here.floor.id))
    )
    assert (lobby.name, lobby.status, lobby.floor_ids) == ("Lobby", "ACTIVE", (here.floor.id,))
    renamed = await container.update_location().execute(lobby.id, LocationChanges(name="Hall"))
    assert renamed.floor_ids == (here.floor.id,)
    emptied = await container.update_location().execute(lobby.id, LocationChanges(floor_ids=()))
    assert emptied.floor_ids == ()


async def test_a_rule_belongs_to_the_location_addressed(container: Container) -> None:
    lobby = await container.create_location().execute(NewLocation(name="Lobby"))
    with pytest.raises(InvalidInput) as mismatch:
        await container.create_location_rule().execute(
            lobby.id, NewLocationRule(location_id=lobby.id + 1)
        )
    assert mismatch.value.code == "location_id_mismatch"
    rule = await container.create_location_rule().execute(
        lobby.id,
        NewLocationRule(
            location_id=lobby.id,
            capacity=20,
            avaliable_days="1, 2,3,3",
            start_time=time(22, 0),
            end_time=time(6, 0),
        ),
    )
    assert (rule.avaliable_days, rule.status, rule.validate) == ("1,2,3", "ACTIVE", True)
    with pytest.raises(InvalidInput) as bad_days:
        await container.update_location_rule().execute(
            rule.id, LocationRuleChanges(avaliable_days="mon,tue")
        )
    assert bad_days.value.code == "invalid_available_days"
    updated = await container.update_location_rule().execute(
        rule.id, LocationRuleChanges(capacity=5)
    )
    assert (updated.capacity, updated.avaliable_days) == (5, "1,2,3")
    assert await container.list_location_rules().execute(lobby.id) == [updated]
    deletion = await container.delete_location().execute(lobby.id)
    assert deletion == SiteDeletion(location_ids=(lobby.id,), location_rule_ids=(rule.id,))
    with pytest.raises(NotFound) as gone:
        await container.delete_location_rule().execute(rule.id)
    assert gone.value.code == "location_rule_not_found"


# --- device users ---------------------------------------------------------------------------


async def test_device_users_link_existing_devices_and_people_once_per_user_id(
    container: Container, storage: InMemoryStorage
) -> None:
    door = await gateway(container, "Door")
    async with storage.unit_of_work() as uow:
        ana = await uow.people.add(NewPerson(full_name="Ana"))
        await uow.commit()
    create = container.create_device_user()
    user = await create.execute(
        NewDeviceUser(device_id=door.id, person_id=ana.id, device_user_id=" 17 ")
    )
    assert (user.device_user_id, user.status) == ("17", "ACTIVE")
    with pytest.raises(Conflict) as taken:
        await create.execute(
            NewDeviceUser(device_id=door.id, person_id=ana.id, device_user_id="17")
        )
    with pytest.raises(NotFound) as no_device:
        await create.execute(NewDeviceUser(device_id=999, person_id=ana.id))
    with pytest.raises(NotFound) as no_person:
        await create.execute(NewDeviceUser(device_id=door.id, person_id=999))
    assert (taken.value.code, no_device.value.code, no_person.value.code) == (
        "device_user_id_taken",
        "device_not_found",
        "person_not_found",
    )
    updated = await container.update_device_user().execute(
        user.id, DeviceUserChanges(status="BLOCKED")
    )
    assert (updated.status, updated.device_user_id) == ("BLOCKED", "17")
    await container.delete_device().execute(door.id)
    assert await container.list_device_users().execute() == []


async def test_device_user_filters_apply_before_paging(
    container: Container, storage: InMemoryStorage
) -> None:
    doors = [await gateway(container, f"Door {i}") for i in range(2)]
    async with storage.unit_of_work() as uow:
        ana = await uow.people.add(NewPerson(full_name="Ana"))
        bia = await uow.people.add(NewPerson(full_name="Bia"))
        await uow.commit()
    create = container.create_device_user().execute
    ids = [
        (await create(NewDeviceUser(device_id=d.id, person_id=p.id))).id
        for d in doors
        for p in (ana, bia)
    ]
    listed = container.list_device_users().execute
    assert [u.id for u in await listed(device_id=doors[1].id, limit=1)] == [ids[2]]
    assert [u.id for u in await listed(person_id=bia.id, skip=1)] == [ids[3]]
    assert [u.id for u in await listed(device_id=doors[0].id, person_id=bia.id)] == [ids[1]]
    removed = await container.delete_device_user().execute(ids[0])
    assert (removed.device_id, removed.person_id) == (doors[0].id, ana.id)


# --- floor-plan images ----------------------------------------------------------------------


async def test_an_uploaded_image_is_stored_by_hash_and_becomes_the_plans_image(
    container: Container, media: InMemoryMediaStore
) -> None:
    here = await site(container)
    saved = await container.set_floor_plan_image().execute(here.plan.id, images.JPEG)
    (key,) = media.files
    assert key[1].endswith(".jpg")
    assert saved.image_file_name == key[1]
    assert saved.image_url == f"/media/floor_plans/{key[1]}"
    assert media.files[key] == images.JPEG
    assert await container.get_floor_plan().execute(here.plan.id) == saved
    typed = await container.update_floor_plan().execute(
        here.plan.id, FloorPlanChanges(image_url="https://cdn.example.com/p.png")
    )
    assert typed.image_file_name is None


async def test_a_refused_image_or_a_missing_plan_stores_nothing(
    container: Container, media: InMemoryMediaStore
) -> None:
    here = await site(container)
    for plan_id, data, code in [
        (here.plan.id, images.SVG, "unsupported_image_type"),
        (here.plan.id, images.png(trailer=b"<html>"), "image_contains_markup"),
        (here.plan.id, images.png(trailer=bytes(20_000)), "image_too_large"),
        (999, images.png(), "floor_plan_not_found"),
    ]:
        with pytest.raises((InvalidInput, NotFound)) as caught:
            await container.set_floor_plan_image().execute(plan_id, data)
        assert caught.value.code == code
    assert media.files == {}
    assert await container.get_floor_plan().execute(here.plan.id) == here.plan
