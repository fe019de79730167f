"""Live events: committed ones reach every listener, rolled-back ones none."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.application.live import EventHub
from securityvision.application.ports import Storage
from securityvision.domain.events import LiveEvent
from tests.support.databases import temporary_database


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
async def storage(
    request: pytest.FixtureRequest, postgres_server_url: str
) -> AsyncIterator[Storage]:
    if request.param == "memory":
        yield InMemoryStorage()
        return
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        postgres = PostgresStorage(url)
        await postgres.open()
        try:
            yield postgres
        finally:
            await postgres.close()


def status(device_id: int) -> LiveEvent:
    return LiveEvent(event="device.status", data={"id": device_id, "is_online": True})


async def test_committed_events_reach_every_subscriber_and_rolled_back_ones_none(
    storage: Storage,
) -> None:
    hub = EventHub(storage.event_source())
    hub.start()
    try:
        async with hub.subscribe() as first, hub.subscribe() as second:
            await asyncio.sleep(0.2)  # the listener is in place
            async with storage.unit_of_work() as uow:
                await uow.events.publish(status(1))  # never committed
            async with storage.unit_of_work() as uow:
                await uow.events.publish(status(2), status(3))
                await uow.commit()
            for queue in (first, second):
                async with asyncio.timeout(5):
                    got = [await queue.get(), await queue.get()]
                assert got == [status(2), status(3)]
                assert queue.empty()
    finally:
        await hub.stop()


async def test_a_subscriber_that_falls_behind_gets_a_gap_not_a_stall(storage: Storage) -> None:
    hub = EventHub(storage.event_source())
    hub.start()
    try:
        async with hub.subscribe() as slow:
            await asyncio.sleep(0.2)
            for batch in range(3):
                async with storage.unit_of_work() as uow:
                    await uow.events.publish(*(status(batch * 1000 + i) for i in range(500)))
                    await uow.commit()
            async with asyncio.timeout(10):
                while not slow.full():
                    await asyncio.sleep(0.05)
            drained = [slow.get_nowait() for _ in range(slow.qsize())]
        assert drained[-1] is None
        assert len(drained) == 1000
    finally:
        await hub.stop()


async def test_events_arrive_whole_in_order_whatever_their_text_holds(storage: Storage) -> None:
    events = [
        LiveEvent(event="incident.created", data={"id": 1, "title": "Door A\nforced,\r\tagain"}),
        LiveEvent(event="incident.created", data={"id": 2, "title": "", "note": '{"a": [1]}'}),
        LiveEvent(event="incident.created", data={"id": 3, "title": "ünïcødé \u2028 \\n"}),
    ]
    hub = EventHub(storage.event_source())
    hub.start()
    try:
        async with hub.subscribe() as queue:
            await asyncio.sleep(0.2)
            async with storage.unit_of_work() as uow:
                await uow.events.publish(*events)
                await uow.commit()
            async with asyncio.timeout(5):
                got = [await queue.get() for _ in events]
            assert got == events
    finally:
        await hub.stop()
