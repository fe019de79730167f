"""Access-control publications over the real broker: changes made through the HTTP API
arrive as the original's retained messages; the API answers while the broker is down and
the publications follow once it is back; and relays on one database never overlap."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from securityvision.adapters.embedded import free_port
from securityvision.adapters.mqtt.publisher import MqttPublisher
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.application.relay import OutboxRelay, RelayState
from securityvision.config import load_settings
from securityvision.container import build_container
from securityvision.domain.outbox import DeliveryFailed, NewOutboxMessage, OutboxMessage
from securityvision.entrypoints.http import create_app
from securityvision.entrypoints.relays import running
from tests.conftest import MqttAddress
from tests.e2e.conftest import ROOT_EMAIL, ROOT_PASSWORD, TEST_SECRET, login
from tests.support.databases import temporary_database
from tests.support.outbox import Collected, FakePublisher, collect, retained
from tests.support.rtls import query, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.mqtt]

Headers = dict[str, str]


@pytest.fixture
async def migrated(postgres_server_url: str) -> AsyncIterator[str]:
    """A migrated database of this test's own (relays lock per database)."""
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        yield url


@pytest.fixture
def base_topic() -> str:
    """A base topic no other test or run on the same broker uses."""
    return f"sv-test-{uuid.uuid4().hex[:12]}/access-control"


def environment(url: str, host: str, port: int, base: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "SVPOS_SECRET_KEY": TEST_SECRET,
        "SUPERADMIN_EMAIL": ROOT_EMAIL,
        "SUPERADMIN_PASSWORD": ROOT_PASSWORD,
        "RTLS_MQTT_HOST": host,
        "RTLS_MQTT_PORT": str(port),
        "ACCESS_CONTROL_MQTT_BASE_TOPIC": base,
        "ACCESS_CONTROL_MQTT_TOPIC": f"{base}/locations",
        "ACCESS_CONTROL_TENANT": "Site One",
    }


@asynccontextmanager
async def api(env: dict[str, str]) -> AsyncIterator[tuple[AsyncTestClient, Headers]]:
    app = create_app(build_container(load_settings(env, env_file=None)))
    async with AsyncTestClient(app, raise_server_exceptions=False) as client:
        yield client, await login(client, ROOT_EMAIL, ROOT_PASSWORD)


@asynccontextmanager
async def subscribed(mqtt: MqttAddress, topic_filter: str) -> AsyncIterator[Collected]:
    collected = Collected()
    ready = asyncio.Event()
    task = asyncio.create_task(collect(mqtt.host, mqtt.port, topic_filter, collected, ready))
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield collected
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def send(
    client: AsyncTestClient, method: str, path: str, headers: Headers, body: object = None
) -> Any:
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


async def backlog(url: str) -> int:
    return int((await query(url, "SELECT count(*) FROM outbox"))[0][0])


async def test_changes_through_the_api_arrive_as_retained_publications_in_order(
    migrated: str, mqtt_address: MqttAddress, base_topic: str
) -> None:
    users = f"{base_topic}/site_one/users"
    devices = f"{base_topic}/site_one/devices"
    env = environment(migrated, mqtt_address.host, mqtt_address.port, base_topic)
    async with subscribed(mqtt_address, f"{base_topic}/#") as live, api(env) as (client, root):
        person = await send(client, "POST", "/api/v1/people/", root, {"full_name": "Ana"})
        await send(client, "PUT", f"/api/v1/people/{person['id']}", root, {"phone": "+55 11 1"})
        device = await send(
            client,
            "POST",
            "/api/v1/devices/",
            root,
            {"name": "Catraca", "type": "ACCESS_CONTROLLER", "code": "CAT-1"},
        )
        await send(client, "PUT", f"/api/v1/devices/{device['id']}", root, {"name": "Catraca 1"})
        await send(client, "DELETE", f"/api/v1/devices/{device['id']}", root)
        await send(client, "DELETE", f"/api/v1/people/{person['id']}", root)

        async def all_arrived() -> bool:
            return len(live.messages) >= 6

        await wait_for(all_arrived, what="six publications")
        health = (await client.get("/health")).json()

    assert [topic for topic, _, _ in live.messages] == [
        f"{users}/created",
        f"{users}/updated",
        f"{devices}/created",
        f"{devices}/updated",
        f"{devices}/deleted",
        f"{users}/deleted",
    ]
    (created,) = live.on(f"{users}/created")
    assert created["entity"] == "user"
    assert created["source"] == "central-backend"
    assert created["payload"]["id"] == person["id"]
    assert created["payload"]["created_at"].endswith("+00:00")
    (updated,) = live.on(f"{users}/updated")
    assert updated["payload"]["phone"] == "+55 11 1"
    assert live.on(f"{devices}/updated")[0]["payload"]["name"] == "Catraca 1"

    # A subscriber arriving now is given the last message of every topic, deletes with ids.
    kept = await retained(mqtt_address.host, mqtt_address.port, f"{base_topic}/#")
    assert set(kept) == {topic for topic, _, _ in live.messages}
    assert kept[f"{users}/deleted"]["payload"]["id"] == person["id"]
    assert kept[f"{devices}/deleted"]["payload"]["id"] == device["id"]
    assert kept[f"{devices}/deleted"]["event"] == "deleted"

    assert await backlog(migrated) == 0
    assert health["outbox"]["backlog"] == 0
    assert health["outbox"]["relay"] == {"state": "active", "broker": "connected"}


async def test_sites_through_the_api_reach_the_projection_and_the_location_topics(
    migrated: str, mqtt_address: MqttAddress, base_topic: str
) -> None:
    entities = f"{base_topic}/site_one"
    projection = f"{base_topic}/locations"
    env = environment(migrated, mqtt_address.host, mqtt_address.port, base_topic)
    async with subscribed(mqtt_address, f"{base_topic}/#") as live, api(env) as (client, root):
        building = await send(
            client, "POST", "/api/v1/buildings/", root, {"name": "Torre A", "code": "TA"}
        )
        floor = await send(
            client, "POST", "/api/v1/floors/", root, {"building_id": building["id"], "name": "T"}
        )
        plan = await send(
            client, "POST", "/api/v1/floor-plans/", root, {"floor_id": floor["id"], "name": "Norte"}
        )
        location = await send(
            client,
            "POST",
            "/api/v1/locations/",
            root,
            {"name": "Norte", "floor_ids": [floor["id"]]},
        )
        rule = await send(
            client,
            "POST",
            f"/api/v1/locations/{location['id']}/rules",
            root,
            {"location_id": location["id"], "capacity": 5, "avaliable_days": "1,2"},
        )
        person = await send(client, "POST", "/api/v1/people/", root, {"full_name": "Ana"})
        turnstile = await send(
            client, "POST", "/api/v1/devices/", root, {"name": "C", "type": "ACCESS_CONTROLLER"}
        )
        link = await send(
            client,
            "POST",
            "/api/v1/device-users/",
            root,
            {"device_id": turnstile["id"], "person_id": person["id"], "device_user_id": "u-1"},
        )
        await send(client, "DELETE", f"/api/v1/device-users/{link['id']}", root)
        await send(client, "DELETE", f"/api/v1/floor-plans/{plan['id']}", root)

        async def all_arrived() -> bool:
            return len(live.on(f"{entities}/device-users/deleted")) == 1 and (
                len(live.on(projection)) == 3
            )

        await wait_for(all_arrived, what="the sites' publications")

    plan_environment, location_environment, plan_removed = live.on(projection)
    assert plan_environment["location_id"] == -plan["id"]
    assert plan_environment["name"] == "Torre A - T - Norte"
    assert location_environment["location_id"] == location["id"]
    assert location_environment["source"] == "location"
    assert plan_removed["deleted"] is True
    assert plan_removed["source_id"] == plan["id"]
    (created_rule,) = live.on(f"{entities}/locations-rules/created")
    assert created_rule["payload"]["id"] == rule["id"]
    assert created_rule["payload"]["avaliable_days"] == [1, 2]

    kept = await retained(mqtt_address.host, mqtt_address.port, f"{base_topic}/#")
    assert kept[projection] == plan_removed  # one topic: the last environment sent
    assert kept[f"{entities}/locations/created"]["payload"]["id"] == location["id"]
    assert kept[f"{entities}/device-users/deleted"]["payload"]["id"] == link["id"]
    assert kept[f"{entities}/device-users/created"]["payload"]["deviceUserId"] == "u-1"


async def test_the_api_answers_while_the_broker_is_down_and_publications_follow_later(
    migrated: str, mqtt_address: MqttAddress, base_topic: str
) -> None:
    closed_port = free_port()
    down = environment(migrated, "127.0.0.1", closed_port, base_topic)
    async with api(down) as (client, root):
        person = await send(client, "POST", "/api/v1/people/", root, {"full_name": "Bia"})
        await send(client, "DELETE", f"/api/v1/people/{person['id']}", root)
        await asyncio.sleep(1.0)  # the relay tries, and fails, to reach the broker
        health = (await client.get("/health")).json()
    assert health["outbox"]["backlog"] == 2
    assert health["outbox"]["relay"] == {"state": "active", "broker": "disconnected"}
    assert await backlog(migrated) == 2

    # Another process's relay, this one with a broker: it takes the channel over and sends
    # both, in order.
    up = environment(migrated, mqtt_address.host, mqtt_address.port, base_topic)
    container = build_container(load_settings(up, env_file=None))
    storage = container.storage()
    await storage.open()
    users = f"{base_topic}/site_one/users"
    try:
        async with subscribed(mqtt_address, f"{users}/#") as live, running(container.mqtt_relay()):

            async def delivered() -> bool:
                return len(live.messages) >= 2

            await wait_for(delivered, what="the publications kept while the broker was down")
    finally:
        await storage.close()
    assert [(t, body["payload"]["id"]) for t, body, _ in live.messages] == [
        (f"{users}/created", person["id"]),
        (f"{users}/deleted", person["id"]),
    ]
    assert await backlog(migrated) == 0


async def test_a_publication_returns_once_the_broker_has_it_and_retains_it(
    mqtt_address: MqttAddress, base_topic: str
) -> None:
    publisher = MqttPublisher(host=mqtt_address.host, port=mqtt_address.port)
    await publisher.start()
    try:
        assert await publisher.wait_connected(10)
        await publisher.publish(outbox_message(f"{base_topic}/x", b'{"n": 1}'))
        await publisher.publish(outbox_message(f"{base_topic}/x", b'{"n": 2}'))
    finally:
        await publisher.stop()
    assert not publisher.connected
    kept = await retained(mqtt_address.host, mqtt_address.port, f"{base_topic}/#")
    assert kept == {f"{base_topic}/x": {"n": 2}}


async def test_a_publisher_without_a_broker_refuses_at_once_and_keeps_trying() -> None:
    publisher = MqttPublisher(host="127.0.0.1", port=free_port(), max_backoff=0.2)
    await publisher.start()
    try:
        assert not await publisher.wait_connected(0.5)
        with pytest.raises(DeliveryFailed, match="not connected"):
            await publisher.publish(outbox_message("t", b"{}"))
    finally:
        await asyncio.wait_for(publisher.stop(), 6)


def outbox_message(topic: str, payload: bytes) -> OutboxMessage:
    now = datetime.now(UTC)
    return OutboxMessage(
        id=1,
        channel="mqtt",
        destination=topic,
        payload=payload,
        options={"qos": 1, "retain": True},
        created_at=now,
        next_attempt_at=now,
    )


async def test_relays_of_many_processes_never_publish_at_once(migrated: str) -> None:
    """Two storages on one database stand for two API processes."""
    log: list[str] = []
    storages = [PostgresStorage(migrated, max_size=2) for _ in range(2)]
    publishers = [FakePublisher("one"), FakePublisher("two")]
    for publisher in publishers:
        publisher.log = log
    relays = [
        OutboxRelay(
            channel="mqtt",
            uow=storage.unit_of_work,
            publisher=publisher,
            locks=storage.locks,
            poll_seconds=0.05,
            standby_seconds=0.1,
        )
        for storage, publisher in zip(storages, publishers, strict=True)
    ]
    stops = [asyncio.Event(), asyncio.Event()]
    for storage in storages:
        await storage.open()
    tasks = [asyncio.create_task(r.run(s)) for r, s in zip(relays, stops, strict=True)]
    try:

        async def settled() -> bool:
            return sorted(r.status.state for r in relays) == [
                RelayState.ACTIVE,
                RelayState.STANDBY,
            ]

        await wait_for(settled, what="one active relay and one standing by")
        active = next(i for i, r in enumerate(relays) if r.status.state is RelayState.ACTIVE)
        async with storages[0].unit_of_work() as uow:
            for n in range(30):
                await uow.outbox.add(
                    NewOutboxMessage(channel="mqtt", destination="t", payload=str(n).encode())
                )
            await uow.commit()

        async def all_sent() -> bool:
            return len(publishers[active].sent) == 30

        await wait_for(all_sent, what="30 publications")
        assert publishers[1 - active].sent == []

        stops[active].set()
        await tasks[active]

        async def taken_over() -> bool:
            return relays[1 - active].status.state is RelayState.ACTIVE

        await wait_for(taken_over, what="the other relay to take over")
        async with storages[0].unit_of_work() as uow:
            await uow.outbox.add(NewOutboxMessage(channel="mqtt", destination="t", payload=b"30"))
            await uow.commit()

        async def last_sent() -> bool:
            return publishers[1 - active].sent == [("t", b"30")]

        await wait_for(last_sent, what="the last publication from the other relay")
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks)
        for storage in storages:
            await storage.close()
    assert all(a.split()[1] != b.split()[1] for a, b in itertools.pairwise(log))
    sent = [p for _, p in publishers[active].sent + publishers[1 - active].sent]
    assert sent == [str(n).encode() for n in range(31)]
