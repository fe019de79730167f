"""The overview read from presence totals equals the overview read from every session.

Seeded random sessions (split at local midnight, as ingest splits them, in a zone whose
midnight is not UTC's — one with a DST change in the data, one at +5:30) against random
windows: aligned to hours and UTC days or not, ending and starting exactly on sessions'
bounds, empty. Compared before any refresh, after a partial and a full one, after late
changes with and without a second refresh, and after a rollup. Plus the triggers' dirty
marks and the refresh's own rules.
"""

import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.postgres.presence_totals import (
    PostgresPresenceTotals,
    consume_marks,
)
from securityvision.adapters.postgres.reports import PostgresReportQueries
from securityvision.adapters.postgres.rollup import PostgresRollupStore
from securityvision.application.presence_totals import RefreshPresenceTotals
from securityvision.application.reports import (
    Dimension,
    OverviewTotals,
    UsageFilter,
    overview_of,
)
from securityvision.application.rollup import RollUpPresence
from tests.support.clock import FakeClock
from tests.support.postgres import truncate_all

pytestmark = pytest.mark.postgres

DIMENSIONS: tuple[Dimension, ...] = ("building", "floor", "group", "device", "person", "tag")
FIRST_DAY = date(2026, 10, 29)  # America/New_York leaves DST on 2026-11-01: a 25-hour day
DAYS = 6
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
async def migrated(database_url: str) -> str:
    await apply_migrations(database_url)
    return database_url


@pytest.fixture
async def storage(migrated: str) -> AsyncIterator[PostgresStorage]:
    await truncate_all(migrated)
    storage = PostgresStorage(migrated, min_size=1, max_size=4)
    await storage.open()
    yield storage
    await storage.close()


class Register(msgspec.Struct, kw_only=True):
    tags: list[int]
    devices: list[int]


async def seed_register(storage: PostgresStorage) -> Register:
    """Two buildings, a floor each with a plan; gateways on a plan, on a floor only, in a
    building only and nowhere; people in overlapping groups; tags with and without people."""
    async with storage.connection() as conn:

        async def ids(query: str, params: Sequence[object] = ()) -> list[int]:
            cursor = await conn.execute(query, params)
            return [row["id"] for row in await cursor.fetchall()]

        b = await ids(
            "INSERT INTO buildings (name, code) VALUES ('North', 'N'), ('South', 'S') RETURNING id"
        )
        f = await ids(
            "INSERT INTO floors (building_id, name) VALUES (%s, 'N0'), (%s, 'S0') RETURNING id",
            [b[0], b[1]],
        )
        fp = await ids(
            "INSERT INTO floor_plans (floor_id, name) VALUES (%s, 'N0 plan'), (%s, 'S0 plan')"
            " RETURNING id",
            [f[0], f[1]],
        )
        devices = await ids(
            "INSERT INTO devices (name, mac_address, floor_plan_id, floor_id, building_id)"
            " VALUES ('GW a', 'AA:00:00:00:00:01', %s, NULL, NULL),"
            " ('GW b', 'AA:00:00:00:00:02', %s, NULL, NULL),"
            " ('GW c', 'AA:00:00:00:00:03', NULL, %s, NULL),"
            " ('GW d', 'AA:00:00:00:00:04', NULL, NULL, %s),"
            " ('GW e', 'AA:00:00:00:00:05', NULL, NULL, NULL),"
            " ('GW f', 'AA:00:00:00:00:06', %s, NULL, NULL) RETURNING id",
            [fp[0], fp[1], f[0], b[1], fp[0]],
        )
        people = await ids(
            "INSERT INTO people (full_name) SELECT 'Person ' || i FROM generate_series(1, 5) i"
            " RETURNING id"
        )
        groups = await ids(
            "INSERT INTO person_groups (name) VALUES ('Staff'), ('Night'), ('Empty') RETURNING id"
        )
        members = [(0, 0), (0, 1), (0, 2), (1, 2), (1, 3)]  # (group, person)
        await conn.execute(
            "INSERT INTO person_group_memberships (group_id, person_id)"
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
            [[groups[g] for g, _ in members], [people[p] for _, p in members]],
        )
        owners = [people[0], people[0], people[1], people[2], people[3], people[4], None, None]
        tags = []
        for i, owner in enumerate(owners):
            tags += await ids(
                "INSERT INTO tags (mac_address, label, person_id) VALUES (%s, %s, %s) RETURNING id",
                [f"BB:00:00:00:00:{i:02X}", None if i % 3 else f"tag {i}", owner],
            )
        await conn.commit()
    return Register(tags=tags, devices=devices)


Session = tuple[int, int, date, datetime, datetime]


def random_sessions(rng: random.Random, reg: Register, zone: ZoneInfo, n: int) -> list[Session]:
    """Sessions within one local day each (ending before the next local midnight), some
    zero-length, some starting or ending exactly on an hour, a UTC midnight or a local one."""
    sessions = []
    for _ in range(n):
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        midnight = datetime.combine(day, time(), zone).astimezone(UTC)
        next_midnight = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
        length = (next_midnight - midnight).total_seconds()
        start = midnight + timedelta(seconds=rng.randrange(int(length)))
        shape = rng.random()
        if shape < 0.15:
            start = start.replace(minute=0, second=0)  # on an hour
        elif shape < 0.2:
            start = midnight  # on the local midnight
        elif shape < 0.25 and start.replace(hour=0, minute=0, second=0) >= midnight:
            start = start.replace(hour=0, minute=0, second=0)  # on a UTC midnight
        room = (next_midnight - start).total_seconds() - 1
        kind = rng.random()
        if kind < 0.15:
            seconds = 0.0
        elif kind < 0.5:
            seconds = rng.uniform(1, 1800)
        elif kind < 0.8:
            seconds = rng.uniform(1800, 5 * 3600)
        else:
            seconds = room
        end = start + timedelta(seconds=round(min(seconds, room), rng.choice([0, 0, 3])))
        if rng.random() < 0.15 and end.replace(minute=0, second=0, microsecond=0) > start:
            end = end.replace(minute=0, second=0, microsecond=0)  # ends on an hour
        sessions.append((rng.choice(reg.tags), rng.choice(reg.devices), day, start, end))
    return sessions


async def insert_sessions(storage: PostgresStorage, sessions: Sequence[Session]) -> None:
    async with storage.connection() as conn:
        await conn.execute(
            "INSERT INTO presence_sessions (tag_id, device_id, day, started_at, ended_at,"
            " samples_count, rssi_sum, rssi_max)"
            " SELECT t, d, dy, s, e, 3, -180, -55"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::date[], %s::timestamptz[],"
            "   %s::timestamptz[]) AS x(t, d, dy, s, e)",
            [list(column) for column in zip(*sessions, strict=True)],
        )
        await conn.commit()


def random_windows(rng: random.Random, sessions: Sequence[Session], n: int) -> list[UsageFilter]:
    data_start = datetime.combine(FIRST_DAY, time(), UTC) - timedelta(days=1)
    span = (DAYS + 2) * 86400
    bounds = [s[3] for s in sessions] + [s[4] for s in sessions]
    windows = [
        # Whole UTC days, whole hours, the data's every session.
        UsageFilter(from_ts=data_start, to_ts=data_start + timedelta(days=DAYS + 2)),
        UsageFilter(
            from_ts=data_start + timedelta(days=2, hours=5),
            to_ts=data_start + timedelta(days=4, hours=19),
        ),
    ]
    while len(windows) < n:
        kind = rng.random()
        start = data_start + timedelta(seconds=rng.randrange(span))
        end = start + timedelta(seconds=rng.randrange(4 * 86400))
        if kind < 0.25:
            start, end = start.replace(minute=0, second=0), end.replace(minute=0, second=0)
        elif kind < 0.4:
            start = start.replace(hour=0, minute=0, second=0)
            end = end.replace(hour=0, minute=0, second=0)
        elif kind < 0.6:
            start, end = sorted(rng.sample(bounds, 2))  # on sessions' starts and ends
        elif kind < 0.65:
            end = start  # a point
        if end < start:
            start, end = end, start
        windows.append(UsageFilter(from_ts=start, to_ts=end))
    return windows


def rounded(totals: OverviewTotals) -> OverviewTotals:
    """Dwell to the microsecond: the totals add exact microseconds, ``totals_by`` floats in
    some order; they agree to far better than the millisecond the reports show."""
    return msgspec.structs.replace(
        totals,
        total=msgspec.structs.replace(
            totals.total, total_dwell_seconds=round(totals.total.total_dwell_seconds, 6)
        ),
        ranked={
            by: [
                msgspec.structs.replace(r, total_dwell_seconds=round(r.total_dwell_seconds, 6))
                for r in rows
            ]
            for by, rows in totals.ranked.items()
        },
    )


async def assert_same_answers(
    queries: PostgresReportQueries, windows: Sequence[UsageFilter], label: str
) -> None:
    for where in windows:
        for limit in (None, 3):
            fast = await queries.overview_totals(where, DIMENSIONS, limit)
            ranked = await queries.totals_by(where, ("all", *DIMENSIONS), limit)
            slow = overview_of(ranked, DIMENSIONS)
            assert rounded(fast) == rounded(slow), (label, where, limit)


async def count(storage: PostgresStorage, query: str) -> int:
    async with storage.connection() as conn:
        cursor = await conn.execute(query)
        row = await cursor.fetchone()
        assert row is not None
        return int(next(iter(row.values())))


@pytest.mark.parametrize(("zone_name", "seed"), [("America/New_York", 5), ("Asia/Kolkata", 11)])
async def test_the_overview_from_totals_equals_the_overview_from_sessions(
    storage: PostgresStorage, zone_name: str, seed: int
) -> None:
    rng = random.Random(seed)
    zone = ZoneInfo(zone_name)
    reg = await seed_register(storage)
    sessions = random_sessions(rng, reg, zone, 300)
    await insert_sessions(storage, sessions)
    queries = PostgresReportQueries(storage, zone, zone_name)
    windows = random_windows(rng, sessions, 40)
    await assert_same_answers(queries, windows, "nothing materialized")

    # Part of the data materialized (hours before the clock), in small batches.
    middle = datetime.combine(FIRST_DAY + timedelta(days=3), time(5, 17), UTC)
    partial = await RefreshPresenceTotals(
        PostgresPresenceTotals(storage), FakeClock(middle), batch_hours=7
    ).execute()
    assert partial.batches > 1
    await assert_same_answers(queries, windows, "partly materialized")

    clock = FakeClock(datetime.combine(FIRST_DAY + timedelta(days=DAYS + 3), time(), UTC))
    refresh = RefreshPresenceTotals(PostgresPresenceTotals(storage), clock)
    await refresh.execute()
    assert await count(storage, "SELECT count(*) FROM presence_day_totals") > 0
    assert await count(storage, "SELECT count(*) FROM presence_totals_dirty") == 0
    await assert_same_answers(queries, windows, "materialized")

    # Late changes: sessions added, deleted, extended, moved to another gateway or start.
    await insert_sessions(storage, random_sessions(rng, reg, zone, 30))
    async with storage.connection() as conn:
        await conn.execute("DELETE FROM presence_sessions WHERE id % 17 = 0")
        await conn.execute(
            "UPDATE presence_sessions SET ended_at = least(ended_at + interval '40 minutes',"
            " (day + 1)::timestamp AT TIME ZONE %s - interval '1 second') WHERE id %% 13 = 0",
            [zone_name],
        )
        await conn.execute(
            "UPDATE presence_sessions SET device_id = %s WHERE id %% 11 = 0", [reg.devices[4]]
        )
        await conn.execute(
            "UPDATE presence_sessions SET started_at = started_at + (ended_at - started_at) / 2"
            " WHERE id % 7 = 0"
        )
        await conn.commit()
    assert await count(storage, "SELECT count(*) FROM presence_totals_dirty") > 0
    await assert_same_answers(queries, windows, "dirty")
    await refresh.execute()
    await assert_same_answers(queries, windows, "refreshed again")

    # The rollup deletes the first days' sessions (their hours turn dirty), then the refresh
    # drops what no live session reaches any more.
    rollup = RollUpPresence(PostgresRollupStore(storage), clock, zone=zone, zone_name=zone_name)
    rolled = await rollup.execute((clock.now().astimezone(zone).date() - FIRST_DAY).days - 2)
    assert len(rolled) == 2
    await assert_same_answers(queries, windows, "rolled up")
    done = await refresh.execute()
    assert done.dropped > 0
    await assert_same_answers(queries, windows, "rolled up, refreshed")


async def dirty_hours(storage: PostgresStorage) -> set[datetime]:
    async with storage.connection() as conn:
        cursor = await conn.execute("SELECT DISTINCT hour FROM presence_totals_dirty")
        return {row["hour"] for row in await cursor.fetchall()}


async def clear_marks(storage: PostgresStorage) -> None:
    async with storage.connection() as conn:
        await conn.execute("DELETE FROM presence_totals_dirty")
        await conn.commit()


def hours_from(first: datetime, n: int) -> set[datetime]:
    return {first + i * HOUR for i in range(n)}


async def test_a_change_to_an_old_session_marks_exactly_the_hours_it_touches(
    storage: PostgresStorage,
) -> None:
    reg = await seed_register(storage)
    tag, gw, other = reg.tags[0], reg.devices[0], reg.devices[1]
    h = datetime(2026, 11, 2, 10, tzinfo=UTC)
    day = h.date()
    await insert_sessions(storage, [(tag, gw, day, h + timedelta(minutes=20), h + 2 * HOUR)])
    # Ending exactly on an hour: a member of that hour too (with no dwell in it).
    assert await dirty_hours(storage) == hours_from(h, 3)
    await clear_marks(storage)

    async with storage.connection() as conn:
        await conn.execute("UPDATE presence_sessions SET ended_at = %s", [h + 4 * HOUR])
        await conn.commit()
    assert await dirty_hours(storage) == hours_from(h + 2 * HOUR, 3)  # the part that changed
    await clear_marks(storage)

    async with storage.connection() as conn:
        await conn.execute("UPDATE presence_sessions SET started_at = %s", [h + 3 * HOUR])
        await conn.commit()
    assert await dirty_hours(storage) == hours_from(h, 5)  # old range and new range
    await clear_marks(storage)

    async with storage.connection() as conn:
        await conn.execute("UPDATE presence_sessions SET device_id = %s", [other])
        await conn.commit()
    assert await dirty_hours(storage) == hours_from(h + 3 * HOUR, 2)
    await clear_marks(storage)

    async with storage.connection() as conn:
        await conn.execute("UPDATE presence_sessions SET samples_count = 9")  # same bounds
        await conn.commit()
    assert await dirty_hours(storage) == set()

    async with storage.connection() as conn:
        await conn.execute("DELETE FROM presence_sessions")
        await conn.commit()
    assert await dirty_hours(storage) == hours_from(h + 3 * HOUR, 2)


async def test_the_usual_ingest_changes_mark_nothing(storage: PostgresStorage) -> None:
    """New sessions, and sessions extended at their end, within the last 5 minutes: no hour
    they touch can be materialized yet."""
    reg = await seed_register(storage)
    now = await database_now(storage)
    tag = reg.tags[0]
    long_one = (tag, reg.devices[1], now.date(), now - 3 * HOUR, now - timedelta(minutes=1))
    await insert_sessions(storage, [long_one])  # added late: its start is old
    assert await dirty_hours(storage)
    await clear_marks(storage)
    await insert_sessions(
        storage, [(tag, reg.devices[0], now.date(), now - timedelta(minutes=1), now)]
    )
    async with storage.connection() as conn:
        await conn.execute("UPDATE presence_sessions SET ended_at = ended_at + interval '20 s'")
        await conn.commit()
    assert await dirty_hours(storage) == set()


async def database_now(storage: PostgresStorage) -> datetime:
    async with storage.connection() as conn:
        cursor = await conn.execute("SELECT now() AS now")
        row = await cursor.fetchone()
        assert row is not None
        now: datetime = row["now"]
        return now.astimezone(UTC)


async def snapshot(storage: PostgresStorage) -> list[list[tuple[object, ...]]]:
    tables = []
    async with storage.connection() as conn:
        for query in (
            "SELECT * FROM presence_hour_totals ORDER BY 1, 2, 3",
            "SELECT * FROM presence_day_totals ORDER BY 1, 2, 3",
            "SELECT hour FROM presence_totals_hours ORDER BY 1",
            "SELECT hour FROM presence_totals_dirty ORDER BY 1",
        ):
            cursor = await conn.execute(query)
            tables.append([tuple(row.values()) for row in await cursor.fetchall()])
    return tables


async def test_the_refresh_is_idempotent_and_never_materializes_recent_hours(
    storage: PostgresStorage,
) -> None:
    reg = await seed_register(storage)
    zone = ZoneInfo("Asia/Kolkata")
    await insert_sessions(storage, random_sessions(random.Random(3), reg, zone, 80))
    now = datetime.combine(FIRST_DAY + timedelta(days=2), time(14, 5), UTC)
    refresh = RefreshPresenceTotals(PostgresPresenceTotals(storage), FakeClock(now))
    assert await refresh.execute(dry_run=True) == await refresh.execute(dry_run=True)
    pending = (await refresh.execute(dry_run=True)).hours
    done = await refresh.execute()
    assert done.hours == pending > 0
    first = await snapshot(storage)
    again = await refresh.execute()
    assert (again.hours, again.batches) == (0, 0)
    assert await snapshot(storage) == first
    # 14:05 - 10 minutes: the last hour materialized is 12:00-13:00.
    latest = await count(storage, "SELECT extract(epoch FROM max(hour)) FROM presence_totals_hours")
    assert datetime.fromtimestamp(latest, UTC) == now.replace(hour=12, minute=0)
    # Days are built only when whole: the clock's own day is not, the two before it are.
    days = await count(
        storage, "SELECT count(DISTINCT day) FROM presence_day_totals WHERE day >= '2026-10-31'"
    )
    assert days == 0
    days = await count(
        storage,
        "SELECT count(DISTINCT day) FROM presence_day_totals"
        " WHERE day IN ('2026-10-29Z', '2026-10-30Z')",
    )
    assert days == 2


async def test_a_mark_added_after_the_refresh_read_the_marks_is_kept(
    storage: PostgresStorage,
) -> None:
    """The refresh deletes the marks it read, by id: a change committed meanwhile (a late
    reading) keeps its hour dirty."""
    reg = await seed_register(storage)
    h = datetime(2026, 11, 2, 10, tzinfo=UTC)
    late = (reg.tags[0], reg.devices[0], h.date(), h, h + HOUR / 2)
    await insert_sessions(storage, [late])
    async with storage.connection() as conn:
        cursor = await conn.execute("SELECT id FROM presence_totals_dirty")
        read = [row["id"] for row in await cursor.fetchall()]
    assert len(read) == 1
    await insert_sessions(storage, [late])
    async with storage.connection() as conn:
        await consume_marks(conn, read)
        await conn.commit()
    assert await dirty_hours(storage) == {h}
    async with storage.connection() as conn:
        cursor = await conn.execute("SELECT id FROM presence_totals_dirty")
        assert [row["id"] for row in await cursor.fetchall()] != read


async def test_an_end_moved_without_a_mark_leaves_no_stale_last_end(
    storage: PostgresStorage,
) -> None:
    """A session's end moving within the last 5 minutes marks nothing; the hours it spans
    may already be materialized. They keep no end that can move (only ends inside them), so
    the window's last end is still read right: here, after an end moved back."""
    reg = await seed_register(storage)
    now = await database_now(storage)
    start = now - 3 * HOUR
    await insert_sessions(
        storage, [(reg.tags[0], reg.devices[0], start.date(), start, now - timedelta(minutes=1))]
    )
    done = await RefreshPresenceTotals(PostgresPresenceTotals(storage), FakeClock(now)).execute()
    assert done.hours >= 2
    marks = await dirty_hours(storage)  # the current hour's, not materialized yet
    async with storage.connection() as conn:
        await conn.execute("UPDATE presence_sessions SET ended_at = ended_at - interval '1 minute'")
        await conn.commit()
    assert await dirty_hours(storage) == marks
    to = (now - timedelta(minutes=10)).replace(minute=0, second=0, microsecond=0) - HOUR
    where = UsageFilter(from_ts=start - HOUR / 2, to_ts=to)
    queries = PostgresReportQueries(storage, UTC, "UTC")
    fast = await queries.overview_totals(where, DIMENSIONS)
    assert fast.total.last_session_at == now - timedelta(minutes=2)
    ranked = await queries.totals_by(where, ("all", *DIMENSIONS))
    assert fast == overview_of(ranked, DIMENSIONS)
