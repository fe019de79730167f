"""The overview's accelerator: presence totals per hour and day, refreshed in the background.

The store keeps, per UTC hour and per UTC day, what the sessions of each tag and each gateway
add up to; the overview reads those for the parts of its window they cover and the sessions
for the rest (docs/presence.md). The store marks what changed since by itself (in
PostgreSQL, triggers on the sessions), so correctness never depends on this job having run:
it only decides how much of a window is read from the totals.
"""

from datetime import datetime
from typing import Protocol

import msgspec

from securityvision.application.ports import Clock

# Hours recomputed per batch (one statement, one transaction): the sessions read span them
# plus the 26 hours before (the longest a session lasts, split at midnight).
BATCH_HOURS = 48


class TotalsBatch(msgspec.Struct, frozen=True, kw_only=True):
    """One batch: the hours recomputed (0: nothing was left to do), the oldest of them, and
    the hours dropped because no live session reaches them any more (rolled up, deleted)."""

    hours: int
    oldest: datetime | None = None
    dropped: int = 0


class TotalsRefresh(msgspec.Struct, frozen=True, kw_only=True):
    hours: int
    batches: int
    dropped: int


class PresenceTotalsStore(Protocol):
    """Where the totals are kept. A store without an accelerator (in memory) has nothing to
    refresh and always answers 0."""

    async def refresh(
        self, now: datetime, *, batch_hours: int, before: datetime | None = None
    ) -> TotalsBatch:
        """Recompute one batch of hours, newest first: hours marked dirty and hours never
        materialized, that ended 10 minutes before ``now`` (or before the database's own
        time, if earlier), that a live session reaches, and that start before ``before``;
        at most ``batch_hours`` of them, within ``batch_hours`` of the newest. Runs under a
        lock: concurrent refreshes take turns."""
        ...

    async def pending(self, now: datetime) -> int:
        """How many hours a refresh at ``now`` would recompute (a dry run)."""
        ...


class RefreshPresenceTotals:
    """Bring the presence totals up to date, batch after batch, newest hours first.

    - Newest hours first: the overview's default window (the last 7 days) is served first
      after a deployment or a long outage.
    - One sweep per run, newest to oldest. Idempotent: a second run finds nothing to do.
      Hours whose sessions change afterwards (late readings, the rollup, deletes) are marked
      by the store and redone by the next run.
    - Run periodically by the worker (``PRESENCE_TOTALS_INTERVAL_SECONDS``) and at the end of
      ``securityvision rollup``.
    """

    def __init__(
        self, store: PresenceTotalsStore, clock: Clock, *, batch_hours: int = BATCH_HOURS
    ) -> None:
        self._store = store
        self._clock = clock
        self._batch_hours = batch_hours

    async def execute(self, *, dry_run: bool = False) -> TotalsRefresh:
        """With ``dry_run``, ``hours`` is what would be recomputed and nothing changes."""
        if dry_run:
            pending = await self._store.pending(self._clock.now())
            return TotalsRefresh(hours=pending, batches=0, dropped=0)
        now = self._clock.now()
        hours = batches = dropped = 0
        before: datetime | None = None
        # One sweep from the newest hour to the oldest: an hour dirtied again meanwhile (or
        # whose mark a transaction still held) waits for the next run instead of being
        # chased here.
        while True:
            batch = await self._store.refresh(now, batch_hours=self._batch_hours, before=before)
            dropped += batch.dropped
            if batch.hours == 0 or batch.oldest is None:
                return TotalsRefresh(hours=hours, batches=batches, dropped=dropped)
            hours += batch.hours
            batches += 1
            before = batch.oldest
