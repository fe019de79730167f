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

# Positions kept in memory at most (~1.3 KB each with 8 candidates); beyond, they are dropped
# and read again from PostgreSQL.
POSITION_CACHE_LIMIT = 50_000
# Tags are split into this many lanes (tag id modulo it), whose presence can be written by
# transactions running side by side. Fixed: every writer must agree which tags a lane holds.
PRESENCE_LANES = 2


def utc_day(ts: datetime) -> date:
    return ts.date() if ts.tzinfo is UTC else ts.astimezone(UTC).date()


class PresenceFollower:
    """Fold new readings into sessions and positions, inside the caller's unit of work.

    - Only readings that were actually new may be given (a duplicate would count twice).
    - The tags are locked for the rest of the transaction, so two workers ingesting readings
      of one tag take turns instead of overwriting each other's sessions.
    - The usual case — a tag's new readings at a gateway come after its latest session there
      — is one set-based step (``extend_sessions``); late readings, and readings of a gateway
      that make several runs in one batch, go through the general merge.
    - Positions it wrote are kept in memory (up to ``cache_limit`` tags) and used instead of
      reading them back, as long as the store says this follower's last transaction was the
      last to write presence; anything else (another worker, a reading typed in, a rollback)
      empties the cache, and positions are read from PostgreSQL, the record.
    """

    def __init__(
        self,
        *,
        session_gap: timedelta = timedelta(seconds=15),
        day_of: DayOf = utc_day,
        position_rules: PositionRules | None = None,
        cache_limit: int = POSITION_CACHE_LIMIT,
    ) -> None:
        self._gap = session_gap
        self._day_of = day_of
        self._rules = position_rules or PositionRules()
        self._cache_limit = cache_limit
        # Positions as this follower last wrote them, valid while it is the last writer (of
        # every lane: key None; of one lane: its number).
        self._positions: dict[int, TagPosition] = {}
        self._written_by: dict[int | None, int] = {}

    async def follow(
        self, uow: UnitOfWork, sightings: Sequence[Sighting], *, lane: int | None = None
    ) -> list[TagPosition]:
        """Returns the positions that moved to another gateway. ``lane``: the sightings are
        all of tags of that lane (``tag_id % PRESENCE_LANES``), and only that lane is claimed,
        so that another transaction may follow another lane at the same time."""
        if not sightings:
            return []
        tag_ids = {s.tag_id for s in sightings}
        previous, mine = await uow.presence.claim(lane)
        if previous is None or previous != self._written_by.get(lane):
            # Someone else wrote since (or our last write rolled back): what this follower
            # remembers is forgotten, every lane's (the record is PostgreSQL).
            self._positions.clear()
            self._written_by.clear()
        await uow.presence.lock_tags(tag_ids)
        runs, rest = fold_runs(sightings, self._gap, self._day_of)
        late = set(await uow.presence.extend_sessions(runs, self._gap))
        if late:
            rest += [s for s in sightings if (s.tag_id, s.device_id) in late]
        if rest:
            existing = await uow.presence.sessions_near(rest, self._gap)
            merge = merge_sessions(existing, rest, self._gap, self._day_of)
            await uow.presence.replace_sessions(merge.replaced, merge.added, merge.updated)
        known = self._positions
        positions = {t: known[t] for t in tag_ids if t in known}
        if len(positions) < len(tag_ids):
            positions |= await uow.presence.positions(tag_ids - positions.keys())
        updated, moved = track_positions(positions, sightings, self._rules)
        await uow.presence.save_positions(updated.values())
        # What PostgreSQL holds once this transaction commits; the next claim tells.
        if len(known) + len(positions) > self._cache_limit:
            known.clear()
        known |= positions
        known |= updated
        self._written_by[lane] = mine
        return moved
