"""The relay delivers the outbox in order per destination, backs off on failure, never
publishes without a connection or a lock, and only one relay of a channel is ever active."""

import asyncio
import itertools
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry

from securityvision.adapters.memory import InMemoryStorage
from securityvision.adapters.memory_outbox import InMemoryLease
from securityvision.adapters.relay_metrics import RelayMetrics
from securityvision.application.relay import DeliverOutbox, OutboxRelay, RelayState
from securityvision.domain.errors import StorageError
from securityvision.domain.outbox import Backoff, NewOutboxMessage, OutboxMessage
from tests.support.clock import FakeClock
from tests.support.outbox import FakePublisher


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def storage(clock: FakeClock) -> InMemoryStorage:
    return InMemoryStorage(clock)


async def enqueue(storage: InMemoryStorage, *items: tuple[str, bytes]) -> list[int]:
    async with storage.unit_of_work() as uow:
        ids = [
            await uow.outbox.add(
                NewOutboxMessage(
                    channel="mqtt",
                    destination=topic,
                    payload=payload,
                    options={"qos": 1, "retain": True},
                )
            )
            for topic, payload in items
        ]
        await uow.commit()
    return ids


async def waiting(storage: InMemoryStorage) -> list[OutboxMessage]:
    return sorted(storage.state.outbox.values(), key=lambda m: m.id)


def deliver(
    storage: InMemoryStorage,
    publisher: FakePublisher,
    *,
    metrics: RelayMetrics | None = None,
    batch_size: int = 100,
) -> DeliverOutbox:
    return DeliverOutbox(
        channel="mqtt",
        uow=storage.unit_of_work,
        publisher=publisher,
        observer=metrics,
        backoff=Backoff(first=timedelta(seconds=10), limit=timedelta(minutes=1)),
        batch_size=batch_size,
    )


async def test_messages_go_out_in_the_order_added_and_leave_the_outbox(
    storage: InMemoryStorage,
) -> None:
    await enqueue(storage, ("t/a", b"1"), ("t/b", b"2"), ("t/a", b"3"))
    publisher = FakePublisher()
    result = await deliver(storage, publisher).execute()
    assert publisher.sent == [("t/a", b"1"), ("t/b", b"2"), ("t/a", b"3")]
    assert (result.delivered, result.failed, result.full) == (3, 0, False)
    assert await waiting(storage) == []


async def test_a_full_batch_says_more_may_be_due(storage: InMemoryStorage) -> None:
    await enqueue(storage, *[("t", str(i).encode()) for i in range(5)])
    publisher = FakePublisher()
    first = await deliver(storage, publisher, batch_size=3).execute()
    second = await deliver(storage, publisher, batch_size=3).execute()
    assert (first.delivered, first.full, second.delivered, second.full) == (3, True, 2, False)
    assert [p for _, p in publisher.sent] == [b"0", b"1", b"2", b"3", b"4"]


async def test_a_failure_holds_back_its_destination_until_the_retry_and_others_go_on(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    first, second, other = await enqueue(storage, ("t/a", b"a1"), ("t/a", b"a2"), ("t/b", b"b1"))
    publisher = FakePublisher()
    publisher.failing = {"t/a"}
    registry = CollectorRegistry()
    metrics = RelayMetrics(registry)
    result = await deliver(storage, publisher, metrics=metrics).execute()
    assert (result.delivered, result.failed) == (1, 1)
    assert publisher.sent == [("t/b", b"b1")]
    failed, behind = await waiting(storage)
    assert (failed.id, failed.attempts, behind.id, behind.attempts) == (first, 1, second, 0)
    assert failed.last_error == "DeliveryFailed: refused t/a"
    assert failed.next_attempt_at == clock.now() + timedelta(seconds=10)

    publisher.failing = set()
    assert (await deliver(storage, publisher).execute()).delivered == 0  # not yet due
    clock.advance(seconds=10)
    await deliver(storage, publisher).execute()
    assert publisher.sent == [("t/b", b"b1"), ("t/a", b"a1"), ("t/a", b"a2")]
    assert other not in {m.id for m in await waiting(storage)}
    assert registry.get_sample_value(
        "securityvision_outbox_deliveries_total", {"channel": "mqtt", "outcome": "delivered"}
    ) == pytest.approx(1)
    assert registry.get_sample_value(
        "securityvision_outbox_deliveries_total", {"channel": "mqtt", "outcome": "failed"}
    ) == pytest.approx(1)


async def test_a_destination_that_says_when_to_retry_is_retried_then(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    await enqueue(storage, ("t/a", b"a1"))
    publisher = FakePublisher()
    publisher.failing = {"t/a"}
    publisher.retry_after = timedelta(seconds=42)  # e.g. HTTP 429 with Retry-After: 42
    await deliver(storage, publisher).execute()
    (failed,) = await waiting(storage)
    assert failed.next_attempt_at == clock.now() + timedelta(seconds=42)


async def test_a_message_refused_for_good_is_set_aside_and_its_destination_goes_on(
    storage: InMemoryStorage,
) -> None:
    refused, behind = await enqueue(storage, ("t/a", b"a1"), ("t/a", b"a2"))
    publisher = FakePublisher()
    publisher.rejecting = {"t/a"}
    registry = CollectorRegistry()
    metrics = RelayMetrics(registry)
    result = await deliver(storage, publisher, metrics=metrics).execute()
    assert (result.delivered, result.failed, result.rejected) == (0, 0, 2)
    dead = await waiting(storage)
    assert [(m.id, m.attempts, m.last_error) for m in dead] == [
        (refused, 1, "DeliveryRejected: rejected t/a"),
        (behind, 1, "DeliveryRejected: rejected t/a"),
    ]
    assert all(m.dead_at is not None for m in dead)
    publisher.rejecting = set()
    assert (await deliver(storage, publisher).execute()).delivered == 0  # never again
    assert registry.get_sample_value(
        "securityvision_outbox_deliveries_total", {"channel": "mqtt", "outcome": "rejected"}
    ) == pytest.approx(2)


async def test_repeated_failures_back_off_exponentially(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    await enqueue(storage, ("t", b"x"))
    publisher = FakePublisher()
    publisher.failing = {"t"}
    waits = []
    for _ in range(4):
        await deliver(storage, publisher).execute()
        (message,) = await waiting(storage)
        waits.append((message.next_attempt_at - clock.now()).total_seconds())
        clock.current = message.next_attempt_at
    assert waits == [10, 20, 40, 60]


async def test_nothing_is_attempted_without_a_connection(storage: InMemoryStorage) -> None:
    await enqueue(storage, ("t", b"x"))
    publisher = FakePublisher()
    publisher.connected = False
    result = await deliver(storage, publisher).execute()
    (message,) = await waiting(storage)
    assert (result.delivered, result.failed, message.attempts) == (0, 0, 0)


async def test_a_pass_ends_when_the_connection_is_lost(storage: InMemoryStorage) -> None:
    await enqueue(storage, ("t/a", b"1"), ("t/b", b"2"), ("t/c", b"3"))
    publisher = FakePublisher()
    publisher.drop_after = 1
    result = await deliver(storage, publisher).execute()
    assert publisher.sent == [("t/a", b"1")]
    assert (result.delivered, result.failed) == (1, 1)
    remaining = await waiting(storage)
    assert [(m.destination, m.attempts) for m in remaining] == [("t/b", 1), ("t/c", 0)]


async def test_a_pass_stops_as_soon_as_the_lock_is_lost(storage: InMemoryStorage) -> None:
    await enqueue(storage, ("t", b"1"), ("t", b"2"))
    publisher = FakePublisher()
    publisher.drop_after = None
    async with storage.locks.try_hold("outbox-relay:mqtt") as lease:
        assert lease is not None
        storage.locks.release("outbox-relay:mqtt")  # as a lost database connection would
        result = await deliver(storage, publisher).execute(lease)
    assert (result.delivered, publisher.sent) == (0, [])


def relay(
    storage: InMemoryStorage, publisher: FakePublisher, metrics: RelayMetrics | None = None
) -> OutboxRelay:
    return OutboxRelay(
        channel="mqtt",
        uow=storage.unit_of_work,
        publisher=publisher,
        locks=storage.locks,
        observer=metrics,
        poll_seconds=0.01,
        standby_seconds=0.02,
        backlog_seconds=0.01,
    )


async def wait_until(condition: object, seconds: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


async def test_only_one_relay_of_a_channel_is_active_and_another_takes_over_when_it_stops(
    storage: InMemoryStorage,
) -> None:
    log: list[str] = []
    first_publisher, second_publisher = FakePublisher("first"), FakePublisher("second")
    first_publisher.log = second_publisher.log = log
    first, second = relay(storage, first_publisher), relay(storage, second_publisher)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    first_task = asyncio.create_task(first.run(stop_first))
    await wait_until(lambda: first.status.state is RelayState.ACTIVE)
    second_task = asyncio.create_task(second.run(stop_second))
    await wait_until(lambda: second.status.state is RelayState.STANDBY)

    await enqueue(storage, *[("t", str(i).encode()) for i in range(20)])
    await wait_until(lambda: len(first_publisher.sent) == 20)
    assert second_publisher.sent == []
    assert second_publisher.starts == 0  # a standing-by relay does not even connect

    stop_first.set()
    await first_task
    assert first.status.state is RelayState.STOPPED
    await wait_until(lambda: second.status.state is RelayState.ACTIVE)
    await enqueue(storage, ("t", b"after"))
    await wait_until(lambda: second_publisher.sent == [("t", b"after")])
    stop_second.set()
    await second_task

    # Never two publications at once, and every message exactly once, in order.
    assert all(a.split()[1] != b.split()[1] for a, b in itertools.pairwise(log))
    assert [p for _, p in first_publisher.sent] == [str(i).encode() for i in range(20)]
    assert await waiting(storage) == []


async def test_a_relay_reports_its_state_and_the_backlog(storage: InMemoryStorage) -> None:
    registry = CollectorRegistry()
    metrics = RelayMetrics(registry)
    publisher = FakePublisher()
    publisher.connected = False
    active = relay(storage, publisher, metrics)
    await enqueue(storage, ("t", b"1"), ("t", b"2"))
    stop = asyncio.Event()
    task = asyncio.create_task(active.run(stop))

    def sample(name: str) -> float | None:
        return registry.get_sample_value(name, {"channel": "mqtt"})

    await wait_until(lambda: sample("securityvision_outbox_backlog_messages") == 2)
    assert active.status.state is RelayState.ACTIVE
    assert not active.status.connected
    assert sample("securityvision_outbox_relay_active") == 1
    assert sample("securityvision_outbox_relay_connected") == 0
    publisher.connected = True
    await wait_until(lambda: sample("securityvision_outbox_backlog_messages") == 0)
    assert sample("securityvision_outbox_relay_connected") == 1
    stop.set()
    await task
    assert sample("securityvision_outbox_relay_active") == 0


def test_metrics_are_made_once_per_registry() -> None:
    registry = CollectorRegistry()
    assert RelayMetrics.for_registry(registry) is RelayMetrics.for_registry(registry)
    assert RelayMetrics.for_registry(CollectorRegistry()) is not RelayMetrics.for_registry(registry)


class FlakyLocks:
    """Locks whose database is away for the first ``outages`` attempts."""

    def __init__(self, storage: InMemoryStorage, outages: int) -> None:
        self._locks = storage.locks
        self.outages = outages

    def try_hold(self, name: str) -> AbstractAsyncContextManager[InMemoryLease | None]:
        if self.outages > 0:
            self.outages -= 1
            raise StorageError("PostgreSQL unavailable: OperationalError")
        return self._locks.try_hold(name)


async def test_a_relay_outlives_a_database_outage_and_then_delivers(
    storage: InMemoryStorage,
) -> None:
    await enqueue(storage, ("t", b"1"))
    publisher = FakePublisher()
    flaky = FlakyLocks(storage, outages=1)
    survivor = OutboxRelay(
        channel="mqtt",
        uow=storage.unit_of_work,
        publisher=publisher,
        locks=flaky,
        poll_seconds=0.01,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(survivor.run(stop))
    await wait_until(lambda: publisher.sent == [("t", b"1")])
    stop.set()
    await task
    assert flaky.outages == 0
