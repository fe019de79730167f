"""The presence port behaves the same on every adapter."""

from datetime import UTC, date, datetime, timedelta

import msgspec

from securityvision.application.ports import Storage
from securityvision.domain.presence import Candidate, PresenceSession, Sighting, TagPosition

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
GAP = timedelta(seconds=15)


def session(tag: int, device: int, start: int, end: int, samples: int = 2) -> PresenceSession:
    return PresenceSession(
        tag_id=tag,
        device_id=device,
        day=date(2026, 11, 29),
        started_at=T0 + timedelta(seconds=start),
        ended_at=T0 + timedelta(seconds=end),
        samples_count=samples,
        rssi_sum=-60 * samples,
        rssi_max=-55,
    )


async def test_sessions_near_new_readings_are_found_and_can_be_replaced(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.presence.lock_tags([1, 2])
        await uow.presence.replace_sessions(
            [], [session(1, 1, 0, 10), session(1, 1, 100, 110), session(1, 2, 0, 10)]
        )
        await uow.commit()
    probe = [Sighting(tag_id=1, device_id=1, ts=T0 + timedelta(seconds=20), rssi=-60)]
    async with storage.unit_of_work() as uow:
        near = await uow.presence.sessions_near(probe, GAP)
        assert [(s.tag_id, s.device_id, s.started_at) for s in near] == [(1, 1, T0)]
        [found] = near
        assert found.id is not None
        assert found.same_run(session(1, 1, 0, 10))
        await uow.presence.replace_sessions([found.id], [session(1, 1, 0, 20, samples=3)])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        wide = [
            Sighting(tag_id=1, device_id=1, ts=T0 + timedelta(seconds=s), rssi=-60)
            for s in (5, 105)
        ]
        after = sorted(await uow.presence.sessions_near(wide, GAP), key=lambda s: s.started_at)
    assert [(s.started_at, s.ended_at, s.samples_count) for s in after] == [
        (T0, T0 + timedelta(seconds=20), 3),
        (T0 + timedelta(seconds=100), T0 + timedelta(seconds=110), 2),
    ]


async def test_positions_round_trip_with_their_candidates(storage: Storage) -> None:
    position = TagPosition(
        tag_id=7,
        device_id=2,
        since=T0,
        last_seen_at=T0 + timedelta(seconds=3),
        confidence=0.8,
        candidates=(
            Candidate(device_id=1, rssi=-71.5, last_seen_at=T0),
            Candidate(device_id=2, rssi=-65.0, last_seen_at=T0 + timedelta(seconds=3)),
        ),
    )
    async with storage.unit_of_work() as uow:
        await uow.presence.save_positions([position])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.presence.positions([7, 8]) == {7: position}
        moved = TagPosition(
            tag_id=7, device_id=1, since=T0, last_seen_at=T0, confidence=1.0, candidates=()
        )
        await uow.presence.save_positions([moved])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.presence.positions([7]) == {7: moved}


def run(
    tag: int, device: int, start: int, end: int, day: date = date(2026, 11, 29)
) -> PresenceSession:
    return msgspec.structs.replace(session(tag, device, start, end, samples=1), day=day)


async def stored_sessions(
    storage: Storage, tags: list[int]
) -> list[tuple[int, int, int, int, int]]:
    probe = [
        Sighting(tag_id=t, device_id=d, ts=T0 + timedelta(seconds=s), rssi=-60)
        for t in tags
        for d in (1, 2)
        for s in range(0, 200, 10)
    ]
    async with storage.unit_of_work() as uow:
        found = await uow.presence.sessions_near(probe, GAP)
    return sorted(
        (
            s.tag_id,
            s.device_id,
            int((s.started_at - T0).total_seconds()),
            int((s.ended_at - T0).total_seconds()),
            s.samples_count,
        )
        for s in found
    )


async def test_runs_extend_the_latest_session_start_new_ones_or_come_back_when_late(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        await uow.presence.lock_tags([1, 2, 3, 4])
        await uow.presence.replace_sessions(
            [],
            [session(1, 1, 0, 10), session(1, 1, 100, 110), session(2, 1, 100, 110)],
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        late = await uow.presence.extend_sessions(
            [
                run(1, 1, 120, 125),  # within the gap of 100-110: extended
                run(1, 2, 5, 5),  # a pair without sessions: new
                run(2, 1, 150, 160),  # more than the gap after 100-110: new
                run(3, 1, 0, 0),  # new
                run(2, 2, 0, 0),  # new
            ],
            GAP,
        )
        assert late == []
        await uow.commit()
    assert await stored_sessions(storage, [1, 2, 3]) == [
        (1, 1, 0, 10, 2),
        (1, 1, 100, 125, 3),
        (1, 2, 5, 5, 1),
        (2, 1, 100, 110, 2),
        (2, 1, 150, 160, 1),
        (2, 2, 0, 0, 1),
        (3, 1, 0, 0, 1),
    ]
    async with storage.unit_of_work() as uow:
        late = await uow.presence.extend_sessions(
            [
                run(1, 1, 50, 50),  # before the latest session's start: late
                run(2, 1, 155, 158),  # inside the latest session: extended (samples only)
                run(3, 1, -86000, -86000, day=date(2026, 11, 28)),  # a day before: late
            ],
            GAP,
        )
        assert sorted(late) == [(1, 1), (3, 1)]
        await uow.commit()
    assert await stored_sessions(storage, [1, 2, 3]) == [
        (1, 1, 0, 10, 2),
        (1, 1, 100, 125, 3),
        (1, 2, 5, 5, 1),
        (2, 1, 100, 110, 2),
        (2, 1, 150, 160, 2),
        (2, 2, 0, 0, 1),
        (3, 1, 0, 0, 1),
    ]


async def test_a_run_on_a_later_day_starts_a_session_of_its_own(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.presence.replace_sessions([], [session(4, 1, 0, 10)])
        await uow.commit()
    async with storage.unit_of_work() as uow:
        # Five seconds after the session, but on the next day of the presence time zone.
        assert (
            await uow.presence.extend_sessions([run(4, 1, 15, 15, day=date(2026, 11, 30))], GAP)
            == []
        )
        await uow.commit()
    probe = [Sighting(tag_id=4, device_id=1, ts=T0 + timedelta(seconds=12), rssi=-60)]
    async with storage.unit_of_work() as uow:
        found = sorted(await uow.presence.sessions_near(probe, GAP), key=lambda s: s.day)
    assert [(s.day, s.samples_count) for s in found] == [
        (date(2026, 11, 29), 2),
        (date(2026, 11, 30), 1),
    ]


async def test_a_claim_names_the_last_committed_writer(storage: Storage) -> None:
    async with storage.unit_of_work() as uow:
        previous, first = await uow.presence.claim()
        await uow.commit()
    async with storage.unit_of_work() as uow:
        before, rolled_back = await uow.presence.claim()  # never committed
    async with storage.unit_of_work() as uow:
        after, last = await uow.presence.claim()
        await uow.commit()
    assert before == after == first
    assert len({first, rolled_back, last}) == 3
    assert previous != first


async def test_a_lane_claim_names_the_last_writer_of_that_lane_and_a_full_claim_of_every_lane(
    storage: Storage,
) -> None:
    async with storage.unit_of_work() as uow:
        _, everywhere = await uow.presence.claim()  # every lane
        await uow.commit()
    async with storage.unit_of_work() as uow:
        first_zero, both = await uow.presence.claim(0)
        first_one, same = await uow.presence.claim(1)  # lane 1 was never written
        await uow.commit()
    async with storage.unit_of_work() as uow:
        previous_zero, lanes = await uow.presence.claim(0)
        previous_one, _ = await uow.presence.claim(1)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        common, _ = await uow.presence.claim()  # one transaction wrote lanes 0 and 1 last
    async with storage.unit_of_work() as uow:
        _, zero_alone = await uow.presence.claim(0)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        split, _ = await uow.presence.claim()  # lanes 0 and 1 last written apart: no one
    assert (first_zero, first_one, same) == (everywhere, None, both)
    assert previous_zero == previous_one == both
    assert common == lanes
    assert split is None
    assert len({everywhere, both, lanes, zero_alone}) == 4
