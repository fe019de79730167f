"""Every report answers the same on every adapter, over the same seeded sessions.

Two local days (America/Sao_Paulo: its midnight is 03:00 UTC) of sessions at two gateways
of one building; the window [WINDOW_FROM, WINDOW_TO] cuts a long session at its start and
another at its end. Plus a day rolled up into ``presence_daily_usage`` whose sessions are
gone.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from securityvision.adapters.memory import InMemoryStorage
from securityvision.adapters.memory_presence_totals import InMemoryPresenceTotals
from securityvision.adapters.memory_reports import InMemoryReportQueries
from securityvision.adapters.postgres.database import PostgresStorage
from securityvision.adapters.postgres.presence_totals import PostgresPresenceTotals
from securityvision.adapters.postgres.reports import PostgresReportQueries
from securityvision.application.devices import ListDeviceStatuses
from securityvision.application.ports import Storage
from securityvision.application.presence_totals import (
    PresenceTotalsStore,
    RefreshPresenceTotals,
)
from securityvision.application.reports import (
    AlertActivity,
    AlertFilter,
    AlertTally,
    ConcurrencyBucket,
    Dimension,
    ReportQueries,
    Reports,
    ReportWindowError,
    TransitionFilter,
    UsageFilter,
    overview_of,
)
from securityvision.application.rollup import DayRollup
from securityvision.domain.alerts import AlertEventType, AlertRuleType, NewAlertEvent, NewAlertRule
from securityvision.domain.devices import NewDevice
from securityvision.domain.errors import NotFound
from securityvision.domain.people import NewPerson, NewPersonGroup
from securityvision.domain.presence import DailyUsage, PresenceSession
from securityvision.domain.rtls import NewTag
from securityvision.domain.sites import NewBuilding, NewFloor, NewFloorPlan
from tests.support.clock import FakeClock

ZONE = ZoneInfo("America/Sao_Paulo")
D1, D2, D0 = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 26)
WINDOW_FROM = datetime(2026, 11, 27, 13, 45, tzinfo=UTC)
WINDOW_TO = datetime(2026, 11, 28, 13, 15, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


class World(msgspec.Struct, kw_only=True):
    reports: Reports
    building: int
    floor: int
    plan: int
    g1: int
    g2: int
    ana: int
    bruno: int
    staff: int
    t1: int
    t2: int
    t3: int
    t4: int


def queries_of(storage: Storage) -> ReportQueries:
    if isinstance(storage, InMemoryStorage):
        return InMemoryReportQueries(storage, ZONE)
    assert isinstance(storage, PostgresStorage)
    return PostgresReportQueries(storage, ZONE, "America/Sao_Paulo")


async def seed(storage: Storage) -> World:
    """The register, and sessions (tag, gateway, start, end) across two local days."""
    async with storage.unit_of_work() as uow:
        building = await uow.buildings.add(NewBuilding(name="Torre A", code="TA"))
        floor = await uow.floors.add(NewFloor(building_id=building.id, name="Terreo"))
        plan = await uow.floor_plans.add(NewFloorPlan(floor_id=floor.id, name="Terreo 01"))
        g1 = await uow.devices.add(
            NewDevice(
                name="GW 1",
                mac_address="AA:BB:CC:DD:EE:01",
                floor_plan_id=plan.id,
                floor_id=floor.id,
                building_id=building.id,
            )
        )
        # Off any plan but in the building: building reports count it (device.building_id).
        g2 = await uow.devices.add(
            NewDevice(name="GW 2", mac_address="AA:BB:CC:DD:EE:02", building_id=building.id)
        )
        ana = await uow.people.add(NewPerson(full_name="Ana Lima"))
        bruno = await uow.people.add(NewPerson(full_name="Bruno Reis"))
        await uow.people.add(NewPerson(full_name="Carla Dias"))
        staff = await uow.person_groups.add(NewPersonGroup(name="Staff"))
        await uow.person_groups.set_members(staff.id, [ana.id, bruno.id])
        t1 = await uow.tags.add(NewTag(mac_address="11:00:00:00:00:01", person_id=ana.id))
        t2 = await uow.tags.add(NewTag(mac_address="11:00:00:00:00:02", person_id=ana.id))
        t3 = await uow.tags.add(NewTag(mac_address="11:00:00:00:00:03", person_id=bruno.id))
        t4 = await uow.tags.add(NewTag(mac_address="11:00:00:00:00:04", label="cart"))
        await uow.commit()
    sessions = [
        (t1.id, g1.id, at(27, 13), at(27, 16, 30)),  # cut by the window's start
        (t3.id, g1.id, at(27, 13, 30), at(27, 14)),
        (t1.id, g2.id, at(28, 12), at(28, 12, 20)),
        (t2.id, g1.id, at(28, 12, 10), at(28, 12, 50)),  # Ana's second tag, overlapping
        (t1.id, g1.id, at(28, 12, 40), at(28, 13, 10)),
        (t3.id, g1.id, at(28, 12, 45), at(28, 12, 45, 20)),  # 20 s: min_duration drops it
        (t4.id, g1.id, at(28, 13), at(28, 13, 30)),  # nobody's tag; cut by the window's end
    ]
    async with storage.unit_of_work() as uow:
        await uow.presence.replace_sessions(
            [],
            [
                PresenceSession(
                    tag_id=tag,
                    device_id=device,
                    day=start.astimezone(ZONE).date(),
                    started_at=start,
                    ended_at=end,
                    samples_count=10,
                    rssi_sum=-600,
                    rssi_max=-55,
                )
                for tag, device, start, end in sessions
            ],
        )
        await uow.commit()
    clock = FakeClock(WINDOW_TO)
    reports = Reports.build(
        queries_of(storage),
        storage.unit_of_work,
        clock,
        ZONE,
        ListDeviceStatuses(storage.unit_of_work, clock, timedelta(seconds=60)),
    )
    return World(
        reports=reports,
        building=building.id,
        floor=floor.id,
        plan=plan.id,
        g1=g1.id,
        g2=g2.id,
        ana=ana.id,
        bruno=bruno.id,
        staff=staff.id,
        t1=t1.id,
        t2=t2.id,
        t3=t3.id,
        t4=t4.id,
    )


def t3_at_g2_rolled_up(w: World) -> DailyUsage:
    """Ten minutes of t3 at g2 on D0, a day the rollup took."""
    return DailyUsage(
        tag_id=w.t3,
        device_id=w.g2,
        day=D0,
        total_dwell_seconds=600.0,
        sessions_count=1,
        samples_count=10,
        first_seen_at=at(26, 14),
        last_seen_at=at(26, 14, 10),
    )


async def roll_up(storage: Storage, rows: list[DailyUsage]) -> None:
    """What the rollup leaves of a day: its totals and its record; no sessions."""
    days = sorted({r.day for r in rows})
    if isinstance(storage, InMemoryStorage):
        for r in rows:
            storage.state.daily_usage[(r.tag_id, r.device_id, r.day)] = r
        for day in days:
            storage.state.rolled_days[day] = DayRollup(day=day, sessions=1, readings=1)
        return
    assert isinstance(storage, PostgresStorage)
    async with storage.connection() as conn:
        for r in rows:
            await conn.execute(
                "INSERT INTO presence_daily_usage (tag_id, device_id, day, total_dwell_seconds,"
                " sessions_count, samples_count, first_seen_at, last_seen_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    r.tag_id,
                    r.device_id,
                    r.day,
                    r.total_dwell_seconds,
                    r.sessions_count,
                    r.samples_count,
                    r.first_seen_at,
                    r.last_seen_at,
                ],
            )
        for day in days:
            await conn.execute(
                "INSERT INTO presence_rollups (day, time_zone, sessions, readings)"
                " VALUES (%s, 'America/Sao_Paulo', 1, 1)",
                [day],
            )


WINDOW = {"from_ts": WINDOW_FROM, "to_ts": WINDOW_TO}


async def test_the_overview_adds_up_clipped_dwell_and_ranks_every_dimension(
    storage: Storage,
) -> None:
    w = await seed(storage)
    overview = await w.reports.overview.execute(**WINDOW, device_id=None, tag_id=None)
    s = overview.summary
    assert (s.total_sessions, s.total_dwell_seconds) == (7, 17120.0)
    assert (s.total_unique_tags, s.total_unique_people, s.total_unique_devices) == (4, 2, 2)
    assert s.first_session_at == at(27, 13)
    assert s.last_session_at == at(28, 13, 30)
    assert s.avg_dwell_seconds == round(17120 / 7, 3)
    assert [
        (d.device_id, d.total_sessions, d.total_dwell_seconds) for d in overview.top_devices
    ] == [
        (w.g1, 6, 15920.0),
        (w.g2, 1, 1200.0),
    ]
    assert [(p.person_name, p.total_dwell_seconds) for p in overview.top_people] == [
        ("Ana Lima", 15300.0),
        ("Bruno Reis", 920.0),
    ]
    assert [(b.building_id, b.total_dwell_seconds) for b in overview.top_buildings] == [
        (w.building, 17120.0)
    ]
    assert [(f.floor_id, f.total_sessions) for f in overview.top_floors] == [(w.floor, 6)]
    assert [
        (g.group_name, g.total_sessions, g.total_dwell_seconds) for g in overview.top_groups
    ] == [("Staff", 6, 16220.0)]


async def test_the_overview_filters_by_gateway_and_tag(storage: Storage) -> None:
    w = await seed(storage)
    by_tag = await w.reports.overview.execute(**WINDOW, device_id=w.g1, tag_id=w.t1)
    assert (by_tag.summary.total_sessions, by_tag.summary.total_dwell_seconds) == (2, 11700.0)


async def test_a_person_summary_splits_dwell_by_gateway_and_min_duration_drops_short_sessions(
    storage: Storage,
) -> None:
    w = await seed(storage)
    ana = await w.reports.person_summary.execute(w.ana, **WINDOW, min_duration_seconds=None)
    assert (ana.total_sessions, ana.total_dwell_seconds) == (4, 15300.0)
    assert (ana.first_session_at, ana.last_session_at) == (at(27, 13), at(28, 13, 10))
    assert [
        (d.device_id, d.sessions_count, d.total_dwell_seconds) for d in ana.dwell_by_device
    ] == [
        (w.g1, 3, 14100.0),
        (w.g2, 1, 1200.0),
    ]
    assert ana.dwell_by_device[0].building_name == "Torre A"
    assert ana.dwell_by_device[1].building_name == "Torre A"  # by the gateway's building_id
    assert ana.top_device_id == w.g1
    bruno = await w.reports.person_summary.execute(w.bruno, **WINDOW, min_duration_seconds=30)
    assert (bruno.total_sessions, bruno.total_dwell_seconds) == (1, 900.0)


async def test_a_group_summary_lists_its_members_and_gateways(storage: Storage) -> None:
    w = await seed(storage)
    group = await w.reports.group_summary.execute(w.staff, **WINDOW, min_duration_seconds=30)
    assert (group.total_sessions, group.total_dwell_seconds, group.total_unique_people) == (
        5,
        16200.0,
        2,
    )
    assert [(p.person_full_name, p.sessions_count) for p in group.dwell_by_person] == [
        ("Ana Lima", 4),
        ("Bruno Reis", 1),
    ]
    assert [(d.device_id, d.unique_people_count) for d in group.dwell_by_device] == [
        (w.g1, 2),
        (w.g2, 1),
    ]


async def test_the_timeline_and_dwell_sessions_list_live_sessions_in_order(
    storage: Storage,
) -> None:
    w = await seed(storage)
    timeline = await w.reports.person_timeline.execute(
        w.ana, **WINDOW, min_duration_seconds=None, limit=10
    )
    assert [(t.device_id, t.started_at, t.duration_seconds) for t in timeline] == [
        (w.g1, at(27, 13), 12600.0),
        (w.g2, at(28, 12), 1200.0),
        (w.g1, at(28, 12, 10), 2400.0),
        (w.g1, at(28, 12, 40), 1800.0),
    ]
    assert timeline[0].floor_plan_id == w.plan
    newest = await w.reports.dwell_sessions.execute(
        **WINDOW, device_id=w.g1, tag_id=None, skip=1, limit=2
    )
    assert [(s.tag_id, s.started_at) for s in newest] == [
        (w.t3, at(28, 12, 45)),
        (w.t1, at(28, 12, 40)),
    ]


async def test_transitions_pair_consecutive_sessions_of_a_tag(storage: Storage) -> None:
    w = await seed(storage)
    rows = await w.reports.transitions.execute(
        TransitionFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, person_id=w.ana), 100
    )
    assert [(r.tag_id, r.from_device_id, r.to_device_id, r.transition_seconds) for r in rows] == [
        (w.t1, w.g2, w.g1, 1200.0),
        (w.t1, w.g1, w.g2, 70200.0),
    ]
    to_g2 = await w.reports.transitions.execute(
        TransitionFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, to_device_id=w.g2), 100
    )
    assert [r.transition_start_at for r in to_g2] == [at(27, 16, 30)]


async def test_calendar_and_day_of_week_use_the_local_days_of_the_sessions(
    storage: Storage,
) -> None:
    w = await seed(storage)
    calendar = await w.reports.person_calendar.execute(
        w.ana, **WINDOW, min_duration_seconds=None, granularity="day"
    )
    assert [
        (b.bucket_start, b.total_dwell_seconds, b.sessions_count) for b in calendar.buckets
    ] == [
        (at(27, 3), 9900.0, 1),
        (at(28, 3), 5400.0, 3),
    ]
    month = await w.reports.person_calendar.execute(
        w.ana, **WINDOW, min_duration_seconds=None, granularity="month"
    )
    assert [(b.bucket_start, b.total_dwell_seconds) for b in month.buckets] == [(at(1, 3), 15300.0)]
    weekdays = await w.reports.person_day_of_week.execute(
        w.ana, **WINDOW, min_duration_seconds=None
    )
    # 2026-11-27 is a Friday (5), 2026-11-28 a Saturday (6); 0 is Sunday.
    assert [
        (b.day_of_week, b.total_dwell_seconds) for b in weekdays.buckets if b.sessions_count
    ] == [
        (5, 9900.0),
        (6, 5400.0),
    ]
    assert len(weekdays.buckets) == 7
    building = await w.reports.building_calendar.execute(w.building, **WINDOW, granularity="week")
    assert [(b.bucket_start, b.total_dwell_seconds, b.unique_people_count) for b in building] == [
        (at(23, 3), 17120.0, 2)
    ]


async def test_hours_of_the_day_split_sessions_at_local_hours(storage: Storage) -> None:
    w = await seed(storage)
    hours = await w.reports.person_hour_of_day.execute(w.ana, **WINDOW, min_duration_seconds=None)
    busy = {
        b.hour: (b.total_dwell_seconds, b.sessions_count) for b in hours.buckets if b.sessions_count
    }
    assert busy == {
        9: (4800.0, 3),
        10: (1500.0, 2),
        11: (3600.0, 1),
        12: (3600.0, 1),
        13: (1800.0, 1),
    }
    assert [b.hour for b in hours.buckets] == list(range(24))
    by_gateway = await w.reports.person_hour_by_gateway.execute(
        w.ana, **WINDOW, min_duration_seconds=None
    )
    assert [(b.hour, b.device_id, b.total_dwell_seconds) for b in by_gateway.buckets][:3] == [
        (9, w.g1, 3600.0),
        (9, w.g2, 1200.0),
        (10, w.g1, 1500.0),
    ]
    gateway = await w.reports.gateway_time_of_day.execute(w.g1, **WINDOW)
    nine = gateway.buckets[9]
    assert (nine.unique_people_count, nine.unique_tags_count, nine.sessions_count) == (2, 3, 3)


async def test_occupancy_lists_every_hour_and_finds_the_peak(storage: Storage) -> None:
    w = await seed(storage)
    occupancy = await w.reports.gateway_occupancy.execute(w.g1, **WINDOW)
    assert len(occupancy.buckets) == 25  # 13:00 on the 27th to 13:00 on the 28th
    first, last = occupancy.buckets[0], occupancy.buckets[-1]
    assert (first.bucket_start, first.total_dwell_seconds, first.unique_people_count) == (
        at(27, 13),
        1800.0,
        2,
    )
    assert (last.total_dwell_seconds, last.sessions_count, last.unique_tags_count) == (1500.0, 2, 2)
    assert occupancy.buckets[5].sessions_count == 0  # an empty hour is still listed
    assert occupancy.peak is not None
    assert (occupancy.peak.bucket_start, occupancy.peak.unique_people_count) == (at(27, 13), 2)
    assert (occupancy.avg_dwell_seconds, occupancy.p50_dwell_seconds) == (2653.333, 1350.0)
    assert occupancy.p95_dwell_seconds == 8025.0
    hourly = await w.reports.building_time_of_day.execute(w.building, **WINDOW)
    assert sum(b.total_dwell_seconds for b in hourly) == 17120.0


async def test_concurrency_counts_people_present_at_once_in_every_hour(storage: Storage) -> None:
    w = await seed(storage)
    report = await w.reports.gateway_concurrency.execute(w.g1, **WINDOW)
    peaks = {b.bucket_start: b.peak_concurrency_people for b in report.buckets}
    assert len(peaks) == 25
    assert peaks[at(27, 13)] == 2
    assert peaks[at(27, 14)] == 1  # Bruno left at 14:00 sharp
    assert peaks[at(27, 15)] == 1  # Ana stayed the whole hour: no start, no end in it
    assert peaks[at(27, 17)] == 0
    assert peaks[at(28, 12)] == 2  # Ana's two tags overlap: one person
    assert peaks[at(28, 13)] == 1  # the cart's tag is nobody
    assert report.buckets[0] == ConcurrencyBucket(
        bucket_start=at(27, 13), peak_concurrency_people=2
    )


async def test_gateway_usage_and_building_summary(storage: Storage) -> None:
    w = await seed(storage)
    usage = await w.reports.gateway_usage.execute(
        **WINDOW,
        building_id=w.building,
        floor_id=None,
        floor_plan_id=None,
        device_id=None,
        min_duration_seconds=None,
    )
    assert [(g.device_id, g.unique_people_count, g.sessions_count) for g in usage.gateways] == [
        (w.g1, 2, 6),
        (w.g2, 1, 1),
    ]
    assert usage.gateways[0].floor_plan_name == "Terreo 01"
    on_plan = await w.reports.gateway_usage.execute(
        **WINDOW,
        building_id=None,
        floor_id=None,
        floor_plan_id=w.plan,
        device_id=None,
        min_duration_seconds=None,
    )
    assert [g.device_id for g in on_plan.gateways] == [w.g1]
    summary = await w.reports.building_summary.execute(
        w.building, **WINDOW, min_duration_seconds=None
    )
    assert (summary.total_sessions, summary.unique_people_count, summary.unique_tags_count) == (
        7,
        2,
        4,
    )
    assert [g.device_id for g in summary.top_gateways_by_sessions] == [w.g1, w.g2]
    assert [g.total_dwell_seconds for g in summary.top_gateways_by_dwell] == [15920.0, 1200.0]


async def test_a_window_over_rolled_up_and_live_days_adds_both_once(storage: Storage) -> None:
    w = await seed(storage)
    await roll_up(
        storage,
        [
            DailyUsage(
                tag_id=w.t1,
                device_id=w.g1,
                day=D0,
                total_dwell_seconds=3600.0,
                sessions_count=2,
                samples_count=40,
                first_seen_at=at(26, 13),
                last_seen_at=at(26, 15),
            ),
            t3_at_g2_rolled_up(w),
        ],
    )
    live = await w.reports.overview.execute(**WINDOW, device_id=None, tag_id=None)
    # The window touches the rolled-up day (late on the 26th, local): it counts whole.
    wide = {"from_ts": at(27, 2), "to_ts": WINDOW_TO}
    both = await w.reports.overview.execute(**wide, device_id=None, tag_id=None)
    live_part = await w.reports.overview.execute(
        from_ts=at(27, 3), to_ts=WINDOW_TO, device_id=None, tag_id=None
    )
    assert live_part.summary.total_sessions == 7
    assert both.summary.total_sessions == live_part.summary.total_sessions + 3
    assert both.summary.total_dwell_seconds == live_part.summary.total_dwell_seconds + 4200.0
    assert both.summary.first_session_at == at(26, 13)
    assert live.summary.total_dwell_seconds == 17120.0  # the rolled-up day is outside it
    ana = await w.reports.person_summary.execute(w.ana, **wide, min_duration_seconds=None)
    assert ana.total_sessions == 4 + 2
    calendar = await w.reports.building_calendar.execute(w.building, **wide, granularity="day")
    assert [(b.bucket_start, b.total_dwell_seconds, b.sessions_count) for b in calendar] == [
        (at(26, 3), 4200.0, 3),
        (at(27, 3), 14400.0, 2),
        (at(28, 3), 6320.0, 5),
    ]


async def test_bucket_reports_need_a_finite_window(storage: Storage) -> None:
    w = await seed(storage)
    with pytest.raises(ReportWindowError) as caught:
        await w.reports.gateway_occupancy.execute(w.g1, from_ts=WINDOW_FROM, to_ts=None)
    assert caught.value.code == "window_required"
    with pytest.raises(ReportWindowError):
        await w.reports.overview.execute(
            from_ts=WINDOW_TO, to_ts=WINDOW_FROM, device_id=None, tag_id=None
        )


async def test_default_windows_end_now(storage: Storage) -> None:
    w = await seed(storage)
    week = await w.reports.overview.execute(from_ts=None, to_ts=None, device_id=None, tag_id=None)
    assert (week.summary.from_ts, week.summary.to_ts) == (WINDOW_TO - timedelta(days=7), WINDOW_TO)
    day = await w.reports.gateway_occupancy.execute(w.g1, from_ts=None, to_ts=None)
    assert (day.from_ts, day.to_ts) == (WINDOW_TO - timedelta(hours=24), WINDOW_TO)


async def test_the_dashboard_counts_the_register(storage: Storage) -> None:
    w = await seed(storage)
    summary = await w.reports.dashboard.execute()
    assert (summary.total_people, summary.total_tags, summary.total_gateways) == (3, 4, 2)
    assert (summary.gateways_online, summary.gateways_offline) == (0, 2)
    assert (summary.active_alert_rules, summary.recent_alerts_24h) == (0, 0)


async def test_totals_of_several_dimensions_at_once_equal_each_dimension_alone(
    storage: Storage,
) -> None:
    """``totals_by`` (one reading of the usage, added up per tag and gateway first) answers
    what ``totals`` answers per dimension, scoped or not, over rolled-up and live days."""
    w = await seed(storage)
    await roll_up(storage, [t3_at_g2_rolled_up(w)])
    queries = queries_of(storage)
    dimensions = ("all", "building", "floor", "group", "device", "person", "tag")
    scopes = [
        UsageFilter(from_ts=at(26, 12), to_ts=WINDOW_TO),
        UsageFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, min_duration_seconds=30.0),
        UsageFilter(from_ts=at(26, 12), to_ts=WINDOW_TO, person_id=w.bruno),
        UsageFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, group_id=w.staff),
        UsageFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, building_id=w.building),
        UsageFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, floor_plan_id=w.plan),
        UsageFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, tag_id=w.t1, device_id=w.g1),
    ]
    for where in scopes:
        at_once = await queries.totals_by(where, dimensions, 10)
        for by in dimensions:
            assert at_once[by] == await queries.totals(where, by, 10), (where, by)
    scoped = await queries.totals_by(scopes[5], ("device",))
    assert [row.key_id for row in scoped["device"]] == [w.g1]  # g2 is on no plan


# --- alerts ------------------------------------------------------------------------------


class Alerts(msgspec.Struct, kw_only=True):
    """Alert events around the window, by name (see ``seed_alerts``)."""

    other_building: int
    g3: int
    ids: dict[str, int]


async def seed_alerts(storage: Storage, w: World) -> Alerts:
    """Alert events of Ana, Bruno and the gateways, opened in, before and at the end of the
    window; a third gateway in another building; two active rules and an inactive one."""
    async with storage.unit_of_work() as uow:
        other = await uow.buildings.add(NewBuilding(name="Torre B", code="TB"))
        g3 = await uow.devices.add(
            NewDevice(name="GW 3", mac_address="AA:BB:CC:DD:EE:03", building_id=other.id)
        )
        forbidden = await uow.alert_rules.add(
            NewAlertRule(name="Proibido", rule_type=AlertRuleType.FORBIDDEN_SECTOR)
        )
        dwell = await uow.alert_rules.add(
            NewAlertRule(name="Demora", rule_type=AlertRuleType.DWELL_TIME, max_dwell_seconds=60)
        )
        await uow.alert_rules.add(
            NewAlertRule(name="Desligada", rule_type=AlertRuleType.DWELL_TIME, is_active=False)
        )
        fs, dw = AlertEventType.FORBIDDEN_SECTOR, AlertEventType.DWELL_TIME
        specs: list[tuple[str, AlertEventType, int | None, int | None, int | None, datetime]] = [
            # name, type, rule, (person, tag) as below, device, start
            ("e1", fs, forbidden.id, w.ana, w.g1, at(27, 14)),
            ("e2", dw, dwell.id, w.ana, w.g1, at(28, 12, 20)),
            ("e3", fs, forbidden.id, w.ana, w.g2, WINDOW_TO),  # the window's end counts
            ("e4", fs, forbidden.id, w.ana, w.g1, at(27, 13)),  # opened before the window
            ("e5", fs, forbidden.id, w.bruno, g3.id, at(28, 10)),
            ("e6", AlertEventType.GATEWAY_OFFLINE, None, None, w.g2, at(28, 9)),
            ("e7", fs, forbidden.id, w.ana, None, at(28, 11)),  # its gateway is gone
            ("e8", AlertEventType.GATEWAY_ONLINE, None, None, w.g2, at(28, 9, 30)),
        ]
        tags = {w.ana: w.t1, w.bruno: w.t3}
        # e1 and e4 closed inside the window: an alert belongs to the window it opened in.
        closed = ("e1", "e4", "e8")
        added = await uow.alert_events.add_many(
            [
                NewAlertEvent(
                    event_type=kind,
                    rule_id=rule,
                    person_id=person,
                    tag_id=tags.get(person) if person else None,
                    device_id=device,
                    building_id=w.building if device in (w.g1, w.g2) else None,
                    started_at=start,
                    last_seen_at=start + timedelta(minutes=5),
                    ended_at=start + timedelta(minutes=5) if name in closed else None,
                    is_open=name not in closed,
                    message=name,
                )
                for name, kind, rule, person, device, start in specs
            ]
        )
        await uow.commit()
    return Alerts(
        other_building=other.id,
        g3=g3.id,
        ids={e.message or "": e.id for e in added},
    )


async def test_a_person_alert_report_counts_the_alerts_opened_in_the_window(
    storage: Storage,
) -> None:
    w = await seed(storage)
    alerts = await seed_alerts(storage, w)
    report = await w.reports.person_alerts.execute(w.ana, **WINDOW)
    assert (report.person_full_name, report.total_alerts) == ("Ana Lima", 4)
    assert (report.first_alert_at, report.last_alert_at) == (at(27, 14), WINDOW_TO)
    assert [(t.event_type, t.alerts_count) for t in report.by_type] == [
        ("FORBIDDEN_SECTOR", 3),
        ("DWELL_TIME", 1),
    ]
    # e7's gateway is gone: it counts in the total and by type, not by gateway.
    assert [(d.device_id, d.device_name, d.alerts_count) for d in report.by_device] == [
        (w.g1, "GW 1", 2),
        (w.g2, "GW 2", 1),
    ]
    names = {v: k for k, v in alerts.ids.items()}
    assert [names[e.id] for e in report.events] == ["e3", "e2", "e7", "e1"]
    e1 = report.events[-1]
    assert (e1.event_type, e1.device_name, e1.tag_id, e1.is_open) == (
        "FORBIDDEN_SECTOR",
        "GW 1",
        w.t1,
        False,
    )
    assert (e1.started_at, e1.ended_at, e1.building_id) == (
        at(27, 14),
        at(27, 14, 5),
        w.building,
    )
    assert report.events[1].ended_at is None


async def test_a_person_alert_report_filters_by_type_and_gateway_and_caps_the_list(
    storage: Storage,
) -> None:
    w = await seed(storage)
    alerts = await seed_alerts(storage, w)
    capped = await w.reports.person_alerts.execute(w.ana, **WINDOW, max_events=2)
    assert capped.total_alerts == 4  # the counts cover every event, the list the newest
    assert [e.id for e in capped.events] == [alerts.ids["e3"], alerts.ids["e2"]]
    dwell = await w.reports.person_alerts.execute(w.ana, **WINDOW, event_type="DWELL_TIME")
    assert (dwell.total_alerts, [e.id for e in dwell.events]) == (1, [alerts.ids["e2"]])
    at_g1 = await w.reports.person_alerts.execute(w.ana, **WINDOW, device_id=w.g1)
    assert at_g1.total_alerts == 2
    # Equal counts: by type name.
    assert [(t.event_type, t.alerts_count) for t in at_g1.by_type] == [
        ("DWELL_TIME", 1),
        ("FORBIDDEN_SECTOR", 1),
    ]
    wider = await w.reports.person_alerts.execute(w.ana, from_ts=at(27, 13), to_ts=WINDOW_TO)
    assert wider.total_alerts == 5  # e4 opened at 13:00
    nothing = await w.reports.person_alerts.execute(w.bruno, from_ts=at(27, 13), to_ts=at(28, 9))
    assert (nothing.total_alerts, nothing.first_alert_at, nothing.by_type, nothing.events) == (
        0,
        None,
        [],
        [],
    )
    default = await w.reports.person_alerts.execute(w.bruno, from_ts=None, to_ts=None)
    assert (default.from_ts, default.to_ts) == (WINDOW_TO - timedelta(days=30), WINDOW_TO)
    assert [e.id for e in default.events] == [alerts.ids["e5"]]
    with pytest.raises(NotFound) as caught:
        await w.reports.person_alerts.execute(999_999, **WINDOW)
    assert caught.value.code == "person_not_found"


async def test_alert_summaries_of_a_gateway_and_of_the_gateways_in_a_building(
    storage: Storage,
) -> None:
    w = await seed(storage)
    alerts = await seed_alerts(storage, w)
    g2 = await w.reports.alerts_summary.execute("gateway", w.g2, **WINDOW)
    assert (g2.scope, g2.scope_id, g2.total_alerts) == ("gateway", w.g2, 3)
    assert [(t.event_type, t.alerts_count) for t in g2.by_type] == [
        ("FORBIDDEN_SECTOR", 1),
        ("GATEWAY_OFFLINE", 1),
        ("GATEWAY_ONLINE", 1),
    ]
    # Torre A: GW 1 on its plan and GW 2 by its own building_id; not GW 3, nor e7 (no gateway).
    torre = await w.reports.alerts_summary.execute("building", w.building, **WINDOW)
    assert (torre.scope, torre.total_alerts) == ("building", 5)
    assert [(t.event_type, t.alerts_count) for t in torre.by_type] == [
        ("FORBIDDEN_SECTOR", 2),
        ("DWELL_TIME", 1),
        ("GATEWAY_OFFLINE", 1),
        ("GATEWAY_ONLINE", 1),
    ]
    other = await w.reports.alerts_summary.execute("building", alerts.other_building, **WINDOW)
    assert [(t.event_type, t.alerts_count) for t in other.by_type] == [("FORBIDDEN_SECTOR", 1)]
    default = await w.reports.alerts_summary.execute("gateway", alerts.g3, from_ts=None, to_ts=None)
    assert (default.from_ts, default.total_alerts) == (WINDOW_TO - timedelta(days=30), 1)
    with pytest.raises(NotFound) as caught:
        await w.reports.alerts_summary.execute("building", 999_999, **WINDOW)
    assert caught.value.code == "building_not_found"


async def test_the_dashboard_counts_active_rules_and_the_alerts_of_the_last_day(
    storage: Storage,
) -> None:
    w = await seed(storage)
    await seed_alerts(storage, w)
    summary = await w.reports.dashboard.execute()
    # Opened since 13:15 yesterday: all but e4 (13:00); two of the three rules are active.
    assert (summary.active_alert_rules, summary.recent_alerts_24h) == (2, 7)
    assert (summary.total_people, summary.total_gateways) == (3, 3)


async def test_alert_queries_answer_zeros_over_no_alerts(storage: Storage) -> None:
    w = await seed(storage)
    queries = queries_of(storage)
    tally = await queries.alert_tally(AlertFilter(building_id=w.building))
    assert tally == AlertTally(
        total_alerts=0, first_alert_at=None, last_alert_at=None, by_type=[], by_device=[]
    )
    assert await queries.alert_events(AlertFilter(), 10) == []
    assert await queries.alert_activity(WINDOW_FROM) == AlertActivity(
        active_alert_rules=0, alerts_opened=0
    )


def totals_of(storage: Storage) -> PresenceTotalsStore:
    if isinstance(storage, InMemoryStorage):
        return InMemoryPresenceTotals()
    assert isinstance(storage, PostgresStorage)
    return PostgresPresenceTotals(storage)


async def test_the_overview_totals_are_what_totals_by_answers_for_the_overview(
    storage: Storage,
) -> None:
    """``overview_totals`` equals the overview's part of ``totals_by``, before and after the
    presence totals are refreshed (PostgreSQL then reads them for the whole UTC days and
    hours inside a window, the sessions for the rest; memory keeps none), over windows cut
    anywhere, a point, rolled-up days; filtered or open windows answer from ``totals_by``."""
    w = await seed(storage)
    await roll_up(storage, [t3_at_g2_rolled_up(w)])
    queries = queries_of(storage)
    dimensions: tuple[Dimension, ...] = ("building", "floor", "group", "device", "person", "tag")
    windows = [
        UsageFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO),
        UsageFilter(from_ts=at(26, 12), to_ts=at(29, 0)),
        UsageFilter(from_ts=at(27, 0), to_ts=at(28, 0)),  # one UTC day
        UsageFilter(from_ts=at(27, 14), to_ts=at(28, 12, 45)),  # whole hours, ends on a start
        UsageFilter(from_ts=at(28, 13), to_ts=at(28, 13)),  # a point, on a session's start
        UsageFilter(from_ts=at(27, 16, 30), to_ts=at(28, 12, 20)),  # on sessions' ends
        UsageFilter(from_ts=WINDOW_FROM, to_ts=None),
        UsageFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, person_id=w.ana),
        UsageFilter(from_ts=WINDOW_FROM, to_ts=WINDOW_TO, min_duration_seconds=30.0),
    ]
    refresh = RefreshPresenceTotals(totals_of(storage), FakeClock(at(29, 12)))
    for step in ("live", "refreshed"):
        if step == "refreshed":
            done = await refresh.execute()
            assert (done.hours > 0) == isinstance(storage, PostgresStorage)
        for where in windows:
            for limit in (None, 1):
                answer = await queries.totals_by(where, ("all", *dimensions), limit)
                expected = overview_of(answer, dimensions)
                assert await queries.overview_totals(where, dimensions, limit) == expected, (
                    step,
                    where,
                    limit,
                )
