"""The presence port behaves the same on every adapter."""

from datetime import UTC, date, datetime, timedelta

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
