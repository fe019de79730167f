"""The outbox in PostgreSQL, and the advisory locks that keep one relay per channel."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from securityvision.adapters.postgres.rows import one
from securityvision.domain.errors import StorageError
from securityvision.domain.outbox import (
    ERROR_MAX_LENGTH,
    NewOutboxMessage,
    OutboxBacklog,
    OutboxMessage,
)

_COLUMNS = (
    "id, channel, destination, payload, options, created_at, attempts, next_attempt_at,"
    " last_error, dead_at"
)
_LEASE_CHECK_SECONDS = 5.0


def _message(row: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage(**(row | {"payload": bytes(row["payload"])}))


class PostgresOutbox:
    """Times are the database's (``now()``), never a process's clock, so API processes and
    relays on machines whose clocks disagree still agree on what is due."""

    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, message: NewOutboxMessage) -> int:
        cursor = await self._conn.execute(
            "INSERT INTO outbox (channel, destination, payload, options)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            [message.channel, message.destination, message.payload, Jsonb(message.options)],
        )
        return int((await one(cursor))["id"])

    async def due(self, channel: str, *, limit: int = 100) -> Sequence[OutboxMessage]:
        # Only a destination's first message is ever attempted, so the messages waiting for a
        # retry are few (one per failing destination): the ARRAY is computed once per query
        # from its own index, and the rest is a walk of (channel, id).
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM outbox"
            " WHERE channel = %(channel)s AND dead_at IS NULL AND destination <> ALL (ARRAY("
            "   SELECT destination FROM outbox"
            "   WHERE channel = %(channel)s AND next_attempt_at > now() AND dead_at IS NULL))"
            " ORDER BY id LIMIT %(limit)s",
            {"channel": channel, "limit": limit},
        )
        return [_message(row) for row in await cursor.fetchall()]

    async def mark_delivered(self, message_ids: Collection[int]) -> None:
        await self._conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", [list(message_ids)])

    async def mark_failed(self, message_id: int, *, error: str, retry_in: timedelta) -> None:
        await self._conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = %s,"
            " next_attempt_at = now() + %s WHERE id = %s",
            [error[:ERROR_MAX_LENGTH], retry_in, message_id],
        )

    async def mark_dead(self, message_id: int, *, error: str) -> None:
        await self._conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = %s, dead_at = now()"
            " WHERE id = %s",
            [error[:ERROR_MAX_LENGTH], message_id],
        )

    async def backlog(self, channel: str | None = None) -> OutboxBacklog:
        cursor = await self._conn.execute(
            "SELECT count(*) FILTER (WHERE dead_at IS NULL) AS count,"
            " now() - min(created_at) FILTER (WHERE dead_at IS NULL) AS oldest_age,"
            " count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead FROM outbox"
            " WHERE %(channel)s::text IS NULL OR channel = %(channel)s",
            {"channel": channel},
        )
        row = await one(cursor)
        return OutboxBacklog(
            count=int(row["count"]), oldest_age=row["oldest_age"], dead=int(row["dead"])
        )


class PostgresLease:
    def __init__(self, conn: psycopg.AsyncConnection[tuple[Any, ...]]) -> None:
        self._conn = conn

    async def held(self) -> bool:
        """A session-level advisory lock lasts as long as its connection: answering is
        holding."""
        if self._conn.closed:
            return False
        try:
            async with asyncio.timeout(_LEASE_CHECK_SECONDS):
                await self._conn.execute("SELECT 1")
        except (psycopg.Error, TimeoutError):
            return False
        return True


class PostgresLocks:
    """Session-level advisory locks (``pg_try_advisory_lock``), each on a connection of its
    own outside the pool: the lock is held exactly as long as that connection lives, so a
    process that dies or loses the database gives it up, and another takes over."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo

    @contextlib.asynccontextmanager
    async def try_hold(self, name: str) -> AsyncIterator[PostgresLease | None]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=10,
                application_name="securityvision-lock",
            )
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL unavailable: {type(exc).__name__}") from exc
        try:
            # One 64-bit key per name; advisory locks are per database, like the outbox.
            cursor = await conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [f"securityvision:{name}"]
            )
            row = await cursor.fetchone()
            yield PostgresLease(conn) if row is not None and row[0] else None
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL unavailable: {type(exc).__name__}") from exc
        finally:
            # Closing the session releases the lock, whatever state the connection is in.
            with contextlib.suppress(psycopg.Error):
                await conn.close()
