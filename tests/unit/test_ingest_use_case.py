"""Ingesting decoded gateway messages, on the in-memory adapters."""

from datetime import timedelta

import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.ingest import Delivery, DetectSilentGateways, IngestGatewayMessages
from securityvision.domain.rtls import GatewayMessage, GatewayTopic, NewTag, Observation, Rejection
from tests.support.clock import FakeClock

GATEWAY = "AC:23:3F:C0:7D:A5"
TAG = "AA:BB:CC:DD:EE:01"
OTHER = "AA:BB:CC:DD:EE:02"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def storage(clock: FakeClock) -> InMemoryStorage:
    storage = InMemoryStorage(clock)
    async with storage.unit_of_work() as uow:
        await uow.tags.add(NewTag(mac_address=TAG))
        await uow.tags.add(NewTag(mac_address=OTHER))
        await uow.commit()
    return storage


def ingest(storage: InMemoryStorage, clock: FakeClock, **options: bool) -> IngestGatewayMessages:
    return IngestGatewayMessages(storage.unit_of_work, clock, **options)


def delivery(
    clock: FakeClock,
    *observations: Observation,
    fingerprint: bytes = b"m1",
    redelivered: bool = False,
    online: bool | None = None,
    rejections: tuple[Rejection, ...] = (),
    after: timedelta = timedelta(0),
) -> Delivery:
    message = GatewayMessage(
        topic=GatewayTopic(gateway_id=GATEWAY, gateway_mac=GATEWAY),
        observations=observations,
        online=online,
        rejections=rejections,
    )
    return Delivery(
        message=message,
        received_at=clock.now() + after,
        fingerprint=fingerprint,
        redelivered=redelivered,
    )


async def stored(storage: InMemoryStorage) -> list[tuple[str, int]]:
    async with storage.unit_of_work() as uow:
        logs = await uow.collection_logs.list(limit=1000)
        tags = {t.id: t.mac_address for t in await uow.tags.list(limit=100)}
    return sorted((tags[log.tag_id], log.rssi) for log in logs)


async def test_readings_of_registered_tags_are_stored_and_the_gateway_registered(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    report = await ingest(storage, clock).execute(
        [delivery(clock, Observation(tag_mac=TAG, rssi=-60, ts=clock.now()))]
    )
    assert (report.stored, report.duplicates, report.unknown_tags) == (1, 0, 0)
    assert await stored(storage) == [(TAG, -60)]
    async with storage.unit_of_work() as uow:
        [gateway] = await uow.devices.find_by_mac(GATEWAY)
    assert gateway.name == f"Gateway {GATEWAY}"
    assert gateway.last_seen_at == clock.now()
    assert report.gateways_online == [gateway.id]


async def test_a_reading_more_than_five_minutes_ahead_is_refused_alone(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    report = await ingest(storage, clock).execute(
        [
            delivery(
                clock,
                Observation(tag_mac=TAG, rssi=-60, ts=clock.now() + timedelta(minutes=6)),
                Observation(tag_mac=OTHER, rssi=-61, ts=clock.now() + timedelta(minutes=4)),
                Observation(tag_mac=OTHER, rssi=-62, ts=clock.now() - timedelta(days=30)),
            )
        ]
    )
    assert report.rejected["future_timestamp"] == 1
    assert await stored(storage) == [(OTHER, -62), (OTHER, -61)]


async def test_unknown_tags_are_counted_and_listed_not_stored(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    stranger = "AA:BB:CC:DD:EE:77"
    report = await ingest(storage, clock).execute(
        [
            delivery(
                clock,
                Observation(tag_mac=stranger, rssi=-70),
                Observation(tag_mac=stranger, rssi=-71, ts=clock.now() - timedelta(seconds=1)),
            )
        ]
    )
    assert report.unknown_tags == 2
    assert await stored(storage) == []
    async with storage.unit_of_work() as uow:
        [unknown] = await uow.unknown_tags.list()
    assert (unknown.mac_address, unknown.readings_count, unknown.last_rssi) == (stranger, 2, -70)


async def test_accepting_unknown_tags_registers_and_stores_them(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    stranger = "AA:BB:CC:DD:EE:77"
    await ingest(storage, clock, accept_unknown_tags=True).execute(
        [delivery(clock, Observation(tag_mac=stranger, rssi=-70))]
    )
    assert await stored(storage) == [(stranger, -70)]


async def test_identical_timeless_messages_are_two_readings_each_at_its_own_time(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    same = Observation(tag_mac=TAG, rssi=-60)
    report = await ingest(storage, clock).execute(
        [
            delivery(clock, same, fingerprint=b"a"),
            delivery(clock, same, fingerprint=b"b", after=timedelta(milliseconds=5)),
        ]
    )
    assert report.stored == 2


async def test_a_redelivered_timeless_message_adds_nothing(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    reading = Observation(tag_mac=TAG, rssi=-60)
    use_case = ingest(storage, clock)
    await use_case.execute([delivery(clock, reading)])
    again = await use_case.execute(
        [delivery(clock, reading, redelivered=True, after=timedelta(seconds=20))]
    )
    assert (again.stored, again.duplicates) == (0, 1)
    assert await stored(storage) == [(TAG, -60)]


async def test_a_redelivery_of_a_message_never_committed_is_stored(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    report = await ingest(storage, clock).execute(
        [delivery(clock, Observation(tag_mac=TAG, rssi=-60), redelivered=True)]
    )
    assert report.stored == 1


async def test_forgotten_receipts_of_acknowledged_messages_leave_room_for_new_ones(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    reading = Observation(tag_mac=TAG, rssi=-60)
    use_case = ingest(storage, clock)
    await use_case.execute([delivery(clock, reading, fingerprint=b"x")])
    # The broker may give packet id and content to another message once "x" is acknowledged.
    clock.advance(hours=1)
    later = delivery(clock, reading, fingerprint=b"x", redelivered=True)
    report = await use_case.execute([later], acknowledged=[b"x"])
    assert report.stored == 1


async def test_an_offline_report_after_activity_leaves_the_gateway_offline(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    use_case = ingest(storage, clock)
    first = await use_case.execute([delivery(clock, online=True)])
    report = await use_case.execute(
        [
            delivery(clock, Observation(tag_mac=TAG, rssi=-60, ts=clock.now())),
            delivery(clock, online=False, fingerprint=b"lwt", after=timedelta(seconds=1)),
        ]
    )
    assert first.gateways_online
    assert report.gateways_offline == first.gateways_online
    assert report.stored == 1


async def test_rejections_of_the_decoder_are_reported_by_reason(
    storage: InMemoryStorage, clock: FakeClock
) -> None:
    report = await ingest(storage, clock).execute(
        [delivery(clock, rejections=(Rejection(reason="invalid_rssi"),) * 2)]
    )
    assert report.rejected == {"invalid_rssi": 2}


async def test_silent_gateways_go_offline_once(storage: InMemoryStorage, clock: FakeClock) -> None:
    await ingest(storage, clock).execute([delivery(clock, online=True)])
    detect = DetectSilentGateways(storage.unit_of_work, clock, threshold=timedelta(seconds=60))
    assert await detect.execute() == []
    clock.advance(seconds=61)
    [gateway] = await detect.execute()
    assert await detect.execute() == []
    async with storage.unit_of_work() as uow:
        events = await uow.ingest.status_events()
    assert [(e.device_id, e.online) for e in events] == [(gateway, True), (gateway, False)]
