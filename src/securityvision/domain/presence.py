"""Presence sessions: maximal runs of readings of one tag at one gateway."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec


class Sighting(msgspec.Struct, frozen=True, kw_only=True):
    """The part of a reading that presence cares about."""

    tag_id: int
    device_id: int
    ts: datetime
    rssi: int


class PresenceSession(msgspec.Struct, frozen=True, kw_only=True):
    tag_id: int
    device_id: int
    started_at: datetime
    ended_at: datetime
    samples_count: int
    rssi_sum: int
    rssi_max: int

    @property
    def duration_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def rssi_avg(self) -> float:
        return self.rssi_sum / self.samples_count


def sessionize(sightings: Iterable[Sighting], gap: timedelta) -> list[PresenceSession]:
    """Split each (tag, device)'s sightings into sessions whose consecutive gaps are <= ``gap``.

    The result depends only on the multiset of sightings, never on their order: this is the
    reference the incremental path at ingest is checked against.
    """
    by_pair: dict[tuple[int, int], list[Sighting]] = defaultdict(list)
    for sighting in sightings:
        by_pair[(sighting.tag_id, sighting.device_id)].append(sighting)
    sessions: list[PresenceSession] = []
    for (tag_id, device_id), group in sorted(by_pair.items()):
        group.sort(key=lambda s: (s.ts, s.rssi))
        run = [group[0]]
        for sighting in group[1:]:
            if sighting.ts - run[-1].ts > gap:
                sessions.append(_session_of(tag_id, device_id, run))
                run = []
            run.append(sighting)
        sessions.append(_session_of(tag_id, device_id, run))
    return sessions


def _session_of(tag_id: int, device_id: int, run: list[Sighting]) -> PresenceSession:
    return PresenceSession(
        tag_id=tag_id,
        device_id=device_id,
        started_at=run[0].ts,
        ended_at=run[-1].ts,
        samples_count=len(run),
        rssi_sum=sum(s.rssi for s in run),
        rssi_max=max(s.rssi for s in run),
    )
