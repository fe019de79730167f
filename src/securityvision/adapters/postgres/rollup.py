"""Daily rollup and retention in PostgreSQL."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from psycopg import sql

from securityvision.adapters.postgres.database import Connection, PostgresStorage
from securityvision.adapters.postgres.partitions import (
    forget_daily_partitions,
    partition_name,
)
from securityvision.application.rollup import DayRollup

# Class 3 of the two-key advisory locks: "the rollup of a day".
_ROLLUP_LOCK_CLASS = 3


class PostgresRollupStore:
    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage

    async def days_with_presence(self, before: date) -> Sequence[date]:
        async with self._storage.connection() as conn:
            cursor = await conn.execute(
                "SELECT DISTINCT day FROM presence_sessions WHERE day < %s ORDER BY day",
                [before],
            )
            return [row["day"] for row in await cursor.fetchall()]

    async def roll_up_day(
        self, day: date, start: datetime, end: datetime, zone_name: str, *, dry_run: bool
    ) -> DayRollup:
        async with self._storage.connection() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_ROLLUP_LOCK_CLASS, day.toordinal()]
            )
            totals = await (
                await conn.execute(
                    "SELECT count(*) AS sessions, coalesce(sum(samples_count), 0) AS readings"
                    " FROM presence_sessions WHERE day = %s",
                    [day],
                )
            ).fetchone()
            assert totals is not None
            result = DayRollup(
                day=day, sessions=int(totals["sessions"]), readings=int(totals["readings"])
            )
            if dry_run or result.sessions == 0:
                return result
            # Adds to what an earlier run rolled up (readings that came late for the day).
            await conn.execute(
                "INSERT INTO presence_daily_usage (tag_id, device_id, day, total_dwell_seconds,"
                " sessions_count, samples_count, first_seen_at, last_seen_at)"
                " SELECT tag_id, device_id, day, sum(duration_seconds), count(*),"
                "   sum(samples_count), min(started_at), max(ended_at)"
                " FROM presence_sessions WHERE day = %s GROUP BY tag_id, device_id, day"
                " ON CONFLICT (tag_id, device_id, day) DO UPDATE SET"
                "   total_dwell_seconds = presence_daily_usage.total_dwell_seconds"
                "     + excluded.total_dwell_seconds,"
                "   sessions_count = presence_daily_usage.sessions_count + excluded.sessions_count,"
                "   samples_count = presence_daily_usage.samples_count + excluded.samples_count,"
                "   first_seen_at = least("
                "     presence_daily_usage.first_seen_at, excluded.first_seen_at),"
                "   last_seen_at = greatest("
                "     presence_daily_usage.last_seen_at, excluded.last_seen_at)",
                [day],
            )
            await conn.execute(
                "INSERT INTO presence_rollups (day, time_zone, sessions, readings)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (day) DO UPDATE SET"
                "   sessions = presence_rollups.sessions + excluded.sessions,"
                "   readings = presence_rollups.readings + excluded.readings,"
                "   rolled_at = now()",
                [day, zone_name, result.sessions, result.readings],
            )
            await conn.execute("DELETE FROM presence_sessions WHERE day = %s", [day])
            await self._drop_readings(conn, start, end)
            return result

    async def _drop_readings(self, conn: Connection, start: datetime, end: datetime) -> None:
        """Whole UTC-day partitions inside ``[start, end)`` are dropped (the same cost at
        any size); the rest of the range — a local day that does not align with UTC days —
        is deleted row by row."""
        utc_start, utc_end = start.astimezone(UTC), end.astimezone(UTC)
        first = utc_start.date()
        if utc_start.time() != time():
            first += timedelta(days=1)
        dropped = []
        day = first
        while datetime.combine(day + timedelta(days=1), time(), UTC) <= utc_end:
            await conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition_name(day)))
            )
            dropped.append(day)
            day += timedelta(days=1)
        forget_daily_partitions(conn, dropped)
        whole_start = datetime.combine(first, time(), UTC)
        whole_end = datetime.combine(day, time(), UTC)
        for low, high in (
            (utc_start, min(whole_start, utc_end)),
            (max(whole_end, utc_start), utc_end),
        ):
            if low < high:
                await conn.execute(
                    "DELETE FROM collection_logs WHERE created_at >= %s AND created_at < %s",
                    [low, high],
                )
