"""``/api/v1/reports`` and ``/api/v1/dashboard``: presence reports (docs/reports.md).

Everyone signed in reads. Times are accepted as ISO 8601 with ``Z`` or an offset (naive
means UTC) and answered in UTC; the window defaults apply only when ``from_ts`` and
``to_ts`` are both absent.
"""

from datetime import datetime
from typing import TypedDict

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery

from securityvision.application.reports import (
    AlertsSummary,
    BuildingSummary,
    DashboardSummary,
    GatewayConcurrency,
    GatewayHours,
    GatewayOccupancy,
    GatewayUsageSummary,
    GroupSummary,
    Overview,
    PersonAlerts,
    PersonCalendar,
    PersonHours,
    PersonHoursByGateway,
    PersonSummary,
    PersonWeekdays,
    Reports,
    TimeBucket,
    TimelineSession,
    TransitionFilter,
    TransitionRow,
)
from securityvision.entrypoints.http.controllers.params import Limit, Skip
from securityvision.entrypoints.http.schemas_reports import (
    DwellSessionRead,
    Granularity,
    MaxEvents,
    MinDuration,
    TimelineLimit,
    TransitionLimit,
)

Ts = FromQuery[datetime | None]


class Bounds(TypedDict):
    from_ts: datetime | None
    to_ts: datetime | None


class UsageBounds(Bounds):
    min_duration_seconds: float | None


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """The window a report is asked for (the use case applies its default window)."""

    from_ts: datetime | None = None
    to_ts: datetime | None = None

    def bounds(self) -> Bounds:
        return {"from_ts": self.from_ts, "to_ts": self.to_ts}


class UsagePeriod(Period, frozen=True, kw_only=True):
    """The window and the shortest session counted, for the reports over sessions."""

    min_duration_seconds: float | None = None

    def bounds(self) -> UsageBounds:
        return {
            "from_ts": self.from_ts,
            "to_ts": self.to_ts,
            "min_duration_seconds": self.min_duration_seconds,
        }


def report_period(*, from_ts: Ts = None, to_ts: Ts = None) -> Period:
    """``from_ts`` and ``to_ts``, declared once for every report route."""
    return Period(from_ts=from_ts, to_ts=to_ts)


def usage_period(
    *, period: NamedDependency[Period], min_duration_seconds: MinDuration = None
) -> UsagePeriod:
    """The window plus ``min_duration_seconds``, for the routes that filter sessions."""
    return UsagePeriod(**period.bounds(), min_duration_seconds=min_duration_seconds)


class ReportsController(Controller):
    path = "/reports"
    tags = ["reports"]
    dependencies = {
        "period": Provide(report_period, sync_to_thread=False),
        "usage": Provide(usage_period, sync_to_thread=False),
    }

    @get("/dwell-sessions")
    async def dwell_sessions(
        self,
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
        device_id: FromQuery[int | None] = None,
        tag_id: FromQuery[int | None] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[DwellSessionRead]:
        """Live sessions overlapping the window, newest first (no default window)."""
        rows = await reports.dwell_sessions.execute(
            **period.bounds(), device_id=device_id, tag_id=tag_id, skip=skip, limit=limit
        )
        return [DwellSessionRead.of(r) for r in rows]

    @get("/presence-transitions")
    async def presence_transitions(
        self,
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
        person_id: FromQuery[int | None] = None,
        tag_id: FromQuery[int | None] = None,
        device_id: FromQuery[int | None] = None,
        from_device_id: FromQuery[int | None] = None,
        to_device_id: FromQuery[int | None] = None,
        limit: TransitionLimit = 1000,
    ) -> list[TransitionRow]:
        """Consecutive sessions of tags arriving in the window (default 7 days), newest
        first; ``device_id`` matches either end."""
        where = TransitionFilter(
            **period.bounds(),
            person_id=person_id,
            tag_id=tag_id,
            device_id=device_id,
            from_device_id=from_device_id,
            to_device_id=to_device_id,
        )
        return await reports.transitions.execute(where, limit)

    @get("/overview")
    async def overview(
        self,
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
        device_id: FromQuery[int | None] = None,
        tag_id: FromQuery[int | None] = None,
    ) -> Overview:
        """Totals and top ten buildings, floors, groups, gateways and people (7 days)."""
        return await reports.overview.execute(**period.bounds(), device_id=device_id, tag_id=tag_id)

    @get("/person-group/{group_id:int}/summary")
    async def group_summary(
        self,
        group_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
    ) -> GroupSummary:
        """The group's dwell per gateway and per member (7 days)."""
        return await reports.group_summary.execute(group_id, **usage.bounds())

    @get("/person/{person_id:int}/summary")
    async def person_summary(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
    ) -> PersonSummary:
        """The person's dwell in total and per gateway (7 days)."""
        return await reports.person_summary.execute(person_id, **usage.bounds())

    @get("/person/{person_id:int}/timeline")
    async def person_timeline(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
        limit: TimelineLimit = 1000,
    ) -> list[TimelineSession]:
        """The person's sessions in time order, with places (7 days)."""
        return await reports.person_timeline.execute(
            person_id,
            **usage.bounds(),
            limit=limit,
        )

    @get("/person/{person_id:int}/time-distribution/calendar")
    async def person_calendar(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
        granularity: FromQuery[Granularity] = "day",
    ) -> PersonCalendar:
        """Dwell per day, week, month or year of PRESENCE_TIMEZONE (30 days)."""
        return await reports.person_calendar.execute(
            person_id,
            **usage.bounds(),
            granularity=granularity,
        )

    @get("/person/{person_id:int}/time-distribution/hour-of-day")
    async def person_hour_of_day(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
    ) -> PersonHours:
        """Dwell per hour of the day, 0-23 in PRESENCE_TIMEZONE (24 hours)."""
        return await reports.person_hour_of_day.execute(person_id, **usage.bounds())

    @get("/person/{person_id:int}/time-distribution/day-of-week")
    async def person_day_of_week(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
    ) -> PersonWeekdays:
        """Dwell per day of the week, 0 = Sunday (30 days)."""
        return await reports.person_day_of_week.execute(person_id, **usage.bounds())

    @get("/person/{person_id:int}/time-distribution/hour-by-gateway")
    async def person_hour_by_gateway(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
    ) -> PersonHoursByGateway:
        """Dwell per hour of the day and gateway (24 hours)."""
        return await reports.person_hour_by_gateway.execute(person_id, **usage.bounds())

    @get("/person/{person_id:int}/alerts")
    async def person_alerts(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
        event_type: FromQuery[str | None] = None,
        device_id: FromQuery[int | None] = None,
        max_events: MaxEvents = 500,
    ) -> PersonAlerts:
        """The person's alert events opened in the window (30 days): total, first and last,
        per type and gateway, and the newest ``max_events`` of them; ``event_type`` and
        ``device_id`` narrow them all. ``min_duration_seconds`` is accepted (the front end
        sends it) and ignored: alerts are not sessions."""
        return await reports.person_alerts.execute(
            person_id,
            from_ts=usage.from_ts,
            to_ts=usage.to_ts,
            event_type=event_type,
            device_id=device_id,
            max_events=max_events,
        )

    @get("/gateways/usage-summary")
    async def gateway_usage(
        self,
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
        building_id: FromQuery[int | None] = None,
        floor_id: FromQuery[int | None] = None,
        floor_plan_id: FromQuery[int | None] = None,
        device_id: FromQuery[int | None] = None,
    ) -> GatewayUsageSummary:
        """Usage per gateway of a building, floor, plan or one gateway (7 days)."""
        return await reports.gateway_usage.execute(
            **usage.bounds(),
            building_id=building_id,
            floor_id=floor_id,
            floor_plan_id=floor_plan_id,
            device_id=device_id,
        )

    @get("/gateways/{device_id:int}/time-of-day")
    async def gateway_time_of_day(
        self,
        device_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
    ) -> GatewayHours:
        """The gateway's usage per hour of the day (7 days)."""
        return await reports.gateway_time_of_day.execute(device_id, **period.bounds())

    @get("/gateways/{device_id:int}/occupancy")
    async def gateway_occupancy(
        self,
        device_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
    ) -> GatewayOccupancy:
        """Every hour of the window with dwell and people, the peak hour and dwell spread
        (24 hours)."""
        return await reports.gateway_occupancy.execute(device_id, **period.bounds())

    @get("/gateways/{device_id:int}/concurrency")
    async def gateway_concurrency(
        self,
        device_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
    ) -> GatewayConcurrency:
        """Per hour, the most people present at once (24 hours)."""
        return await reports.gateway_concurrency.execute(device_id, **period.bounds())

    @get("/gateways/{device_id:int}/alerts/summary")
    async def gateway_alerts(
        self,
        device_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
    ) -> AlertsSummary:
        """Alert events opened at the gateway in the window (30 days), in total and per
        type."""
        return await reports.alerts_summary.execute("gateway", device_id, **period.bounds())

    @get("/buildings/{building_id:int}/summary")
    async def building_summary(
        self,
        building_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        usage: NamedDependency[UsagePeriod],
    ) -> BuildingSummary:
        """The building's totals and top gateways (30 days)."""
        return await reports.building_summary.execute(building_id, **usage.bounds())

    @get("/buildings/{building_id:int}/time-of-day")
    async def building_time_of_day(
        self,
        building_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
    ) -> list[TimeBucket]:
        """A bare array: every hour of the window with the building's dwell (24 hours)."""
        return await reports.building_time_of_day.execute(building_id, **period.bounds())

    @get("/buildings/{building_id:int}/time-distribution/calendar")
    async def building_calendar(
        self,
        building_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
        granularity: FromQuery[Granularity] = "day",
    ) -> list[TimeBucket]:
        """A bare array of calendar buckets of PRESENCE_TIMEZONE (30 days)."""
        return await reports.building_calendar.execute(
            building_id, **period.bounds(), granularity=granularity
        )

    @get("/buildings/{building_id:int}/alerts/summary")
    async def building_alerts(
        self,
        building_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        period: NamedDependency[Period],
    ) -> AlertsSummary:
        """Alert events opened at the building's gateways in the window (30 days), in total
        and per type."""
        return await reports.alerts_summary.execute("building", building_id, **period.bounds())


class DashboardController(Controller):
    path = "/dashboard"
    tags = ["reports"]

    @get("/summary")
    async def summary(self, reports: NamedDependency[Reports]) -> DashboardSummary:
        """Register counts, gateways online, active alert rules and the alert events
        opened in the last 24 hours."""
        return await reports.dashboard.execute()
