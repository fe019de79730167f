"""Sessions and positions: the incremental path always equals the from-scratch one."""

import itertools
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from securityvision.domain.presence import (
    DayOf,
    PositionRules,
    PresenceSession,
    Sighting,
    TagPosition,
    merge_sessions,
    sessionize,
    track_positions,
)

T0 = datetime(2026, 11, 28, 23, 55, tzinfo=UTC)  # midnight falls inside the generated span
GAP = timedelta(seconds=15)
ZONE = ZoneInfo("America/Sao_Paulo")


def utc_day(ts: datetime) -> date:
    return ts.astimezone(UTC).date()


def local_day(ts: datetime) -> date:
    return ts.astimezone(ZONE).date()


sightings = st.lists(
    st.builds(
        Sighting,
        tag_id=st.integers(1, 2),
        device_id=st.integers(1, 2),
        ts=st.integers(0, 600).map(lambda s: T0 + timedelta(seconds=s)),
        rssi=st.integers(-100, -30),
    ),
    max_size=80,
)


class SessionTable:
    """The stored sessions, as the PostgreSQL adapter keeps them, in a list."""

    def __init__(self) -> None:
        self.rows: dict[int, PresenceSession] = {}
        self.ids = iter(range(1, 10**9))

    def near(self, batch: list[Sighting]) -> list[PresenceSession]:
        return [
            s
            for s in self.rows.values()
            if any(
                s.tag_id == b.tag_id
                and s.device_id == b.device_id
                and s.started_at - GAP <= b.ts <= s.ended_at + GAP
                for b in batch
            )
        ]

    def apply(self, batch: list[Sighting], day_of: DayOf) -> None:
        merge = merge_sessions(self.near(batch), batch, GAP, day_of)
        for session_id in merge.replaced:
            del self.rows[session_id]
        for session in merge.updated:
            assert session.id in self.rows
            self.rows[session.id] = session
        for session in merge.added:
            new_id = next(self.ids)
            self.rows[new_id] = PresenceSession(**(msgspec_fields(session) | {"id": new_id}))

    def sessions(self) -> list[PresenceSession]:
        return sorted(
            (PresenceSession(**(msgspec_fields(s) | {"id": None})) for s in self.rows.values()),
            key=lambda s: (s.tag_id, s.device_id, s.started_at),
        )


def msgspec_fields(session: PresenceSession) -> dict[str, object]:
    return msgspec.structs.asdict(session)


def canonical(sessions: list[PresenceSession]) -> list[PresenceSession]:
    return sorted(sessions, key=lambda s: (s.tag_id, s.device_id, s.started_at))


@settings(max_examples=300)
@given(sightings, st.randoms(use_true_random=False), st.integers(1, 8), st.booleans())
def test_incremental_sessions_equal_sessions_from_scratch(
    items: list[Sighting], rnd: random.Random, batches: int, in_local_time: bool
) -> None:
    day_of = local_day if in_local_time else utc_day
    shuffled = list(items)
    rnd.shuffle(shuffled)
    cuts = sorted(rnd.randint(0, len(shuffled)) for _ in range(batches - 1))
    table = SessionTable()
    for start, end in zip([0, *cuts], [*cuts, len(shuffled)], strict=True):
        table.apply(shuffled[start:end], day_of)
    assert table.sessions() == canonical(sessionize(items, GAP, day_of))


@given(sightings)
def test_sessions_never_overlap_never_cross_midnight_and_samples_add_up(
    items: list[Sighting],
) -> None:
    sessions = sessionize(items, GAP, utc_day)
    assert sum(s.samples_count for s in sessions) == len(items)
    assert sum(s.rssi_sum for s in sessions) == sum(i.rssi for i in items)
    for s in sessions:
        assert utc_day(s.started_at) == utc_day(s.ended_at) == s.day
    by_pair: dict[tuple[int, int], list[PresenceSession]] = {}
    for s in sessions:
        by_pair.setdefault((s.tag_id, s.device_id), []).append(s)
    for spans in by_pair.values():
        spans.sort(key=lambda s: s.started_at)
        for before, after in itertools.pairwise(spans):
            assert after.started_at > before.ended_at
            assert after.started_at - before.ended_at > GAP or after.day != before.day


def test_a_reading_that_bridges_two_sessions_joins_them() -> None:
    a = Sighting(tag_id=1, device_id=1, ts=T0, rssi=-60)
    b = Sighting(tag_id=1, device_id=1, ts=T0 + timedelta(seconds=20), rssi=-70)
    table = SessionTable()
    table.apply([a, b], utc_day)
    assert len(table.sessions()) == 2
    table.apply([Sighting(tag_id=1, device_id=1, ts=T0 + timedelta(seconds=10), rssi=-65)], utc_day)
    [joined] = table.sessions()
    assert (joined.samples_count, joined.rssi_max, joined.duration_seconds) == (3, -60, 20.0)


def test_a_session_is_split_at_midnight_of_the_presence_time_zone() -> None:
    midnight_utc = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    around = [
        Sighting(tag_id=1, device_id=1, ts=midnight_utc + timedelta(seconds=s), rssi=-60)
        for s in (-10, -5, 5, 10)
    ]
    assert len(sessionize(around, GAP, utc_day)) == 2
    assert len(sessionize(around, GAP, local_day)) == 1  # 21:00 in São Paulo


def test_daylight_saving_days_split_where_the_local_midnight_is() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2026-03-29: clocks jump from 02:00 to 03:00; local midnight is 23:00 UTC the day before.
    midnight = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    around = [
        Sighting(tag_id=1, device_id=1, ts=midnight + timedelta(seconds=s), rssi=-60)
        for s in (-4, 4)
    ]
    sessions = sessionize(around, GAP, lambda ts: ts.astimezone(berlin).date())
    assert [s.day for s in sessions] == [date(2026, 3, 28), date(2026, 3, 29)]


RULES = PositionRules()


def hear(tag: int, device: int, seconds: float, rssi: int) -> Sighting:
    return Sighting(tag_id=tag, device_id=device, ts=T0 + timedelta(seconds=seconds), rssi=rssi)


def test_the_gateway_that_hears_a_tag_best_holds_it() -> None:
    positions, moved = track_positions({}, [hear(1, 1, 0, -80), hear(1, 2, 0.5, -60)], RULES)
    assert positions[1].device_id == 2
    assert [p.tag_id for p in moved] == [1]
    assert 0.5 < positions[1].confidence <= 1.0


def test_a_tag_between_two_gateways_does_not_flap() -> None:
    state: dict[int, TagPosition] = {}
    holders = []
    for i in range(40):
        noise = 2 if i % 2 else -2  # the two gateways take turns being a little stronger
        batch = [hear(1, 1, i, -70 + noise), hear(1, 2, i + 0.1, -70 - noise)]
        updated, _ = track_positions(state, batch, RULES)
        state |= updated
        holders.append(state[1].device_id)
    assert len(set(holders[2:])) == 1


def test_a_clearly_stronger_gateway_takes_over_and_a_silent_one_lets_go() -> None:
    state, _ = track_positions({}, [hear(1, 1, 0, -60)], RULES)
    stronger = [hear(1, 1, i, -75) for i in range(1, 6)] + [hear(1, 2, i, -60) for i in range(1, 6)]
    state2, moved = track_positions(state, stronger, RULES)
    assert state2[1].device_id == 2
    assert moved
    # Gateway 2 falls silent for longer than the window; gateway 1 hears the tag, weakly.
    state3, _ = track_positions(state2, [hear(1, 1, 30, -90)], RULES)
    assert state3[1].device_id == 1
    assert state3[1].confidence == 1.0


def test_late_readings_do_not_move_a_tag_back_in_time() -> None:
    state, _ = track_positions({}, [hear(1, 1, 10, -60)], RULES)
    updated, moved = track_positions(state, [hear(1, 2, 5, -40)], RULES)
    assert updated == {}
    assert moved == []
