"""Daily partitions of ``collection_logs``, created on demand.

The table is partitioned by day of ``created_at`` (the reading's own time) and has no default
partition — a default partition would have to be scanned and split whenever a day's partition
is added later, and retention could no longer drop whole days. So a day's partition must exist
before its first reading is inserted: whoever inserts calls ``ensure_daily_partitions`` first.

Creation runs under a transaction-level advisory lock, so concurrent workers (and API
processes) meeting a new day at once create it exactly once; a process-level cache of the days
known to exist makes the common case — today's partition, long created — free of any query.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

# Any constant shared by every process of this product, distinct from the migrator's.
_LOCK_KEY = 0x5EC0_5102

# Days whose partition is known to exist, committed, per database (one process may talk to
# several: the test suite does).
_known: set[tuple[str, date]] = set()
# Days this process created inside a caller's transaction, with that transaction's id: not
# known to be committed until seen from another transaction.
_pending: dict[tuple[str, date], int] = {}


def partition_name(day: date) -> str:
    return f"collection_logs_p{day:%Y%m%d}"


async def ensure_daily_partitions(conn: psycopg.AsyncConnection[Any], days: Iterable[date]) -> None:
    """Make sure ``collection_logs`` has a partition for each of ``days`` (UTC days).

    On an idle connection the partitions are created in a transaction of their own, committed
    at once. Inside the caller's transaction they are created in it, and are only as durable as
    it: they (and the brief exclusive lock creating a partition takes on ``collection_logs``)
    last until the caller commits. Calling it before opening a batch's transaction keeps that
    lock shortest.
    """
    database = _database_key(conn)
    wanted = sorted({day for day in days if (database, day) not in _known})
    if not wanted:
        return
    if conn.info.transaction_status == TransactionStatus.IDLE:
        async with conn.transaction():
            await _create_missing(conn, wanted)
        for day in wanted:
            _known.add((database, day))
            _pending.pop((database, day), None)
        return
    current = await _current_transaction(conn)
    existing = await _existing(conn, wanted)
    for day in existing:
        creator = _pending.get((database, day))
        # Visible and not created by this very transaction: committed by someone.
        if creator is None or creator != current:
            _known.add((database, day))
            _pending.pop((database, day), None)
    missing = [day for day in wanted if day not in existing]
    if missing:
        created = await _create_missing(conn, missing)
        transaction = await _current_transaction(conn)
        for day in created:
            if transaction is not None:
                _pending[(database, day)] = transaction


def forget_daily_partitions(conn: psycopg.AsyncConnection[Any], days: Iterable[date]) -> None:
    """Drop ``days`` from the cache: after an insert found no partition (another process
    dropped it for retention), the next ``ensure_daily_partitions`` creates it again."""
    database = _database_key(conn)
    for day in days:
        _known.discard((database, day))
        _pending.pop((database, day), None)


async def _create_missing(conn: psycopg.AsyncConnection[Any], days: list[date]) -> list[date]:
    """Create the partitions of ``days`` that do not exist yet; returns the days created."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    # Under the lock, what another process created meanwhile is committed and visible.
    present = await _existing(conn, days)
    created = []
    for day in days:
        if day in present:
            continue
        start = datetime.combine(day, time(), UTC)
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF collection_logs"
                " FOR VALUES FROM ({}) TO ({})"
            ).format(
                sql.Identifier(partition_name(day)),
                sql.Literal(start),
                sql.Literal(start + timedelta(days=1)),
            )
        )
        created.append(day)
    return created


async def _existing(conn: psycopg.AsyncConnection[Any], days: list[date]) -> set[date]:
    names = {partition_name(day): day for day in days}
    cursor = await conn.execute(
        "SELECT c.relname FROM pg_inherits i"
        " JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'collection_logs'::regclass AND c.relname = ANY(%s::text[])",
        [list(names)],
    )
    return {names[_first(row)] for row in await cursor.fetchall()}


async def _current_transaction(conn: psycopg.AsyncConnection[Any]) -> int | None:
    cursor = await conn.execute("SELECT pg_current_xact_id_if_assigned()::text")
    row = await cursor.fetchone()
    value = None if row is None else _first(row)
    return None if value is None else int(value)


def _first(row: Any) -> Any:
    """The first column, whatever the connection's row factory (tuples or dicts)."""
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def _database_key(conn: psycopg.AsyncConnection[Any]) -> str:
    info = conn.info
    return f"{info.host}:{info.port}/{info.dbname}"
