"""Retention in UTC drops whole partitions, and readings that come late for a dropped day
still land, even in a process that believed the partition was there."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.postgres.partitions import ensure_daily_partitions, partition_name
from securityvision.adapters.postgres.rollup import PostgresRollupStore
from securityvision.application.ingest import Delivery, IngestGatewayMessages
from securityvision.application.rollup import RollUpPresence
from securityvision.domain.rtls import GatewayMessage, GatewayTopic, NewTag, Observation
from tests.support.clock import FakeClock
from tests.support.databases import temporary_database

pytestmark = pytest.mark.postgres

GATEWAY = "AC:23:3F:C0:7D:A5"
TAG = "AA:BB:CC:DD:EE:01"
OLD_DAY = date(2026, 11, 20)


@pytest.fixture
async def storage(postgres_server_url: str) -> AsyncIterator[PostgresStorage]:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        storage = PostgresStorage(url)
        await storage.open()
        try:
            yield storage
        finally:
            await storage.close()


async def ingest(storage: PostgresStorage, clock: FakeClock, ts: datetime) -> int:
    report = await IngestGatewayMessages(storage.unit_of_work, clock).execute(
        [
            Delivery(
                message=GatewayMessage(
                    topic=GatewayTopic(gateway_id=GATEWAY, gateway_mac=GATEWAY),
                    observations=(Observation(tag_mac=TAG, rssi=-60, ts=ts),),
                ),
                received_at=clock.now(),
                fingerprint=ts.isoformat().encode(),
            )
        ]
    )
    return report.stored


async def partitions(storage: PostgresStorage) -> set[str]:
    async with storage.connection() as conn:
        cursor = await conn.execute(
            "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'collection_logs'::regclass"
        )
        return {row["name"] for row in await cursor.fetchall()}


async def test_a_rolled_up_utc_day_loses_its_partition_and_a_late_reading_brings_it_back(
    storage: PostgresStorage,
) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))
    async with storage.unit_of_work() as uow:
        await uow.tags.add(NewTag(mac_address=TAG))
        await uow.commit()
    assert await ingest(storage, clock, datetime(2026, 11, 20, 10, 0, tzinfo=UTC)) == 1
    assert partition_name(OLD_DAY) in await partitions(storage)

    rollup = RollUpPresence(PostgresRollupStore(storage), clock, zone=UTC, zone_name="UTC")
    [done] = await rollup.execute(7)
    assert (done.day, done.sessions, done.readings) == (OLD_DAY, 1, 1)
    assert partition_name(OLD_DAY) not in await partitions(storage)

    # Another process still "knows" the day's partition: the insert finds none, recreates it.
    async with storage.connection() as conn:
        await ensure_daily_partitions(conn, [OLD_DAY])
        await conn.execute(f"DROP TABLE {partition_name(OLD_DAY)}")
        await conn.commit()
    assert await ingest(storage, clock, datetime(2026, 11, 20, 11, 0, tzinfo=UTC)) == 1
    [late] = await rollup.execute(7)
    assert (late.day, late.sessions) == (OLD_DAY, 1)
