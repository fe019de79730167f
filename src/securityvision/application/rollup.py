"""Retention: roll whole days of presence up into daily usage, then drop their raw data."""

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol

import msgspec

from securityvision.application.ports import Clock


class DayRollup(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    sessions: int
    readings: int


class RollupStore(Protocol):
    """One day at a time, each in a transaction of its own, so a rollup cut short resumes
    where it stopped."""

    async def days_with_presence(self, before: date) -> Sequence[date]:
        """Days before ``before`` that still have sessions (rolled up or not: late readings
        of a day already rolled up leave sessions behind too), oldest first."""
        ...

    async def roll_up_day(
        self, day: date, start: datetime, end: datetime, zone_name: str, *, dry_run: bool
    ) -> DayRollup:
        """Add the day's sessions to ``presence_daily_usage`` (per tag and gateway), record
        the day as rolled up, delete its sessions and raw readings (``[start, end)``)."""
        ...


class RollUpPresence:
    """Roll up every day (in the presence time zone) that ended more than ``retention``
    days ago.

    - The day is the unit: sessions are split at midnight, so nothing straddles the cutoff
      and nothing is lost or counted twice.
    - Running it twice changes nothing: a day's sessions are gone once they are added up.
    - Readings that arrive late for a day already rolled up are added to it on the next run.
    """

    def __init__(
        self,
        store: RollupStore,
        clock: Clock,
        *,
        zone: tzinfo,
        zone_name: str,
    ) -> None:
        self._store = store
        self._clock = clock
        self._zone = zone
        self._zone_name = zone_name

    def cutoff(self, retention_days: int) -> date:
        """The first day kept: days before it ended more than ``retention_days`` ago."""
        today = self._clock.now().astimezone(self._zone).date()
        return today - timedelta(days=retention_days)

    async def execute(
        self,
        retention_days: int,
        *,
        dry_run: bool = False,
        on_day: Callable[[DayRollup, int], None] | None = None,
    ) -> list[DayRollup]:
        """``on_day`` is told each day as soon as it is rolled up, with the number of days
        this run has to do (progress)."""
        store = self._store
        done = []
        days = await store.days_with_presence(self.cutoff(retention_days))
        for day in days:
            start = datetime.combine(day, time(), self._zone)
            end = datetime.combine(day + timedelta(days=1), time(), self._zone)
            done.append(await store.roll_up_day(day, start, end, self._zone_name, dry_run=dry_run))
            if on_day is not None:
                on_day(done[-1], len(days))
        return done
