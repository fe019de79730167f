"""Sessions kept at ingest in PostgreSQL equal sessions computed from scratch, however the
readings arrive."""

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.migrator import apply_migrations
from securityvision.adapters.postgres.presence import (
    PostgresPresenceStore,
    pack_candidates,
    unpack_candidates,
)
from securityvision.application.ingest import Delivery, IngestGatewayMessages
from securityvision.application.presence import PresenceFollower, utc_day
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


@pytest.mark.parametrize("lanes", [False, True], ids=["one transaction", "lanes"])
async def test_a_shuffled_stream_with_duplicates_and_late_readings_gives_the_reference_sessions(
    storage: PostgresStorage, lanes: bool
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
        await ingest.execute(deliveries)

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
