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
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

import msgspec

DayOf = Callable[[datetime], date]


# Structs of scalars only (no reference cycles possible) are left out of the cyclic garbage
# collector (gc=False): a batch makes thousands, the position cache keeps tens of thousands,
# and a full collection walking them all cost the worker ~10 % of its CPU at ingest.
class Sighting(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The part of a stored reading that presence cares about."""

    tag_id: int
    device_id: int
    ts: datetime
    rssi: int


class PresenceSession(msgspec.Struct, frozen=True, kw_only=True, gc=False):
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


def fold_runs(
    sightings: Iterable[Sighting], gap: timedelta, day_of: DayOf
) -> tuple[list[PresenceSession], list[Sighting]]:
    """The batch's readings of each (tag, gateway) folded into one run, when they make one.

    Returns the runs (sessions without ids: one per (tag, gateway) whose readings in the batch
    lie within one day with no gap wider than ``gap``) and, apart, the readings of the
    (tag, gateway)s whose readings do not (several runs, or a midnight between them): those
    go through ``merge_sessions``. The usual batch hears a tag once at a gateway.
    """
    by_pair: dict[tuple[int, int], list[Sighting]] = {}
    for s in sightings:
        key = (s.tag_id, s.device_id)
        known = by_pair.get(key)
        if known is None:
            by_pair[key] = [s]
        else:
            known.append(s)
    runs: list[PresenceSession] = []
    rest: list[Sighting] = []
    for pair in by_pair.values():
        if len(pair) > 1:
            pair.sort(key=_ts_of)
        first = pair[0]
        day = day_of(first.ts)
        if len(pair) > 1 and (
            day_of(pair[-1].ts) != day
            or any(b.ts - a.ts > gap for a, b in itertools.pairwise(pair))
        ):
            rest.extend(pair)
            continue
        if len(pair) == 1:
            rssi_sum = rssi_max = first.rssi
        else:
            rssi = [s.rssi for s in pair]
            rssi_sum, rssi_max = sum(rssi), max(rssi)
        runs.append(
            PresenceSession(
                tag_id=first.tag_id,
                device_id=first.device_id,
                day=day,
                started_at=first.ts,
                ended_at=pair[-1].ts,
                samples_count=len(pair),
                rssi_sum=rssi_sum,
                rssi_max=rssi_max,
            )
        )
    return runs, rest


def _ts_of(s: Sighting) -> datetime:
    return s.ts


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
    - ``max_candidates``: at most this many gateways are followed per tag, the holder and the
      strongest others; a weaker one dropped starts afresh if it is heard again. A tag in
      range of dozens of gateways costs no more than one in range of a few, and the
      gateways beyond the strongest few never decide where it is.
    """

    smoothing: float = 0.3
    window: timedelta = timedelta(seconds=10)
    hysteresis_db: float = 4.0
    max_candidates: int = 8


class Candidate(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    device_id: int
    rssi: float
    last_seen_at: datetime


class TagPosition(msgspec.Struct, frozen=True, kw_only=True, gc=False):
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
    by_tag: dict[int, list[Sighting]] = {}
    for s in sightings:
        known = by_tag.get(s.tag_id)
        if known is None:
            by_tag[s.tag_id] = [s]
        else:
            known.append(s)
    updated: dict[int, TagPosition] = {}
    moved: list[TagPosition] = []
    for tag_id, tag_sightings in by_tag.items():
        before = current.get(tag_id)
        if len(tag_sightings) > 1:
            tag_sightings.sort(key=_ts_of)
        position = _follow(before, tag_sightings, rules)
        if position is None or position is before:
            continue
        updated[tag_id] = position
        if before is None or before.device_id != position.device_id:
            moved.append(position)
    return updated, moved


def _follow(
    before: TagPosition | None, sightings: list[Sighting], rules: PositionRules
) -> TagPosition | None:
    """One tag's readings, in time order, applied one by one to its candidates: (smoothed
    RSSI, last heard) by gateway, in the order they became candidates. ``before`` itself when
    every reading is older than its last one."""
    if before is None:
        holder: int | None = None
        since = last = None
        candidates: dict[int, tuple[float, datetime]] = {}
    else:
        holder, since, last = before.device_id, before.since, before.last_seen_at
        candidates = {c.device_id: (c.rssi, c.last_seen_at) for c in before.candidates}
    smoothing, hysteresis, limit = rules.smoothing, rules.hysteresis_db, rules.max_candidates
    window, kept_share = rules.window, 1 - smoothing
    applied = False
    for s in sightings:
        ts = s.ts
        if last is not None and ts < last:
            continue
        applied = True
        horizon = ts - window
        for _, seen in candidates.values():
            if seen < horizon:
                candidates = {d: c for d, c in candidates.items() if c[1] >= horizon}
                break
        previous = candidates.get(s.device_id)
        rssi = float(s.rssi) if previous is None else smoothing * s.rssi + kept_share * previous[0]
        candidates[s.device_id] = (rssi, ts)
        best = max(candidates, key=candidates.__getitem__)
        held = candidates.get(holder) if holder is not None else None
        if held is None or candidates[best][0] >= held[0] + hysteresis:
            if best != holder:
                since = ts
            holder = best
        last = ts
        if len(candidates) > limit:
            # The weakest go first (the earlier heard among equals); the holder stays.
            strongest = sorted(candidates, key=candidates.__getitem__, reverse=True)
            kept = {holder, *[d for d in strongest if d != holder][: limit - 1]}
            candidates = {d: c for d, c in candidates.items() if d in kept}
    if not applied or holder is None or since is None or last is None:
        return before
    return TagPosition(
        tag_id=sightings[0].tag_id,
        device_id=holder,
        since=since,
        last_seen_at=last,
        confidence=_power_share(candidates[holder][0], candidates.values()),
        candidates=tuple(
            [
                Candidate(device_id=d, rssi=c[0], last_seen_at=c[1])
                for d, c in sorted(candidates.items())
            ]
        ),
    )


def _power_share(holder: float, candidates: Iterable[tuple[float, datetime]]) -> float:
    """RSSI is logarithmic: compare milliwatts, not decibels. (A plain loop: a list built for
    ``sum`` was most of the cost, once per tag and batch.)"""
    total = 0.0
    for rssi, _ in candidates:
        total += 10.0 ** (rssi / 10)
    share: float = 10.0 ** (holder / 10) / total
    return round(share, 3)
