"""``/api/v1/reports`` and ``/api/v1/dashboard``: presence reports (docs/reports.md).

Everyone signed in reads. Times are accepted as ISO 8601 with ``Z`` or an offset (naive
means UTC) and answered in UTC; the window defaults apply only when ``from_ts`` and
``to_ts`` are both absent.
"""

from datetime import datetime

from litestar import Controller, get
from litestar.di import NamedDependency
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


class ReportsController(Controller):
    path = "/reports"
    tags = ["reports"]

    @get("/dwell-sessions")
    async def dwell_sessions(
        self,
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        device_id: FromQuery[int | None] = None,
        tag_id: FromQuery[int | None] = None,
        skip: Skip = 0,
        limit: Limit = 100,
    ) -> list[DwellSessionRead]:
        """Live sessions overlapping the window, newest first (no default window)."""
        rows = await reports.dwell_sessions.execute(
            from_ts=from_ts, to_ts=to_ts, device_id=device_id, tag_id=tag_id, skip=skip, limit=limit
        )
        return [DwellSessionRead.of(r) for r in rows]

    @get("/presence-transitions")
    async def presence_transitions(
        self,
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
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
            from_ts=from_ts,
            to_ts=to_ts,
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
        from_ts: Ts = None,
        to_ts: Ts = None,
        device_id: FromQuery[int | None] = None,
        tag_id: FromQuery[int | None] = None,
    ) -> Overview:
        """Totals and top ten buildings, floors, groups, gateways and people (7 days)."""
        return await reports.overview.execute(
            from_ts=from_ts, to_ts=to_ts, device_id=device_id, tag_id=tag_id
        )

    @get("/person-group/{group_id:int}/summary")
    async def group_summary(
        self,
        group_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
    ) -> GroupSummary:
        """The group's dwell per gateway and per member (7 days)."""
        return await reports.group_summary.execute(
            group_id, from_ts=from_ts, to_ts=to_ts, min_duration_seconds=min_duration_seconds
        )

    @get("/person/{person_id:int}/summary")
    async def person_summary(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
    ) -> PersonSummary:
        """The person's dwell in total and per gateway (7 days)."""
        return await reports.person_summary.execute(
            person_id, from_ts=from_ts, to_ts=to_ts, min_duration_seconds=min_duration_seconds
        )

    @get("/person/{person_id:int}/timeline")
    async def person_timeline(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
        limit: TimelineLimit = 1000,
    ) -> list[TimelineSession]:
        """The person's sessions in time order, with places (7 days)."""
        return await reports.person_timeline.execute(
            person_id,
            from_ts=from_ts,
            to_ts=to_ts,
            min_duration_seconds=min_duration_seconds,
            limit=limit,
        )

    @get("/person/{person_id:int}/time-distribution/calendar")
    async def person_calendar(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
        granularity: FromQuery[Granularity] = "day",
    ) -> PersonCalendar:
        """Dwell per day, week, month or year of PRESENCE_TIMEZONE (30 days)."""
        return await reports.person_calendar.execute(
            person_id,
            from_ts=from_ts,
            to_ts=to_ts,
            min_duration_seconds=min_duration_seconds,
            granularity=granularity,
        )

    @get("/person/{person_id:int}/time-distribution/hour-of-day")
    async def person_hour_of_day(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
    ) -> PersonHours:
        """Dwell per hour of the day, 0-23 in PRESENCE_TIMEZONE (24 hours)."""
        return await reports.person_hour_of_day.execute(
            person_id, from_ts=from_ts, to_ts=to_ts, min_duration_seconds=min_duration_seconds
        )

    @get("/person/{person_id:int}/time-distribution/day-of-week")
    async def person_day_of_week(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
    ) -> PersonWeekdays:
        """Dwell per day of the week, 0 = Sunday (30 days)."""
        return await reports.person_day_of_week.execute(
            person_id, from_ts=from_ts, to_ts=to_ts, min_duration_seconds=min_duration_seconds
        )

    @get("/person/{person_id:int}/time-distribution/hour-by-gateway")
    async def person_hour_by_gateway(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
    ) -> PersonHoursByGateway:
        """Dwell per hour of the day and gateway (24 hours)."""
        return await reports.person_hour_by_gateway.execute(
            person_id, from_ts=from_ts, to_ts=to_ts, min_duration_seconds=min_duration_seconds
        )

    @get("/person/{person_id:int}/alerts")
    async def person_alerts(
        self,
        person_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
        event_type: FromQuery[str | None] = None,
        device_id: FromQuery[int | None] = None,
        max_events: MaxEvents = 500,
    ) -> PersonAlerts:
        """The person's alerts (30 days): zero until alert events exist."""
        del min_duration_seconds, event_type, device_id, max_events
        return await reports.person_alerts.execute(person_id, from_ts=from_ts, to_ts=to_ts)

    @get("/gateways/usage-summary")
    async def gateway_usage(
        self,
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        building_id: FromQuery[int | None] = None,
        floor_id: FromQuery[int | None] = None,
        floor_plan_id: FromQuery[int | None] = None,
        device_id: FromQuery[int | None] = None,
        min_duration_seconds: MinDuration = None,
    ) -> GatewayUsageSummary:
        """Usage per gateway of a building, floor, plan or one gateway (7 days)."""
        return await reports.gateway_usage.execute(
            from_ts=from_ts,
            to_ts=to_ts,
            building_id=building_id,
            floor_id=floor_id,
            floor_plan_id=floor_plan_id,
            device_id=device_id,
            min_duration_seconds=min_duration_seconds,
        )

    @get("/gateways/{device_id:int}/time-of-day")
    async def gateway_time_of_day(
        self,
        device_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
    ) -> GatewayHours:
        """The gateway's usage per hour of the day (7 days)."""
        return await reports.gateway_time_of_day.execute(device_id, from_ts=from_ts, to_ts=to_ts)

    @get("/gateways/{device_id:int}/occupancy")
    async def gateway_occupancy(
        self,
        device_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
    ) -> GatewayOccupancy:
        """Every hour of the window with dwell and people, the peak hour and dwell spread
        (24 hours)."""
        return await reports.gateway_occupancy.execute(device_id, from_ts=from_ts, to_ts=to_ts)

    @get("/gateways/{device_id:int}/concurrency")
    async def gateway_concurrency(
        self,
        device_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
    ) -> GatewayConcurrency:
        """Per hour, the most people present at once (24 hours)."""
        return await reports.gateway_concurrency.execute(device_id, from_ts=from_ts, to_ts=to_ts)

    @get("/gateways/{device_id:int}/alerts/summary")
    async def gateway_alerts(
        self,
        device_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
    ) -> AlertsSummary:
        """Alerts at the gateway (30 days): zero until alert events exist."""
        return await reports.alerts_summary.execute(
            "gateway", device_id, from_ts=from_ts, to_ts=to_ts
        )

    @get("/buildings/{building_id:int}/summary")
    async def building_summary(
        self,
        building_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        min_duration_seconds: MinDuration = None,
    ) -> BuildingSummary:
        """The building's totals and top gateways (30 days)."""
        return await reports.building_summary.execute(
            building_id, from_ts=from_ts, to_ts=to_ts, min_duration_seconds=min_duration_seconds
        )

    @get("/buildings/{building_id:int}/time-of-day")
    async def building_time_of_day(
        self,
        building_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
    ) -> list[TimeBucket]:
        """A bare array: every hour of the window with the building's dwell (24 hours)."""
        return await reports.building_time_of_day.execute(building_id, from_ts=from_ts, to_ts=to_ts)

    @get("/buildings/{building_id:int}/time-distribution/calendar")
    async def building_calendar(
        self,
        building_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
        granularity: FromQuery[Granularity] = "day",
    ) -> list[TimeBucket]:
        """A bare array of calendar buckets of PRESENCE_TIMEZONE (30 days)."""
        return await reports.building_calendar.execute(
            building_id, from_ts=from_ts, to_ts=to_ts, granularity=granularity
        )

    @get("/buildings/{building_id:int}/alerts/summary")
    async def building_alerts(
        self,
        building_id: FromPath[int],
        *,
        reports: NamedDependency[Reports],
        from_ts: Ts = None,
        to_ts: Ts = None,
    ) -> AlertsSummary:
        """Alerts in the building (30 days): zero until alert events exist."""
        return await reports.alerts_summary.execute(
            "building", building_id, from_ts=from_ts, to_ts=to_ts
        )


class DashboardController(Controller):
    path = "/dashboard"
    tags = ["reports"]

    @get("/summary")
    async def summary(self, reports: NamedDependency[Reports]) -> DashboardSummary:
        """Register counts and gateways online; alert counts are 0 until alerts exist."""
        return await reports.dashboard.execute()
