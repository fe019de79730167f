"""Stored readings (``collection_logs``) in PostgreSQL, one partition per day."""

from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg
from psycopg.rows import DictRow

from securityvision.adapters.postgres.partitions import (
    ensure_daily_partitions,
    forget_daily_partitions,
)
from securityvision.adapters.postgres.rows import one
from securityvision.domain.errors import Conflict, StorageError
from securityvision.domain.rtls import CollectionLog, NewCollectionLog

_COLUMNS = "id, device_id, tag_id, rssi, created_at, received_at, raw_payload"


class PostgresCollectionLogRepository:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def add(self, log: NewCollectionLog) -> CollectionLog:
        day = log.created_at.astimezone(UTC).date()
        await ensure_daily_partitions(self._conn, [day])
        try:
            cursor = await self._conn.execute(
                "INSERT INTO collection_logs (device_id, tag_id, rssi, created_at, received_at,"
                f" raw_payload) VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                [
                    log.device_id,
                    log.tag_id,
                    log.rssi,
                    log.created_at,
                    log.received_at,
                    log.raw_payload,
                ],
            )
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(
                "this tag was already read by this device at this instant", code="reading_exists"
            ) from exc
        except psycopg.errors.CheckViolation as exc:
            # "no partition of relation": the day's partition was dropped (retention) after
            # this process last saw it; the next attempt creates it again.
            forget_daily_partitions(self._conn, [day])
            raise StorageError(f"no partition for {day}; retry") from exc
        return CollectionLog(**await one(cursor))

    async def get(self, log_id: int) -> CollectionLog | None:
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM collection_logs WHERE id = %s", [log_id]
        )
        row = await cursor.fetchone()
        return None if row is None else CollectionLog(**row)

    async def list(
        self,
        *,
        device_id: int | None = None,
        tag_id: int | None = None,
        from_ts: datetime | None = None,
        to_ts: datetime | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> Sequence[CollectionLog]:
        # Conditions are only added when set, so the planner can prune partitions by time and
        # use the (device_id, created_at) index or the (tag_id, created_at, ...) key.
        conditions: list[str] = []
        params: list[object] = []
        for condition, value in (
            ("device_id = %s", device_id),
            ("tag_id = %s", tag_id),
            ("created_at >= %s", from_ts),
            ("created_at <= %s", to_ts),
        ):
            if value is not None:
                conditions.append(condition)
                params.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        cursor = await self._conn.execute(
            f"SELECT {_COLUMNS} FROM collection_logs{where}"
            " ORDER BY created_at DESC, id DESC OFFSET %s LIMIT %s",
            [*params, skip, limit],
        )
        return [CollectionLog(**row) for row in await cursor.fetchall()]

    async def delete(self, log_id: int) -> bool:
        cursor = await self._conn.execute("DELETE FROM collection_logs WHERE id = %s", [log_id])
        return cursor.rowcount > 0

    async def has_for_device(self, device_id: int) -> bool:
        cursor = await self._conn.execute(
            "SELECT EXISTS (SELECT 1 FROM collection_logs WHERE device_id = %s) AS found",
            [device_id],
        )
        return bool((await one(cursor))["found"])

    async def delete_for_device(self, device_id: int) -> int:
        cursor = await self._conn.execute(
            "DELETE FROM collection_logs WHERE device_id = %s", [device_id]
        )
        return cursor.rowcount
