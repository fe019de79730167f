"""RefreshPresenceTotals sweeps the hours once, newest first, batch after batch."""

from datetime import UTC, datetime, timedelta

from securityvision.application.presence_totals import RefreshPresenceTotals, TotalsBatch
from tests.support.clock import FakeClock

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class FakeTotals:
    """Hours to redo; an hour listed in ``again`` is dirtied anew each time it is redone."""

    def __init__(self, hours: list[datetime], again: frozenset[datetime] = frozenset()) -> None:
        self.todo = set(hours)
        self.again = again
        self.calls: list[tuple[datetime, datetime | None]] = []

    async def refresh(
        self, now: datetime, *, batch_hours: int, before: datetime | None = None
    ) -> TotalsBatch:
        self.calls.append((now, before))
        candidates = sorted((h for h in self.todo if before is None or h < before), reverse=True)
        if not candidates:
            return TotalsBatch(hours=0, dropped=1 if before is None else 0)
        batch = [h for h in candidates if h > candidates[0] - timedelta(hours=batch_hours)]
        self.todo -= set(batch) - self.again
        return TotalsBatch(hours=len(batch), oldest=batch[-1])

    async def pending(self, now: datetime) -> int:
        return len(self.todo)


def hours(n: int) -> list[datetime]:
    return [NOW - timedelta(hours=i + 1) for i in range(n)]


async def test_a_run_redoes_every_pending_hour_in_batches_newest_first() -> None:
    store = FakeTotals(hours(10))
    refresh = RefreshPresenceTotals(store, FakeClock(NOW), batch_hours=4)
    assert (await refresh.execute(dry_run=True)).hours == 10
    assert store.calls == []
    done = await refresh.execute()
    assert (done.hours, done.batches) == (10, 3)
    assert store.todo == set()
    oldest_of_each_batch = [NOW - timedelta(hours=n) for n in (4, 8, 10)]
    assert [before for _, before in store.calls] == [None, *oldest_of_each_batch]
    again = await refresh.execute()
    assert (again.hours, again.batches) == (0, 0)


async def test_an_hour_dirtied_again_meanwhile_waits_for_the_next_run() -> None:
    newest = hours(3)[0]
    store = FakeTotals(hours(3), again=frozenset({newest}))
    refresh = RefreshPresenceTotals(store, FakeClock(NOW), batch_hours=1)
    done = await refresh.execute()
    assert (done.hours, done.batches) == (3, 3)
    assert store.todo == {newest}
    assert (await refresh.execute()).hours == 1
