"""The in-memory storage keeps no presence totals: its reports add up the sessions every time,
so there is never anything to refresh."""

from datetime import datetime

from securityvision.application.presence_totals import TotalsBatch


class InMemoryPresenceTotals:
    async def refresh(
        self, now: datetime, *, batch_hours: int, before: datetime | None = None
    ) -> TotalsBatch:
        return TotalsBatch(hours=0)

    async def pending(self, now: datetime) -> int:
        return 0
