"""Presence reports in PostgreSQL: each report is one set-based query.

Every query starts from the same ``usage`` rows: live sessions overlapping the window,
clipped to it, and (where a report reads days) the ``presence_daily_usage`` rows of the
rolled-up days the window touches; both joined once to tags, people, gateways and places.
Hourly buckets come from ``generate_series``; a session is cut at the hours it spans with a
``LATERAL generate_series`` over its own hours, so the work grows with the sessions read,
never with sessions times buckets.
"""

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from psycopg.rows import DictRow

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.presence_totals import OVERVIEW_DIMENSIONS, read_overview
from securityvision.application.reports import (
    AlertActivity,
    AlertDeviceCount,
    AlertEventRow,
    AlertFilter,
    AlertTally,
    AlertTypeCount,
    ConcurrencyBucket,
    Dimension,
    DwellStats,
    Granularity,
    HourOfDayBucket,
    OverviewTotals,
    RegisterCounts,
    SessionRow,
    TimeBucket,
    TransitionFilter,
    TransitionRow,
    UsageFilter,
    UsageTotals,
    Window,
    calendar_days,
    hour_floor,
    local_midnight,
    overview_of,
    touched_days,
)

# Live sessions overlapping the window, clipped to it; the filters on the session's own
# columns sit here, where the (tag_id, started_at) and (device_id, started_at) indexes serve.
_LIVE = """
SELECT s.id AS session_id, s.tag_id, s.device_id, s.day, s.started_at, s.ended_at,
       c.start_c, c.end_c,
       extract(epoch FROM c.end_c - c.start_c)::float8 AS dwell,
       1 AS sessions, s.samples_count AS samples, s.rssi_avg, s.rssi_max::int AS rssi_max,
       s.duration_seconds AS duration
FROM presence_sessions s
CROSS JOIN LATERAL (SELECT
    greatest(s.started_at, coalesce(%(from)s::timestamptz, s.started_at)) AS start_c,
    least(s.ended_at, coalesce(%(to)s::timestamptz, s.ended_at)) AS end_c) c
WHERE (%(from)s::timestamptz IS NULL OR s.ended_at >= %(from)s::timestamptz)
  -- The same, as the (ended_hour) index can serve it (migration 0017), for windows of a day or
  -- less. Over a longer one it rules out too little to be worth an index, yet the planner,
  -- not knowing a person's tags in advance, would AND it with theirs (6 ms instead of 3).
  AND (%(from)s::timestamptz IS NULL
       OR %(to)s::timestamptz - %(from)s::timestamptz > interval '1 day'
       OR s.ended_hour >= presence_hour(%(from)s::timestamptz))
  AND (%(to)s::timestamptz IS NULL OR s.started_at <= %(to)s::timestamptz)
  -- No session outlives its day (split at midnight; 25 hours at most across a DST change):
  -- a lower bound on started_at lets the indexes start at the window, not at the first day.
  AND (%(from)s::timestamptz IS NULL
       OR s.started_at >= %(from)s::timestamptz - interval '26 hours')
  AND s.duration_seconds >= %(min_duration)s
  AND (%(tag_id)s::bigint IS NULL OR s.tag_id = %(tag_id)s)
  AND (%(device_id)s::bigint IS NULL OR s.device_id = %(device_id)s)
  {scope}
"""

# Rolled-up days the window touches, whole (day resolution).
_ROLLED = """
SELECT NULL::bigint AS session_id, u.tag_id, u.device_id, u.day,
       u.first_seen_at AS started_at, u.last_seen_at AS ended_at,
       u.first_seen_at AS start_c, u.last_seen_at AS end_c,
       u.total_dwell_seconds AS dwell, u.sessions_count AS sessions,
       u.samples_count AS samples, 0::float8 AS rssi_avg, 0 AS rssi_max,
       u.total_dwell_seconds AS duration
FROM presence_daily_usage u
JOIN presence_rollups r ON r.day = u.day
WHERE (%(first_day)s::date IS NULL OR u.day >= %(first_day)s::date)
  AND (%(last_day)s::date IS NULL OR u.day <= %(last_day)s::date)
  AND (%(tag_id)s::bigint IS NULL OR u.tag_id = %(tag_id)s)
  AND (%(device_id)s::bigint IS NULL OR u.device_id = %(device_id)s)
  {scope}
"""

# A person, a group or a place narrows the sessions read to their tags or gateways up front,
# so the (tag_id, started_at) and (device_id, started_at) indexes serve them too (the joins
# below check the same conditions again, on the rows that remain). ``= ANY(ARRAY(...))``, not
# ``IN (...)``: inside the ``IS NULL OR`` a sub-select stays a filter run on every session of
# the window, while an array computed once is an index condition.
_SCOPE = """
  AND (%(person_id)s::bigint IS NULL
       OR {t}.tag_id = ANY(ARRAY(SELECT id FROM tags WHERE person_id = %(person_id)s)))
  AND (%(group_id)s::bigint IS NULL OR {t}.tag_id = ANY(ARRAY(
        SELECT st.id FROM tags st
        JOIN person_group_memberships sm ON sm.person_id = st.person_id
        WHERE sm.group_id = %(group_id)s)))
  AND ((%(floor_plan_id)s::bigint IS NULL AND %(floor_id)s::bigint IS NULL
        AND %(building_id)s::bigint IS NULL)
       OR {t}.device_id = ANY(ARRAY(
        SELECT sd.id FROM devices sd
        LEFT JOIN floor_plans sfp ON sfp.id = sd.floor_plan_id
        LEFT JOIN floors sf ON sf.id = coalesce(sfp.floor_id, sd.floor_id)
        WHERE (%(floor_plan_id)s::bigint IS NULL OR sfp.id = %(floor_plan_id)s)
          AND (%(floor_id)s::bigint IS NULL OR sf.id = %(floor_id)s)
          AND (%(building_id)s::bigint IS NULL
               OR coalesce(sf.building_id, sd.building_id) = %(building_id)s))))
"""
_LIVE = _LIVE.format(scope=_SCOPE.format(t="s"))
_ROLLED = _ROLLED.format(scope=_SCOPE.format(t="u"))

_JOINED = """
SELECT r.*, t.person_id, pe.full_name AS person_name,
       coalesce(t.label, t.mac_address) AS tag_name,
       d.name AS device_name, d.mac_address AS device_mac_address,
       fp.id AS floor_plan_id, fp.name AS floor_plan_name,
       f.id AS floor_id, f.name AS floor_name, b.id AS building_id, b.name AS building_name
FROM ({source}) r
LEFT JOIN tags t ON t.id = r.tag_id
LEFT JOIN people pe ON pe.id = t.person_id
LEFT JOIN devices d ON d.id = r.device_id
LEFT JOIN floor_plans fp ON fp.id = d.floor_plan_id
LEFT JOIN floors f ON f.id = coalesce(fp.floor_id, d.floor_id)
LEFT JOIN buildings b ON b.id = coalesce(f.building_id, d.building_id)
WHERE (%(person_id)s::bigint IS NULL OR t.person_id = %(person_id)s)
  AND (%(floor_plan_id)s::bigint IS NULL OR fp.id = %(floor_plan_id)s)
  AND (%(floor_id)s::bigint IS NULL OR f.id = %(floor_id)s)
  AND (%(building_id)s::bigint IS NULL OR b.id = %(building_id)s)
  AND (%(group_id)s::bigint IS NULL OR EXISTS (
        SELECT 1 FROM person_group_memberships m
        WHERE m.person_id = t.person_id AND m.group_id = %(group_id)s))
"""


def _usage(*, rolled: bool) -> str:
    source = f"{_LIVE} UNION ALL {_ROLLED}" if rolled else _LIVE
    return _JOINED.format(source=source)


# The hours of the window, and each live session cut at the hours it spans.
_HOURS = """
hours AS (
    SELECT h AS bucket_start
    FROM generate_series(%(first_hour)s::timestamptz, %(to)s::timestamptz, interval '1 hour') h
    WHERE h < %(to)s::timestamptz
),
pieces AS (
    SELECT h AS bucket_start, u.session_id, u.tag_id, u.person_id, u.device_id, u.device_name,
           extract(epoch FROM least(u.end_c, h + interval '1 hour')
                              - greatest(u.start_c, h))::float8 AS dwell
    FROM usage u
    CROSS JOIN LATERAL generate_series(
        date_trunc('hour', u.start_c, 'UTC'), u.end_c, interval '1 hour') h
    WHERE (h < u.end_c OR h = date_trunc('hour', u.start_c, 'UTC'))
      AND h IN (SELECT bucket_start FROM hours)
)
"""

# key id, key name and the joins a dimension needs.
_DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "all": ("NULL::bigint", "NULL::text", ""),
    "device": ("u.device_id", "u.device_name", ""),
    "tag": ("u.tag_id", "u.tag_name", ""),
    "person": ("u.person_id", "u.person_name", "WHERE u.person_id IS NOT NULL"),
    "building": ("u.building_id", "u.building_name", "WHERE u.building_id IS NOT NULL"),
    "floor": ("u.floor_id", "u.floor_name", "WHERE u.floor_id IS NOT NULL"),
    "group": (
        "g.id",
        "g.name",
        "JOIN person_group_memberships gm ON gm.person_id = u.person_id"
        " JOIN person_groups g ON g.id = gm.group_id",
    ),
}

_TOTALS = """
WITH usage AS ({usage})
{select}
"""

_TOTALS_SELECT = """
SELECT {key} AS key_id, min({name}) AS key_name,
       coalesce(sum(u.sessions), 0)::int AS sessions_count,
       coalesce(sum(u.dwell), 0)::float8 AS total_dwell_seconds,
       count(DISTINCT u.tag_id)::int AS unique_tags_count,
       count(DISTINCT u.person_id)::int AS unique_people_count,
       count(DISTINCT u.device_id)::int AS unique_devices_count,
       min(u.started_at) AS first_session_at, max(u.ended_at) AS last_session_at,
       {place}
FROM usage u {joins}
{group_by}
ORDER BY round(coalesce(sum(u.dwell), 0)::numeric, 3) DESC, 1
LIMIT %(limit)s
"""

# Several dimensions at once (the overview's six): the window's usage is read once and added
# up per (tag, gateway) first — a few thousand rows instead of every session — then joined to
# names and places once and ranked per dimension. Sums, firsts, lasts and distinct counts per
# dimension are the same over those pairs as over the sessions themselves.
_PAIRS = """
SELECT p.*, t.person_id, pe.full_name AS person_name,
       coalesce(t.label, t.mac_address) AS tag_name,
       d.name AS device_name, d.mac_address AS device_mac_address,
       fp.id AS floor_plan_id, fp.name AS floor_plan_name,
       f.id AS floor_id, f.name AS floor_name, b.id AS building_id, b.name AS building_name
FROM (
    SELECT r.tag_id, r.device_id, sum(r.sessions) AS sessions, sum(r.dwell) AS dwell,
           min(r.started_at) AS started_at, max(r.ended_at) AS ended_at
    FROM ({source}) r
    GROUP BY r.tag_id, r.device_id
) p
LEFT JOIN tags t ON t.id = p.tag_id
LEFT JOIN people pe ON pe.id = t.person_id
LEFT JOIN devices d ON d.id = p.device_id
LEFT JOIN floor_plans fp ON fp.id = d.floor_plan_id
LEFT JOIN floors f ON f.id = coalesce(fp.floor_id, d.floor_id)
LEFT JOIN buildings b ON b.id = coalesce(f.building_id, d.building_id)
WHERE (%(person_id)s::bigint IS NULL OR t.person_id = %(person_id)s)
  AND (%(floor_plan_id)s::bigint IS NULL OR fp.id = %(floor_plan_id)s)
  AND (%(floor_id)s::bigint IS NULL OR f.id = %(floor_id)s)
  AND (%(building_id)s::bigint IS NULL OR b.id = %(building_id)s)
  AND (%(group_id)s::bigint IS NULL OR EXISTS (
        SELECT 1 FROM person_group_memberships m
        WHERE m.person_id = t.person_id AND m.group_id = %(group_id)s))
"""

_PLACE = (
    "min(u.device_mac_address) AS device_mac_address, min(u.building_id) AS building_id,"
    " min(u.building_name) AS building_name, min(u.floor_id) AS floor_id,"
    " min(u.floor_name) AS floor_name, min(u.floor_plan_id) AS floor_plan_id,"
    " min(u.floor_plan_name) AS floor_plan_name"
)
_NO_PLACE = (
    "NULL AS device_mac_address, NULL::bigint AS building_id, NULL AS building_name,"
    " NULL::bigint AS floor_id, NULL AS floor_name, NULL::bigint AS floor_plan_id,"
    " NULL AS floor_plan_name"
)

_CALENDAR = """
WITH usage AS ({usage}),
buckets AS (SELECT unnest(%(days)s::date[]) AS day)
SELECT bk.day,
       coalesce(sum(u.dwell), 0)::float8 AS total_dwell_seconds,
       coalesce(sum(u.sessions), 0)::int AS sessions_count,
       count(DISTINCT u.tag_id)::int AS unique_tags_count,
       count(DISTINCT u.person_id)::int AS unique_people_count
FROM buckets bk
LEFT JOIN usage u ON date_trunc(%(granularity)s, u.day::timestamp)::date = bk.day
GROUP BY bk.day
ORDER BY bk.day
"""

_HOURLY = """
WITH usage AS ({usage}), {hours}
SELECT hs.bucket_start,
       coalesce(sum(p.dwell), 0)::float8 AS total_dwell_seconds,
       count(p.session_id)::int AS sessions_count,
       count(DISTINCT p.tag_id)::int AS unique_tags_count,
       count(DISTINCT p.person_id)::int AS unique_people_count
FROM hours hs
LEFT JOIN pieces p ON p.bucket_start = hs.bucket_start
GROUP BY hs.bucket_start
ORDER BY hs.bucket_start
"""

_HOURS_OF_DAY = """
WITH usage AS ({usage}), {hours},
local AS (
    SELECT extract(hour FROM p.bucket_start AT TIME ZONE %(zone)s)::int AS hour, p.*
    FROM pieces p
)
SELECT hd.hour, NULL::bigint AS device_id, NULL AS device_name,
       coalesce(sum(l.dwell), 0)::float8 AS total_dwell_seconds,
       count(DISTINCT l.session_id)::int AS sessions_count,
       count(DISTINCT l.tag_id)::int AS unique_tags_count,
       count(DISTINCT l.person_id)::int AS unique_people_count
FROM generate_series(0, 23) hd(hour)
LEFT JOIN local l ON l.hour = hd.hour
GROUP BY hd.hour
ORDER BY hd.hour
"""

_HOURS_BY_DEVICE = """
WITH usage AS ({usage}), {hours}
SELECT extract(hour FROM p.bucket_start AT TIME ZONE %(zone)s)::int AS hour,
       p.device_id, min(p.device_name) AS device_name,
       sum(p.dwell)::float8 AS total_dwell_seconds,
       count(DISTINCT p.session_id)::int AS sessions_count,
       count(DISTINCT p.tag_id)::int AS unique_tags_count,
       count(DISTINCT p.person_id)::int AS unique_people_count
FROM pieces p
GROUP BY 1, p.device_id
ORDER BY 1, p.device_id
"""

_DWELL_STATS = """
WITH usage AS ({usage})
SELECT avg(u.dwell)::float8 AS avg_dwell_seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY u.dwell)::float8 AS p50_dwell_seconds,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY u.dwell)::float8 AS p95_dwell_seconds
FROM usage u
"""

# People present at once: each person's sessions merged into islands of continuous presence
# (gaps and islands over a running max of ends), cut at the hours, then swept per hour —
# arrivals before departures at the same instant.
_CONCURRENCY = """
WITH usage AS ({usage}),
hours AS (
    SELECT h AS bucket_start
    FROM generate_series(%(first_hour)s::timestamptz, %(to)s::timestamptz, interval '1 hour') h
    WHERE h < %(to)s::timestamptz
),
marked AS (
    SELECT u.person_id, u.start_c, u.end_c,
           CASE WHEN u.start_c <= max(u.end_c) OVER (
                    PARTITION BY u.person_id ORDER BY u.start_c, u.end_c
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                THEN 0 ELSE 1 END AS opens
    FROM usage u
    WHERE u.person_id IS NOT NULL
),
numbered AS (
    SELECT m.*, sum(m.opens) OVER (
               PARTITION BY m.person_id ORDER BY m.start_c, m.end_c
               ROWS UNBOUNDED PRECEDING) AS island
    FROM marked m
),
islands AS (
    SELECT person_id, min(start_c) AS start_c, max(end_c) AS end_c
    FROM numbered GROUP BY person_id, island
),
pieces AS (
    SELECT h AS bucket_start, greatest(i.start_c, h) AS ps,
           least(i.end_c, h + interval '1 hour') AS pe
    FROM islands i
    CROSS JOIN LATERAL generate_series(
        date_trunc('hour', i.start_c, 'UTC'), i.end_c, interval '1 hour') h
    WHERE (h < i.end_c OR h = date_trunc('hour', i.start_c, 'UTC'))
      AND h IN (SELECT bucket_start FROM hours)
),
marks AS (
    SELECT bucket_start, ps AS at, 1 AS delta FROM pieces
    UNION ALL
    SELECT bucket_start, pe AS at, -1 AS delta FROM pieces
),
running AS (
    SELECT bucket_start, sum(delta) OVER (
               PARTITION BY bucket_start ORDER BY at, delta DESC
               ROWS UNBOUNDED PRECEDING) AS present
    FROM marks
)
SELECT hs.bucket_start, coalesce(max(r.present), 0)::int AS peak_concurrency_people
FROM hours hs
LEFT JOIN running r ON r.bucket_start = hs.bucket_start
GROUP BY hs.bucket_start
ORDER BY hs.bucket_start
"""

# presence_transitions' rows, computed for the sessions in the window only: each session's
# previous one (same tag, by start then id, as the view's window) found through the
# (tag_id, started_at) index instead of a window over every session.
_TRANSITIONS = """
SELECT s.id, s.tag_id, t.person_id, p.id AS from_session_id, s.id AS to_session_id,
       p.device_id AS from_device_id, s.device_id AS to_device_id,
       p.ended_at AS transition_start_at, s.started_at AS transition_end_at,
       greatest(extract(epoch FROM s.started_at - p.ended_at), 0)::float8 AS transition_seconds
FROM presence_sessions s
JOIN LATERAL (
    SELECT q.id, q.device_id, q.ended_at FROM presence_sessions q
    WHERE q.tag_id = s.tag_id AND (q.started_at, q.id) < (s.started_at, s.id)
    ORDER BY q.started_at DESC, q.id DESC LIMIT 1
) p ON true
LEFT JOIN tags t ON t.id = s.tag_id
WHERE (%(from)s::timestamptz IS NULL OR s.started_at >= %(from)s::timestamptz)
  AND (%(to)s::timestamptz IS NULL OR s.started_at <= %(to)s::timestamptz)
  AND (%(tag_id)s::bigint IS NULL OR s.tag_id = %(tag_id)s)
  AND (%(person_id)s::bigint IS NULL OR t.person_id = %(person_id)s)
  AND (%(device_id)s::bigint IS NULL
       OR p.device_id = %(device_id)s OR s.device_id = %(device_id)s)
  AND (%(from_device_id)s::bigint IS NULL OR p.device_id = %(from_device_id)s)
  AND (%(to_device_id)s::bigint IS NULL OR s.device_id = %(to_device_id)s)
ORDER BY s.started_at DESC, s.id DESC
LIMIT %(limit)s
"""


# Alert events opened in the window. A building narrows them to its gateways up front (placed
# as _SCOPE places them), so the (device_id, started_at) index serves it, as the
# (person_id, started_at) one serves a person and (started_at DESC, id DESC) the rest.
_ALERTS = """
SELECT e.* FROM alert_events e
WHERE (%(from)s::timestamptz IS NULL OR e.started_at >= %(from)s::timestamptz)
  AND (%(to)s::timestamptz IS NULL OR e.started_at <= %(to)s::timestamptz)
  AND (%(person_id)s::bigint IS NULL OR e.person_id = %(person_id)s)
  AND (%(device_id)s::bigint IS NULL OR e.device_id = %(device_id)s)
  AND (%(event_type)s::text IS NULL OR e.event_type = %(event_type)s)
  AND (%(building_id)s::bigint IS NULL OR e.device_id = ANY(ARRAY(
        SELECT sd.id FROM devices sd
        LEFT JOIN floor_plans sfp ON sfp.id = sd.floor_plan_id
        LEFT JOIN floors sf ON sf.id = coalesce(sfp.floor_id, sd.floor_id)
        WHERE coalesce(sf.building_id, sd.building_id) = %(building_id)s)))
"""

# The total, per type and per gateway in one pass: grouping sets over the window's events
# (the empty set answers a row even when there are none).
_ALERT_TALLY = f"""
SELECT grouping(a.event_type) = 0 AS by_type, grouping(a.device_id) = 0 AS by_device,
       a.event_type, a.device_id, min(d.name) AS device_name,
       count(a.id)::int AS alerts_count,
       min(a.started_at) AS first_alert_at, max(a.started_at) AS last_alert_at
FROM ({_ALERTS}) a
LEFT JOIN devices d ON d.id = a.device_id
GROUP BY GROUPING SETS ((), (a.event_type), (a.device_id))
ORDER BY count(a.id) DESC, a.event_type COLLATE "C", a.device_id
"""

_ALERT_EVENTS = f"""
SELECT a.id, a.event_type, a.rule_id, a.person_id, a.tag_id, a.device_id,
       d.name AS device_name, a.floor_plan_id, a.floor_id, a.building_id, a.incident_id,
       a.started_at, a.last_seen_at, a.ended_at, a.is_open, a.message
FROM ({_ALERTS}) a
LEFT JOIN devices d ON d.id = a.device_id
ORDER BY a.started_at DESC, a.id DESC
LIMIT %(limit)s
"""

_ALERT_ACTIVITY = """
SELECT (SELECT count(*) FROM alert_rules WHERE is_active)::int AS active_alert_rules,
       (SELECT count(*) FROM alert_events WHERE started_at >= %(since)s)::int AS alerts_opened
"""


def _alert_params(where: AlertFilter, **extra: Any) -> dict[str, Any]:
    return {
        "from": where.from_ts,
        "to": where.to_ts,
        "person_id": where.person_id,
        "device_id": where.device_id,
        "building_id": where.building_id,
        "event_type": where.event_type,
    } | extra


def _totals_select(by: Dimension) -> str:
    key, name, joins = _DIMENSIONS[by]
    return _TOTALS_SELECT.format(
        key=key,
        name=name,
        joins=joins,
        place=_PLACE if by == "device" else _NO_PLACE,
        group_by="" if by == "all" else f"GROUP BY {key}",
    )


class PostgresReportQueries:
    def __init__(self, storage: PostgresStorage, zone: tzinfo, zone_name: str) -> None:
        self._storage = storage
        self._zone = zone
        self._zone_name = zone_name

    def _params(self, where: UsageFilter, **extra: Any) -> dict[str, Any]:
        window = Window(from_ts=where.from_ts, to_ts=where.to_ts)
        first_day, last_day = touched_days(window, self._zone)
        return {
            "from": where.from_ts,
            "to": where.to_ts,
            "first_day": first_day,
            "last_day": last_day,
            "first_hour": hour_floor(where.from_ts) if where.from_ts else None,
            "min_duration": where.min_duration_seconds,
            "tag_id": where.tag_id,
            "device_id": where.device_id,
            "person_id": where.person_id,
            "group_id": where.group_id,
            "building_id": where.building_id,
            "floor_id": where.floor_id,
            "floor_plan_id": where.floor_plan_id,
            "zone": self._zone_name,
        } | extra

    async def _rows(self, query: str, params: dict[str, Any]) -> list[DictRow]:
        async with self._storage.connection(read_only=True) as conn:
            cursor = await conn.execute(query.encode(), params)
            return await cursor.fetchall()

    async def sessions(
        self, where: UsageFilter, *, skip: int, limit: int, newest_first: bool
    ) -> list[SessionRow]:
        order = "DESC" if newest_first else "ASC"
        query = (
            f"WITH usage AS ({_usage(rolled=False)})"
            " SELECT u.session_id AS id, u.tag_id, u.device_id, u.device_name, u.person_id,"
            " u.person_name AS person_full_name, u.building_id, u.building_name, u.floor_id,"
            " u.floor_name, u.floor_plan_id, u.floor_plan_name, u.day, u.started_at,"
            " u.ended_at, u.duration AS duration_seconds, u.samples AS samples_count,"
            " u.rssi_avg, u.rssi_max"
            f" FROM usage u ORDER BY u.started_at {order}, u.session_id {order}"
            " OFFSET %(skip)s LIMIT %(limit)s"
        )
        rows = await self._rows(query, self._params(where, skip=skip, limit=limit))
        return [SessionRow(**row) for row in rows]

    async def transitions(self, where: TransitionFilter, limit: int) -> list[TransitionRow]:
        params = {
            "from": where.from_ts,
            "to": where.to_ts,
            "tag_id": where.tag_id,
            "person_id": where.person_id,
            "device_id": where.device_id,
            "from_device_id": where.from_device_id,
            "to_device_id": where.to_device_id,
            "limit": limit,
        }
        return [TransitionRow(**row) for row in await self._rows(_TRANSITIONS, params)]

    async def totals(
        self, where: UsageFilter, by: Dimension, limit: int | None = None
    ) -> list[UsageTotals]:
        query = _TOTALS.format(usage=_usage(rolled=True), select=_totals_select(by))
        rows = await self._rows(query, self._params(where, limit=limit))
        return [UsageTotals(**row) for row in rows]

    async def totals_by(
        self, where: UsageFilter, dimensions: Sequence[Dimension], limit: int | None = None
    ) -> dict[Dimension, list[UsageTotals]]:
        source = f"{_LIVE} UNION ALL {_ROLLED}"
        ranked = " UNION ALL ".join(
            f"(SELECT {i} AS dimension, x.* FROM ({_totals_select(by)}) x)"
            for i, by in enumerate(dimensions)
        )
        query = f"WITH usage AS MATERIALIZED ({_PAIRS.format(source=source)}) {ranked}"
        result: dict[Dimension, list[UsageTotals]] = {by: [] for by in dimensions}
        for row in await self._rows(query, self._params(where, limit=limit)):
            result[dimensions[row.pop("dimension")]].append(UsageTotals(**row))
        return result

    async def overview_totals(
        self, where: UsageFilter, dimensions: Sequence[Dimension], limit: int | None = None
    ) -> OverviewTotals:
        """From the presence totals (adapters/postgres/presence_totals.py) for a finite
        window and no other filter; otherwise from ``totals_by``."""
        only_window = where == UsageFilter(from_ts=where.from_ts, to_ts=where.to_ts)
        if (
            not only_window
            or where.from_ts is None
            or where.to_ts is None
            or not OVERVIEW_DIMENSIONS.issuperset(dimensions)
        ):
            return overview_of(await self.totals_by(where, ("all", *dimensions), limit), dimensions)
        return await read_overview(self._storage, dimensions, self._params(where, limit=limit))

    async def calendar(self, where: UsageFilter, granularity: Granularity) -> list[TimeBucket]:
        window = Window(from_ts=where.from_ts, to_ts=where.to_ts)
        days = calendar_days(window, self._zone, granularity)
        query = _CALENDAR.format(usage=_usage(rolled=True))
        rows = await self._rows(query, self._params(where, days=days, granularity=granularity))
        return [
            TimeBucket(
                bucket_start=local_midnight(row.pop("day"), self._zone),
                **row,
            )
            for row in rows
        ]

    async def hourly(self, where: UsageFilter) -> list[TimeBucket]:
        query = _HOURLY.format(usage=_usage(rolled=False), hours=_HOURS)
        return [TimeBucket(**row) for row in await self._rows(query, self._params(where))]

    async def hours_of_day(self, where: UsageFilter, *, per_device: bool) -> list[HourOfDayBucket]:
        template = _HOURS_BY_DEVICE if per_device else _HOURS_OF_DAY
        query = template.format(usage=_usage(rolled=False), hours=_HOURS)
        return [HourOfDayBucket(**row) for row in await self._rows(query, self._params(where))]

    async def dwell_stats(self, where: UsageFilter) -> DwellStats:
        query = _DWELL_STATS.format(usage=_usage(rolled=False))
        [row] = await self._rows(query, self._params(where))
        return DwellStats(**row)

    async def concurrency(self, where: UsageFilter) -> list[ConcurrencyBucket]:
        query = _CONCURRENCY.format(usage=_usage(rolled=False))
        return [ConcurrencyBucket(**row) for row in await self._rows(query, self._params(where))]

    async def register_counts(self) -> RegisterCounts:
        [row] = await self._rows(
            "SELECT (SELECT count(*) FROM people)::int AS total_people,"
            " (SELECT count(*) FROM tags)::int AS total_tags",
            {},
        )
        return RegisterCounts(**row)

    async def alert_tally(self, where: AlertFilter) -> AlertTally:
        rows = await self._rows(_ALERT_TALLY, _alert_params(where))
        [total] = [r for r in rows if not r["by_type"] and not r["by_device"]]
        return AlertTally(
            total_alerts=total["alerts_count"],
            first_alert_at=total["first_alert_at"],
            last_alert_at=total["last_alert_at"],
            by_type=[
                AlertTypeCount(event_type=r["event_type"], alerts_count=r["alerts_count"])
                for r in rows
                if r["by_type"] and r["event_type"] is not None
            ],
            by_device=[
                AlertDeviceCount(
                    device_id=r["device_id"],
                    device_name=r["device_name"],
                    alerts_count=r["alerts_count"],
                )
                for r in rows
                if r["by_device"] and r["device_id"] is not None
            ],
        )

    async def alert_events(self, where: AlertFilter, limit: int) -> list[AlertEventRow]:
        rows = await self._rows(_ALERT_EVENTS, _alert_params(where, limit=limit))
        return [AlertEventRow(**row) for row in rows]

    async def alert_activity(self, since: datetime) -> AlertActivity:
        [row] = await self._rows(_ALERT_ACTIVITY, {"since": since})
        return AlertActivity(**row)
