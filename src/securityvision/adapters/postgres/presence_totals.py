"""Presence totals per UTC hour and day (migration 0016): their refresh, and the overview
read from them.

Tables: ``presence_hour_totals`` and ``presence_day_totals`` (per segment, kind 'tag' or
'device', key), ``presence_totals_hours`` (the hours materialized) and
``presence_totals_dirty`` (hours whose sessions changed since; the triggers on
``presence_sessions`` mark them). An hour is *valid* while materialized and not dirty; a UTC
day while its 24 hours are. docs/presence.md explains why answers stay exact.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.rows import DictRow

from securityvision.adapters.postgres.database import Connection, PostgresStorage
from securityvision.application.presence_totals import TotalsBatch
from securityvision.application.reports import (
    Dimension,
    OverviewTotals,
    RankedTotal,
    UsageTotals,
)

# Statements over many rows whose estimates are rough (generate_series, ranges computed in the
# query) reach jit_above_cost and would spend far more compiling than running.
_NO_JIT = "SET LOCAL jit = off"

# Class 4 of the two-key advisory locks: "the presence totals' refresh" (one at a time: two
# refreshes of one hour from different snapshots could leave the older answer unmarked).
_REFRESH_LOCK_CLASS = 4

# The hours a refresh would recompute, newest first, with the ids of the dirty marks each has
# now: hours a live session reaches (from the oldest one's hour), that ended 10 minutes before
# ``now`` — or before the database's time if that is earlier: the triggers mark only what
# starts 5 minutes before theirs, whatever the application's clock says — and that are dirty
# or not materialized.
_CANDIDATES = """
WITH horizon AS (
    SELECT date_trunc('hour', min(started_at), 'UTC') AS first_hour FROM presence_sessions
), latest AS (
    SELECT date_trunc('hour', least(%(now)s::timestamptz, statement_timestamp())
                              - interval '10 minutes', 'UTC') - interval '1 hour' AS last_hour
), marks AS (
    SELECT d.hour, array_agg(d.id) AS ids
    FROM presence_totals_dirty d, horizon, latest
    WHERE d.hour >= horizon.first_hour AND d.hour <= latest.last_hour
    GROUP BY d.hour
), candidates AS (
    SELECT g AS hour
    FROM horizon, latest, generate_series(horizon.first_hour, latest.last_hour,
                                          interval '1 hour') g
    WHERE NOT EXISTS (SELECT 1 FROM presence_totals_hours m WHERE m.hour = g)
    UNION
    SELECT hour FROM marks
)
SELECT c.hour, coalesce(m.ids, '{}') AS marks
FROM candidates c
LEFT JOIN marks m ON m.hour = c.hour
WHERE %(before)s::timestamptz IS NULL OR c.hour < %(before)s::timestamptz
ORDER BY c.hour DESC
"""

# Totals no live session reaches any more (its day rolled up or deleted): dropped, with their
# marks. An hour dropped is simply not materialized: read from the sessions if asked.
_DROP_BEFORE_HORIZON = """
WITH horizon AS (
    SELECT coalesce(date_trunc('hour', min(started_at), 'UTC'), 'infinity') AS first_hour
    FROM presence_sessions
), hours AS (
    DELETE FROM presence_totals_hours m USING horizon WHERE m.hour < horizon.first_hour
    RETURNING m.hour
), hour_rows AS (
    DELETE FROM presence_hour_totals t USING horizon WHERE t.hour < horizon.first_hour
), day_rows AS (
    DELETE FROM presence_day_totals t USING horizon WHERE t.day < horizon.first_hour
), marks AS (
    DELETE FROM presence_totals_dirty d USING horizon WHERE d.hour < horizon.first_hour
)
SELECT count(*) AS dropped FROM hours
"""

# The batch's hours recomputed in one statement: the sessions that can reach them (started
# at most 26 hours before the first: no session outlives its day), cut at the hours each one
# is a member of (e >= hour AND s < hour + 1 h), added up per hour and tag, hour and gateway.
_RECOMPUTE = """
INSERT INTO presence_hour_totals (hour, kind, key_id, sessions_started, sessions_carried_in,
                                  dwell_us, first_started_at, last_ended_at)
WITH batch AS (
    SELECT unnest(%(hours)s::timestamptz[]) AS hour
), span AS (
    SELECT min(hour) AS lo, max(hour) + interval '1 hour' AS hi FROM batch
), pieces AS (
    SELECT g AS hour, s.tag_id, s.device_id, s.started_at, s.ended_at,
           s.started_at >= g AS started,
           (extract(epoch FROM least(s.ended_at, g + interval '1 hour')
                               - greatest(s.started_at, g)) * 1000000)::bigint AS dwell_us,
           CASE WHEN s.ended_at < g + interval '1 hour' THEN s.ended_at END AS ended_inside
    FROM span
    JOIN presence_sessions s
      ON s.started_at >= span.lo - interval '26 hours' AND s.started_at < span.hi
     AND s.ended_at >= span.lo AND s.ended_hour >= presence_hour(span.lo)
    CROSS JOIN LATERAL generate_series(
        greatest(date_trunc('hour', s.started_at, 'UTC'), span.lo),
        least(s.ended_at, span.hi - interval '1 hour'), interval '1 hour') g
    WHERE g IN (SELECT hour FROM batch)
)
SELECT p.hour, k.kind, k.key_id,
       count(*) FILTER (WHERE p.started), count(*) FILTER (WHERE NOT p.started),
       sum(p.dwell_us), min(p.started_at), max(p.ended_inside)
FROM pieces p
CROSS JOIN LATERAL (VALUES ('tag', p.tag_id), ('device', p.device_id)) k(kind, key_id)
GROUP BY p.hour, k.kind, k.key_id
"""

# A day's rows from its 24 hour rows, for the batch's days that are complete (their old rows
# deleted first, by a statement of their own: an INSERT and a DELETE of the same keys in one
# statement would meet in the unique index).
_REBUILD_DAYS = """
WITH days AS (
    SELECT unnest(%(days)s::timestamptz[]) AS day
), complete AS (
    SELECT days.day
    FROM days JOIN presence_totals_hours m
      ON m.hour >= days.day AND m.hour < days.day + interval '1 day'
    GROUP BY days.day
    HAVING count(*) = 24
)
INSERT INTO presence_day_totals (day, kind, key_id, sessions_started, sessions_carried_in,
                                 dwell_us, first_started_at, last_ended_at)
SELECT c.day, t.kind, t.key_id, sum(t.sessions_started),
       coalesce(sum(t.sessions_carried_in) FILTER (WHERE t.hour = c.day), 0),
       sum(t.dwell_us), min(t.first_started_at), max(t.last_ended_at)
FROM complete c
JOIN presence_hour_totals t ON t.hour >= c.day AND t.hour < c.day + interval '1 day'
GROUP BY c.day, t.kind, t.key_id
"""


class PostgresPresenceTotals:
    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage

    async def pending(self, now: datetime) -> int:
        async with self._storage.connection() as conn:
            cursor = await conn.execute(_CANDIDATES, {"now": now, "before": None})
            return len(await cursor.fetchall())

    async def refresh(
        self, now: datetime, *, batch_hours: int, before: datetime | None = None
    ) -> TotalsBatch:
        async with self._storage.connection() as conn, conn.transaction():
            await conn.execute(_NO_JIT)
            await conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", [_REFRESH_LOCK_CLASS])
            dropped = await _one(conn, _DROP_BEFORE_HORIZON, {})
            cursor = await conn.execute(_CANDIDATES, {"now": now, "before": before})
            rows = await cursor.fetchall()
            if not rows:
                return TotalsBatch(hours=0, dropped=dropped)
            newest = rows[0]["hour"]
            batch = [r for r in rows if r["hour"] > newest - timedelta(hours=batch_hours)]
            await _recompute(conn, batch)
            return TotalsBatch(hours=len(batch), dropped=dropped, oldest=batch[-1]["hour"])


async def _recompute(conn: Connection, batch: Sequence[DictRow]) -> None:
    hours = [r["hour"] for r in batch]
    days = sorted({_utc_midnight(h) for h in hours})
    await conn.execute(
        "DELETE FROM presence_hour_totals WHERE hour = ANY(%(hours)s::timestamptz[])",
        {"hours": hours},
    )
    await conn.execute(_RECOMPUTE, {"hours": hours})
    await conn.execute(
        "INSERT INTO presence_totals_hours (hour, refreshed_at)"
        " SELECT unnest(%(hours)s::timestamptz[]), clock_timestamp()"
        " ON CONFLICT (hour) DO UPDATE SET refreshed_at = excluded.refreshed_at",
        {"hours": hours},
    )
    await conn.execute(
        "DELETE FROM presence_day_totals WHERE day = ANY(%(days)s::timestamptz[])", {"days": days}
    )
    await conn.execute(_REBUILD_DAYS, {"days": days})
    await consume_marks(conn, [mark for r in batch for mark in r["marks"]])


async def consume_marks(conn: Connection, marks: Sequence[int]) -> None:
    """Delete the dirty marks read (by id): a mark added since — a change committed after
    the read, which the recomputation may not have seen — stays, and its hour is redone by
    the next refresh."""
    await conn.execute(
        "DELETE FROM presence_totals_dirty WHERE id = ANY(%(marks)s::bigint[])", {"marks": marks}
    )


def _utc_midnight(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def _one(conn: Connection, query: str, params: dict[str, Any]) -> int:
    cursor = await conn.execute(query, params)
    row = await cursor.fetchone()
    assert row is not None  # an aggregate answers one row
    return int(next(iter(row.values())))


# --- the overview --------------------------------------------------------------------------

# The window [from, to] as segments, each read once, in one statement (one snapshot):
# - valid UTC days wholly inside it, then valid hours wholly inside it of the other days;
# - the sessions of every range left ([from, to) minus those), through the indexes;
# - the window's end [to, to]: sessions starting at ``to`` (the window includes its end), and
#   every session reaching it — the only place ends beyond the window are read from;
# - the rolled-up days the window touches (local days, whole), as the reports read them.
# A session is counted once, in the segment holding max(start, from): a segment starting at
# ``from`` adds its carried-in sessions, every other segment the sessions starting in it.
# Sums are kept in microseconds (exact, in any order) until the end. Day and hour rows are read
# by ``= ANY(ARRAY(…))`` of their keys: an index lookup of exactly those, whatever the planner
# guesses of the CTEs' sizes.
_OVERVIEW = """
WITH valid_hours AS (
    SELECT m.hour
    FROM presence_totals_hours m
    WHERE m.hour >= %(from)s::timestamptz
      AND m.hour <= %(to)s::timestamptz - interval '1 hour'
      AND NOT EXISTS (SELECT 1 FROM presence_totals_dirty d WHERE d.hour = m.hour)
), valid_days AS (
    SELECT date_trunc('day', v.hour, 'UTC') AS day
    FROM valid_hours v
    GROUP BY 1
    HAVING count(*) = 24
), lone_hours AS (
    SELECT v.hour
    FROM valid_hours v
    WHERE date_trunc('day', v.hour, 'UTC') NOT IN (SELECT day FROM valid_days)
), gaps AS (
    SELECT lower(g) AS lo, upper(g) AS hi
    FROM unnest(
        tstzmultirange(tstzrange(%(from)s::timestamptz, %(to)s::timestamptz))
        - coalesce((
            SELECT range_agg(r) FROM (
                SELECT tstzrange(day, day + interval '1 day') FROM valid_days
                UNION ALL
                SELECT tstzrange(hour, hour + interval '1 hour') FROM lone_hours
            ) c(r)
        ), '{{}}'::tstzmultirange)
    ) g
), live AS (
    SELECT s.tag_id, s.device_id,
           (s.started_at >= g.lo OR g.lo = %(from)s::timestamptz)::int AS sessions,
           (extract(epoch FROM least(s.ended_at, g.hi) - greatest(s.started_at, g.lo))
            * 1000000)::bigint AS dwell_us,
           s.started_at AS first_at,
           CASE WHEN s.ended_at < g.hi THEN s.ended_at END AS last_at
    FROM gaps g
    JOIN presence_sessions s
      ON s.started_at < g.hi AND s.ended_at >= g.lo
     -- No session outlives its day: both bounds let either index (or both) find the range.
     AND s.started_at >= g.lo - interval '26 hours' AND s.ended_at < g.hi + interval '26 hours'
     AND s.ended_hour >= presence_hour(g.lo) AND s.ended_hour < g.hi + interval '26 hours'
    UNION ALL
    SELECT s.tag_id, s.device_id,
           (s.started_at = %(to)s::timestamptz OR %(from)s::timestamptz = %(to)s::timestamptz)::int,
           0, s.started_at, s.ended_at
    FROM presence_sessions s
    WHERE s.started_at <= %(to)s::timestamptz AND s.ended_at >= %(to)s::timestamptz
      AND s.started_at >= %(to)s::timestamptz - interval '26 hours'
      AND s.ended_at <= %(to)s::timestamptz + interval '26 hours'
      AND s.ended_hour >= presence_hour(%(to)s::timestamptz)
      AND s.ended_hour <= %(to)s::timestamptz + interval '26 hours'
    UNION ALL
    SELECT u.tag_id, u.device_id, u.sessions_count,
           round(u.total_dwell_seconds::numeric * 1000000)::bigint,
           u.first_seen_at, u.last_seen_at
    FROM presence_daily_usage u
    JOIN presence_rollups r ON r.day = u.day
    WHERE u.day >= %(first_day)s::date AND u.day <= %(last_day)s::date
), segments AS (
    SELECT t.kind, t.key_id,
           t.sessions_started
           + CASE WHEN t.day = %(from)s::timestamptz THEN t.sessions_carried_in ELSE 0 END
             AS sessions,
           t.dwell_us, t.first_started_at AS first_at, t.last_ended_at AS last_at
    FROM presence_day_totals t
    WHERE t.day = ANY(ARRAY(SELECT day FROM valid_days))
    UNION ALL
    SELECT t.kind, t.key_id,
           t.sessions_started
           + CASE WHEN t.hour = %(from)s::timestamptz THEN t.sessions_carried_in ELSE 0 END,
           t.dwell_us, t.first_started_at, t.last_ended_at
    FROM presence_hour_totals t
    WHERE t.hour = ANY(ARRAY(SELECT hour FROM lone_hours))
    UNION ALL
    SELECT k.kind, k.key_id, l.sessions, l.dwell_us, l.first_at, l.last_at
    FROM live l
    CROSS JOIN LATERAL (VALUES ('tag', l.tag_id), ('device', l.device_id)) k(kind, key_id)
), keys AS (
    SELECT kind, key_id, sum(sessions) AS sessions, sum(dwell_us) AS dwell_us,
           min(first_at) AS first_at, max(last_at) AS last_at
    FROM segments
    GROUP BY kind, key_id
), tag_keys AS (
    SELECT k.key_id, k.sessions, k.dwell_us, t.person_id, pe.full_name AS person_name,
           coalesce(t.label, t.mac_address) AS tag_name
    FROM keys k
    LEFT JOIN tags t ON t.id = k.key_id
    LEFT JOIN people pe ON pe.id = t.person_id
    WHERE k.kind = 'tag'
), device_keys AS (
    SELECT k.key_id, k.sessions, k.dwell_us, d.name AS device_name,
           f.id AS floor_id, f.name AS floor_name, b.id AS building_id, b.name AS building_name
    FROM keys k
    LEFT JOIN devices d ON d.id = k.key_id
    LEFT JOIN floor_plans fp ON fp.id = d.floor_plan_id
    LEFT JOIN floors f ON f.id = coalesce(fp.floor_id, d.floor_id)
    LEFT JOIN buildings b ON b.id = coalesce(f.building_id, d.building_id)
    WHERE k.kind = 'device'
), ranked (dimension, key_id, key_name, sessions, dwell_us) AS (
    {ranked}
), numbered AS (
    SELECT r.*, row_number() OVER (
               PARTITION BY r.dimension ORDER BY round(r.dwell_us / 1000000, 3) DESC, r.key_id
           ) AS n
    FROM ranked r
)
SELECT 'all' AS dimension, NULL::bigint AS key_id, NULL::text AS key_name,
       coalesce(sum(k.sessions) FILTER (WHERE k.kind = 'tag'), 0)::int AS sessions_count,
       coalesce(sum(k.dwell_us) FILTER (WHERE k.kind = 'tag'), 0) AS dwell_us,
       count(*) FILTER (WHERE k.kind = 'tag')::int AS unique_tags_count,
       (SELECT count(DISTINCT person_id) FROM tag_keys)::int AS unique_people_count,
       count(*) FILTER (WHERE k.kind = 'device')::int AS unique_devices_count,
       min(k.first_at) AS first_session_at, max(k.last_at) AS last_session_at,
       0::bigint AS n
FROM keys k
UNION ALL
SELECT dimension, key_id, key_name, sessions::int, dwell_us, NULL, NULL, NULL, NULL, NULL, n
FROM numbered
WHERE %(limit)s::bigint IS NULL OR n <= %(limit)s::bigint
ORDER BY 1, 11
"""

# Per dimension: the keys it adds up from (tag or gateway rows) and how.
_RANKED: dict[str, str] = {
    "tag": "SELECT 'tag', key_id, tag_name, sessions, dwell_us FROM tag_keys",
    "person": "SELECT 'person', person_id, min(person_name), sum(sessions), sum(dwell_us)"
    " FROM tag_keys WHERE person_id IS NOT NULL GROUP BY person_id",
    "group": "SELECT 'group', g.id, min(g.name), sum(u.sessions), sum(u.dwell_us)"
    " FROM tag_keys u JOIN person_group_memberships gm ON gm.person_id = u.person_id"
    " JOIN person_groups g ON g.id = gm.group_id GROUP BY g.id",
    "device": "SELECT 'device', key_id, device_name, sessions, dwell_us FROM device_keys",
    "building": "SELECT 'building', building_id, min(building_name), sum(sessions),"
    " sum(dwell_us) FROM device_keys WHERE building_id IS NOT NULL GROUP BY building_id",
    "floor": "SELECT 'floor', floor_id, min(floor_name), sum(sessions), sum(dwell_us)"
    " FROM device_keys WHERE floor_id IS NOT NULL GROUP BY floor_id",
}

OVERVIEW_DIMENSIONS = frozenset(_RANKED)


def overview_query(dimensions: Sequence[str]) -> str:
    """The overview over a finite window, unfiltered, for ``dimensions`` (each one of
    ``OVERVIEW_DIMENSIONS``). Parameters: ``from``, ``to``, ``first_day`` and ``last_day``
    (the local days the window touches), ``limit`` (per dimension, or None)."""
    parts = [_RANKED[d] for d in dict.fromkeys(dimensions)]
    ranked = " UNION ALL ".join(parts) or "SELECT NULL, NULL::bigint, NULL, 0, 0 WHERE false"
    return _OVERVIEW.format(ranked=ranked)


async def read_overview(
    storage: PostgresStorage, dimensions: Sequence[Dimension], params: dict[str, Any]
) -> OverviewTotals:
    """The overview over a finite window without other filters (``overview_query``)."""
    async with storage.connection() as conn, conn.transaction():
        await conn.execute(_NO_JIT)
        cursor = await conn.execute(overview_query(dimensions).encode(), params)
        return overview_from_rows(await cursor.fetchall(), dimensions)


def overview_from_rows(rows: Sequence[DictRow], dimensions: Sequence[Dimension]) -> OverviewTotals:
    ranked: dict[Dimension, list[RankedTotal]] = {by: [] for by in dimensions}
    total: UsageTotals | None = None
    for row in sorted(rows, key=lambda r: (r["dimension"], r["n"])):
        dwell = float(row["dwell_us"] / 1_000_000)
        if row["dimension"] == "all":
            total = UsageTotals(
                key_id=None,
                key_name=None,
                sessions_count=row["sessions_count"],
                total_dwell_seconds=dwell,
                unique_tags_count=row["unique_tags_count"],
                unique_people_count=row["unique_people_count"],
                unique_devices_count=row["unique_devices_count"],
                first_session_at=row["first_session_at"],
                last_session_at=row["last_session_at"],
            )
            continue
        ranked[row["dimension"]].append(
            RankedTotal(
                key_id=row["key_id"],
                key_name=row["key_name"],
                sessions_count=row["sessions_count"],
                total_dwell_seconds=dwell,
            )
        )
    assert total is not None  # the query always answers the ``all`` row
    return OverviewTotals(total=total, ranked=ranked)
