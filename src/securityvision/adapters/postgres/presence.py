"""Presence in PostgreSQL: the sessions and positions a batch touches, read and replaced in
the batch's own transaction."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import DictRow, tuple_row

from securityvision.domain.presence import Candidate, PresenceSession, Sighting, TagPosition

# The two-key form of advisory locks is a key space of its own; class 2 is "a tag's presence".
_TAG_LOCK_CLASS = 2
LOCK_BUCKETS = 1024

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

    async def extend_sessions(
        self, runs: Sequence[PresenceSession], gap: timedelta
    ) -> Sequence[tuple[int, int]]:
        if not runs:
            return []
        async with self._conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                _EXTEND_SESSIONS,
                {
                    "tag_id": [r.tag_id for r in runs],
                    "device_id": [r.device_id for r in runs],
                    "day": [r.day for r in runs],
                    "started_at": [r.started_at for r in runs],
                    "ended_at": [r.ended_at for r in runs],
                    "samples_count": [r.samples_count for r in runs],
                    "rssi_sum": [r.rssi_sum for r in runs],
                    "rssi_max": [r.rssi_max for r in runs],
                    "gap": gap,
                },
            )
            return [(int(tag_id), int(device_id)) for tag_id, device_id in await cur.fetchall()]

    async def positions(self, tag_ids: Iterable[int]) -> Mapping[int, TagPosition]:
        async with self._conn.cursor(row_factory=tuple_row, binary=True) as cur:
            await cur.execute(
                "SELECT tag_id, device_id, since, last_seen_at, confidence,"
                " candidate_device_ids, candidate_rssi, candidate_seen_at"
                " FROM tag_positions WHERE tag_id = ANY(%b)",
                [sorted(set(tag_ids))],
            )
            return {
                tag_id: TagPosition(
                    tag_id=tag_id,
                    device_id=device_id,
                    since=since,
                    last_seen_at=last_seen_at,
                    confidence=confidence,
                    candidates=tuple(
                        Candidate(device_id=d, rssi=r, last_seen_at=t)
                        for d, r, t in zip(devices, rssi, seen, strict=True)
                    ),
                )
                for (
                    tag_id,
                    device_id,
                    since,
                    last_seen_at,
                    confidence,
                    devices,
                    rssi,
                    seen,
                ) in await cur.fetchall()
            }

    async def save_positions(self, positions: Iterable[TagPosition]) -> None:
        rows = sorted(positions, key=lambda p: p.tag_id)
        if not rows:
            return
        # Every tag's candidates go in three flat arrays; each row takes its slice of them.
        offsets, counts = [], []
        devices: list[int] = []
        rssi: list[float] = []
        seen: list[datetime] = []
        for p in rows:
            offsets.append(len(devices))
            counts.append(len(p.candidates))
            for c in p.candidates:
                devices.append(c.device_id)
                rssi.append(c.rssi)
                seen.append(c.last_seen_at)
        await self._conn.execute(
            _SAVE_POSITIONS,
            {
                "tag_id": [p.tag_id for p in rows],
                "device_id": [p.device_id for p in rows],
                "since": [p.since for p in rows],
                "last_seen_at": [p.last_seen_at for p in rows],
                "confidence": [p.confidence for p in rows],
                "offset": offsets,
                "count": counts,
                "devices": devices,
                "rssi": rssi,
                "seen": seen,
            },
        )


# One statement for the usual batch: each run finds its (tag, gateway)'s latest session by one
# probe of presence_sessions_pair, then either extends it in place or is added as a session of
# its own; runs older than their latest session come back for the general merge.
_EXTEND_SESSIONS = """
WITH r AS (
    SELECT * FROM unnest(%(tag_id)b::bigint[], %(device_id)b::bigint[], %(day)b::date[],
        %(started_at)b::timestamptz[], %(ended_at)b::timestamptz[], %(samples_count)b::int[],
        %(rssi_sum)b::bigint[], %(rssi_max)b::smallint[])
        AS r(tag_id, device_id, day, started_at, ended_at, samples_count, rssi_sum, rssi_max)
), l AS (
    SELECT r.*, s.id AS latest_id, s.day AS latest_day, s.started_at AS latest_start,
        s.ended_at AS latest_end
    FROM r LEFT JOIN LATERAL (
        SELECT p.id, p.day, p.started_at, p.ended_at FROM presence_sessions p
        WHERE p.tag_id = r.tag_id AND p.device_id = r.device_id
        ORDER BY p.started_at DESC LIMIT 1
    ) s ON true
), extended AS (
    UPDATE presence_sessions p SET
        ended_at = greatest(p.ended_at, l.ended_at),
        samples_count = p.samples_count + l.samples_count,
        rssi_sum = p.rssi_sum + l.rssi_sum,
        rssi_max = greatest(p.rssi_max, l.rssi_max)
    FROM l
    WHERE p.id = l.latest_id AND l.day = l.latest_day AND l.started_at >= l.latest_start
        AND l.started_at <= l.latest_end + %(gap)s
), added AS (
    INSERT INTO presence_sessions (tag_id, device_id, day, started_at, ended_at, samples_count,
        rssi_sum, rssi_max)
    SELECT tag_id, device_id, day, started_at, ended_at, samples_count, rssi_sum, rssi_max
    FROM l
    WHERE l.latest_id IS NULL OR l.day > l.latest_day
        OR (l.day = l.latest_day AND l.started_at > l.latest_end + %(gap)s)
)
SELECT tag_id, device_id FROM l
WHERE l.day < l.latest_day OR (l.day = l.latest_day AND l.started_at < l.latest_start)
"""

_SAVE_POSITIONS = """
INSERT INTO tag_positions (tag_id, device_id, since, last_seen_at, confidence,
    candidate_device_ids, candidate_rssi, candidate_seen_at)
SELECT u.tag_id, u.device_id, u.since, u.last_seen_at, u.confidence,
    c.devices[u.o + 1 : u.o + u.n], c.rssi[u.o + 1 : u.o + u.n], c.seen[u.o + 1 : u.o + u.n]
FROM unnest(%(tag_id)b::bigint[], %(device_id)b::bigint[], %(since)b::timestamptz[],
        %(last_seen_at)b::timestamptz[], %(confidence)b::float8[], %(offset)b::int[],
        %(count)b::int[]) AS u(tag_id, device_id, since, last_seen_at, confidence, o, n),
    (SELECT %(devices)b::bigint[] AS devices, %(rssi)b::float8[] AS rssi,
        %(seen)b::timestamptz[] AS seen) c
ON CONFLICT (tag_id) DO UPDATE SET device_id = excluded.device_id, since = excluded.since,
    last_seen_at = excluded.last_seen_at, confidence = excluded.confidence,
    candidate_device_ids = excluded.candidate_device_ids,
    candidate_rssi = excluded.candidate_rssi, candidate_seen_at = excluded.candidate_seen_at
"""
