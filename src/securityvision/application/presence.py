"""Keeping presence current: every new reading, from a gateway or typed in by hand, is folded
into its tag's sessions and position in the transaction that stores it."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from securityvision.application.ports import UnitOfWork
from securityvision.domain.presence import (
    DayOf,
    PositionRules,
    Sighting,
    TagPosition,
    fold_runs,
    merge_sessions,
    track_positions,
)


def utc_day(ts: datetime) -> date:
    return ts.astimezone(UTC).date()


class PresenceFollower:
    """Fold new readings into sessions and positions, inside the caller's unit of work.

    - Only readings that were actually new may be given (a duplicate would count twice).
    - The tags are locked for the rest of the transaction, so two workers ingesting readings
      of one tag take turns instead of overwriting each other's sessions.
    - The usual case — a tag's new readings at a gateway come after its latest session there
      — is one set-based step (``extend_sessions``); late readings, and readings of a gateway
      that make several runs in one batch, go through the general merge.
    """

    def __init__(
        self,
        *,
        session_gap: timedelta = timedelta(seconds=15),
        day_of: DayOf = utc_day,
        position_rules: PositionRules | None = None,
    ) -> None:
        self._gap = session_gap
        self._day_of = day_of
        self._rules = position_rules or PositionRules()

    async def follow(self, uow: UnitOfWork, sightings: Sequence[Sighting]) -> list[TagPosition]:
        """Returns the positions that moved to another gateway."""
        if not sightings:
            return []
        tag_ids = {s.tag_id for s in sightings}
        await uow.presence.lock_tags(tag_ids)
        runs, rest = fold_runs(sightings, self._gap, self._day_of)
        late = set(await uow.presence.extend_sessions(runs, self._gap))
        if late:
            rest += [s for s in sightings if (s.tag_id, s.device_id) in late]
        if rest:
            existing = await uow.presence.sessions_near(rest, self._gap)
            merge = merge_sessions(existing, rest, self._gap, self._day_of)
            await uow.presence.replace_sessions(merge.replaced, merge.added, merge.updated)
        positions = await uow.presence.positions(tag_ids)
        updated, moved = track_positions(dict(positions), sightings, self._rules)
        await uow.presence.save_positions(updated.values())
        return moved
