"""Sessions kept at ingest in PostgreSQL equal sessions computed from scratch, however the
readings arrive."""

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Self

import pytest

from securityvision.adapters.postgres.database import (
    Connection,
    PostgresStorage,
    PostgresUnitOfWork,
)
from securityvision.adapters.postgres.ingest import PostgresIngestStore
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.postgres.presence import (
    PostgresPresenceStore,
    pack_candidates,
    unpack_candidates,
)
from securityvision.application.ingest import Delivery, IngestGatewayMessages, IngestReport
from securityvision.application.ports import ReadingRow
from securityvision.application.presence import PRESENCE_LANES, PresenceFollower, utc_day
from securityvision.domain.errors import StorageError
from securityvision.domain.presence import Candidate, PresenceSession, Sighting, sessionize
from securityvision.domain.rtls import GatewayMessage, GatewayTopic, NewTag, Observation
from tests.support.clock import FakeClock
from tests.support.databases import temporary_database

pytestmark = pytest.mark.postgres

GAP = timedelta(seconds=15)
GATEWAYS = ["AC:23:3F:C0:7D:01", "AC:23:3F:C0:7D:02", "AC:23:3F:C0:7D:03"]
TAGS = ["AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02", "AA:BB:CC:DD:EE:03"]


@pytest.fixture
async def storage(postgres_server_url: str) -> AsyncIterator[PostgresStorage]:
    with temporary_database(postgres_server_url) as url:
        await apply_migrations(url)
        storage = PostgresStorage(url)
        await storage.open()
        try:
            yield storage
        finally:
            await storage.close()


def as_columns(session: PresenceSession) -> tuple[object, ...]:
    return (
        session.tag_id,
        session.device_id,
        session.day,
        session.started_at,
        session.ended_at,
        session.samples_count,
        session.rssi_sum,
        session.rssi_max,
    )


@pytest.mark.parametrize(
    ("lanes", "in_flight"),
    [(False, 1), (True, 1), (True, 2)],
    ids=["one transaction", "lanes", "lanes, two batches at once"],
)
async def test_a_shuffled_stream_with_duplicates_and_late_readings_gives_the_reference_sessions(
    storage: PostgresStorage, lanes: bool, in_flight: int
) -> None:
    rnd = random.Random(20261129)
    clock = FakeClock(datetime(2026, 11, 29, 0, 30, tzinfo=UTC))
    start = datetime(2026, 11, 28, 23, 50, tzinfo=UTC)  # the stream crosses midnight
    # One RSSI per reading identity (gateway, tag, time): a repeat is the same reading.
    unique: dict[tuple[str, str, datetime], int] = {}
    for _ in range(1500):
        second = timedelta(seconds=rnd.randint(0, 1800))
        unique[(rnd.choice(GATEWAYS), rnd.choice(TAGS), start + second)] = rnd.randint(-95, -40)
    readings = [(gw, tag, ts, rssi) for (gw, tag, ts), rssi in unique.items()]
    async with storage.unit_of_work() as uow:
        tag_ids = {mac: (await uow.tags.add(NewTag(mac_address=mac))).id for mac in TAGS}
        await uow.commit()
    stream = readings + rnd.sample(readings, 300)  # redeliveries and repeated reports
    rnd.shuffle(stream)
    ingest = IngestGatewayMessages(
        storage.unit_of_work, clock, presence=PresenceFollower(session_gap=GAP), lanes=lanes
    )
    position = 0
    storing: list[asyncio.Task[IngestReport]] = []  # as the worker does, up to in_flight
    while position < len(stream):
        size = rnd.randint(1, 120)
        batch = stream[position : position + size]
        position += size
        deliveries = [
            Delivery(
                message=GatewayMessage(
                    topic=GatewayTopic(gateway_id=gw, gateway_mac=gw),
                    observations=(Observation(tag_mac=tag, rssi=rssi, ts=ts),),
                ),
                received_at=clock.now(),
                fingerprint=f"{gw}{tag}{ts}".encode(),
            )
            for gw, tag, ts, rssi in batch
        ]
        if len(storing) == in_flight:
            await storing.pop(0)
        storing.append(asyncio.create_task(ingest.execute(deliveries)))
    await asyncio.gather(*storing)

    async with storage.unit_of_work() as uow:
        devices = {d.mac_address: d.id for d in await uow.devices.list(limit=100)}
    reference = sessionize(
        [
            Sighting(tag_id=tag_ids[tag], device_id=devices[gw], ts=ts, rssi=rssi)
            for (gw, tag, ts), rssi in unique.items()
        ],
        GAP,
        utc_day,
    )
    async with storage.connection() as conn:
        cursor = await conn.execute(
            "SELECT tag_id, device_id, day, started_at, ended_at, samples_count, rssi_sum,"
            " rssi_max FROM presence_sessions ORDER BY tag_id, device_id, started_at"
        )
        stored = [tuple(row.values()) for row in await cursor.fetchall()]
        logs = await (await conn.execute("SELECT count(*) AS n FROM collection_logs")).fetchone()
    assert logs is not None
    assert logs["n"] == len(unique)
    assert stored == sorted(map(as_columns, reference))
    assert any(s.day != reference[0].day for s in reference)  # midnight was crossed


def run_at(tag_id: int, device_id: int, ts: datetime) -> PresenceSession:
    """One reading's run, as ``fold_runs`` makes it."""
    return PresenceSession(
        tag_id=tag_id,
        device_id=device_id,
        day=utc_day(ts),
        started_at=ts,
        ended_at=ts,
        samples_count=1,
        rssi_sum=-60,
        rssi_max=-60,
    )


async def test_extending_a_session_is_an_update_in_place_until_its_end_changes_hour(
    storage: PostgresStorage,
) -> None:
    """HOT: no index holds ended_at itself (migration 0017), so an extension within the hour
    the session ends in touches no index; one into the next hour moves its ended_hour."""
    start = datetime(2026, 11, 29, 9, 59, 30, tzinfo=UTC)
    async with storage.connection() as conn, conn.transaction():
        store = PostgresPresenceStore(conn)
        for seconds in (0, 10, 20, 35):  # the last one ends at 10:00:05
            late = await store.extend_sessions(
                [run_at(1, 2, start + timedelta(seconds=seconds))], GAP
            )
            assert late == []
        cursor = await conn.execute(
            "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
            " WHERE relname = 'presence_sessions'"
        )
        counts = await cursor.fetchone()
        cursor = await conn.execute(
            "SELECT started_at, ended_at, samples_count, ended_hour FROM presence_sessions"
        )
        sessions = await cursor.fetchall()
    assert counts == {"n_tup_ins": 1, "n_tup_upd": 3, "n_tup_hot_upd": 2}
    assert sessions == [
        {
            "started_at": start,
            "ended_at": start + timedelta(seconds=35),
            "samples_count": 4,
            "ended_hour": datetime(2026, 11, 29, 10, tzinfo=UTC),
        }
    ]


async def test_open_sessions_extended_batch_after_batch_stay_on_their_pages(
    storage: PostgresStorage,
) -> None:
    """Migration 0020: a page is filled to half, so even when a batch extends every session on
    it the new versions fit beside the old ones (an update on the same page, of no indexed
    column, is HOT), and the next batch finds the old ones pruned. At fillfactor 80 most of
    these extensions moved to another page, each a new entry in all seven indexes."""
    start = datetime(2026, 11, 29, 9, 10, tzinfo=UTC)
    tags, gateways, batches = 800, 3, 3
    pairs = [(1 + i % tags, 1 + i // tags) for i in range(tags * gateways)]
    pages: list[dict[int, int]] = []  # session id -> its page, after each batch
    for batch in range(1 + batches):  # opened, then extended by every batch
        async with storage.connection() as conn:
            async with conn.transaction():
                late = await PostgresPresenceStore(conn).extend_sessions(
                    [
                        run_at(tag, gateway, start + timedelta(seconds=batch))
                        for tag, gateway in pairs
                    ],
                    GAP,
                )
            assert late == []
            cursor = await conn.execute(
                "SELECT id, (ctid::text::point)[0]::int AS page, samples_count"
                " FROM presence_sessions"
            )
            rows = await cursor.fetchall()
        assert {row["samples_count"] for row in rows} == {1 + batch}
        pages.append({row["id"]: row["page"] for row in rows})
    assert len(pages[0]) == len(pairs)
    assert pages == [pages[0]] * (1 + batches)


async def test_candidates_are_stored_in_the_layout_postgresql_gives_them(
    storage: PostgresStorage,
) -> None:
    """Migration 0018 converted stored candidates with int8send, float8send and
    timestamptz_send: what the adapter packs and unpacks is that layout."""
    candidates = (
        Candidate(device_id=3, rssi=-61.25, last_seen_at=datetime(2026, 11, 29, 9, tzinfo=UTC)),
        Candidate(
            device_id=2**40,
            rssi=-88.0625,
            last_seen_at=datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
    )
    async with storage.connection() as conn:
        cursor = await conn.execute(
            "SELECT string_agg(int8send(d) || float8send(r) || timestamptz_send(t), ''::bytea"
            " ORDER BY i) AS packed"
            " FROM unnest(%s::bigint[], %s::float8[], %s::timestamptz[])"
            "   WITH ORDINALITY AS u(d, r, t, i)",
            [
                [c.device_id for c in candidates],
                [c.rssi for c in candidates],
                [c.last_seen_at for c in candidates],
            ],
        )
        row = await cursor.fetchone()
    assert row is not None
    assert pack_candidates(candidates) == row["packed"]
    assert unpack_candidates(row["packed"]) == candidates
    assert unpack_candidates(b"") == ()


class RecordedLanes:
    """A unit-of-work factory on ``storage`` that records, as each lane's transaction commits,
    which batch its readings were of (told by their RSSI); a batch's readings may be slowed
    down, or fail."""

    def __init__(self, storage: PostgresStorage) -> None:
        self.storage = storage
        self.commits: list[tuple[int, int]] = []  # (lane, the batch's RSSI)
        self.slow: set[int] = set()
        self.failing: set[int] = set()

    def __call__(self) -> "RecordedUnitOfWork":
        return RecordedUnitOfWork(self.storage, self)


class RecordedIngestStore(PostgresIngestStore):
    def __init__(self, conn: Connection, lanes: RecordedLanes) -> None:
        super().__init__(conn)
        self.lanes = lanes
        self.stored: tuple[int, int] | None = None

    async def add_readings(self, rows: Sequence[ReadingRow]) -> Sequence[ReadingRow]:
        batch = rows[0].rssi
        if batch in self.lanes.slow:
            await asyncio.sleep(0.3)
        if batch in self.lanes.failing:
            raise StorageError("the database went away")
        self.stored = (rows[0].tag_id % PRESENCE_LANES, batch)
        return await super().add_readings(rows)


class RecordedUnitOfWork(PostgresUnitOfWork):
    def __init__(self, storage: PostgresStorage, lanes: RecordedLanes) -> None:
        super().__init__(storage)
        self.lanes = lanes

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.ingest = RecordedIngestStore(self._conn, self.lanes)
        return self

    async def commit(self) -> None:
        await super().commit()
        if isinstance(self.ingest, RecordedIngestStore) and self.ingest.stored is not None:
            self.lanes.commits.append(self.ingest.stored)


def both_lanes(tag_ids: Sequence[int], rssi: int, at: datetime) -> list[Delivery]:
    return [
        Delivery(
            message=GatewayMessage(
                topic=GatewayTopic(gateway_id=GATEWAYS[0], gateway_mac=GATEWAYS[0]),
                observations=tuple(
                    Observation(tag_mac=TAGS[i], rssi=rssi, ts=at) for i in range(len(tag_ids))
                ),
            ),
            received_at=at,
            fingerprint=f"{rssi}".encode(),
        )
    ]


async def test_overlapping_batches_take_turns_lane_by_lane_in_the_order_they_began(
    storage: PostgresStorage,
) -> None:
    """The second batch's lanes wait for the first's, though the first is slow to store its
    readings and the second would otherwise commit first."""
    clock = FakeClock(datetime(2026, 11, 29, 10, tzinfo=UTC))
    lanes = RecordedLanes(storage)
    tag_ids = await register(storage, TAGS[:PRESENCE_LANES])
    assert {t % PRESENCE_LANES for t in tag_ids} == set(range(PRESENCE_LANES))
    ingest = IngestGatewayMessages(lanes, clock, lanes=True)
    assert ingest.overlapping
    lanes.slow.add(-50)
    first = asyncio.create_task(ingest.execute(both_lanes(tag_ids, -50, clock.now())))
    second = asyncio.create_task(
        ingest.execute(both_lanes(tag_ids, -60, clock.now() + timedelta(seconds=1)))
    )
    reports = await asyncio.wait_for(asyncio.gather(first, second), timeout=30)
    assert [r.stored for r in reports] == [PRESENCE_LANES, PRESENCE_LANES]
    for lane in range(PRESENCE_LANES):
        assert [batch for at, batch in lanes.commits if at == lane] == [-50, -60]


async def test_a_failing_batch_lets_the_next_one_take_its_turn(storage: PostgresStorage) -> None:
    clock = FakeClock(datetime(2026, 11, 29, 10, tzinfo=UTC))
    lanes = RecordedLanes(storage)
    tag_ids = await register(storage, TAGS[:PRESENCE_LANES])
    ingest = IngestGatewayMessages(lanes, clock, lanes=True)
    lanes.slow.add(-50)
    lanes.failing.add(-50)
    first = asyncio.create_task(ingest.execute(both_lanes(tag_ids, -50, clock.now())))
    second = asyncio.create_task(
        ingest.execute(both_lanes(tag_ids, -60, clock.now() + timedelta(seconds=1)))
    )
    done = await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), timeout=30)
    assert isinstance(done[0], StorageError)
    assert isinstance(done[1], IngestReport)
    assert done[1].stored == PRESENCE_LANES
    assert sorted(lanes.commits) == [(lane, -60) for lane in range(PRESENCE_LANES)]
    assert not IngestGatewayMessages(storage.unit_of_work, clock).overlapping


async def register(storage: PostgresStorage, macs: Sequence[str]) -> list[int]:
    async with storage.unit_of_work() as uow:
        ids = [(await uow.tags.add(NewTag(mac_address=mac))).id for mac in macs]
        await uow.commit()
    return ids
