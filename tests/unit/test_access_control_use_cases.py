"""People and devices changes enqueue exactly their access-control publications, in the
change's own unit of work, on the in-memory adapters."""

import json
from typing import Any

import pytest

from securityvision.adapters.memory import InMemoryStorage, InMemoryUnitOfWork
from securityvision.application.devices import DeviceChanges
from securityvision.application.people import PersonChanges, PersonDraft
from securityvision.config import load_settings
from securityvision.container import Container, build_container
from securityvision.domain.devices import DeviceType, NewDevice
from securityvision.domain.errors import StorageError
from tests.support.clock import FakeClock

BASE = "acme/access"
PROJECTION = "acme/access/environments"

Published = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def storage(clock: FakeClock) -> InMemoryStorage:
    return InMemoryStorage(clock)


def container_for(storage: InMemoryStorage, clock: FakeClock, **env: str) -> Container:
    settings = load_settings(
        {
            "SVPOS_SECRET_KEY": "k" * 48,
            "ACCESS_CONTROL_MQTT_BASE_TOPIC": BASE,
            "ACCESS_CONTROL_MQTT_TOPIC": PROJECTION,
            "ACCESS_CONTROL_TENANT": "Site One",
        }
        | env,
        env_file=None,
    )
    return build_container(settings, storage=storage, clock=clock)


@pytest.fixture
def container(storage: InMemoryStorage, clock: FakeClock) -> Container:
    return container_for(storage, clock)


async def published(storage: InMemoryStorage) -> Published:
    """What waits in the outbox, in order: (topic, decoded envelope)."""
    async with storage.unit_of_work() as uow:
        messages = await uow.outbox.due("mqtt", limit=1000)
    for m in messages:
        assert (m.qos, m.retain) == (1, True)
    return [(m.destination, json.loads(m.payload)) for m in messages]


async def drain(storage: InMemoryStorage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.outbox.mark_delivered([m.id for m in await uow.outbox.due("mqtt", limit=1000)])
        await uow.commit()


def topic(entity: str, event: str) -> str:
    return f"{BASE}/site_one/{entity}/{event}"


async def test_creating_a_person_enqueues_the_user_with_the_person(
    container: Container, storage: InMemoryStorage
) -> None:
    created = await container.create_person().execute(
        PersonDraft(full_name="Ana Souza", document_id="123", email="ana@example.com")
    )
    ((where, envelope),) = await published(storage)
    assert where == topic("users", "created")
    assert envelope["event"] == "created"
    assert envelope["entity"] == "user"
    assert envelope["source"] == "central-backend"
    assert envelope["payload"]["id"] == created.person.id
    assert envelope["payload"]["cpf"] == "123"
    assert envelope["payload"]["created_at"] == "2026-11-29T12:00:00+00:00"


async def test_updating_a_persons_fields_enqueues_an_update_but_groups_alone_do_not(
    container: Container, storage: InMemoryStorage, clock: FakeClock
) -> None:
    created = await container.create_person().execute(PersonDraft(full_name="Ana"))
    await drain(storage)
    await container.update_person().execute(created.person.id, PersonChanges(group_ids=()))
    assert await published(storage) == []
    clock.advance(minutes=1)
    await container.update_person().execute(created.person.id, PersonChanges(active=False))
    ((where, envelope),) = await published(storage)
    assert where == topic("users", "updated")
    assert envelope["payload"]["is_active"] is False
    assert envelope["payload"]["updated_at"] == "2026-11-29T12:01:00+00:00"


async def test_deleting_a_person_enqueues_a_deletion_that_names_them(
    container: Container, storage: InMemoryStorage
) -> None:
    created = await container.create_person().execute(PersonDraft(full_name="Ana"))
    await drain(storage)
    await container.delete_person().execute(created.person.id)
    assert await published(storage) == [
        (
            topic("users", "deleted"),
            {
                "event": "deleted",
                "entity": "user",
                "source": "central-backend",
                "payload": {"id": created.person.id, "deleted_at": "2026-11-29T12:00:00+00:00"},
            },
        )
    ]


async def test_devices_enqueue_created_updated_and_deleted_in_order(
    container: Container, storage: InMemoryStorage
) -> None:
    device = await container.create_device().execute(
        NewDevice(name="Catraca", type=DeviceType.ACCESS_CONTROLLER, code="CAT-1")
    )
    await container.update_device().execute(device.id, DeviceChanges())
    await container.update_device().execute(device.id, DeviceChanges(name="Catraca 1"))
    await container.delete_device().execute(device.id)
    messages = await published(storage)
    assert [where for where, _ in messages] == [
        topic("devices", "created"),
        topic("devices", "updated"),
        topic("devices", "deleted"),
    ]
    created, updated, deleted = (envelope["payload"] for _, envelope in messages)
    assert (created["id"], created["serialNumber"], created["type"]) == (
        device.id,
        "CAT-1",
        "ACCESS_CONTROLLER",
    )
    assert updated["name"] == "Catraca 1"
    assert deleted == {"id": device.id, "deleted_at": "2026-11-29T12:00:00+00:00"}


async def test_every_gateway_removed_by_mac_is_announced(
    container: Container, storage: InMemoryStorage
) -> None:
    gateway = await container.create_device().execute(
        NewDevice(name="GW", mac_address="aa:bb:cc:dd:ee:01")
    )
    await drain(storage)
    await container.delete_gateways_by_mac().execute("AA-BB-CC-DD-EE-01")
    assert [(where, e["payload"]["id"]) for where, e in await published(storage)] == [
        (topic("devices", "deleted"), gateway.id)
    ]


async def test_a_refused_change_enqueues_nothing(
    container: Container, storage: InMemoryStorage
) -> None:
    gateway = await container.create_device().execute(NewDevice(name="GW", code="GW-1"))
    other = await container.create_device().execute(NewDevice(name="GW 2", code="GW-2"))
    await drain(storage)
    with pytest.raises(Exception, match="code"):
        await container.update_device().execute(other.id, DeviceChanges(code="GW-1"))
    assert await published(storage) == []
    assert (await container.get_device().execute(gateway.id)).code == "GW-1"


class _FailingCommit(InMemoryUnitOfWork):
    async def commit(self) -> None:
        raise StorageError("the database went away at commit")


class _StorageFailingCommits(InMemoryStorage):
    def unit_of_work(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        return _FailingCommit(self, read_only=read_only)


async def test_a_change_that_does_not_commit_leaves_no_publication_behind(
    clock: FakeClock,
) -> None:
    storage = _StorageFailingCommits(clock)
    container = container_for(storage, clock)
    with pytest.raises(StorageError):
        await container.create_person().execute(PersonDraft(full_name="Ana"))
    assert storage.state.people == {}
    assert storage.state.outbox == {}


@pytest.mark.parametrize(
    "env",
    [{"ACCESS_CONTROL_MQTT_ENABLED": "false"}, {"RTLS_MQTT_ENABLED": "false"}],
    ids=["access control off", "mqtt off"],
)
async def test_nothing_is_enqueued_when_publishing_is_switched_off(
    storage: InMemoryStorage, clock: FakeClock, env: dict[str, str]
) -> None:
    container = container_for(storage, clock, **env)
    person = await container.create_person().execute(PersonDraft(full_name="Ana"))
    await container.delete_person().execute(person.person.id)
    device = await container.create_device().execute(NewDevice(name="GW"))
    await container.update_device().execute(device.id, DeviceChanges(name="GW 1"))
    await container.delete_device().execute(device.id)
    assert await published(storage) == []
    assert len(storage.state.devices) == 0


async def test_the_default_tenant_and_topics_are_the_originals(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    settings = load_settings({"SVPOS_SECRET_KEY": "k" * 48}, env_file=None)
    container = build_container(settings, storage=storage, clock=clock)
    await container.create_person().execute(PersonDraft(full_name="Ana"))
    ((where, _),) = await published(storage)
    assert where == "security-vision/access-control/default/users/created"
