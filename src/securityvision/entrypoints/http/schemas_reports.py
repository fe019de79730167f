"""HTTP shapes of the reports that are not the use cases' own, and their query parameters."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar.params import Parameter

from securityvision.application.reports import MAX_TRANSITIONS, SessionRow

Granularity = Literal["day", "week", "month", "year"]
MinDuration = Annotated[
    float | None,
    Parameter(ge=0, description="Drop live sessions shorter than this before adding up"),
]
TransitionLimit = Annotated[int, Parameter(ge=1, le=MAX_TRANSITIONS)]
TimelineLimit = Annotated[int, Parameter(ge=1, le=5000)]
MaxEvents = Annotated[int, Parameter(ge=1, le=5000)]


class DwellSessionRead(msgspec.Struct, frozen=True, kw_only=True):
    """The original's ``PresenceSessionRead`` plus the day and RSSI the sessions now keep."""

    id: int
    device_id: int
    tag_id: int
    day: str
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    samples_count: int
    rssi_avg: float
    rssi_max: int

    @classmethod
    def of(cls, row: SessionRow) -> "DwellSessionRead":
        return cls(
            id=row.id,
            device_id=row.device_id,
            tag_id=row.tag_id,
            day=row.day.isoformat(),
            started_at=row.started_at,
            ended_at=row.ended_at,
            duration_seconds=round(row.duration_seconds, 3),
            samples_count=row.samples_count,
            rssi_avg=round(row.rssi_avg, 3),
            rssi_max=row.rssi_max,
        )
