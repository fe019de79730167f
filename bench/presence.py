"""Presence queries at scale: ours against the original's VIEW, on the same readings, in one run.

1. **Load** (into a fresh ``sv_bench_<hex>`` database, dropped on exit): a site (buildings,
   floors, plans, gateways placed on them), people with one tag each, person groups, then
   ``--readings`` readings of ``--tags`` tags over ``--days`` days ending at the load's
   ``now``, written with binary COPY into ``collection_logs`` day by day in time order.
   Each tag makes visits: a run of readings 1-8 s apart at one gateway, sometimes heard by a
   neighbouring gateway too, then silence (exponential, mean set so the readings fill the
   days). About 16 readings per session: 10M readings give ~600k sessions.
2. **Sessions**: computed set-based in SQL (gaps and islands per tag, gateway and day of
   ``PRESENCE_TIMEZONE``, new session after a gap > ``PRESENCE_SESSION_GAP_SECONDS``) — the
   rule of ``domain.presence.sessionize``, which the ingest path keeps current incrementally.
   The load checks the two agree: ``--check-tags`` tags' readings are sessionized by the
   domain function and compared with the stored rows, session by session.
3. **Positions**: ``domain.presence.track_positions`` (the ingest path's rule) over each tag's
   last two minutes of readings, stored by ``PostgresPresenceStore.save_positions``.
4. **Rollup**: the real ``RollUpPresence`` with ``PostgresRollupStore`` and a clock at the
   load's ``now``: days older than ``--retention-days`` become ``presence_daily_usage``, their
   sessions and raw readings go (as in production, reports read both).
5. **Presence totals**: the real ``RefreshPresenceTotals`` (what the worker runs every
   minute) until nothing is left, at the load's ``now``: the hours and UTC days the overview
   reads instead of sessions (docs/presence.md). ``--reuse`` migrates the kept database to
   this tree's schema and refreshes too.
6. **The original**: its ``collection_logs`` table (id primary key, naive ``created_at``, no
   other index, ORIGINAL.md §9 bug 41) in a schema ``original``, filled with the same readings
   (before the rollup), and its ``presence_sessions`` VIEW (ORIGINAL.md §2: LAG over
   ``(tag_id, device_id)`` by ``(created_at, id)``, a running SUM of gap flags, GROUP BY).
7. **Questions**, each asked ``--repeat`` times of ours (through the real use cases and
   query adapters: ``ListDwellSessions``/``PostgresReportQueries.sessions``,
   ``ReportOverview``, ``CurrentPositions``, ``ReportPersonSummary``) and ``--view-repeat``
   times of the VIEW (the original's SQL for the same question; ours after one untimed
   warm-up, the VIEW without: each of its runs reads the whole table anyway):
   sessions of one tag over 24 h, every session of the last hour, the 7-day overview,
   positions/current, one person's 7-day summary. p50/p99 per question; target: every p99
   ≤ 50 ms and the VIEW's p50 ≥ 100 times ours.

Run: ``python bench/presence.py`` (bench/README.md has the figures); ``--readings 200000``
for a quick run. ``load_dataset`` is reused by bench/api_load.py.
"""

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import signal
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.postgres.partitions import ensure_daily_partitions
from securityvision.adapters.postgres.positions import PostgresPositionQueries
from securityvision.adapters.postgres.presence import PostgresPresenceStore
from securityvision.adapters.postgres.presence_totals import PostgresPresenceTotals
from securityvision.adapters.postgres.reports import PostgresReportQueries
from securityvision.adapters.postgres.rollup import PostgresRollupStore
from securityvision.application.positions import CurrentPositions, PositionFilter
from securityvision.application.presence_totals import RefreshPresenceTotals
from securityvision.application.reports import (
    ListDwellSessions,
    ReportOverview,
    ReportPersonSummary,
    UsageFilter,
)
from securityvision.application.rollup import RollUpPresence
from securityvision.domain.presence import PositionRules, Sighting, sessionize, track_positions

HERE = Path(__file__).resolve().parent
SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
GAP = timedelta(seconds=15)  # PRESENCE_SESSION_GAP_SECONDS' default
STALE = timedelta(seconds=15)  # POSITION_STALE_THRESHOLD_SECONDS' default

TARGET_MS = 50.0
TARGET_RATIO = 100.0

# The visit model (see the module's docstring).
READING_STEP_S = (1.0, 8.0)  # seconds between a visit's readings
VISIT_READINGS = 18  # mean readings of a visit at its gateway
NEIGHBOUR_SHARE = 0.25  # visits also heard by a neighbouring gateway
NEIGHBOUR_READINGS = 8  # mean readings of that neighbour
MIN_SILENCE_S = 20.0
READINGS_PER_VISIT = 18.56
GATEWAYS_PER_PLAN = 10


class BenchError(Exception):
    """Something the benchmark needs did not work; the message says what."""


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# --- databases ------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def fresh_database(server_url: str, *, keep: bool = False) -> Iterator[str]:
    """A new ``sv_bench_<hex>`` database with the schema, dropped afterwards (unless
    ``keep``)."""
    name = f"sv_bench_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(server_url, name)
    try:
        asyncio.run(apply_migrations(url))
        yield url
    finally:
        if keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


# --- the machine ----------------------------------------------------------------------------


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


class BusyMeter:
    """The machine's busy share between ``start`` and ``stop``, in % of one core (200 % = both
    cores of this machine)."""

    def __init__(self) -> None:
        self._start = cpu_ticks()
        self.percent = 0.0

    def stop(self) -> float:
        busy, total = cpu_ticks()
        d_total = total - self._start[1]
        cores = os.cpu_count() or 1
        self.percent = 100 * cores * (busy - self._start[0]) / d_total if d_total else 0.0
        return self.percent


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "loadavg": os.getloadavg(),
    }


# --- the load -------------------------------------------------------------------------------


@dataclass
class Plan:
    readings: int = 10_000_000
    tags: int = 500
    days: float = 18.0
    gateways: int = 50
    groups: int = 10
    zone: str = "UTC"
    seed: int = 20261129
    retention_days: int | None = 14
    check_tags: int = 5


@dataclass
class Dataset:
    url: str
    end: datetime
    tag_ids: list[int]
    person_ids: list[int]
    gateway_ids: list[int]
    readings: int = 0
    sessions: int = 0
    live_sessions: int = 0
    rolled_days: int = 0
    positions: int = 0
    timings: dict[str, float] = field(default_factory=dict)


class Site:
    """Two buildings, two floors each, one plan per floor, gateways spread on the plans."""

    def __init__(self, conn: psycopg.Connection[Any], plan: Plan) -> None:
        self.gateway_ids: list[int] = []
        plans: list[int] = []
        for b in range(2):
            (building,) = _one(
                conn.execute(
                    "INSERT INTO buildings (name, code) VALUES (%s, %s) RETURNING id",
                    [f"Building {b + 1}", f"B{b + 1}"],
                )
            )
            for f in range(2):
                (floor,) = _one(
                    conn.execute(
                        "INSERT INTO floors (building_id, name, level) VALUES (%s, %s, %s)"
                        " RETURNING id",
                        [building, f"Floor {f}", f],
                    )
                )
                (plan_id,) = _one(
                    conn.execute(
                        "INSERT INTO floor_plans (floor_id, name, image_url) VALUES (%s, %s, %s)"
                        " RETURNING id",
                        [floor, f"B{b + 1}_F{f}", f"/media/floor_plans/b{b + 1}f{f}.png"],
                    )
                )
                plans.append(plan_id)
        for g in range(plan.gateways):
            (gateway,) = _one(
                conn.execute(
                    "INSERT INTO devices (name, type, code, mac_address, floor_plan_id,"
                    " pos_x, pos_y, last_seen_at) VALUES (%s, 'BLE_GATEWAY', %s, %s, %s, %s, %s,"
                    " now()) RETURNING id",
                    [
                        f"Gateway {g + 1}",
                        f"GW{g + 1}",
                        (0xAABBCC000000 + g + 1).to_bytes(6, "big").hex(":").upper(),
                        plans[(g // GATEWAYS_PER_PLAN) % len(plans)],
                        (g % GATEWAYS_PER_PLAN) / GATEWAYS_PER_PLAN,
                        0.5,
                    ],
                )
            )
            self.gateway_ids.append(gateway)
        groups = [
            _one(
                conn.execute(
                    "INSERT INTO person_groups (name) VALUES (%s) RETURNING id", [f"Group {i + 1}"]
                )
            )[0]
            for i in range(plan.groups)
        ]
        self.person_ids = [
            row[0]
            for row in conn.execute(
                "INSERT INTO people (full_name, document_id)"
                " SELECT 'Person ' || i, 'DOC' || i FROM generate_series(1, %s) i RETURNING id",
                [plan.tags],
            ).fetchall()
        ]
        self.person_ids.sort()
        self.tag_ids = [
            row[0]
            for row in conn.execute(
                "INSERT INTO tags (mac_address, person_id, label)"
                " SELECT upper(rtrim(regexp_replace(lpad(to_hex(x.n), 12, '0'),"
                "   '(..)', '\\1:', 'g'), ':')), x.person_id, 'Tag ' || x.i"
                " FROM (SELECT i, 187723572702976 + i AS n, p AS person_id"
                "       FROM unnest(%s::bigint[]) WITH ORDINALITY AS u(p, i)) x"
                " RETURNING id",
                [self.person_ids],
            ).fetchall()
        ]
        self.tag_ids.sort()
        conn.execute(
            "INSERT INTO person_group_memberships (group_id, person_id)"
            " SELECT g[1 + (p.i %% array_length(g, 1))], p.id"
            " FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(id, i), (SELECT %s::bigint[] AS g) x",
            [self.person_ids, groups],
        )


def _one(cursor: psycopg.Cursor[Any]) -> Any:
    row = cursor.fetchone()
    if row is None:
        raise BenchError("expected a row")
    return row


@dataclass
class TagState:
    gateway: int
    next_at: float  # seconds since the epoch of the next visit


def _micros(ts: float) -> int:
    return round(ts * 1000) * 1000  # readings carry milliseconds, as gateways send them


_ROW = struct.Struct(">hiqiqihiqiq")
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)
_PG_EPOCH_US = int((PG_EPOCH - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000


def generate_day(
    rng: random.Random,
    *,
    states: list[TagState],
    gateways: int,
    day_end: float,
    silence_mean: float,
    carry: list[tuple[int, int, int, int]],
) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int, int]]]:
    """Readings (µs since the epoch, tag index, gateway index, rssi) of the visits starting
    before ``day_end``; readings past it are carried to the next day."""
    rows = carry
    later: list[tuple[int, int, int, int]] = []
    lo, hi = READING_STEP_S
    for tag, state in enumerate(states):
        while state.next_at < day_end:
            t = state.next_at
            # A walk between neighbouring gateways, now and then a jump anywhere.
            if rng.random() < 0.1:
                state.gateway = rng.randrange(gateways)
            else:
                state.gateway = (state.gateway + rng.choice((-1, 1))) % gateways
            base = -55 - int(rng.random() * 30)
            count = 1 + int(rng.expovariate(1 / (VISIT_READINGS - 1)))
            start = t
            for _ in range(count):
                reading = (_micros(t), tag, state.gateway, base - int(rng.random() * 6))
                (rows if t < day_end else later).append(reading)
                t += lo + rng.random() * (hi - lo)
            end = t
            if rng.random() < NEIGHBOUR_SHARE:
                neighbour = (state.gateway + 1) % gateways
                u = start + rng.random() * (end - start)
                for _ in range(1 + int(rng.expovariate(1 / (NEIGHBOUR_READINGS - 1)))):
                    if u >= end:
                        break
                    reading = (_micros(u), tag, neighbour, base - 8 - int(rng.random() * 6))
                    (rows if u < day_end else later).append(reading)
                    u += lo + rng.random() * (hi - lo)
            state.next_at = end + MIN_SILENCE_S + rng.expovariate(1 / silence_mean)
    rows.sort()
    return rows, later


def copy_rows(
    conn: psycopg.Connection[Any],
    rows: Sequence[tuple[int, int, int, int]],
    tag_ids: Sequence[int],
    gateway_ids: Sequence[int],
) -> None:
    """Binary COPY into collection_logs (ids from the identity, no payload)."""
    pack = _ROW.pack
    chunk = bytearray(_HEADER)
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY collection_logs (device_id, tag_id, rssi, created_at, received_at)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        for us, tag, gateway, rssi in rows:
            pg = us - _PG_EPOCH_US
            chunk += pack(
                5, 8, gateway_ids[gateway], 8, tag_ids[tag], 2, rssi, 8, pg, 8, pg + 200_000
            )
            if len(chunk) > 1 << 20:
                copy.write(chunk)
                chunk = bytearray()
        chunk += _TRAILER
        copy.write(chunk)


_SESSIONS = """
INSERT INTO presence_sessions (tag_id, device_id, day, started_at, ended_at, samples_count,
                               rssi_sum, rssi_max)
SELECT tag_id, device_id, %(day)s::date, min(created_at), max(created_at), count(*),
       sum(rssi), max(rssi)
FROM (
    SELECT f.*, sum(f.opens) OVER (PARTITION BY f.tag_id, f.device_id ORDER BY f.created_at
                                   ROWS UNBOUNDED PRECEDING) AS run
    FROM (
        SELECT c.tag_id, c.device_id, c.created_at, c.rssi,
               CASE WHEN c.created_at - lag(c.created_at) OVER (
                        PARTITION BY c.tag_id, c.device_id ORDER BY c.created_at) <= %(gap)s
                    THEN 0 ELSE 1 END AS opens
        FROM collection_logs c
        WHERE c.created_at >= %(start)s AND c.created_at < %(end)s
    ) f
) g
GROUP BY tag_id, device_id, run
ORDER BY min(created_at)
"""


def load_sessions(conn: psycopg.Connection[Any], zone: tzinfo, first: date, last: date) -> int:
    """Sessions of every local day from the readings, set-based (see the module's docstring)."""
    total = 0
    conn.execute("SET work_mem = '256MB'")
    day = first
    while day <= last:
        start = datetime.combine(day, dtime(), zone)
        end = datetime.combine(day + timedelta(days=1), dtime(), zone)
        cur = conn.execute(_SESSIONS, {"day": day, "gap": GAP, "start": start, "end": end})
        total += cur.rowcount
        conn.commit()
        day += timedelta(days=1)
    conn.execute("RESET work_mem")
    return total


def check_sessions(conn: psycopg.Connection[Any], tag_ids: Sequence[int], zone: tzinfo) -> None:
    """The stored sessions of ``tag_ids`` are exactly ``domain.presence.sessionize`` of their
    readings."""
    for tag_id in tag_ids:
        readings = conn.execute(
            "SELECT device_id, created_at, rssi FROM collection_logs WHERE tag_id = %s",
            [tag_id],
        ).fetchall()
        expected = sessionize(
            [Sighting(tag_id=tag_id, device_id=d, ts=ts, rssi=r) for d, ts, r in readings],
            GAP,
            lambda ts: ts.astimezone(zone).date(),
        )
        stored = conn.execute(
            "SELECT device_id, day, started_at, ended_at, samples_count, rssi_sum, rssi_max"
            " FROM presence_sessions WHERE tag_id = %s",
            [tag_id],
        ).fetchall()
        mine = sorted(
            (s.device_id, s.day, s.started_at, s.ended_at, s.samples_count, s.rssi_sum, s.rssi_max)
            for s in expected
        )
        if sorted(stored) != mine:
            raise BenchError(
                f"tag {tag_id}: {len(stored)} sessions loaded, {len(mine)} from sessionize;"
                " the set-based load and the domain rule disagree"
            )


async def load_positions(url: str) -> int:
    """Positions by the ingest path's rule over each tag's last two minutes of readings."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute(
            "SELECT c.tag_id, c.device_id, c.created_at, c.rssi FROM collection_logs c"
            " JOIN (SELECT tag_id, max(created_at) AS last FROM collection_logs GROUP BY tag_id)"
            "   m ON m.tag_id = c.tag_id AND c.created_at >= m.last - interval '2 minutes'"
        )
        sightings = [
            Sighting(tag_id=t, device_id=d, ts=ts, rssi=r)
            for t, d, ts, r in await cursor.fetchall()
        ]
        positions, _ = track_positions({}, sightings, PositionRules())
        await PostgresPresenceStore(conn).save_positions(positions.values())
        await conn.commit()
        return len(positions)


async def roll_up(url: str, zone_name: str, end: datetime, retention_days: int) -> int:
    storage = PostgresStorage(url, max_size=2)
    await storage.open()
    try:
        rollup = RollUpPresence(
            PostgresRollupStore(storage),
            FixedClock(end),
            zone=ZoneInfo(zone_name),
            zone_name=zone_name,
        )
        return len(await rollup.execute(retention_days))
    finally:
        await storage.close()


async def refresh_totals(url: str, end: datetime) -> int:
    """The presence totals the overview reads (what the worker keeps current), refreshed
    until nothing is left (hours that ended 10 minutes before the load's end), then
    analyzed."""
    storage = PostgresStorage(url, max_size=2)
    await storage.open()
    try:
        refresh = RefreshPresenceTotals(PostgresPresenceTotals(storage), FixedClock(end))
        done = await refresh.execute()
    finally:
        await storage.close()
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(
            "ANALYZE presence_hour_totals, presence_day_totals, presence_totals_hours,"
            " presence_totals_dirty"
        )
    return done.hours


_ORIGINAL = """
CREATE SCHEMA original;
CREATE TABLE original.collection_logs (
    id          bigint PRIMARY KEY,
    device_id   bigint NOT NULL,
    tag_id      bigint NOT NULL,
    rssi        integer,
    raw_payload varchar(4096),
    created_at  timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE VIEW original.presence_sessions AS
WITH ordered AS (
    SELECT id, device_id, tag_id, created_at,
           lag(created_at) OVER (PARTITION BY tag_id, device_id ORDER BY created_at, id)
               AS previous_at
    FROM original.collection_logs
), flagged AS (
    SELECT *, CASE WHEN previous_at IS NULL
                     OR created_at - previous_at > interval '15 seconds'
                   THEN 1 ELSE 0 END AS new_session
    FROM ordered
), grouped AS (
    SELECT *, sum(new_session) OVER (PARTITION BY tag_id, device_id ORDER BY created_at, id)
               AS session_no
    FROM flagged
)
SELECT min(id) AS id, device_id, tag_id, min(created_at) AS started_at,
       max(created_at) AS ended_at,
       extract(epoch FROM max(created_at) - min(created_at)) AS duration_seconds,
       count(*) AS samples_count
FROM grouped
GROUP BY tag_id, device_id, session_no;
"""


def load_original(conn: psycopg.Connection[Any]) -> None:
    """The original's table and VIEW over the same readings (before any rollup)."""
    conn.execute(_ORIGINAL)
    conn.execute(
        "INSERT INTO original.collection_logs (id, device_id, tag_id, rssi, created_at)"
        " SELECT id, device_id, tag_id, rssi, created_at AT TIME ZONE 'UTC'"
        " FROM collection_logs ORDER BY created_at"
    )
    conn.commit()


def load_readings(
    conn: psycopg.Connection[Any],
    plan: Plan,
    site: Site,
    *,
    start_ts: float,
    end_ts: float,
    say: Callable[[str], None],
) -> int:
    """The readings, day by day, in time order; returns how many."""
    rng = random.Random(plan.seed)
    # Readings per visit, measured: the neighbour's run is cut at the visit's end.
    visits_per_tag = plan.readings / plan.tags / READINGS_PER_VISIT
    visit_s = (VISIT_READINGS - 0.5) * sum(READING_STEP_S) / 2
    silence = max(1.0, plan.days * 86400 / visits_per_tag - visit_s - MIN_SILENCE_S)
    states = [
        TagState(gateway=rng.randrange(plan.gateways), next_at=start_ts + rng.random() * silence)
        for _ in site.tag_ids
    ]
    carry: list[tuple[int, int, int, int]] = []
    day_start = start_ts
    total = 0
    while day_start < end_ts:
        day_end = min(end_ts, (math.floor(day_start / 86400) + 1) * 86400)
        rows, carry = generate_day(
            rng,
            states=states,
            gateways=plan.gateways,
            day_end=day_end,
            silence_mean=silence,
            carry=carry,
        )
        if day_end >= end_ts:
            carry = []  # nothing after now
        copy_rows(conn, rows, site.tag_ids, site.gateway_ids)
        conn.commit()
        total += len(rows)
        say(f"  {datetime.fromtimestamp(day_end, UTC):%Y-%m-%d %H:%M}: {total:,} readings")
        day_start = day_end
    return total


def load_dataset(
    url: str,
    plan: Plan,
    *,
    original: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """Everything of steps 1-5 above into the database at ``url`` (migrated, empty)."""
    say = progress or (lambda _: None)
    zone = ZoneInfo(plan.zone)
    end_ts = math.floor(time.time())
    end = datetime.fromtimestamp(end_ts, UTC)
    start_ts = end_ts - plan.days * 86400
    timings: dict[str, float] = {}
    with psycopg.connect(url) as conn:
        site = Site(conn, plan)
        conn.commit()
        days = {
            (datetime.fromtimestamp(start_ts, UTC) + timedelta(days=i)).date()
            for i in range(math.ceil(plan.days) + 2)
        }
        asyncio.run(_partitions(url, days))
        began = time.monotonic()
        total = load_readings(conn, plan, site, start_ts=start_ts, end_ts=end_ts, say=say)
        timings["readings"] = time.monotonic() - began
        began = time.monotonic()
        sessions = load_sessions(
            conn,
            zone,
            datetime.fromtimestamp(start_ts, UTC).astimezone(zone).date(),
            end.astimezone(zone).date(),
        )
        timings["sessions"] = time.monotonic() - began
        say(f"  {sessions:,} sessions in {timings['sessions']:.0f} s")
        began = time.monotonic()
        check_sessions(conn, site.tag_ids[: plan.check_tags], zone)
        timings["check"] = time.monotonic() - began
        if original:
            began = time.monotonic()
            load_original(conn)
            timings["original"] = time.monotonic() - began
            say(f"  the original's table and VIEW in {timings['original']:.0f} s")
    began = time.monotonic()
    positions = asyncio.run(load_positions(url))
    timings["positions"] = time.monotonic() - began
    rolled = 0
    if plan.retention_days is not None:
        began = time.monotonic()
        rolled = asyncio.run(roll_up(url, plan.zone, end, plan.retention_days))
        timings["rollup"] = time.monotonic() - began
        say(f"  {rolled} days rolled up in {timings['rollup']:.0f} s")
    began = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        (live,) = _one(conn.execute("SELECT count(*) FROM presence_sessions"))
    timings["vacuum"] = time.monotonic() - began
    began = time.monotonic()
    hours = asyncio.run(refresh_totals(url, end))
    timings["totals"] = time.monotonic() - began
    say(f"  presence totals of {hours} hours in {timings['totals']:.0f} s")
    data = Dataset(
        url=url,
        end=end,
        tag_ids=site.tag_ids,
        person_ids=site.person_ids,
        gateway_ids=site.gateway_ids,
        readings=total,
        sessions=sessions,
        live_sessions=live,
        rolled_days=rolled,
        positions=positions,
        timings=timings,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_dataset (doc jsonb NOT NULL)")
        conn.execute(
            "INSERT INTO bench_dataset VALUES (%s::jsonb)", [json.dumps(asdict(data), default=str)]
        )
    return data


def stored_dataset(url: str) -> Dataset:
    """The dataset a kept database (``--keep``) was loaded with, for ``--reuse``."""
    with psycopg.connect(url) as conn:
        (doc,) = _one(conn.execute("SELECT doc FROM bench_dataset"))
    doc["url"] = url
    doc["end"] = datetime.fromisoformat(doc["end"])
    return Dataset(**doc)


def refresh_stored(data: Dataset, say: Callable[[str], None]) -> None:
    """A kept database brought to this tree's schema (a newer migration may add what the
    questions read) and its presence totals refreshed, as the worker would have."""
    asyncio.run(apply_migrations(data.url))
    began = time.monotonic()
    hours = asyncio.run(refresh_totals(data.url, data.end))
    say(f"  presence totals of {hours} hours in {time.monotonic() - began:.0f} s")


async def _partitions(url: str, days: set[date]) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await ensure_daily_partitions(conn, days)


# --- the questions --------------------------------------------------------------------------


_VIEW_OVERVIEW = """
WITH s AS MATERIALIZED (
    SELECT s.tag_id, s.device_id, s.started_at, s.ended_at,
           extract(epoch FROM least(s.ended_at, %(to)s) - greatest(s.started_at, %(from)s))
               AS dwell
    FROM original.presence_sessions s
    WHERE s.ended_at >= %(from)s AND s.started_at <= %(to)s
), u AS (
    SELECT s.*, t.person_id, pe.full_name, d.name AS device_name, f.id AS floor_id,
           f.name AS floor_name, b.id AS building_id, b.name AS building_name,
           gm.group_id
    FROM s
    LEFT JOIN tags t ON t.id = s.tag_id
    LEFT JOIN people pe ON pe.id = t.person_id
    LEFT JOIN devices d ON d.id = s.device_id
    LEFT JOIN floor_plans fp ON fp.id = d.floor_plan_id
    LEFT JOIN floors f ON f.id = fp.floor_id
    LEFT JOIN buildings b ON b.id = f.building_id
    LEFT JOIN person_group_memberships gm ON gm.person_id = t.person_id
)
SELECT building_id, floor_id, group_id, device_id, person_id,
       count(*) AS sessions, sum(dwell) AS dwell, count(DISTINCT tag_id) AS tags,
       min(started_at) AS first_at, max(ended_at) AS last_at
FROM u
GROUP BY GROUPING SETS ((), (building_id), (floor_id), (group_id), (device_id), (person_id))
"""

_VIEW_PERSON = """
SELECT s.device_id, min(d.name) AS device_name, min(b.name) AS building_name, count(*) AS sessions,
       sum(extract(epoch FROM least(s.ended_at, %(to)s) - greatest(s.started_at, %(from)s)))
           AS dwell,
       min(s.started_at) AS first_at, max(s.ended_at) AS last_at
FROM original.presence_sessions s
LEFT JOIN devices d ON d.id = s.device_id
LEFT JOIN floor_plans fp ON fp.id = d.floor_plan_id
LEFT JOIN floors f ON f.id = fp.floor_id
LEFT JOIN buildings b ON b.id = f.building_id
WHERE s.tag_id = ANY(%(tags)s) AND s.ended_at >= %(from)s AND s.started_at <= %(to)s
GROUP BY s.device_id
ORDER BY dwell DESC
"""

# The original's /positions/current: the newest reading per tag since the cutoff, joined.
_VIEW_POSITIONS = """
WITH latest AS (
    SELECT c.*, row_number() OVER (PARTITION BY c.tag_id ORDER BY c.created_at DESC, c.id DESC)
               AS rn
    FROM original.collection_logs c
    WHERE c.created_at >= %(since)s
)
SELECT DISTINCT ON (p.id) p.id AS person_id, p.full_name, t.id AS tag_id, d.id AS device_id,
       d.name, fp.id AS floor_plan_id, f.id AS floor_id, b.id AS building_id, l.created_at
FROM latest l
JOIN tags t ON t.id = l.tag_id
JOIN people p ON p.id = t.person_id
JOIN devices d ON d.id = l.device_id
JOIN floor_plans fp ON fp.id = d.floor_plan_id
JOIN floors f ON f.id = fp.floor_id
JOIN buildings b ON b.id = f.building_id
WHERE l.rn = 1 AND p.active
ORDER BY p.id, l.created_at DESC
"""


@dataclass
class Question:
    name: str
    ours: Callable[[], Awaitable[int]]
    view: Callable[[], Awaitable[int]]


@dataclass
class Answer:
    name: str
    ours_ms: list[float]
    view_ms: list[float]
    ours_rows: int
    view_rows: int
    busy_ours: float
    busy_view: float

    @property
    def ours_p50(self) -> float:
        return quantile(self.ours_ms, 0.5)

    @property
    def ours_p99(self) -> float:
        return quantile(self.ours_ms, 0.99)

    @property
    def view_p50(self) -> float:
        return quantile(self.view_ms, 0.5) if self.view_ms else math.nan

    @property
    def view_p99(self) -> float:
        return quantile(self.view_ms, 0.99) if self.view_ms else math.nan

    @property
    def ratio(self) -> float:
        return self.view_p50 / self.ours_p50 if self.ours_p50 else math.inf

    @property
    def passed(self) -> bool:
        return self.ours_p99 <= TARGET_MS and (not self.view_ms or self.ratio >= TARGET_RATIO)


def quantile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value at least ``share`` of the values are ≤ to."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def questions(storage: PostgresStorage, data: Dataset, zone_name: str) -> list[Question]:
    zone = ZoneInfo(zone_name)
    clock = FixedClock(data.end)
    queries = PostgresReportQueries(storage, zone, zone_name)
    uow = storage.unit_of_work
    dwell = ListDwellSessions(queries, uow, clock, zone)
    overview = ReportOverview(queries, uow, clock, zone)
    person_summary = ReportPersonSummary(queries, uow, clock, zone)
    positions = CurrentPositions(PostgresPositionQueries(storage), clock, STALE)
    end = data.end
    tag = data.tag_ids[len(data.tag_ids) // 2]
    person = data.person_ids[len(data.person_ids) // 2]
    naive_end = end.replace(tzinfo=None)

    async def view(query: str, params: dict[str, Any]) -> int:
        async with storage.connection() as conn:
            cursor = await conn.execute(query.encode(), params)
            return len(await cursor.fetchall())

    async def tag_ours() -> int:
        rows = await dwell.execute(
            from_ts=end - timedelta(hours=24),
            to_ts=end,
            device_id=None,
            tag_id=tag,
            skip=0,
            limit=1000,
        )
        return len(rows)

    async def hour_ours() -> int:
        where = UsageFilter(from_ts=end - timedelta(hours=1), to_ts=end)
        return len(await queries.sessions(where, skip=0, limit=1_000_000, newest_first=True))

    async def overview_ours() -> int:
        report = await overview.execute(from_ts=None, to_ts=None, device_id=None, tag_id=None)
        return report.summary.total_sessions

    async def positions_ours() -> int:
        return len(await positions.execute(PositionFilter(), None))

    async def person_ours() -> int:
        report = await person_summary.execute(
            person, from_ts=None, to_ts=None, min_duration_seconds=None
        )
        return len(report.dwell_by_device)

    async def person_view() -> int:
        async with storage.connection() as conn:
            cursor = await conn.execute("SELECT id FROM tags WHERE person_id = %s", [person])
            tags = [row["id"] for row in await cursor.fetchall()]
        return await view(
            _VIEW_PERSON, {"tags": tags, "from": naive_end - timedelta(days=7), "to": naive_end}
        )

    async def overview_view() -> int:
        async with storage.connection() as conn:
            cursor = await conn.execute(
                _VIEW_OVERVIEW.encode(),
                {"from": naive_end - timedelta(days=7), "to": naive_end},
            )
            rows = await cursor.fetchall()
        return next(
            int(r["sessions"])
            for r in rows
            if r["building_id"] is None
            and all(r[k] is None for k in ("floor_id", "group_id", "device_id", "person_id"))
        )

    return [
        Question(
            "sessions of one tag, 24 h",
            tag_ours,
            lambda: view(
                "SELECT * FROM original.presence_sessions WHERE tag_id = %(tag)s"
                " AND ended_at >= %(from)s AND started_at <= %(to)s ORDER BY started_at DESC",
                {"tag": tag, "from": naive_end - timedelta(hours=24), "to": naive_end},
            ),
        ),
        Question(
            "all sessions, last hour",
            hour_ours,
            lambda: view(
                "SELECT * FROM original.presence_sessions"
                " WHERE ended_at >= %(from)s AND started_at <= %(to)s ORDER BY started_at DESC",
                {"from": naive_end - timedelta(hours=1), "to": naive_end},
            ),
        ),
        Question("overview, 7 days", overview_ours, overview_view),
        Question(
            "positions/current",
            positions_ours,
            lambda: view(_VIEW_POSITIONS, {"since": naive_end - STALE}),
        ),
        Question("person summary, 7 days", person_ours, person_view),
    ]


async def _timed(
    call: Callable[[], Awaitable[int]], repeat: int, *, warm_up: bool = True
) -> tuple[list[float], int]:
    rows = await call() if warm_up else 0  # untimed
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        rows = await call()
        times.append((time.perf_counter() - began) * 1000)
    return times, rows


async def ask(
    data: Dataset,
    zone_name: str,
    *,
    repeat: int,
    view_repeat: int,
    only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> list[Answer]:
    say = progress or (lambda _: None)
    storage = PostgresStorage(data.url, max_size=2)
    await storage.open()
    answers = []
    try:
        for q in questions(storage, data, zone_name):
            if only and not any(word in q.name for word in only):
                continue
            meter = BusyMeter()
            ours, ours_rows = await _timed(q.ours, repeat)
            busy_ours = meter.stop()
            view_ms: list[float] = []
            view_rows = 0
            busy_view = 0.0
            if view_repeat:
                meter = BusyMeter()
                view_ms, view_rows = await _timed(q.view, view_repeat, warm_up=False)
                busy_view = meter.stop()
            answer = Answer(q.name, ours, view_ms, ours_rows, view_rows, busy_ours, busy_view)
            say(
                f"  {q.name}: ours p50 {answer.ours_p50:.2f} ms p99 {answer.ours_p99:.2f} ms"
                f" ({ours_rows} rows); VIEW p50 {answer.view_p50:.0f} ms ({view_rows} rows)"
            )
            answers.append(answer)
    finally:
        await storage.close()
    return answers


# --- the report -----------------------------------------------------------------------------


def report(plan: Plan, data: Dataset, answers: Sequence[Answer], repeat: int) -> str:
    lines = [
        f"readings {data.readings:,}, tags {plan.tags}, gateways {plan.gateways},"
        f" days {plan.days:g}, sessions {data.sessions:,} ({data.live_sessions:,} live after"
        f" {data.rolled_days} days rolled up), positions {data.positions}",
        "load: " + ", ".join(f"{k} {v:.1f} s" for k, v in data.timings.items()),
        "",
        f"| question | ours p50 | ours p99 (n={repeat}) | rows | VIEW p50 | VIEW p99 | rows"
        " | VIEW ÷ ours (p50) | busy ours / VIEW | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|:--|",
    ]
    for a in answers:
        view = (
            f"{a.view_p50:,.0f} ms | {a.view_p99:,.0f} ms | {a.view_rows:,} | {a.ratio:,.0f}x"
            if a.view_ms
            else "- | - | - | -"
        )
        lines.append(
            f"| {a.name} | {a.ours_p50:.2f} ms | {a.ours_p99:.2f} ms | {a.ours_rows:,} | {view}"
            f" | {a.busy_ours:.0f} % / {a.busy_view:.0f} % | {'PASS' if a.passed else 'FAIL'} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else "")
    parser.add_argument("--database-url", default=SERVER_URL)
    parser.add_argument("--readings", type=int, default=10_000_000)
    parser.add_argument("--tags", type=int, default=500)
    parser.add_argument("--gateways", type=int, default=50)
    parser.add_argument("--days", type=float, default=18.0)
    parser.add_argument("--timezone", default="UTC", help="PRESENCE_TIMEZONE of the run")
    parser.add_argument(
        "--retention-days",
        type=int,
        default=14,
        help="roll up days older than this (the real rollup); -1: no rollup",
    )
    parser.add_argument("--repeat", type=int, default=50, help="timed runs of ours")
    parser.add_argument("--view-repeat", type=int, default=3, help="timed runs of the VIEW")
    parser.add_argument("--check-tags", type=int, default=5, help="tags checked vs sessionize")
    parser.add_argument("--only", action="append", default=[], help="questions containing this")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="URL", help="ask a database kept by --keep")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    plan = Plan(
        readings=args.readings,
        tags=args.tags,
        days=args.days,
        gateways=args.gateways,
        zone=args.timezone,
        seed=args.seed,
        retention_days=None if args.retention_days < 0 else args.retention_days,
        check_tags=args.check_tags,
    )

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    info = machine()
    say(f"{info['date']}: {plan}")
    with contextlib.ExitStack() as stack:
        if args.reuse:
            data = stored_dataset(args.reuse)
            refresh_stored(data, say)
        else:
            url = stack.enter_context(fresh_database(args.database_url, keep=args.keep))
            data = load_dataset(url, plan, original=args.view_repeat > 0, progress=say)
        say(f"loaded: {data.readings:,} readings, {data.sessions:,} sessions")
        answers = asyncio.run(
            ask(
                data,
                plan.zone,
                repeat=args.repeat,
                view_repeat=args.view_repeat,
                only=args.only,
                progress=say,
            )
        )
    text = report(plan, data, answers, args.repeat)
    print(f"{info['date']}, {info['cpus']} CPUs ({info['cpu_model']}), loadavg {info['loadavg']}")
    print(text)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "plan": asdict(plan),
                    "load": {
                        k: v
                        for k, v in asdict(data).items()
                        if k not in ("tag_ids", "person_ids", "gateway_ids")
                    },
                    "answers": [asdict(a) for a in answers],
                },
                default=str,
                indent=2,
            )
        )
    return 0 if all(a.passed for a in answers) else 1


if __name__ == "__main__":
    sys.exit(main())
