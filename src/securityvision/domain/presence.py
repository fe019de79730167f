"""Presence: where each tag was (sessions) and where it is now (positions).

A **session** is a maximal run of readings of one tag at one gateway, within one day, whose
consecutive readings are at most ``gap`` apart. Days are those of the presence time zone:
splitting at midnight keeps every session inside one day, so a day can be rolled up and its
raw readings dropped without cutting a session in two.

Sessions are kept current at ingest by ``merge_sessions``, batch after batch, in whatever order
readings arrive; ``sessionize`` computes them from scratch. The two always agree (property
tests hold them to it).

A tag's **position** is the gateway that hears it best, judged by RSSI smoothed over recent
readings, with hysteresis: another gateway takes over only when it is clearly stronger, so a
tag standing between two gateways does not flap between them.
"""

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

import msgspec

DayOf = Callable[[datetime], date]


class Sighting(msgspec.Struct, frozen=True, kw_only=True):
    """The part of a stored reading that presence cares about."""

    tag_id: int
    device_id: int
    ts: datetime
    rssi: int


class PresenceSession(msgspec.Struct, frozen=True, kw_only=True):
    """A session; ``id`` is None until stored."""

    tag_id: int
    device_id: int
    day: date
    started_at: datetime
    ended_at: datetime
    samples_count: int
    rssi_sum: int
    rssi_max: int
    id: int | None = None

    @property
    def duration_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def rssi_avg(self) -> float:
        return self.rssi_sum / self.samples_count

    def same_run(self, other: "PresenceSession") -> bool:
        """Equal as sessions, whatever their ids."""
        return msgspec.structs.replace(self, id=None) == msgspec.structs.replace(other, id=None)


def sessionize(
    sightings: Iterable[Sighting], gap: timedelta, day_of: DayOf
) -> list[PresenceSession]:
    """Sessions from scratch: the reference the incremental path is checked against."""
    return merge_sessions([], sightings, gap, day_of).sessions


class SessionMerge(msgspec.Struct, frozen=True, kw_only=True):
    """What a batch does to the stored sessions: ``replaced`` ids go, ``updated`` sessions
    keep their ids with new bounds and totals (the common case: a reading extends the tag's
    current session, an update in place), ``added`` come (their ``id`` None); ``sessions`` is
    the resulting set over the pairs and days involved."""

    replaced: tuple[int, ...]
    updated: tuple[PresenceSession, ...]
    added: tuple[PresenceSession, ...]
    sessions: list[PresenceSession]


def merge_sessions(
    existing: Sequence[PresenceSession],
    sightings: Iterable[Sighting],
    gap: timedelta,
    day_of: DayOf,
) -> SessionMerge:
    """Fold new readings into the stored sessions they touch.

    ``existing`` must hold every stored session of the readings' (tag, gateway, day) that
    reaches within ``gap`` of them. A session is an interval whose inner gaps are all within
    ``gap``, so adding readings can only grow sessions or join neighbours — never split one:
    sweeping intervals and points in start order and joining whatever lies within ``gap`` of
    the run so far gives exactly the sessions of all the readings together.
    """
    spans: dict[tuple[int, int, date], list[PresenceSession]] = defaultdict(list)
    for session in existing:
        spans[(session.tag_id, session.device_id, session.day)].append(session)
    for s in sightings:
        day = day_of(s.ts)
        spans[(s.tag_id, s.device_id, day)].append(
            PresenceSession(
                tag_id=s.tag_id,
                device_id=s.device_id,
                day=day,
                started_at=s.ts,
                ended_at=s.ts,
                samples_count=1,
                rssi_sum=s.rssi,
                rssi_max=s.rssi,
            )
        )
    replaced: list[int] = []
    updated: list[PresenceSession] = []
    added: list[PresenceSession] = []
    result: list[PresenceSession] = []
    for key in sorted(spans):
        items = sorted(spans[key], key=lambda x: (x.started_at, x.ended_at))
        run = [items[0]]
        run_end = items[0].ended_at
        for item in itertools.islice(items, 1, None):
            if item.started_at - run_end > gap:
                _close(run, _Changes(replaced, updated, added, result))
                run = []
            run.append(item)
            run_end = max(run_end, item.ended_at)
        _close(run, _Changes(replaced, updated, added, result))
    return SessionMerge(
        replaced=tuple(sorted(replaced)),
        updated=tuple(updated),
        added=tuple(added),
        sessions=result,
    )


class _Changes(msgspec.Struct, frozen=True):
    replaced: list[int]
    updated: list[PresenceSession]
    added: list[PresenceSession]
    result: list[PresenceSession]


def _close(run: list[PresenceSession], changes: _Changes) -> None:
    stored = sorted(r.id for r in run if r.id is not None)
    if len(run) == 1 and stored:
        changes.result.append(run[0])  # a stored session nothing touched
        return
    first = run[0]
    merged = PresenceSession(
        tag_id=first.tag_id,
        device_id=first.device_id,
        day=first.day,
        started_at=min(r.started_at for r in run),
        ended_at=max(r.ended_at for r in run),
        samples_count=sum(r.samples_count for r in run),
        rssi_sum=sum(r.rssi_sum for r in run),
        rssi_max=max(r.rssi_max for r in run),
        id=stored[0] if stored else None,
    )
    # The run keeps its oldest stored session's row; any other stored session it swallowed
    # goes.
    changes.replaced.extend(stored[1:])
    (changes.updated if stored else changes.added).append(merged)
    changes.result.append(merged)


class DailyUsage(msgspec.Struct, frozen=True, kw_only=True):
    """A day (in the presence time zone) of one tag at one gateway, once rolled up: what its
    sessions added up to. A row of ``presence_daily_usage``."""

    tag_id: int
    device_id: int
    day: date
    total_dwell_seconds: float
    sessions_count: int
    samples_count: int
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None


def add_up_day(sessions: Iterable[PresenceSession]) -> list[DailyUsage]:
    """Per (tag, gateway, day), what the sessions add up to."""
    totals: dict[tuple[int, int, date], DailyUsage] = {}
    for s in sessions:
        key = (s.tag_id, s.device_id, s.day)
        known = totals.get(key)
        totals[key] = DailyUsage(
            tag_id=s.tag_id,
            device_id=s.device_id,
            day=s.day,
            total_dwell_seconds=s.duration_seconds + (known.total_dwell_seconds if known else 0),
            sessions_count=1 + (known.sessions_count if known else 0),
            samples_count=s.samples_count + (known.samples_count if known else 0),
            first_seen_at=min(s.started_at, known.first_seen_at or s.started_at)
            if known
            else s.started_at,
            last_seen_at=max(s.ended_at, known.last_seen_at or s.ended_at) if known else s.ended_at,
        )
    return [totals[k] for k in sorted(totals)]


def merge_usage(before: DailyUsage | None, more: DailyUsage) -> DailyUsage:
    """A day rolled up again (readings that came late): totals add up."""
    if before is None:
        return more
    return DailyUsage(
        tag_id=more.tag_id,
        device_id=more.device_id,
        day=more.day,
        total_dwell_seconds=before.total_dwell_seconds + more.total_dwell_seconds,
        sessions_count=before.sessions_count + more.sessions_count,
        samples_count=before.samples_count + more.samples_count,
        first_seen_at=min(d for d in (before.first_seen_at, more.first_seen_at) if d)
        if before.first_seen_at or more.first_seen_at
        else None,
        last_seen_at=max(d for d in (before.last_seen_at, more.last_seen_at) if d)
        if before.last_seen_at or more.last_seen_at
        else None,
    )


# --- Positions ----------------------------------------------------------------------------


class PositionRules(msgspec.Struct, frozen=True, kw_only=True):
    """How positions are judged.

    - ``smoothing``: weight of a new reading in the exponential moving average of a gateway's
      RSSI for a tag (0.3: a reading moves the average a third of the way).
    - ``window``: a gateway that has not heard the tag for this long stops being a candidate,
      and its average starts afresh when it hears it again.
    - ``hysteresis_db``: how much stronger (smoothed) another gateway must be to take over.
    """

    smoothing: float = 0.3
    window: timedelta = timedelta(seconds=10)
    hysteresis_db: float = 4.0


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    rssi: float
    last_seen_at: datetime


class TagPosition(msgspec.Struct, frozen=True, kw_only=True):
    """Where a tag is: ``device_id`` since ``since``, last heard at ``last_seen_at``.

    ``confidence`` is the current gateway's share of the received power among the candidates
    (1.0 when only it hears the tag; 0.5 when another hears it as strongly).
    """

    tag_id: int
    device_id: int
    since: datetime
    last_seen_at: datetime
    confidence: float
    candidates: tuple[Candidate, ...] = ()


def track_positions(
    current: dict[int, TagPosition], sightings: Iterable[Sighting], rules: PositionRules
) -> tuple[dict[int, TagPosition], list[TagPosition]]:
    """Update positions with new readings (in time order; readings older than a tag's last
    known one say nothing about where it is now and are skipped). Returns the new positions
    of the tags touched and those whose gateway changed."""
    by_tag: dict[int, list[Sighting]] = defaultdict(list)
    for s in sightings:
        by_tag[s.tag_id].append(s)
    updated: dict[int, TagPosition] = {}
    moved: list[TagPosition] = []
    for tag_id, tag_sightings in by_tag.items():
        before = current.get(tag_id)
        position = before
        for s in sorted(tag_sightings, key=lambda x: x.ts):
            if position is not None and s.ts < position.last_seen_at:
                continue
            position = _observe(position, s, rules)
        if position is None or position == before:
            continue
        updated[tag_id] = position
        if before is None or before.device_id != position.device_id:
            moved.append(position)
    return updated, moved


def _observe(position: TagPosition | None, s: Sighting, rules: PositionRules) -> TagPosition:
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
    return TagPosition(
        tag_id=s.tag_id,
        device_id=holder.device_id,
        since=since,
        last_seen_at=s.ts,
        confidence=_power_share(holder, candidates.values()),
        candidates=tuple(sorted(candidates.values(), key=lambda c: c.device_id)),
    )


def _power_share(holder: Candidate, candidates: Iterable[Candidate]) -> float:
    """RSSI is logarithmic: compare milliwatts, not decibels."""
    total = sum(math.pow(10, c.rssi / 10) for c in candidates)
    return round(math.pow(10, holder.rssi / 10) / total, 3)
