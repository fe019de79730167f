"""Presence in PostgreSQL: the sessions and positions a batch touches, read and replaced in
the batch's own transaction."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import msgspec
import psycopg
from psycopg.rows import DictRow

from securityvision.domain.presence import Candidate, PresenceSession, Sighting, TagPosition

# The two-key form of advisory locks is a key space of its own; class 2 is "a tag's presence".
_TAG_LOCK_CLASS = 2
LOCK_BUCKETS = 1024
_candidates = msgspec.json.Decoder(list[Candidate])

_SESSION_COLUMNS_OF_P = (
    "p.id, p.tag_id, p.device_id, p.day, p.started_at, p.ended_at, p.samples_count,"
    " p.rssi_sum, p.rssi_max"
)


class PostgresPresenceStore:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def lock_tags(self, tag_ids: Iterable[int]) -> None:
        """Serialise work on the same tags across workers (sessions and positions are read,
        merged and written back), always locking in order so no two batches deadlock.

        Tags share ``LOCK_BUCKETS`` locks (by id modulo): a batch of 20,000 tags taking a lock
        each would exhaust PostgreSQL's lock table; two batches sharing a bucket merely wait.
        """
        buckets = sorted({tag_id % LOCK_BUCKETS for tag_id in tag_ids})
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(%s, k) FROM unnest(%b::int[]) AS k",
            [_TAG_LOCK_CLASS, buckets],
        )

    async def sessions_near(
        self, sightings: Sequence[Sighting], gap: timedelta
    ) -> list[PresenceSession]:
        windows: dict[tuple[int, int], tuple[datetime, datetime]] = {}
        for s in sightings:
            key = (s.tag_id, s.device_id)
            low, high = windows.get(key, (s.ts, s.ts))
            windows[key] = (min(low, s.ts), max(high, s.ts))
        keys = sorted(windows)
        cursor = await self._conn.execute(
            f"SELECT {_SESSION_COLUMNS_OF_P} FROM presence_sessions p"
            " JOIN unnest(%b::bigint[], %b::bigint[], %b::timestamptz[], %b::timestamptz[])"
            "   AS w(tag_id, device_id, low, high)"
            "   ON p.tag_id = w.tag_id AND p.device_id = w.device_id"
            "  AND p.ended_at >= w.low - %s AND p.started_at <= w.high + %s",
            [
                [k[0] for k in keys],
                [k[1] for k in keys],
                [windows[k][0] for k in keys],
                [windows[k][1] for k in keys],
                gap,
                gap,
            ],
        )
        return [PresenceSession(**row) for row in await cursor.fetchall()]

    async def replace_sessions(
        self,
        replaced: Sequence[int],
        added: Sequence[PresenceSession],
        updated: Sequence[PresenceSession] = (),
    ) -> None:
        if updated:
            # Bounds and totals change, the row stays: mostly a HOT update of one tuple.
            rows = sorted(updated, key=lambda s: s.id or 0)
            await self._conn.execute(
                "UPDATE presence_sessions p SET started_at = u.started_at,"
                " ended_at = u.ended_at, samples_count = u.samples_count,"
                " rssi_sum = u.rssi_sum, rssi_max = u.rssi_max"
                " FROM unnest(%b::bigint[], %b::timestamptz[], %b::timestamptz[], %b::int[],"
                "   %b::bigint[], %b::smallint[])"
                "   AS u(id, started_at, ended_at, samples_count, rssi_sum, rssi_max)"
                " WHERE p.id = u.id",
                [
                    [s.id for s in rows],
                    [s.started_at for s in rows],
                    [s.ended_at for s in rows],
                    [s.samples_count for s in rows],
                    [s.rssi_sum for s in rows],
                    [s.rssi_max for s in rows],
                ],
            )
        if replaced:
            await self._conn.execute(
                "DELETE FROM presence_sessions WHERE id = ANY(%b)", [list(replaced)]
            )
        if added:
            await self._conn.execute(
                "INSERT INTO presence_sessions (tag_id, device_id, day, started_at, ended_at,"
                " samples_count, rssi_sum, rssi_max)"
                " SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::date[],"
                "   %b::timestamptz[], %b::timestamptz[], %b::int[], %b::bigint[], %b::smallint[])",
                [
                    [s.tag_id for s in added],
                    [s.device_id for s in added],
                    [s.day for s in added],
                    [s.started_at for s in added],
                    [s.ended_at for s in added],
                    [s.samples_count for s in added],
                    [s.rssi_sum for s in added],
                    [s.rssi_max for s in added],
                ],
            )

    async def positions(self, tag_ids: Iterable[int]) -> Mapping[int, TagPosition]:
        cursor = await self._conn.execute(
            "SELECT tag_id, device_id, since, last_seen_at, confidence, candidates::text"
            " AS candidates FROM tag_positions WHERE tag_id = ANY(%b)",
            [sorted(set(tag_ids))],
        )
        return {
            row["tag_id"]: TagPosition(
                **(row | {"candidates": tuple(_candidates.decode(row["candidates"]))})
            )
            for row in await cursor.fetchall()
        }

    async def save_positions(self, positions: Iterable[TagPosition]) -> None:
        rows = sorted(positions, key=lambda p: p.tag_id)
        if not rows:
            return
        await self._conn.execute(
            "INSERT INTO tag_positions (tag_id, device_id, since, last_seen_at, confidence,"
            " candidates)"
            " SELECT * FROM unnest(%b::bigint[], %b::bigint[], %b::timestamptz[],"
            "   %b::timestamptz[], %b::float8[], %b::jsonb[])"
            " ON CONFLICT (tag_id) DO UPDATE SET device_id = excluded.device_id,"
            "   since = excluded.since, last_seen_at = excluded.last_seen_at,"
            "   confidence = excluded.confidence, candidates = excluded.candidates",
            [
                [p.tag_id for p in rows],
                [p.device_id for p in rows],
                [p.since for p in rows],
                [p.last_seen_at for p in rows],
                [p.confidence for p in rows],
                [msgspec.json.encode(p.candidates).decode() for p in rows],
            ],
        )
