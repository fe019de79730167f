"""PresenceFollower over the in-memory store: the set-based path for the usual batch and the
general merge for the rest give the sessions computed from scratch; positions follow the
reference rule (one reading at a time, every gateway a candidate) while few gateways hear a
tag, and never follow more than ``max_candidates`` gateways."""

import asyncio
import math
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.presence import PresenceFollower
from securityvision.domain.presence import (
    Candidate,
    DayOf,
    PositionRules,
    PresenceSession,
    Sighting,
    TagPosition,
    fold_runs,
    sessionize,
    track_positions,
)
from tests.support.clock import FakeClock

T0 = datetime(2026, 11, 28, 23, 55, tzinfo=UTC)  # midnight falls inside the generated span
GAP = timedelta(seconds=15)
ZONE = ZoneInfo("America/Sao_Paulo")


def utc_day(ts: datetime) -> date:
    return ts.astimezone(UTC).date()


def local_day(ts: datetime) -> date:
    return ts.astimezone(ZONE).date()


readings = st.lists(
    st.builds(
        Sighting,
        tag_id=st.integers(1, 3),
        device_id=st.integers(1, 3),
        ts=st.integers(0, 600).map(lambda s: T0 + timedelta(seconds=s)),
        rssi=st.integers(-100, -30),
    ),
    max_size=80,
    unique_by=lambda s: (s.tag_id, s.device_id, s.ts),  # a reading's identity: stored once
)


def as_rows(sessions: list[PresenceSession]) -> list[tuple[object, ...]]:
    return sorted(msgspec.structs.astuple(msgspec.structs.replace(s, id=None)) for s in sessions)


async def follow_in_batches(
    items: list[Sighting], cuts: list[int], day_of: DayOf
) -> list[PresenceSession]:
    storage = InMemoryStorage(FakeClock(T0))
    follower = PresenceFollower(session_gap=GAP, day_of=day_of)
    for start, end in zip([0, *cuts], [*cuts, len(items)], strict=True):
        async with storage.unit_of_work() as uow:
            await follower.follow(uow, items[start:end])
            await uow.commit()
    probe = [
        Sighting(tag_id=t, device_id=d, ts=T0 + timedelta(seconds=s), rssi=0)
        for t in (1, 2, 3)
        for d in (1, 2, 3)
        for s in range(0, 601, 5)
    ]
    async with storage.unit_of_work() as uow:
        return list(await uow.presence.sessions_near(probe, GAP))


@settings(max_examples=300, deadline=None)
@given(readings, st.randoms(use_true_random=False), st.integers(1, 8), st.booleans())
def test_sessions_kept_batch_after_batch_equal_sessions_from_scratch(
    items: list[Sighting], rnd: random.Random, batches: int, in_local_time: bool
) -> None:
    day_of = local_day if in_local_time else utc_day
    shuffled = list(items)
    rnd.shuffle(shuffled)
    # Mostly in time order, as gateways send, with some of it late.
    if rnd.random() < 0.5:
        shuffled.sort(key=lambda s: s.ts)
    cuts = sorted(rnd.randint(0, len(shuffled)) for _ in range(batches - 1))
    stored = asyncio.run(follow_in_batches(shuffled, cuts, day_of))
    assert as_rows(stored) == as_rows(sessionize(items, GAP, day_of))


@given(readings)
def test_a_run_is_the_one_session_its_readings_make(items: list[Sighting]) -> None:
    runs, rest = fold_runs(items, GAP, utc_day)
    assert sum(r.samples_count for r in runs) + len(rest) == len(items)
    for r in runs:
        mine = [s for s in items if (s.tag_id, s.device_id) == (r.tag_id, r.device_id)]
        assert as_rows(sessionize(mine, GAP, utc_day)) == as_rows([r])
    for pair in {(s.tag_id, s.device_id) for s in rest}:
        mine = [s for s in items if (s.tag_id, s.device_id) == pair]
        assert len(sessionize(mine, GAP, utc_day)) > 1


def reference_positions(
    current: dict[int, TagPosition], sightings: list[Sighting], rules: PositionRules
) -> dict[int, TagPosition]:
    """The rule as first written: every reading rebuilds the tag's candidates."""
    result = dict(current)
    for s in sorted(sightings, key=lambda x: x.ts):
        position = result.get(s.tag_id)
        if position is not None and s.ts < position.last_seen_at:
            continue
        horizon = s.ts - rules.window
        candidates = {
            c.device_id: c
            for c in (position.candidates if position else ())
            if c.last_seen_at >= horizon
        }
        previous = candidates.get(s.device_id)
        rssi = (
            float(s.rssi)
            if previous is None
            else rules.smoothing * s.rssi + (1 - rules.smoothing) * previous.rssi
        )
        candidates[s.device_id] = Candidate(device_id=s.device_id, rssi=rssi, last_seen_at=s.ts)
        best = max(candidates.values(), key=lambda c: (c.rssi, c.last_seen_at))
        holder = candidates.get(position.device_id) if position else None
        if holder is None or best.rssi >= holder.rssi + rules.hysteresis_db:
            holder = best
        since = position.since if position and position.device_id == holder.device_id else s.ts
        total = sum(math.pow(10, c.rssi / 10) for c in candidates.values())
        result[s.tag_id] = TagPosition(
            tag_id=s.tag_id,
            device_id=holder.device_id,
            since=since,
            last_seen_at=s.ts,
            confidence=round(math.pow(10, holder.rssi / 10) / total, 3),
            candidates=tuple(sorted(candidates.values(), key=lambda c: c.device_id)),
        )
    return result


@settings(max_examples=300, deadline=None)
@given(readings, st.randoms(use_true_random=False), st.integers(1, 6))
def test_positions_follow_the_reference_rule_while_few_gateways_hear_a_tag(
    items: list[Sighting], rnd: random.Random, batches: int
) -> None:
    rules = PositionRules()  # 3 gateways: fewer than max_candidates
    ordered = sorted(items, key=lambda s: s.ts)
    cuts = sorted(rnd.randint(0, len(ordered)) for _ in range(batches - 1))
    state: dict[int, TagPosition] = {}
    expected: dict[int, TagPosition] = {}
    for start, end in zip([0, *cuts], [*cuts, len(ordered)], strict=True):
        batch = ordered[start:end]
        rnd.shuffle(batch)  # arrival order within a batch does not matter
        updated, _ = track_positions(state, batch, rules)
        state |= updated
        expected = reference_positions(expected, batch, rules)
    assert state == expected


@given(
    st.lists(
        st.tuples(st.integers(1, 30), st.integers(0, 40), st.integers(-100, -30)), max_size=120
    )
)
def test_a_tag_heard_by_many_gateways_follows_the_strongest_few(
    heard: list[tuple[int, int, int]],
) -> None:
    rules = PositionRules(max_candidates=4)
    state: dict[int, TagPosition] = {}
    for device, second, rssi in heard:
        sighting = Sighting(
            tag_id=1, device_id=device, ts=T0 + timedelta(seconds=second), rssi=rssi
        )
        updated, _ = track_positions(state, [sighting], rules)
        state |= updated
        position = state.get(1)
        if position is not None:
            devices = [c.device_id for c in position.candidates]
            assert len(devices) <= 4
            assert position.device_id in devices
            assert devices == sorted(set(devices))
            assert 0 < position.confidence <= 1


def hear(tag: int, device: int, seconds: float, rssi: int) -> Sighting:
    return Sighting(tag_id=tag, device_id=device, ts=T0 + timedelta(seconds=seconds), rssi=rssi)


async def position_after(
    storage: InMemoryStorage, follower: PresenceFollower, *batch: Sighting, commit: bool = True
) -> TagPosition:
    async with storage.unit_of_work() as uow:
        await follower.follow(uow, list(batch))
        if commit:
            await uow.commit()
    async with storage.unit_of_work() as uow:
        return (await uow.presence.positions([1]))[1]


async def test_positions_kept_in_memory_give_way_to_another_writer_and_to_a_rollback() -> None:
    storage = InMemoryStorage(FakeClock(T0))
    worker, other = PresenceFollower(), PresenceFollower()
    await position_after(storage, worker, hear(1, 1, 0, -60))
    # Another worker (or a reading typed in) moves the tag: this worker must see it.
    moved = await position_after(storage, other, hear(1, 2, 1, -40), hear(1, 2, 2, -40))
    after = await position_after(storage, worker, hear(1, 2, 3, -40))
    assert moved.device_id == after.device_id == 2
    assert [c.device_id for c in after.candidates] == [1, 2]
    assert after.last_seen_at == T0 + timedelta(seconds=3)
    assert after.since == T0 + timedelta(seconds=1)  # the other writer's move, read back
    # A batch that rolls back leaves nothing behind, in PostgreSQL or in memory.
    await position_after(storage, worker, hear(1, 3, 4, -20), commit=False)
    kept = await position_after(storage, worker, hear(1, 2, 5, -40))
    assert [c.device_id for c in kept.candidates] == [1, 2]
    assert kept.device_id == 2


async def test_a_worker_alone_does_not_read_its_positions_back() -> None:
    storage = InMemoryStorage(FakeClock(T0))
    worker = PresenceFollower()
    first = await position_after(storage, worker, hear(1, 1, 0, -60))
    # Changed behind every writer's back (no claim): a follower that read positions back
    # would see it; this one trusts what it wrote, as no one else has written since.
    storage.state.positions[1] = msgspec.structs.replace(first, device_id=9, candidates=())
    after = await position_after(storage, worker, hear(1, 1, 1, -60))
    assert after.device_id == 1
    assert [c.device_id for c in after.candidates] == [1]
