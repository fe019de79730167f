"""Locations, rules, enrolments and the projection: what each change of a site enqueues for
access control, on the in-memory adapters."""

import json
from datetime import time
from typing import Any

import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.locations import LocationChanges, LocationRuleChanges
from securityvision.application.people import PersonDraft
from securityvision.application.sites import BuildingChanges, FloorChanges, FloorPlanChanges
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.devices import DeviceType, NewDevice
from securityvision.domain.sites import (
    NewBuilding,
    NewDeviceUser,
    NewFloor,
    NewFloorPlan,
    NewLocation,
    NewLocationRule,
)
from tests.support.clock import FakeClock

BASE = "sv/ac"
ENTITIES = f"{BASE}/default"
PROJECTION = "sv/environments"
NOW = "2026-11-29T12:00:00+00:00"


@pytest.fixture
def storage() -> InMemoryStorage:
    return InMemoryStorage(FakeClock())


@pytest.fixture
def container(storage: InMemoryStorage) -> Container:
    settings = load_settings(
        {
            "SVPOS_SECRET_KEY": "k" * 48,
            "ACCESS_CONTROL_MQTT_BASE_TOPIC": BASE,
            "ACCESS_CONTROL_MQTT_TOPIC": PROJECTION,
        },
        env_file=None,
    )
    return build_container(settings, storage=storage, clock=storage.clock)


async def take(storage: InMemoryStorage) -> list[tuple[str, Any]]:
    """What the changes so far enqueued, in order; the outbox is emptied."""
    async with storage.unit_of_work() as uow:
        messages = await uow.outbox.due("mqtt", limit=1000)
        await uow.outbox.mark_delivered([m.id for m in messages])
        await uow.commit()
    return [(m.destination, json.loads(m.payload)) for m in messages]


def environment(source: str, source_id: int, name: str, building: Any, floor: Any) -> Any:
    return {
        "location_id": source_id if source == "location" else -source_id,
        "name": name,
        "source": source,
        "source_id": source_id,
        "building_id": building.id,
        "building_name": building.name,
        "floor_id": floor.id,
        "floor_name": floor.name,
    }


async def test_sites_feed_the_projection_with_unique_ids_and_locations_their_topics(
    container: Container, storage: InMemoryStorage
) -> None:
    tower = await container.create_building().execute(NewBuilding(name="Torre A", code="TA"))
    ground = await container.create_floor().execute(NewFloor(building_id=tower.id, name="Térreo"))
    first = await container.create_floor().execute(NewFloor(building_id=tower.id, name="1º"))
    assert await take(storage) == []  # nothing is on a new building or floor yet

    plan = await container.create_floor_plan().execute(
        NewFloorPlan(floor_id=ground.id, name="Ala Norte")
    )
    assert await take(storage) == [
        (
            PROJECTION,
            environment("floor_plan", plan.id, "Torre A - Térreo - Ala Norte", tower, ground),
        )
    ]

    location = await container.create_location().execute(
        NewLocation(name="Data centre", floor_ids=(first.id, ground.id))
    )
    ((topic, created), projected) = await take(storage)
    assert topic == f"{ENTITIES}/locations/created"
    assert created == {
        "event": "created",
        "entity": "location",
        "source": "central-backend",
        "payload": {
            "id": location.id,
            "name": "Data centre",
            "description": None,
            "status": True,
            "floor_ids": sorted([first.id, ground.id]),
            "created_at": NOW,
            "updated_at": NOW,
        },
    }
    # On its lowest-id floor; its id never collides with the plan's.
    assert projected == (
        PROJECTION,
        environment("location", location.id, "Torre A - Térreo - Data centre", tower, ground),
    )
    assert projected[1]["location_id"] != -plan.id

    renamed = await container.update_building().execute(tower.id, BuildingChanges(name="Torre B"))
    assert [body["name"] for _, body in await take(storage)] == [
        "Torre B - Térreo - Ala Norte",
        "Torre B - Térreo - Data centre",
    ]
    assert renamed.name == "Torre B"

    await container.update_floor().execute(ground.id, FloorChanges(name="Lobby"))
    assert [body["name"] for _, body in await take(storage)] == [
        "Torre B - Lobby - Ala Norte",
        "Torre B - Lobby - Data centre",
    ]
    await container.update_floor().execute(first.id, FloorChanges(name="Primeiro"))
    assert [body["name"] for _, body in await take(storage)] == ["Torre B - Lobby - Data centre"]

    await container.update_floor_plan().execute(plan.id, FloorPlanChanges(name="Ala Sul"))
    assert [body["name"] for _, body in await take(storage)] == ["Torre B - Lobby - Ala Sul"]


async def test_deleting_a_floor_removes_its_environments_and_announces_what_changed(
    container: Container, storage: InMemoryStorage
) -> None:
    tower = await container.create_building().execute(NewBuilding(name="Torre", code="T"))
    ground = await container.create_floor().execute(NewFloor(building_id=tower.id, name="G"))
    upper = await container.create_floor().execute(NewFloor(building_id=tower.id, name="U"))
    plan = await container.create_floor_plan().execute(NewFloorPlan(floor_id=ground.id, name="P"))
    location = await container.create_location().execute(
        NewLocation(name="Hall", floor_ids=(ground.id, upper.id))
    )
    gateway = await container.create_device().execute(
        NewDevice(name="GW", building_id=tower.id, floor_id=ground.id, floor_plan_id=plan.id)
    )
    await take(storage)

    await container.delete_floor().execute(ground.id)
    published = await take(storage)
    assert [topic for topic, _ in published] == [
        PROJECTION,
        f"{ENTITIES}/locations/updated",
        PROJECTION,
        f"{ENTITIES}/devices/updated",
    ]
    removed, updated, moved, device = (body for _, body in published)
    assert removed["deleted"] is True
    assert (removed["location_id"], removed["source"]) == (-plan.id, "floor_plan")
    assert updated["payload"]["floor_ids"] == [upper.id]
    assert moved == environment("location", location.id, "Torre - U - Hall", tower, upper)
    assert device["payload"]["id"] == gateway.id
    assert device["payload"]["floor_id"] is None

    # Left on no floor at all, the location's environment is removed.
    await container.update_location().execute(location.id, LocationChanges(floor_ids=()))
    (_, gone) = (await take(storage))[1]
    assert (gone["location_id"], gone["deleted"]) == (location.id, True)


async def test_rules_and_their_location_are_announced_with_ids_when_deleted(
    container: Container, storage: InMemoryStorage
) -> None:
    location = await container.create_location().execute(NewLocation(name="Lab"))
    rule = await container.create_location_rule().execute(
        location.id,
        NewLocationRule(
            location_id=location.id,
            capacity=10,
            avaliable_days="1, 2,3",
            start_time=time(22, 0),
            end_time=time(6, 0),
        ),
    )
    await container.update_location_rule().execute(rule.id, LocationRuleChanges(capacity=12))
    other = await container.create_location_rule().execute(
        location.id, NewLocationRule(location_id=location.id)
    )
    await container.delete_location_rule().execute(other.id)
    published = await take(storage)
    assert [topic for topic, _ in published] == [
        f"{ENTITIES}/locations/created",  # a location on no floor has no environment
        f"{ENTITIES}/locations-rules/created",
        f"{ENTITIES}/locations-rules/updated",
        f"{ENTITIES}/locations-rules/created",
        f"{ENTITIES}/locations-rules/deleted",
    ]
    created = published[1][1]
    assert created["entity"] == "location_rule"
    assert created["payload"] == {
        "id": rule.id,
        "location_id": location.id,
        "capacity": 10,
        "avaliable_days": [1, 2, 3],
        "start_time": "22:00:00",
        "end_time": "06:00:00",
        "status": "ACTIVE",
        "validate": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    assert published[2][1]["payload"]["capacity"] == 12
    assert published[4][1]["payload"] == {
        "id": other.id,
        "location_id": location.id,
        "deleted_at": NOW,
    }

    await container.delete_location().execute(location.id)
    assert [(topic, body.get("payload", body)) for topic, body in await take(storage)] == [
        (f"{ENTITIES}/locations/deleted", {"id": location.id, "deleted_at": NOW}),
        (
            PROJECTION,
            {
                "location_id": location.id,
                "name": None,
                "source": "location",
                "source_id": location.id,
                "building_id": None,
                "building_name": None,
                "floor_id": None,
                "floor_name": None,
                "deleted": True,
            },
        ),
        (
            f"{ENTITIES}/locations-rules/deleted",
            {"id": rule.id, "location_id": location.id, "deleted_at": NOW},
        ),
    ]


async def test_enrolments_on_devices_are_announced_and_a_deletion_says_which(
    container: Container, storage: InMemoryStorage
) -> None:
    person = await container.create_person().execute(PersonDraft(full_name="Ana"))
    turnstile = await container.create_device().execute(
        NewDevice(name="Catraca", type=DeviceType.ACCESS_CONTROLLER)
    )
    await take(storage)
    link = await container.create_device_user().execute(
        NewDeviceUser(device_id=turnstile.id, person_id=person.person.id, device_user_id="u-7")
    )
    await container.delete_device_user().execute(link.id)
    (created_topic, created), (deleted_topic, deleted) = await take(storage)
    assert created_topic == f"{ENTITIES}/device-users/created"
    assert created["entity"] == "device_user"
    assert created["payload"] == {
        "id": link.id,
        "device_id": turnstile.id,
        "person_id": person.person.id,
        "deviceUserId": "u-7",
        "status": "ACTIVE",
    }
    assert deleted_topic == f"{ENTITIES}/device-users/deleted"
    assert deleted["payload"] == {
        "id": link.id,
        "device_id": turnstile.id,
        "person_id": person.person.id,
        "deviceUserId": "u-7",
        "deleted_at": NOW,
    }


async def test_a_device_without_a_location_is_given_the_first_one_of_its_floor(
    container: Container, storage: InMemoryStorage
) -> None:
    tower = await container.create_building().execute(NewBuilding(name="T", code="T"))
    floor = await container.create_floor().execute(NewFloor(building_id=tower.id, name="F"))
    first = await container.create_location().execute(NewLocation(name="A", floor_ids=(floor.id,)))
    await container.create_location().execute(NewLocation(name="B", floor_ids=(floor.id,)))
    await take(storage)
    await container.create_device().execute(
        NewDevice(name="Catraca", type=DeviceType.ACCESS_CONTROLLER, floor_id=floor.id)
    )
    ((_, body),) = await take(storage)
    assert body["payload"]["locationId"] == first.id
