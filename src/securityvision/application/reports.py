"""Presence reports: the read side over sessions and the daily rollup.

Every report reads one combined stream of *usage*: the live sessions (clipped to the window)
and, for days already rolled up, the per-(tag, gateway, day) totals of
``presence_daily_usage``. The rollup adds a day's sessions to its totals and deletes them in
one transaction, so a session is in exactly one of the two: sessions still present for a
rolled-up day (late readings, added on the rollup's next run) are counted from the sessions,
and nothing is counted twice.

The :class:`ReportQueries` port does the aggregation where the data lives (set-based SQL in
PostgreSQL, the same arithmetic in Python in memory); the use cases here pick windows,
defaults and shapes, and round, so both adapters answer identically.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal, Protocol, TypeVar

import msgspec

from securityvision.application.devices import ListDeviceStatuses
from securityvision.application.ports import Clock, UnitOfWorkFactory
from securityvision.domain.errors import DomainError, NotFound

Granularity = Literal["day", "week", "month", "year"]
Dimension = Literal["all", "device", "tag", "person", "building", "floor", "group"]

TOP = 10
# Hourly and calendar series longer than this are refused: a report, not a data export.
MAX_BUCKETS = 10_000
MAX_TRANSITIONS = 5000
# The events a person's alert report lists (the front end asks 500; the counts cover all).
DEFAULT_ALERT_EVENTS = 500
MAX_ALERT_EVENTS = 5000


class ReportWindowError(DomainError):
    """A window a report cannot be computed over (answered 400, as the original did)."""

    code = "invalid_window"


# --- What the port answers ----------------------------------------------------------------


class UsageFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which usage a report reads. ``None`` bounds are open; ``min_duration_seconds`` drops
    live sessions shorter than it (whole length, before clipping) before anything is added
    up — rolled-up days keep no single sessions and are never filtered by it."""

    from_ts: datetime | None = None
    to_ts: datetime | None = None
    tag_id: int | None = None
    device_id: int | None = None
    person_id: int | None = None
    group_id: int | None = None
    building_id: int | None = None
    floor_id: int | None = None
    floor_plan_id: int | None = None
    min_duration_seconds: float = 0.0


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """A live session with its tag's person and its gateway's place."""

    id: int
    tag_id: int
    device_id: int
    device_name: str | None
    person_id: int | None
    person_full_name: str | None
    building_id: int | None
    building_name: str | None
    floor_id: int | None
    floor_name: str | None
    floor_plan_id: int | None
    floor_plan_name: str | None
    day: date
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    samples_count: int
    rssi_avg: float
    rssi_max: int


class TransitionFilter(msgspec.Struct, frozen=True, kw_only=True):
    from_ts: datetime | None = None
    to_ts: datetime | None = None
    person_id: int | None = None
    tag_id: int | None = None
    device_id: int | None = None
    from_device_id: int | None = None
    to_device_id: int | None = None


class TransitionRow(msgspec.Struct, frozen=True, kw_only=True):
    """Two consecutive sessions of a tag (``presence_transitions``); ``id`` is the later
    session's."""

    id: int
    tag_id: int
    person_id: int | None
    from_session_id: int
    to_session_id: int
    from_device_id: int
    to_device_id: int
    transition_start_at: datetime
    transition_end_at: datetime
    transition_seconds: float


class UsageTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Usage added up over one key of a dimension (``key_id`` None for ``all``). The place
    fields are filled for the ``device`` dimension only."""

    key_id: int | None
    key_name: str | None
    sessions_count: int
    total_dwell_seconds: float
    unique_tags_count: int
    unique_people_count: int
    unique_devices_count: int
    first_session_at: datetime | None
    last_session_at: datetime | None
    device_mac_address: str | None = None
    building_id: int | None = None
    building_name: str | None = None
    floor_id: int | None = None
    floor_name: str | None = None
    floor_plan_id: int | None = None
    floor_plan_name: str | None = None


class RankedTotal(msgspec.Struct, frozen=True, kw_only=True):
    """A key of a dimension as the overview ranks it: its sessions and dwell."""

    key_id: int | None
    key_name: str | None
    sessions_count: int
    total_dwell_seconds: float


class OverviewTotals(msgspec.Struct, frozen=True, kw_only=True):
    """What the overview shows: the window's ``all`` totals (every field) and, per dimension
    asked, its keys ranked as ``totals`` ranks them (most dwell first, then key)."""

    total: UsageTotals
    ranked: dict[Dimension, list[RankedTotal]]


def overview_of(
    ranked: Mapping[Dimension, Sequence[UsageTotals]], dimensions: Sequence[Dimension]
) -> OverviewTotals:
    """The overview's projection of ``totals_by`` (asked with ``all`` and ``dimensions``)."""
    return OverviewTotals(
        total=_one(ranked["all"]),
        ranked={
            by: [
                RankedTotal(
                    key_id=r.key_id,
                    key_name=r.key_name,
                    sessions_count=r.sessions_count,
                    total_dwell_seconds=r.total_dwell_seconds,
                )
                for r in ranked[by]
            ]
            for by in dimensions
        },
    )


class TimeBucket(msgspec.Struct, frozen=True, kw_only=True):
    bucket_start: datetime
    total_dwell_seconds: float = 0.0
    sessions_count: int = 0
    unique_tags_count: int = 0
    unique_people_count: int = 0


class HourOfDayBucket(msgspec.Struct, frozen=True, kw_only=True):
    hour: int
    device_id: int | None = None
    device_name: str | None = None
    total_dwell_seconds: float = 0.0
    sessions_count: int = 0
    unique_tags_count: int = 0
    unique_people_count: int = 0


class DwellStats(msgspec.Struct, frozen=True, kw_only=True):
    avg_dwell_seconds: float | None = None
    p50_dwell_seconds: float | None = None
    p95_dwell_seconds: float | None = None


class ConcurrencyBucket(msgspec.Struct, frozen=True, kw_only=True):
    bucket_start: datetime
    peak_concurrency_people: int = 0


class RegisterCounts(msgspec.Struct, frozen=True, kw_only=True):
    total_people: int
    total_tags: int


class AlertFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which alert events a report reads: those **opened** (``started_at``) within the window,
    bounds included (``None`` bounds are open) — an alert belongs to the window it was raised
    in, however long it lasts. ``person_id`` is the person the event recorded;
    ``building_id`` matches events of the gateways in that building now (a gateway's building
    as presence reports place it: its plan's floor's, else its own)."""

    from_ts: datetime | None = None
    to_ts: datetime | None = None
    person_id: int | None = None
    device_id: int | None = None
    building_id: int | None = None
    event_type: str | None = None


class AlertTypeCount(msgspec.Struct, frozen=True, kw_only=True):
    event_type: str
    alerts_count: int


class AlertDeviceCount(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str | None
    alerts_count: int


class AlertTally(msgspec.Struct, frozen=True, kw_only=True):
    """Alert events added up: how many, the first and last raised (``started_at``), per type
    (most first, then type) and per gateway (most first, then id; events of a deleted gateway
    count in the total and their type only)."""

    total_alerts: int
    first_alert_at: datetime | None
    last_alert_at: datetime | None
    by_type: list[AlertTypeCount]
    by_device: list[AlertDeviceCount]


class AlertEventRow(msgspec.Struct, frozen=True, kw_only=True):
    """An alert event as reports list it: its columns (no payload: ``/alert-events/{id}``
    has it) and its gateway's current name."""

    id: int
    event_type: str
    rule_id: int | None
    person_id: int | None
    tag_id: int | None
    device_id: int | None
    device_name: str | None
    floor_plan_id: int | None
    floor_id: int | None
    building_id: int | None
    incident_id: int | None
    started_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    is_open: bool
    message: str | None


class AlertActivity(msgspec.Struct, frozen=True, kw_only=True):
    active_alert_rules: int
    alerts_opened: int


class ReportQueries(Protocol):
    """Read model of presence usage and alert events. Every method is one set-based query
    over the live sessions plus the rolled-up days, or over ``alert_events`` (never a query
    per row); hour-level methods read live sessions only, since a rolled-up day keeps no
    hours. Times are UTC; hours of the day and calendar days are those of the presence time
    zone the adapter was built with."""

    async def sessions(
        self, where: UsageFilter, *, skip: int, limit: int, newest_first: bool
    ) -> list[SessionRow]:
        """Live sessions overlapping the window, ordered by start (then id)."""
        ...

    async def transitions(self, where: TransitionFilter, limit: int) -> list[TransitionRow]:
        """Transitions arriving (``transition_end_at``) within the window, newest first."""
        ...

    async def totals(
        self, where: UsageFilter, by: Dimension, limit: int | None = None
    ) -> list[UsageTotals]:
        """Usage per key of ``by``, most dwell first (then key); ``all`` gives one row."""
        ...

    async def totals_by(
        self, where: UsageFilter, dimensions: Sequence[Dimension], limit: int | None = None
    ) -> dict[Dimension, list[UsageTotals]]:
        """``totals`` of several dimensions (each limited to ``limit`` rows) from one reading
        of the window's usage."""
        ...

    async def overview_totals(
        self, where: UsageFilter, dimensions: Sequence[Dimension], limit: int | None = None
    ) -> OverviewTotals:
        """Exactly ``overview_of(totals_by(where, ("all", *dimensions), limit))``: an adapter
        may answer it from totals kept per hour and day (the PostgreSQL one does, for a
        finite window without other filters)."""
        ...

    async def calendar(self, where: UsageFilter, granularity: Granularity) -> list[TimeBucket]:
        """Every calendar bucket the (finite) window touches, empty ones included; usage
        falls in the bucket of its day."""
        ...

    async def hourly(self, where: UsageFilter) -> list[TimeBucket]:
        """Every hour of the (finite) window, empty ones included, with the dwell inside it."""
        ...

    async def hours_of_day(self, where: UsageFilter, *, per_device: bool) -> list[HourOfDayBucket]:
        """Usage by hour of the day (0-23, all of them; with ``per_device`` only the
        (hour, gateway) pairs that have any, by hour then gateway)."""
        ...

    async def dwell_stats(self, where: UsageFilter) -> DwellStats:
        """Mean, median and 95th percentile (interpolated) of the clipped session dwells."""
        ...

    async def concurrency(self, where: UsageFilter) -> list[ConcurrencyBucket]:
        """Per hour of the (finite) window, the most people present at the same instant."""
        ...

    async def register_counts(self) -> RegisterCounts: ...

    async def alert_tally(self, where: AlertFilter) -> AlertTally:
        """The matching alert events added up, in one query."""
        ...

    async def alert_events(self, where: AlertFilter, limit: int) -> list[AlertEventRow]:
        """The matching alert events, newest first (``started_at``, then id)."""
        ...

    async def alert_activity(self, since: datetime) -> AlertActivity:
        """The active alert rules, and the alert events opened since ``since``."""
        ...


# --- Windows and time helpers the adapters share -------------------------------------------


class Window(msgspec.Struct, frozen=True, kw_only=True):
    from_ts: datetime | None
    to_ts: datetime | None

    @property
    def finite(self) -> bool:
        return self.from_ts is not None and self.to_ts is not None


def as_utc(ts: datetime | None) -> datetime | None:
    """The original read naive times as UTC; the front end sends ``…Z``."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def hour_floor(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_starts(window: Window) -> list[datetime]:
    """The UTC hours a finite window touches: from the hour of ``from_ts`` while before
    ``to_ts``."""
    if window.from_ts is None or window.to_ts is None:
        raise ReportWindowError("a finite window is required", code="window_required")
    starts = []
    current = hour_floor(window.from_ts)
    while current < window.to_ts:
        starts.append(current)
        current += timedelta(hours=1)
    return starts


def touched_days(window: Window, zone: tzinfo) -> tuple[date | None, date | None]:
    """The first and last local days a window touches (a rolled-up day counts whole when it
    does); an end exactly at midnight does not touch the day it opens."""
    first = window.from_ts.astimezone(zone).date() if window.from_ts else None
    last = None
    if window.to_ts is not None:
        end = window.to_ts
        if window.from_ts is None or end > window.from_ts:
            end -= timedelta(microseconds=1)
        last = end.astimezone(zone).date()
    return first, last


def bucket_day(day: date, granularity: Granularity) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "year":
        return day.replace(month=1, day=1)
    return day


def next_bucket(day: date, granularity: Granularity) -> date:
    if granularity == "day":
        return day + timedelta(days=1)
    if granularity == "week":
        return day + timedelta(days=7)
    if granularity == "month":
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date(day.year + 1, 1, 1)


def calendar_days(window: Window, zone: tzinfo, granularity: Granularity) -> list[date]:
    first, last = touched_days(window, zone)
    if first is None or last is None:
        raise ReportWindowError("a finite window is required", code="window_required")
    days = []
    current = bucket_day(first, granularity)
    while current <= last:
        days.append(current)
        current = next_bucket(current, granularity)
    return days


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's ``percentile_cont``."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _dwell(value: float) -> float:
    """Seconds to the millisecond: sums in SQL and in Python agree to that."""
    return round(value, 3)


def _avg(total: float, count: int) -> float:
    return _dwell(total / count) if count else 0.0


# --- Report shapes (what the front end reads; CLIENTS.md §12) ------------------------------


class TotalsSummary(msgspec.Struct, frozen=True, kw_only=True):
    from_ts: datetime | None
    to_ts: datetime | None
    total_sessions: int
    total_unique_tags: int
    total_unique_devices: int
    total_unique_people: int
    total_dwell_seconds: float
    avg_dwell_seconds: float
    first_session_at: datetime | None
    last_session_at: datetime | None


class TopBuilding(msgspec.Struct, frozen=True, kw_only=True):
    building_id: int
    building_name: str | None
    total_sessions: int
    total_dwell_seconds: float


class TopFloor(msgspec.Struct, frozen=True, kw_only=True):
    floor_id: int
    floor_name: str | None
    total_sessions: int
    total_dwell_seconds: float


class TopGroup(msgspec.Struct, frozen=True, kw_only=True):
    group_id: int
    group_name: str | None
    total_sessions: int
    total_dwell_seconds: float


class TopDevice(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str | None
    total_sessions: int
    total_dwell_seconds: float


class TopPerson(msgspec.Struct, frozen=True, kw_only=True):
    person_id: int
    person_name: str | None
    total_sessions: int
    total_dwell_seconds: float


class Overview(msgspec.Struct, frozen=True, kw_only=True):
    summary: TotalsSummary
    top_buildings: list[TopBuilding]
    top_floors: list[TopFloor]
    top_groups: list[TopGroup]
    top_devices: list[TopDevice]
    top_people: list[TopPerson]


class DwellByDevice(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str | None
    building_id: int | None
    building_name: str | None
    floor_id: int | None
    floor_name: str | None
    floor_plan_id: int | None
    floor_plan_name: str | None
    total_dwell_seconds: float
    sessions_count: int
    unique_people_count: int


class PersonSummary(msgspec.Struct, frozen=True, kw_only=True):
    person_id: int
    person_full_name: str
    from_ts: datetime | None
    to_ts: datetime | None
    total_dwell_seconds: float
    total_sessions: int
    first_session_at: datetime | None
    last_session_at: datetime | None
    dwell_by_device: list[DwellByDevice]
    top_device_id: int | None


class GroupPersonDwell(msgspec.Struct, frozen=True, kw_only=True):
    person_id: int
    person_full_name: str | None
    total_dwell_seconds: float
    sessions_count: int


class GroupSummary(msgspec.Struct, frozen=True, kw_only=True):
    group_id: int
    group_name: str
    from_ts: datetime | None
    to_ts: datetime | None
    total_dwell_seconds: float
    total_sessions: int
    total_unique_people: int
    first_session_at: datetime | None
    last_session_at: datetime | None
    dwell_by_device: list[DwellByDevice]
    dwell_by_person: list[GroupPersonDwell]
    top_device_id: int | None


class TimelineSession(msgspec.Struct, frozen=True, kw_only=True):
    session_id: int
    device_id: int
    device_name: str | None
    building_id: int | None
    building_name: str | None
    floor_id: int | None
    floor_name: str | None
    floor_plan_id: int | None
    floor_plan_name: str | None
    tag_id: int
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    samples_count: int


class CalendarBucket(msgspec.Struct, frozen=True, kw_only=True):
    bucket_start: datetime
    total_dwell_seconds: float
    sessions_count: int


class PersonCalendar(msgspec.Struct, frozen=True, kw_only=True):
    person_id: int
    person_full_name: str
    from_ts: datetime | None
    to_ts: datetime | None
    granularity: str
    buckets: list[CalendarBucket]


class HourBucket(msgspec.Struct, frozen=True, kw_only=True):
    hour: int
    total_dwell_seconds: float
    sessions_count: int


class PersonHours(msgspec.Struct, frozen=True, kw_only=True):
    person_id: int
    person_full_name: str
    from_ts: datetime | None
    to_ts: datetime | None
    buckets: list[HourBucket]


class WeekdayBucket(msgspec.Struct, frozen=True, kw_only=True):
    day_of_week: int
    total_dwell_seconds: float
    sessions_count: int


class PersonWeekdays(msgspec.Struct, frozen=True, kw_only=True):
    person_id: int
    person_full_name: str
    from_ts: datetime | None
    to_ts: datetime | None
    buckets: list[WeekdayBucket]


class HourByGatewayBucket(msgspec.Struct, frozen=True, kw_only=True):
    hour: int
    device_id: int
    device_name: str | None
    total_dwell_seconds: float
    sessions_count: int


class PersonHoursByGateway(msgspec.Struct, frozen=True, kw_only=True):
    person_id: int
    person_full_name: str
    from_ts: datetime | None
    to_ts: datetime | None
    buckets: list[HourByGatewayBucket]


class PersonAlerts(msgspec.Struct, frozen=True, kw_only=True):
    """The person's alert events opened in the window, in the original's shape."""

    person_id: int
    person_full_name: str
    from_ts: datetime | None
    to_ts: datetime | None
    total_alerts: int
    first_alert_at: datetime | None
    last_alert_at: datetime | None
    by_type: list[AlertTypeCount]
    by_device: list[AlertDeviceCount]
    events: list[AlertEventRow]


class AlertsSummary(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    scope_id: int
    from_ts: datetime | None
    to_ts: datetime | None
    total_alerts: int
    by_type: list[AlertTypeCount]


class GatewayUsage(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str | None
    device_mac_address: str | None
    building_id: int | None
    building_name: str | None
    floor_id: int | None
    floor_name: str | None
    floor_plan_id: int | None
    floor_plan_name: str | None
    total_dwell_seconds: float
    sessions_count: int
    unique_people_count: int
    unique_tags_count: int
    avg_dwell_seconds: float
    first_session_at: datetime | None
    last_session_at: datetime | None


class GatewayUsageSummary(msgspec.Struct, frozen=True, kw_only=True):
    from_ts: datetime | None
    to_ts: datetime | None
    total_sessions: int
    total_dwell_seconds: float
    total_devices: int
    gateways: list[GatewayUsage]
    top_device_id: int | None


class GatewayHourBucket(msgspec.Struct, frozen=True, kw_only=True):
    hour: int
    total_dwell_seconds: float
    sessions_count: int
    unique_people_count: int
    unique_tags_count: int


class GatewayHours(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str | None
    from_ts: datetime | None
    to_ts: datetime | None
    buckets: list[GatewayHourBucket]


class PeakBucket(msgspec.Struct, frozen=True, kw_only=True):
    bucket_start: datetime
    unique_people_count: int


class GatewayOccupancy(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str | None
    from_ts: datetime | None
    to_ts: datetime | None
    buckets: list[TimeBucket]
    peak: PeakBucket | None
    avg_dwell_seconds: float | None
    p50_dwell_seconds: float | None
    p95_dwell_seconds: float | None


class GatewayConcurrency(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str | None
    from_ts: datetime | None
    to_ts: datetime | None
    buckets: list[ConcurrencyBucket]


class BuildingGateway(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    device_name: str | None
    sessions_count: int
    total_dwell_seconds: float
    unique_people_count: int


class BuildingSummary(msgspec.Struct, frozen=True, kw_only=True):
    building_id: int
    building_name: str
    from_ts: datetime | None
    to_ts: datetime | None
    total_sessions: int
    total_dwell_seconds: float
    unique_people_count: int
    unique_tags_count: int
    avg_dwell_seconds: float
    top_gateways_by_sessions: list[BuildingGateway]
    top_gateways_by_dwell: list[BuildingGateway]


class DashboardSummary(msgspec.Struct, frozen=True, kw_only=True):
    total_people: int
    total_tags: int
    total_gateways: int
    gateways_online: int
    gateways_offline: int
    active_alert_rules: int
    recent_alerts_24h: int


# --- Use cases -------------------------------------------------------------------------------


class _Base:
    """What every report needs: the read model, the clock (default windows) and the zone
    (calendar buckets)."""

    def __init__(
        self, queries: ReportQueries, uow: UnitOfWorkFactory, clock: Clock, zone: tzinfo
    ) -> None:
        self._queries = queries
        self._uow = uow
        self._clock = clock
        self._zone = zone

    def window(
        self,
        from_ts: datetime | None,
        to_ts: datetime | None,
        default: timedelta | None,
        *,
        finite: bool = False,
        hourly: bool = False,
    ) -> Window:
        """The original's rule: the default applies only when both bounds are absent; a
        bucket report needs both bounds (400 ``window_required``)."""
        start, end = as_utc(from_ts), as_utc(to_ts)
        if start is None and end is None and default is not None:
            end = self._clock.now().astimezone(UTC)
            start = end - default
        window = Window(from_ts=start, to_ts=end)
        if start is not None and end is not None and start > end:
            raise ReportWindowError("from_ts is after to_ts")
        if finite and not window.finite:
            raise ReportWindowError(
                "from_ts and to_ts are both required for reports by time buckets",
                code="window_required",
            )
        hours = (end - start) / timedelta(hours=1) if start and end else 0
        if hourly and hours > MAX_BUCKETS:
            raise ReportWindowError(
                f"at most {MAX_BUCKETS} hours per report", code="window_too_large"
            )
        return window

    async def person_name(self, person_id: int) -> str:
        async with self._uow(read_only=True) as uow:
            person = await uow.people.get(person_id)
        if person is None:
            raise NotFound(f"person {person_id} not found", code="person_not_found")
        return person.full_name

    async def device_name(self, device_id: int) -> str:
        async with self._uow(read_only=True) as uow:
            device = await uow.devices.get(device_id)
        if device is None:
            raise NotFound(f"device {device_id} not found", code="device_not_found")
        return device.name

    async def building_name(self, building_id: int) -> str:
        async with self._uow(read_only=True) as uow:
            building = await uow.buildings.get(building_id)
        if building is None:
            raise NotFound(f"building {building_id} not found", code="building_not_found")
        return building.name

    async def group_name(self, group_id: int) -> str:
        async with self._uow() as uow:
            group = await uow.person_groups.get(group_id)
        if group is None:
            raise NotFound(f"person group {group_id} not found", code="person_group_not_found")
        return group.name


def _window_filter(window: Window) -> UsageFilter:
    return UsageFilter(from_ts=window.from_ts, to_ts=window.to_ts)


def _scoped(window: Window, min_duration_seconds: float | None = None) -> UsageFilter:
    return UsageFilter(
        from_ts=window.from_ts,
        to_ts=window.to_ts,
        min_duration_seconds=min_duration_seconds or 0.0,
    )


def _by_device(row: UsageTotals) -> DwellByDevice:
    return DwellByDevice(
        device_id=row.key_id or 0,
        device_name=row.key_name,
        building_id=row.building_id,
        building_name=row.building_name,
        floor_id=row.floor_id,
        floor_name=row.floor_name,
        floor_plan_id=row.floor_plan_id,
        floor_plan_name=row.floor_plan_name,
        total_dwell_seconds=_dwell(row.total_dwell_seconds),
        sessions_count=row.sessions_count,
        unique_people_count=row.unique_people_count,
    )


def _one(rows: Sequence[UsageTotals]) -> UsageTotals:
    if rows:
        return rows[0]
    return UsageTotals(
        key_id=None,
        key_name=None,
        sessions_count=0,
        total_dwell_seconds=0.0,
        unique_tags_count=0,
        unique_people_count=0,
        unique_devices_count=0,
        first_session_at=None,
        last_session_at=None,
    )


_Bucket = TypeVar("_Bucket", bound=msgspec.Struct)


def _buckets(rows: Iterable[TimeBucket | HourOfDayBucket], kind: type[_Bucket]) -> list[_Bucket]:
    """The port's buckets in a report's shape: the fields ``kind`` has, taken from each row,
    its dwell to the millisecond."""
    fields = [f for f in kind.__struct_fields__ if f != "total_dwell_seconds"]
    return [
        kind(
            **{f: getattr(r, f) for f in fields},
            total_dwell_seconds=_dwell(r.total_dwell_seconds),
        )
        for r in rows
    ]


def _check_calendar(window: Window, zone: tzinfo, granularity: Granularity) -> None:
    if len(calendar_days(window, zone, granularity)) > MAX_BUCKETS:
        raise ReportWindowError(
            f"at most {MAX_BUCKETS} calendar buckets per report", code="window_too_large"
        )


class ListDwellSessions(_Base):
    """``/reports/dwell-sessions``: live sessions overlapping the window, newest first.

    - No default window (as the original); ``skip``/``limit`` after the filters.
    - Rolled-up days have no sessions any more: only their totals remain.
    """

    async def execute(
        self,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        device_id: int | None,
        tag_id: int | None,
        skip: int,
        limit: int,
    ) -> list[SessionRow]:
        window = self.window(from_ts, to_ts, None)
        where = UsageFilter(
            from_ts=window.from_ts, to_ts=window.to_ts, device_id=device_id, tag_id=tag_id
        )
        return await self._queries.sessions(where, skip=skip, limit=limit, newest_first=True)


class ListPresenceTransitions(_Base):
    """``/reports/presence-transitions``: consecutive sessions of tags, newest arrival first.

    - Default window 7 days; ``device_id`` matches either end; at most 5000.
    """

    async def execute(self, where: TransitionFilter, limit: int) -> list[TransitionRow]:
        window = self.window(where.from_ts, where.to_ts, timedelta(days=7))
        where = msgspec.structs.replace(where, from_ts=window.from_ts, to_ts=window.to_ts)
        return await self._queries.transitions(where, min(limit, MAX_TRANSITIONS))


class ReportOverview(_Base):
    """``/reports/overview``: totals and the top ten buildings, floors, groups, gateways and
    people by dwell. Default window 7 days. Read through ``overview_totals``: the PostgreSQL
    adapter answers an unfiltered window from presence totals per hour and day where it can
    (docs/presence.md), with the same answer."""

    async def execute(
        self,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        device_id: int | None,
        tag_id: int | None,
    ) -> Overview:
        window = self.window(from_ts, to_ts, timedelta(days=7))
        where = UsageFilter(
            from_ts=window.from_ts, to_ts=window.to_ts, device_id=device_id, tag_id=tag_id
        )
        totals = await self._queries.overview_totals(
            where, ("building", "floor", "group", "device", "person"), TOP
        )
        total, ranked = totals.total, totals.ranked
        return Overview(
            summary=TotalsSummary(
                from_ts=window.from_ts,
                to_ts=window.to_ts,
                total_sessions=total.sessions_count,
                total_unique_tags=total.unique_tags_count,
                total_unique_devices=total.unique_devices_count,
                total_unique_people=total.unique_people_count,
                total_dwell_seconds=_dwell(total.total_dwell_seconds),
                avg_dwell_seconds=_avg(total.total_dwell_seconds, total.sessions_count),
                first_session_at=total.first_session_at,
                last_session_at=total.last_session_at,
            ),
            top_buildings=[
                TopBuilding(
                    building_id=r.key_id or 0,
                    building_name=r.key_name,
                    total_sessions=r.sessions_count,
                    total_dwell_seconds=_dwell(r.total_dwell_seconds),
                )
                for r in ranked["building"]
            ],
            top_floors=[
                TopFloor(
                    floor_id=r.key_id or 0,
                    floor_name=r.key_name,
                    total_sessions=r.sessions_count,
                    total_dwell_seconds=_dwell(r.total_dwell_seconds),
                )
                for r in ranked["floor"]
            ],
            top_groups=[
                TopGroup(
                    group_id=r.key_id or 0,
                    group_name=r.key_name,
                    total_sessions=r.sessions_count,
                    total_dwell_seconds=_dwell(r.total_dwell_seconds),
                )
                for r in ranked["group"]
            ],
            top_devices=[
                TopDevice(
                    device_id=r.key_id or 0,
                    device_name=r.key_name,
                    total_sessions=r.sessions_count,
                    total_dwell_seconds=_dwell(r.total_dwell_seconds),
                )
                for r in ranked["device"]
            ],
            top_people=[
                TopPerson(
                    person_id=r.key_id or 0,
                    person_name=r.key_name,
                    total_sessions=r.sessions_count,
                    total_dwell_seconds=_dwell(r.total_dwell_seconds),
                )
                for r in ranked["person"]
            ],
        )


class ReportPersonSummary(_Base):
    """``/reports/person/{id}/summary``: a person's dwell in total and per gateway.
    Default window 7 days; 404 ``person_not_found``."""

    async def execute(
        self,
        person_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        min_duration_seconds: float | None,
    ) -> PersonSummary:
        name = await self.person_name(person_id)
        window = self.window(from_ts, to_ts, timedelta(days=7))
        where = msgspec.structs.replace(_scoped(window, min_duration_seconds), person_id=person_id)
        ranked = await self._queries.totals_by(where, ("all", "device"))
        total = _one(ranked["all"])
        devices = [_by_device(r) for r in ranked["device"]]
        return PersonSummary(
            person_id=person_id,
            person_full_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            total_dwell_seconds=_dwell(total.total_dwell_seconds),
            total_sessions=total.sessions_count,
            first_session_at=total.first_session_at,
            last_session_at=total.last_session_at,
            dwell_by_device=devices,
            top_device_id=devices[0].device_id if devices else None,
        )


class ReportGroupSummary(_Base):
    """``/reports/person-group/{id}/summary``: the group's members' dwell, per gateway and per
    person (membership as it is now). Default window 7 days; 404
    ``person_group_not_found``."""

    async def execute(
        self,
        group_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        min_duration_seconds: float | None,
    ) -> GroupSummary:
        name = await self.group_name(group_id)
        window = self.window(from_ts, to_ts, timedelta(days=7))
        where = msgspec.structs.replace(_scoped(window, min_duration_seconds), group_id=group_id)
        total = _one(await self._queries.totals(where, "all"))
        devices = [_by_device(r) for r in await self._queries.totals(where, "device")]
        people = [
            GroupPersonDwell(
                person_id=r.key_id or 0,
                person_full_name=r.key_name,
                total_dwell_seconds=_dwell(r.total_dwell_seconds),
                sessions_count=r.sessions_count,
            )
            for r in await self._queries.totals(where, "person")
        ]
        return GroupSummary(
            group_id=group_id,
            group_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            total_dwell_seconds=_dwell(total.total_dwell_seconds),
            total_sessions=total.sessions_count,
            total_unique_people=total.unique_people_count,
            first_session_at=total.first_session_at,
            last_session_at=total.last_session_at,
            dwell_by_device=devices,
            dwell_by_person=people,
            top_device_id=devices[0].device_id if devices else None,
        )


class ReportPersonTimeline(_Base):
    """``/reports/person/{id}/timeline``: the person's live sessions in order, with places.
    Default window 7 days."""

    async def execute(
        self,
        person_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        min_duration_seconds: float | None,
        limit: int,
    ) -> list[TimelineSession]:
        await self.person_name(person_id)
        window = self.window(from_ts, to_ts, timedelta(days=7))
        where = msgspec.structs.replace(_scoped(window, min_duration_seconds), person_id=person_id)
        rows = await self._queries.sessions(where, skip=0, limit=limit, newest_first=False)
        return [
            TimelineSession(
                session_id=r.id,
                device_id=r.device_id,
                device_name=r.device_name,
                building_id=r.building_id,
                building_name=r.building_name,
                floor_id=r.floor_id,
                floor_name=r.floor_name,
                floor_plan_id=r.floor_plan_id,
                floor_plan_name=r.floor_plan_name,
                tag_id=r.tag_id,
                started_at=r.started_at,
                ended_at=r.ended_at,
                duration_seconds=_dwell(r.duration_seconds),
                samples_count=r.samples_count,
            )
            for r in rows
        ]


class ReportPersonCalendar(_Base):
    """``/reports/person/{id}/time-distribution/calendar``: dwell per day, week (from
    Monday), month or year of the presence time zone, empty buckets included; rolled-up
    days count. Default window 30 days; 400 without both bounds."""

    async def execute(
        self,
        person_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        min_duration_seconds: float | None,
        granularity: Granularity,
    ) -> PersonCalendar:
        name = await self.person_name(person_id)
        window = self.window(from_ts, to_ts, timedelta(days=30), finite=True)
        _check_calendar(window, self._zone, granularity)
        where = msgspec.structs.replace(_scoped(window, min_duration_seconds), person_id=person_id)
        rows = await self._queries.calendar(where, granularity)
        return PersonCalendar(
            person_id=person_id,
            person_full_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            granularity=granularity,
            buckets=_buckets(rows, CalendarBucket),
        )


class ReportPersonHourOfDay(_Base):
    """``/reports/person/{id}/time-distribution/hour-of-day``: dwell per hour of the day
    (0-23, presence time zone), a session's dwell split across the hours it spans. Live
    sessions only (a rolled-up day keeps no hours). Default window 24 hours."""

    async def execute(
        self,
        person_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        min_duration_seconds: float | None,
    ) -> PersonHours:
        name = await self.person_name(person_id)
        window = self.window(from_ts, to_ts, timedelta(hours=24), finite=True, hourly=True)
        where = msgspec.structs.replace(_scoped(window, min_duration_seconds), person_id=person_id)
        rows = await self._queries.hours_of_day(where, per_device=False)
        return PersonHours(
            person_id=person_id,
            person_full_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            buckets=_buckets(rows, HourBucket),
        )


class ReportPersonDayOfWeek(_Base):
    """``/reports/person/{id}/time-distribution/day-of-week``: dwell per day of the week
    (0 = Sunday … 6 = Saturday, PostgreSQL's numbering as the original), all seven; the
    days of the presence time zone, rolled-up days included. Default window 30 days."""

    async def execute(
        self,
        person_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        min_duration_seconds: float | None,
    ) -> PersonWeekdays:
        name = await self.person_name(person_id)
        window = self.window(from_ts, to_ts, timedelta(days=30), finite=True)
        _check_calendar(window, self._zone, "day")
        where = msgspec.structs.replace(_scoped(window, min_duration_seconds), person_id=person_id)
        dwell = [0.0] * 7
        sessions = [0] * 7
        # Days add up: a week day's totals are the sums of its calendar days.
        for bucket in await self._queries.calendar(where, "day"):
            weekday = (bucket.bucket_start.astimezone(self._zone).weekday() + 1) % 7
            dwell[weekday] += bucket.total_dwell_seconds
            sessions[weekday] += bucket.sessions_count
        return PersonWeekdays(
            person_id=person_id,
            person_full_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            buckets=[
                WeekdayBucket(
                    day_of_week=d, total_dwell_seconds=_dwell(dwell[d]), sessions_count=sessions[d]
                )
                for d in range(7)
            ],
        )


class ReportPersonHourByGateway(_Base):
    """``/reports/person/{id}/time-distribution/hour-by-gateway``: dwell per (hour of the
    day, gateway) pair that has any. Live sessions only. Default window 24 hours."""

    async def execute(
        self,
        person_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        min_duration_seconds: float | None,
    ) -> PersonHoursByGateway:
        name = await self.person_name(person_id)
        window = self.window(from_ts, to_ts, timedelta(hours=24), finite=True, hourly=True)
        where = msgspec.structs.replace(_scoped(window, min_duration_seconds), person_id=person_id)
        rows = await self._queries.hours_of_day(where, per_device=True)
        return PersonHoursByGateway(
            person_id=person_id,
            person_full_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            buckets=_buckets(rows, HourByGatewayBucket),
        )


class ReportPersonAlerts(_Base):
    """``/reports/person/{id}/alerts``: the alert events of the person opened in the window
    (default 30 days; 404 ``person_not_found``).

    - Counted: the events that recorded this person (``alert_events.person_id``), opened
      (``started_at``) within the window, optionally of one ``event_type`` and at one
      gateway (``device_id``) — the filters apply to every figure.
    - ``total_alerts``; ``first_alert_at`` / ``last_alert_at``: the first and the latest
      opened; ``by_type`` and ``by_device`` (most first); ``events``: newest first, at most
      ``max_events`` (the counts are over all of them).
    """

    async def execute(
        self,
        person_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        event_type: str | None = None,
        device_id: int | None = None,
        max_events: int = DEFAULT_ALERT_EVENTS,
    ) -> PersonAlerts:
        name = await self.person_name(person_id)
        window = self.window(from_ts, to_ts, timedelta(days=30))
        where = AlertFilter(
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            person_id=person_id,
            device_id=device_id,
            event_type=event_type,
        )
        tally = await self._queries.alert_tally(where)
        limit = min(max(max_events, 0), MAX_ALERT_EVENTS)
        events = await self._queries.alert_events(where, limit) if limit else []
        return PersonAlerts(
            person_id=person_id,
            person_full_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            total_alerts=tally.total_alerts,
            first_alert_at=tally.first_alert_at,
            last_alert_at=tally.last_alert_at,
            by_type=tally.by_type,
            by_device=tally.by_device,
            events=events,
        )


class ReportAlertsSummary(_Base):
    """``/reports/gateways/{id}/alerts/summary`` and ``/reports/buildings/{id}/alerts/summary``:
    the alert events opened in the window at the gateway, or at the gateways in the building
    (placed as presence reports place them), in total and per type (most first). Default
    window 30 days; 404 ``device_not_found`` / ``building_not_found``."""

    async def execute(
        self,
        scope: Literal["gateway", "building"],
        scope_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
    ) -> AlertsSummary:
        if scope == "gateway":
            await self.device_name(scope_id)
        else:
            await self.building_name(scope_id)
        window = self.window(from_ts, to_ts, timedelta(days=30))
        where = AlertFilter(
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            device_id=scope_id if scope == "gateway" else None,
            building_id=scope_id if scope == "building" else None,
        )
        tally = await self._queries.alert_tally(where)
        return AlertsSummary(
            scope=scope,
            scope_id=scope_id,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            total_alerts=tally.total_alerts,
            by_type=tally.by_type,
        )


class ReportGatewayUsage(_Base):
    """``/reports/gateways/usage-summary``: usage per gateway within a building, floor, plan
    or one gateway, most dwell first. Default window 7 days. A gateway asked for by
    ``device_id`` is listed even when idle (the front end reads ``gateways[0]``)."""

    async def execute(
        self,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        building_id: int | None,
        floor_id: int | None,
        floor_plan_id: int | None,
        device_id: int | None,
        min_duration_seconds: float | None,
    ) -> GatewayUsageSummary:
        if device_id is not None:
            await self.device_name(device_id)
        window = self.window(from_ts, to_ts, timedelta(days=7))
        where = msgspec.structs.replace(
            _scoped(window, min_duration_seconds),
            building_id=building_id,
            floor_id=floor_id,
            floor_plan_id=floor_plan_id,
            device_id=device_id,
        )
        rows = await self._queries.totals(where, "device")
        gateways = [
            GatewayUsage(
                device_id=r.key_id or 0,
                device_name=r.key_name,
                device_mac_address=r.device_mac_address,
                building_id=r.building_id,
                building_name=r.building_name,
                floor_id=r.floor_id,
                floor_name=r.floor_name,
                floor_plan_id=r.floor_plan_id,
                floor_plan_name=r.floor_plan_name,
                total_dwell_seconds=_dwell(r.total_dwell_seconds),
                sessions_count=r.sessions_count,
                unique_people_count=r.unique_people_count,
                unique_tags_count=r.unique_tags_count,
                avg_dwell_seconds=_avg(r.total_dwell_seconds, r.sessions_count),
                first_session_at=r.first_session_at,
                last_session_at=r.last_session_at,
            )
            for r in rows
        ]
        if device_id is not None and not gateways:
            gateways = [await self._idle(device_id)]
        return GatewayUsageSummary(
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            total_sessions=sum(g.sessions_count for g in gateways),
            total_dwell_seconds=_dwell(sum(g.total_dwell_seconds for g in gateways)),
            total_devices=len(gateways),
            gateways=gateways,
            top_device_id=gateways[0].device_id
            if gateways and gateways[0].sessions_count
            else None,
        )

    async def _idle(self, device_id: int) -> GatewayUsage:
        async with self._uow() as uow:
            device = await uow.devices.get(device_id)
        if device is None:
            raise NotFound(f"device {device_id} not found", code="device_not_found")
        return GatewayUsage(
            device_id=device.id,
            device_name=device.name,
            device_mac_address=device.mac_address,
            building_id=device.building_id,
            building_name=None,
            floor_id=device.floor_id,
            floor_name=None,
            floor_plan_id=device.floor_plan_id,
            floor_plan_name=None,
            total_dwell_seconds=0.0,
            sessions_count=0,
            unique_people_count=0,
            unique_tags_count=0,
            avg_dwell_seconds=0.0,
            first_session_at=None,
            last_session_at=None,
        )


class ReportGatewayTimeOfDay(_Base):
    """``/reports/gateways/{id}/time-of-day``: a gateway's usage per hour of the day (0-23,
    presence time zone; people counted once per hour however many days). Live sessions
    only. Default window 7 days."""

    async def execute(
        self, device_id: int, *, from_ts: datetime | None, to_ts: datetime | None
    ) -> GatewayHours:
        name = await self.device_name(device_id)
        window = self.window(from_ts, to_ts, timedelta(days=7), finite=True, hourly=True)
        where = msgspec.structs.replace(_window_filter(window), device_id=device_id)
        rows = await self._queries.hours_of_day(where, per_device=False)
        return GatewayHours(
            device_id=device_id,
            device_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            buckets=_buckets(rows, GatewayHourBucket),
        )


class ReportGatewayOccupancy(_Base):
    """``/reports/gateways/{id}/occupancy``: every hour of the window (empty hours too) with
    the dwell inside it and who was there, the busiest hour (earliest of equals) and the
    spread of session dwells. Live sessions only. Default window 24 hours."""

    async def execute(
        self, device_id: int, *, from_ts: datetime | None, to_ts: datetime | None
    ) -> GatewayOccupancy:
        name = await self.device_name(device_id)
        window = self.window(from_ts, to_ts, timedelta(hours=24), finite=True, hourly=True)
        where = msgspec.structs.replace(_window_filter(window), device_id=device_id)
        buckets = _buckets(await self._queries.hourly(where), TimeBucket)
        stats = await self._queries.dwell_stats(where)
        peak = None
        for bucket in buckets:
            if peak is None or bucket.unique_people_count > peak.unique_people_count:
                peak = PeakBucket(
                    bucket_start=bucket.bucket_start,
                    unique_people_count=bucket.unique_people_count,
                )
        return GatewayOccupancy(
            device_id=device_id,
            device_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            buckets=buckets,
            peak=peak,
            avg_dwell_seconds=_rounded(stats.avg_dwell_seconds),
            p50_dwell_seconds=_rounded(stats.p50_dwell_seconds),
            p95_dwell_seconds=_rounded(stats.p95_dwell_seconds),
        )


def _rounded(value: float | None) -> float | None:
    return None if value is None else _dwell(value)


class ReportGatewayConcurrency(_Base):
    """``/reports/gateways/{id}/concurrency``: per hour of the window, the most **people**
    present at the gateway at one instant (a sweep over their sessions; one person with two
    tags counts once; hours nobody starts or ends in count too — the original counted
    session starts and ends, bug 19). Live sessions only. Default window 24 hours."""

    async def execute(
        self, device_id: int, *, from_ts: datetime | None, to_ts: datetime | None
    ) -> GatewayConcurrency:
        name = await self.device_name(device_id)
        window = self.window(from_ts, to_ts, timedelta(hours=24), finite=True, hourly=True)
        where = msgspec.structs.replace(_window_filter(window), device_id=device_id)
        return GatewayConcurrency(
            device_id=device_id,
            device_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            buckets=await self._queries.concurrency(where),
        )


class ReportBuildingSummary(_Base):
    """``/reports/buildings/{id}/summary``: the building's totals and its top ten gateways
    by sessions and by dwell. Default window 30 days; 404 ``building_not_found``."""

    async def execute(
        self,
        building_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        min_duration_seconds: float | None,
    ) -> BuildingSummary:
        name = await self.building_name(building_id)
        window = self.window(from_ts, to_ts, timedelta(days=30))
        where = msgspec.structs.replace(
            _scoped(window, min_duration_seconds), building_id=building_id
        )
        total = _one(await self._queries.totals(where, "all"))
        gateways = [
            BuildingGateway(
                device_id=r.key_id or 0,
                device_name=r.key_name,
                sessions_count=r.sessions_count,
                total_dwell_seconds=_dwell(r.total_dwell_seconds),
                unique_people_count=r.unique_people_count,
            )
            for r in await self._queries.totals(where, "device")
        ]
        by_sessions = sorted(gateways, key=lambda g: (-g.sessions_count, g.device_id))
        return BuildingSummary(
            building_id=building_id,
            building_name=name,
            from_ts=window.from_ts,
            to_ts=window.to_ts,
            total_sessions=total.sessions_count,
            total_dwell_seconds=_dwell(total.total_dwell_seconds),
            unique_people_count=total.unique_people_count,
            unique_tags_count=total.unique_tags_count,
            avg_dwell_seconds=_avg(total.total_dwell_seconds, total.sessions_count),
            top_gateways_by_sessions=by_sessions[:TOP],
            top_gateways_by_dwell=gateways[:TOP],
        )


class ReportBuildingTimeOfDay(_Base):
    """``/reports/buildings/{id}/time-of-day``: a bare array of every hour of the window
    with the building's dwell and people. Live sessions only. Default window 24 hours."""

    async def execute(
        self, building_id: int, *, from_ts: datetime | None, to_ts: datetime | None
    ) -> list[TimeBucket]:
        await self.building_name(building_id)
        window = self.window(from_ts, to_ts, timedelta(hours=24), finite=True, hourly=True)
        where = msgspec.structs.replace(_window_filter(window), building_id=building_id)
        return _buckets(await self._queries.hourly(where), TimeBucket)


class ReportBuildingCalendar(_Base):
    """``/reports/buildings/{id}/time-distribution/calendar``: a bare array of calendar
    buckets (presence time zone, empty ones included), rolled-up days counted. Default
    window 30 days."""

    async def execute(
        self,
        building_id: int,
        *,
        from_ts: datetime | None,
        to_ts: datetime | None,
        granularity: Granularity,
    ) -> list[TimeBucket]:
        await self.building_name(building_id)
        window = self.window(from_ts, to_ts, timedelta(days=30), finite=True)
        _check_calendar(window, self._zone, granularity)
        where = msgspec.structs.replace(_window_filter(window), building_id=building_id)
        return _buckets(await self._queries.calendar(where, granularity), TimeBucket)


class DashboardSummaryReport:
    """``/dashboard/summary``: the register's counts, the gateways' online state (as
    ``/devices/status`` computes it), the active alert rules and the alert events opened in
    the last 24 hours (the original's route crashed, bug 6)."""

    def __init__(self, queries: ReportQueries, statuses: ListDeviceStatuses, clock: Clock) -> None:
        self._queries = queries
        self._statuses = statuses
        self._clock = clock

    async def execute(self) -> DashboardSummary:
        counts = await self._queries.register_counts()
        alerts = await self._queries.alert_activity(self._clock.now() - timedelta(hours=24))
        gateways = await self._statuses.execute(only_gateways=True)
        online = sum(1 for g in gateways if g.is_online)
        return DashboardSummary(
            total_people=counts.total_people,
            total_tags=counts.total_tags,
            total_gateways=len(gateways),
            gateways_online=online,
            gateways_offline=len(gateways) - online,
            active_alert_rules=alerts.active_alert_rules,
            recent_alerts_24h=alerts.alerts_opened,
        )


_B = TypeVar("_B", bound=_Base)


class Reports(msgspec.Struct, frozen=True, kw_only=True):
    """Every report use case, handed to the HTTP layer as one dependency."""

    dwell_sessions: ListDwellSessions
    transitions: ListPresenceTransitions
    overview: ReportOverview
    person_summary: ReportPersonSummary
    group_summary: ReportGroupSummary
    person_timeline: ReportPersonTimeline
    person_calendar: ReportPersonCalendar
    person_hour_of_day: ReportPersonHourOfDay
    person_day_of_week: ReportPersonDayOfWeek
    person_hour_by_gateway: ReportPersonHourByGateway
    person_alerts: ReportPersonAlerts
    alerts_summary: ReportAlertsSummary
    gateway_usage: ReportGatewayUsage
    gateway_time_of_day: ReportGatewayTimeOfDay
    gateway_occupancy: ReportGatewayOccupancy
    gateway_concurrency: ReportGatewayConcurrency
    building_summary: ReportBuildingSummary
    building_time_of_day: ReportBuildingTimeOfDay
    building_calendar: ReportBuildingCalendar
    dashboard: DashboardSummaryReport

    @classmethod
    def build(
        cls,
        queries: ReportQueries,
        uow: UnitOfWorkFactory,
        clock: Clock,
        zone: tzinfo,
        statuses: ListDeviceStatuses,
    ) -> "Reports":
        def make(kind: type[_B]) -> _B:
            return kind(queries, uow, clock, zone)

        return cls(
            dwell_sessions=make(ListDwellSessions),
            transitions=make(ListPresenceTransitions),
            overview=make(ReportOverview),
            person_summary=make(ReportPersonSummary),
            group_summary=make(ReportGroupSummary),
            person_timeline=make(ReportPersonTimeline),
            person_calendar=make(ReportPersonCalendar),
            person_hour_of_day=make(ReportPersonHourOfDay),
            person_day_of_week=make(ReportPersonDayOfWeek),
            person_hour_by_gateway=make(ReportPersonHourByGateway),
            person_alerts=make(ReportPersonAlerts),
            alerts_summary=make(ReportAlertsSummary),
            gateway_usage=make(ReportGatewayUsage),
            gateway_time_of_day=make(ReportGatewayTimeOfDay),
            gateway_occupancy=make(ReportGatewayOccupancy),
            gateway_concurrency=make(ReportGatewayConcurrency),
            building_summary=make(ReportBuildingSummary),
            building_time_of_day=make(ReportBuildingTimeOfDay),
            building_calendar=make(ReportBuildingCalendar),
            dashboard=DashboardSummaryReport(queries, statuses, clock),
        )
