"""Presence in PostgreSQL: the sessions and positions a batch touches, read and replaced in
the batch's own transaction."""

import struct
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import msgspec
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

    async def claim(self, lane: int | None = None) -> tuple[int | None, int]:
        async with self._conn.cursor(row_factory=tuple_row) as cur:
            if lane is None:
                # Every lane's row, in lane order (lane 0's is made if someone emptied the
                # table); the previous writer is one only if it wrote every lane last.
                await cur.execute("SELECT last_xact FROM presence_writer ORDER BY lane FOR UPDATE")
                previous = {row[0] for row in await cur.fetchall()}
                await cur.execute(
                    "INSERT INTO presence_writer (lane, last_xact) VALUES (0, txid_current())"
                    " ON CONFLICT (lane) DO NOTHING"
                )
                await cur.execute(
                    "UPDATE presence_writer SET last_xact = txid_current() RETURNING last_xact"
                )
            else:
                await cur.execute(
                    "SELECT last_xact FROM presence_writer WHERE lane = %s FOR UPDATE", [lane]
                )
                previous = {row[0] for row in await cur.fetchall()}
                await cur.execute(
                    "INSERT INTO presence_writer (lane, last_xact) VALUES (%s, txid_current())"
                    " ON CONFLICT (lane) DO UPDATE SET last_xact = excluded.last_xact"
                    " RETURNING last_xact",
                    [lane],
                )
            mine = await cur.fetchone()
        assert mine is not None  # RETURNING of at least the row just made sure of
        return (previous.pop() if len(previous) == 1 else None), int(mine[0])

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
        await _copy(
            self._conn,
            _RUNS,
            [
                (
                    r.tag_id,
                    r.device_id,
                    r.day,
                    r.started_at,
                    r.ended_at,
                    r.samples_count,
                    r.rssi_sum,
                    r.rssi_max,
                )
                for r in runs
            ],
        )
        async with self._conn.cursor(row_factory=tuple_row, binary=True) as cur:
            await cur.execute(_EXTEND_SESSIONS, {"gap": gap})
            late = [(int(tag_id), int(device_id)) for tag_id, device_id in await cur.fetchall()]
        await self._conn.execute("TRUNCATE presence_runs_stage")
        return late

    async def positions(self, tag_ids: Iterable[int]) -> Mapping[int, TagPosition]:
        wanted = ",".join(map(str, sorted(set(tag_ids))))
        async with self._conn.cursor(row_factory=tuple_row, binary=True) as cur:
            await cur.execute(
                "SELECT tag_id, device_id, since, last_seen_at, confidence, candidates"
                " FROM tag_positions WHERE tag_id = ANY(string_to_array(%s, ',')::bigint[])",
                [wanted],
            )
            return {
                tag_id: TagPosition(
                    tag_id=tag_id,
                    device_id=device_id,
                    since=since,
                    last_seen_at=last_seen_at,
                    confidence=confidence,
                    candidates=unpack_candidates(candidates),
                )
                for (
                    tag_id,
                    device_id,
                    since,
                    last_seen_at,
                    confidence,
                    candidates,
                ) in await cur.fetchall()
            }

    async def save_positions(self, positions: Iterable[TagPosition]) -> None:
        rows = sorted(positions, key=lambda p: p.tag_id)
        if not rows:
            return
        await _copy(
            self._conn,
            _POSITIONS,
            [
                (
                    p.tag_id,
                    p.device_id,
                    p.since,
                    p.last_seen_at,
                    p.confidence,
                    pack_candidates(p.candidates),
                )
                for p in rows
            ],
        )
        await self._conn.execute(_SAVE_POSITIONS)
        await self._conn.execute("TRUNCATE tag_positions_stage")


class _Stage(msgspec.Struct, frozen=True):
    """A temporary table a batch is copied into (binary COPY: rows are formatted in C,
    where array parameters would be dumped element by element in Python)."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def create(self) -> str:
        columns = ", ".join(f"{c} {t}" for c, t in self.columns)
        return f"CREATE TEMP TABLE IF NOT EXISTS {self.name} ({columns}) ON COMMIT DELETE ROWS"

    @property
    def copy(self) -> str:
        columns = ", ".join(c for c, _ in self.columns)
        return f"COPY {self.name} ({columns}) FROM STDIN (FORMAT BINARY)"


_RUNS = _Stage(
    "presence_runs_stage",
    (
        ("tag_id", "int8"),
        ("device_id", "int8"),
        ("day", "date"),
        ("started_at", "timestamptz"),
        ("ended_at", "timestamptz"),
        ("samples_count", "int4"),
        ("rssi_sum", "int8"),
        ("rssi_max", "int2"),
    ),
)
_POSITIONS = _Stage(
    "tag_positions_stage",
    (
        ("tag_id", "int8"),
        ("device_id", "int8"),
        ("since", "timestamptz"),
        ("last_seen_at", "timestamptz"),
        ("confidence", "float8"),
        ("candidates", "bytea"),
    ),
)


async def _copy(
    conn: psycopg.AsyncConnection[DictRow], stage: _Stage, rows: Sequence[tuple[object, ...]]
) -> None:
    await conn.execute(stage.create)
    async with conn.cursor() as cur, cur.copy(stage.copy) as copy:
        copy.set_types([t for _, t in stage.columns])
        for row in rows:
            await copy.write_row(row)


# One statement for the usual batch: each run finds its (tag, gateway)'s latest session by one
# probe of presence_sessions_pair, then either extends it in place or is added as a session of
# its own; runs older than their latest session come back for the general merge.
_EXTEND_SESSIONS = """
WITH l AS (
    SELECT r.*, s.id AS latest_id, s.day AS latest_day, s.started_at AS latest_start,
        s.ended_at AS latest_end
    FROM presence_runs_stage r LEFT JOIN LATERAL (
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
INSERT INTO tag_positions (tag_id, device_id, since, last_seen_at, confidence, candidates)
SELECT tag_id, device_id, since, last_seen_at, confidence, candidates
FROM tag_positions_stage
ORDER BY tag_id
ON CONFLICT (tag_id) DO UPDATE SET device_id = excluded.device_id, since = excluded.since,
    last_seen_at = excluded.last_seen_at, confidence = excluded.confidence,
    candidates = excluded.candidates
"""

# A position's candidates as stored (migration 0018): per candidate, big-endian, the gateway
# id, the smoothed RSSI and microseconds since 2000-01-01 UTC (PostgreSQL's own epoch).
_CANDIDATE = struct.Struct(">qdq")
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def pack_candidates(candidates: Sequence[Candidate]) -> bytes:
    pack, epoch = _CANDIDATE.pack, _POSTGRES_EPOCH
    packed = []
    for c in candidates:
        # The microseconds from the timedelta's parts: a third cheaper than dividing by one.
        since = c.last_seen_at - epoch
        micros = (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds
        packed.append(pack(c.device_id, c.rssi, micros))
    return b"".join(packed)


def unpack_candidates(packed: bytes) -> tuple[Candidate, ...]:
    epoch, unit = _POSTGRES_EPOCH, _MICROSECOND
    return tuple(
        Candidate(device_id=device_id, rssi=rssi, last_seen_at=epoch + microseconds * unit)
        for device_id, rssi, microseconds in _CANDIDATE.iter_unpack(packed)
    )
