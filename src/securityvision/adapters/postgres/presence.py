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
_INT4 = 2**31 - 1
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
        merged and written back), always locking in id order so no two batches deadlock."""
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(%s, k) FROM ("
            "  SELECT (t %% %s)::int AS k FROM unnest(%s::bigint[]) AS t ORDER BY 1) AS keys",
            [_TAG_LOCK_CLASS, _INT4, sorted(set(tag_ids))],
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
            " JOIN unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[])"
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
        self, replaced: Sequence[int], added: Sequence[PresenceSession]
    ) -> None:
        if replaced:
            await self._conn.execute(
                "DELETE FROM presence_sessions WHERE id = ANY(%s)", [list(replaced)]
            )
        if added:
            await self._conn.execute(
                "INSERT INTO presence_sessions (tag_id, device_id, day, started_at, ended_at,"
                " samples_count, rssi_sum, rssi_max)"
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::date[],"
                "   %s::timestamptz[], %s::timestamptz[], %s::int[], %s::bigint[], %s::smallint[])",
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
            " AS candidates FROM tag_positions WHERE tag_id = ANY(%s)",
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
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[],"
            "   %s::timestamptz[], %s::float8[], %s::jsonb[])"
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
