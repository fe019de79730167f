"""Rollup and retention behave the same on every adapter, and lose nothing."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from securityvision.adapters.memory import InMemoryRollupStore, InMemoryStorage
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.rollup import PostgresRollupStore
from securityvision.application.ingest import Delivery, IngestGatewayMessages
from securityvision.application.ports import Storage
from securityvision.application.presence import PresenceFollower
from securityvision.application.rollup import RollUpPresence, RollupStore
from securityvision.domain.presence import DailyUsage, Sighting, add_up_day, sessionize
from securityvision.domain.rtls import GatewayMessage, GatewayTopic, NewTag, Observation
from tests.support.clock import FakeClock

ZONE = ZoneInfo("America/Sao_Paulo")  # midnight there is 03:00 UTC: days do not align
GAP = timedelta(seconds=15)
GATEWAY = "AC:23:3F:C0:7D:A5"
TAG = "AA:BB:CC:DD:EE:01"


def local_day(ts: datetime) -> date:
    return ts.astimezone(ZONE).date()


def store_of(storage: Storage) -> RollupStore:
    if isinstance(storage, InMemoryStorage):
        return InMemoryRollupStore(storage)
    assert isinstance(storage, PostgresStorage)
    return PostgresRollupStore(storage)


async def ingest(storage: Storage, clock: FakeClock, stamps: list[datetime]) -> None:
    use_case = IngestGatewayMessages(
        storage.unit_of_work, clock, presence=PresenceFollower(session_gap=GAP, day_of=local_day)
    )
    await use_case.execute(
        [
            Delivery(
                message=GatewayMessage(
                    topic=GatewayTopic(gateway_id=GATEWAY, gateway_mac=GATEWAY),
                    observations=tuple(
                        Observation(tag_mac=TAG, rssi=-60 - i % 5, ts=ts)
                        for i, ts in enumerate(stamps)
                    ),
                ),
                received_at=clock.now(),
                fingerprint=b"x",
            )
        ]
    )


async def usage(storage: Storage) -> list[DailyUsage]:
    if isinstance(storage, InMemoryStorage):
        return sorted(storage.state.daily_usage.values(), key=lambda u: u.day)
    assert isinstance(storage, PostgresStorage)
    async with storage.connection() as conn:
        cursor = await conn.execute("SELECT * FROM presence_daily_usage ORDER BY day")
        return [DailyUsage(**row) for row in await cursor.fetchall()]


async def test_days_past_retention_are_rolled_up_whole_and_their_raw_data_dropped(
    storage: Storage,
) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 15, 0, tzinfo=UTC))
    # Three local days; a session runs across local midnight of the 27th (03:00 UTC).
    start = datetime(2026, 11, 27, 2, 59, 50, tzinfo=UTC)
    stamps = [start + timedelta(seconds=5 * i) for i in range(5)]  # 02:59:50 .. 03:00:10
    stamps += [datetime(2026, 11, 26, 12, 0, s, tzinfo=UTC) for s in (0, 10, 20)]
    stamps += [datetime(2026, 11, 29, 12, 0, s, tzinfo=UTC) for s in (0, 10)]
    async with storage.unit_of_work() as uow:
        await uow.tags.add(NewTag(mac_address=TAG))
        await uow.commit()
    await ingest(storage, clock, stamps)
    async with storage.unit_of_work() as uow:
        tag = await uow.tags.get_by_mac(TAG)
        [gateway] = await uow.devices.find_by_mac(GATEWAY)
    assert tag is not None
    reference = add_up_day(
        sessionize(
            [Sighting(tag_id=tag.id, device_id=gateway.id, ts=ts, rssi=-60) for ts in stamps],
            GAP,
            local_day,
        )
    )

    # Now is the 29th at noon in São Paulo; keeping two days rolls up the 26th, which ended
    # at local midnight of the 27th (03:00 UTC), more than two days ago.
    rollup = RollUpPresence(store_of(storage), clock, zone=ZONE, zone_name="America/Sao_Paulo")
    [expected] = [u for u in reference if u.day < date(2026, 11, 27)]
    assert expected.sessions_count == 2  # 09:00 local, and the run up to local midnight
    dry = await rollup.execute(2, dry_run=True)
    assert [d.day for d in dry] == [date(2026, 11, 26)]
    assert await usage(storage) == []

    done = await rollup.execute(2)
    assert [(d.day, d.sessions, d.readings) for d in done] == [
        (date(2026, 11, 26), expected.sessions_count, expected.samples_count)
    ]
    assert await rollup.execute(2) == []  # twice changes nothing
    [rolled] = await usage(storage)
    assert (rolled.day, rolled.sessions_count, rolled.samples_count) == (
        expected.day,
        expected.sessions_count,
        expected.samples_count,
    )
    assert rolled.total_dwell_seconds == pytest.approx(expected.total_dwell_seconds)
    async with storage.unit_of_work() as uow:
        remaining = await uow.collection_logs.list(limit=100)
    assert all(local_day(log.created_at) >= date(2026, 11, 27) for log in remaining)
    assert len(remaining) == len([s for s in stamps if local_day(s) >= date(2026, 11, 27)])

    # A reading that comes late for a day already rolled up is added on the next run.
    await ingest(storage, clock, [datetime(2026, 11, 26, 18, 0, tzinfo=UTC)])
    [late] = await rollup.execute(2)
    assert (late.day, late.sessions) == (date(2026, 11, 26), 1)
    [day_26] = await usage(storage)
    assert day_26.sessions_count == expected.sessions_count + 1
