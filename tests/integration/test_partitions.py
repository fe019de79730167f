"""Daily partitions of collection_logs, created on demand by concurrent processes."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from securityvision.adapters.postgres.ingest import PostgresIngestStore
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.postgres.partitions import (
    ensure_daily_partitions,
    forget_daily_partitions,
    partition_name,
)
from securityvision.application.ports import ReadingRow
from tests.support.databases import temporary_database

pytestmark = pytest.mark.postgres

Connection = psycopg.AsyncConnection[tuple[object, ...]]


@pytest.fixture(scope="module")
async def database(postgres_server_url: str) -> AsyncIterator[str]:
    """A database of this module's own: partitions outlive the other suites' truncations."""
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        yield url


@pytest.fixture
async def conn(database: str) -> AsyncIterator[Connection]:
    async with await psycopg.AsyncConnection.connect(database) as connection:
        yield connection


async def partitions(conn: Connection) -> dict[str, str]:
    """Each partition of collection_logs with its bounds."""
    cursor = await conn.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'collection_logs'::regclass"
    )
    found = {str(name): str(bound) for name, bound in await cursor.fetchall()}
    await conn.rollback()
    return found


async def insert_reading(conn: Connection, at: datetime, device_id: int = 1) -> None:
    await conn.execute(
        "INSERT INTO collection_logs (device_id, tag_id, rssi, created_at, received_at)"
        " VALUES (%s, 1, -60, %s, %s)",
        [device_id, at, at],
    )


async def test_each_day_gets_a_partition_from_utc_midnight_to_the_next(conn: Connection) -> None:
    await ensure_daily_partitions(conn, [date(2024, 2, 28), date(2024, 2, 29)])
    found = await partitions(conn)
    assert found[partition_name(date(2024, 2, 29))] == (
        "FOR VALUES FROM ('2024-02-29 00:00:00+00') TO ('2024-03-01 00:00:00+00')"
    )
    assert partition_name(date(2024, 2, 28)) in found
    await insert_reading(conn, datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC))
    await insert_reading(conn, datetime(2024, 2, 28, tzinfo=UTC))
    await conn.commit()


async def test_on_an_idle_connection_the_partition_is_committed_at_once(
    conn: Connection, database: str
) -> None:
    await ensure_daily_partitions(conn, [date(2024, 3, 10)])
    await conn.rollback()
    async with await psycopg.AsyncConnection.connect(database) as other:
        assert partition_name(date(2024, 3, 10)) in await partitions(other)


async def test_many_processes_meeting_a_new_day_at_once_create_it_once(database: str) -> None:
    day = date(2024, 4, 1)

    async def worker(device_id: int) -> None:
        async with await psycopg.AsyncConnection.connect(database) as connection:
            # Inside a transaction, as a batch of readings would be.
            await connection.execute("SELECT 1")
            await ensure_daily_partitions(connection, [day])
            await insert_reading(connection, datetime(2024, 4, 1, 12, tzinfo=UTC), device_id)
            await connection.commit()

    await asyncio.gather(*(worker(device_id) for device_id in range(6)))
    async with await psycopg.AsyncConnection.connect(database) as check:
        assert partition_name(day) in await partitions(check)
        cursor = await check.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(partition_name(day)))
        )
        assert await cursor.fetchone() == (6,)


async def test_a_partition_created_in_a_rolled_back_transaction_is_created_again(
    conn: Connection,
) -> None:
    day = date(2024, 5, 5)
    await conn.execute("SELECT 1")
    await ensure_daily_partitions(conn, [day])
    await conn.rollback()
    assert partition_name(day) not in await partitions(conn)
    await conn.execute("SELECT 1")
    await ensure_daily_partitions(conn, [day])
    await insert_reading(conn, datetime(2024, 5, 5, 8, tzinfo=UTC))
    await conn.commit()
    assert partition_name(day) in await partitions(conn)


async def test_a_partition_dropped_elsewhere_is_recreated_once_forgotten(
    conn: Connection, database: str
) -> None:
    day = date(2024, 6, 6)
    await ensure_daily_partitions(conn, [day])
    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as admin:
        await admin.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(partition_name(day))))
    forget_daily_partitions(conn, [day])
    await ensure_daily_partitions(conn, [day])
    await insert_reading(conn, datetime(2024, 6, 6, tzinfo=UTC))
    await conn.commit()


async def test_readings_of_a_day_dropped_elsewhere_are_stored_in_its_new_partition(
    database: str,
) -> None:
    day = datetime(2024, 7, 7, 9, tzinfo=UTC)
    rows = [
        ReadingRow(device_id=1, tag_id=tag_id, rssi=-60, ts=day, received_at=day, raw_payload=None)
        for tag_id in (1, 2)
    ]
    async with await psycopg.AsyncConnection.connect(database, row_factory=dict_row) as conn:
        store = PostgresIngestStore(conn)
        assert await store.add_readings(rows[:1]) == rows[:1]  # the day's partition is cached
        await conn.commit()
        async with await psycopg.AsyncConnection.connect(database, autocommit=True) as admin:
            await admin.execute(
                sql.SQL("DROP TABLE {}").format(sql.Identifier(partition_name(day.date())))
            )
        assert await store.add_readings(rows) == rows  # the first one went with the drop
        await conn.commit()
        cursor = await conn.execute(
            "SELECT tag_id FROM collection_logs WHERE created_at = %s ORDER BY tag_id", [day]
        )
        assert [r["tag_id"] for r in await cursor.fetchall()] == [1, 2]
