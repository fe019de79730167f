"""The reports read model over the in-memory state, computed as the PostgreSQL queries
compute it (adapters/postgres/reports.py): the contract suite holds the two to the same
answers on the same data."""

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo

import msgspec

from securityvision.adapters.memory import InMemoryStorage
from securityvision.application.reports import (
    AlertActivity,
    AlertDeviceCount,
    AlertEventRow,
    AlertFilter,
    AlertTally,
    AlertTypeCount,
    ConcurrencyBucket,
    Dimension,
    DwellStats,
    Granularity,
    HourOfDayBucket,
    OverviewTotals,
    RegisterCounts,
    SessionRow,
    TimeBucket,
    TransitionFilter,
    TransitionRow,
    UsageFilter,
    UsageTotals,
    Window,
    bucket_day,
    calendar_days,
    hour_floor,
    hour_starts,
    local_midnight,
    overview_of,
    percentile,
    touched_days,
)
from securityvision.domain.alerts import AlertEvent
from securityvision.domain.devices import Device
from securityvision.domain.sites import Building, Floor, FloorPlan

_HOUR = timedelta(hours=1)


class _Use(msgspec.Struct, frozen=True, kw_only=True):
    """One row of usage: a live session clipped to the window (``session_id`` set) or a
    rolled-up (tag, gateway, day), with the person and place joined."""

    session_id: int | None
    tag_id: int
    device_id: int
    day: date
    started_at: datetime | None
    ended_at: datetime | None
    start_c: datetime | None
    end_c: datetime | None
    dwell: float
    sessions: int
    samples: int
    rssi_avg: float
    rssi_max: int
    duration: float
    tag_name: str | None
    person_id: int | None
    person_name: str | None
    device_name: str | None
    device_mac_address: str | None
    floor_plan_id: int | None
    floor_plan_name: str | None
    floor_id: int | None
    floor_name: str | None
    building_id: int | None
    building_name: str | None


class _Tally:
    def __init__(self) -> None:
        self.sessions = 0
        self.dwell = 0.0
        self.tags: set[int] = set()
        self.people: set[int] = set()
        self.devices: set[int] = set()
        self.session_ids: set[int] = set()
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.sample: _Use | None = None

    def add(self, use: _Use, dwell: float, sessions: int) -> None:
        self.sessions += sessions
        self.dwell += dwell
        self.tags.add(use.tag_id)
        self.devices.add(use.device_id)
        if use.person_id is not None:
            self.people.add(use.person_id)
        if use.session_id is not None:
            self.session_ids.add(use.session_id)
        if use.started_at is not None:
            self.first = use.started_at if self.first is None else min(self.first, use.started_at)
        if use.ended_at is not None:
            self.last = use.ended_at if self.last is None else max(self.last, use.ended_at)
        self.sample = self.sample or use


class InMemoryReportQueries:
    def __init__(self, storage: InMemoryStorage, zone: tzinfo) -> None:
        self._storage = storage
        self._zone = zone

    # --- the usage stream ---------------------------------------------------------------

    def _usage(self, where: UsageFilter, *, rolled: bool) -> list[_Use]:
        state = self._storage.state
        result = []
        for s in state.sessions.values():
            if where.from_ts is not None and s.ended_at < where.from_ts:
                continue
            if where.to_ts is not None and s.started_at > where.to_ts:
                continue
            if s.duration_seconds < where.min_duration_seconds:
                continue
            start_c = max(s.started_at, where.from_ts) if where.from_ts else s.started_at
            end_c = min(s.ended_at, where.to_ts) if where.to_ts else s.ended_at
            result.append(
                self._joined(
                    session_id=s.id,
                    tag_id=s.tag_id,
                    device_id=s.device_id,
                    day=s.day,
                    started_at=s.started_at,
                    ended_at=s.ended_at,
                    start_c=start_c,
                    end_c=end_c,
                    dwell=(end_c - start_c).total_seconds(),
                    sessions=1,
                    samples=s.samples_count,
                    rssi_avg=s.rssi_avg,
                    rssi_max=s.rssi_max,
                    duration=s.duration_seconds,
                )
            )
        if rolled:
            first, last = touched_days(Window(from_ts=where.from_ts, to_ts=where.to_ts), self._zone)
            for u in state.daily_usage.values():
                if u.day not in state.rolled_days:
                    continue
                if (first is not None and u.day < first) or (last is not None and u.day > last):
                    continue
                result.append(
                    self._joined(
                        session_id=None,
                        tag_id=u.tag_id,
                        device_id=u.device_id,
                        day=u.day,
                        started_at=u.first_seen_at,
                        ended_at=u.last_seen_at,
                        start_c=u.first_seen_at,
                        end_c=u.last_seen_at,
                        dwell=u.total_dwell_seconds,
                        sessions=u.sessions_count,
                        samples=u.samples_count,
                        rssi_avg=0.0,
                        rssi_max=0,
                        duration=u.total_dwell_seconds,
                    )
                )
        return [u for u in result if self._matches(u, where)]

    def _place(
        self, device: Device | None
    ) -> tuple[FloorPlan | None, Floor | None, Building | None]:
        """A gateway's plan, floor (its plan's, else its own) and building (its floor's, else
        its own), as the PostgreSQL joins place it."""
        sites = self._storage.state.sites
        plan = (
            sites.floor_plans.get(device.floor_plan_id) if device and device.floor_plan_id else None
        )
        floor_id = plan.floor_id if plan else (device.floor_id if device else None)
        floor = sites.floors.get(floor_id) if floor_id is not None else None
        building_id = floor.building_id if floor else (device.building_id if device else None)
        building = sites.buildings.get(building_id) if building_id is not None else None
        return plan, floor, building

    def _joined(self, *, tag_id: int, device_id: int, **fields: object) -> _Use:
        state = self._storage.state
        tag = state.tags.get(tag_id)
        person = state.people.get(tag.person_id) if tag and tag.person_id else None
        device = state.devices.get(device_id)
        plan, floor, building = self._place(device)
        return msgspec.convert(
            {
                **fields,
                "tag_id": tag_id,
                "device_id": device_id,
                "tag_name": (tag.label or tag.mac_address) if tag else None,
                "person_id": person.id if person else None,
                "person_name": person.full_name if person else None,
                "device_name": device.name if device else None,
                "device_mac_address": device.mac_address if device else None,
                "floor_plan_id": plan.id if plan else None,
                "floor_plan_name": plan.name if plan else None,
                "floor_id": floor.id if floor else None,
                "floor_name": floor.name if floor else None,
                "building_id": building.id if building else None,
                "building_name": building.name if building else None,
            },
            _Use,
        )

    def _matches(self, use: _Use, where: UsageFilter) -> bool:
        wanted = {
            "tag_id": where.tag_id,
            "device_id": where.device_id,
            "person_id": where.person_id,
            "floor_plan_id": where.floor_plan_id,
            "floor_id": where.floor_id,
            "building_id": where.building_id,
        }
        if any(v is not None and getattr(use, k) != v for k, v in wanted.items()):
            return False
        if where.group_id is None:
            return True
        return (where.group_id, use.person_id) in self._storage.state.memberships

    # --- reports ------------------------------------------------------------------------

    async def sessions(
        self, where: UsageFilter, *, skip: int, limit: int, newest_first: bool
    ) -> list[SessionRow]:
        uses = sorted(
            self._usage(where, rolled=False),
            key=lambda u: (u.started_at or u.end_c, u.session_id),
            reverse=newest_first,
        )
        return [
            SessionRow(
                id=u.session_id or 0,
                tag_id=u.tag_id,
                device_id=u.device_id,
                device_name=u.device_name,
                person_id=u.person_id,
                person_full_name=u.person_name,
                building_id=u.building_id,
                building_name=u.building_name,
                floor_id=u.floor_id,
                floor_name=u.floor_name,
                floor_plan_id=u.floor_plan_id,
                floor_plan_name=u.floor_plan_name,
                day=u.day,
                started_at=u.started_at,
                ended_at=u.ended_at,
                duration_seconds=u.duration,
                samples_count=u.samples,
                rssi_avg=u.rssi_avg,
                rssi_max=u.rssi_max,
            )
            for u in uses[skip : skip + limit]
            if u.started_at is not None and u.ended_at is not None
        ]

    async def transitions(self, where: TransitionFilter, limit: int) -> list[TransitionRow]:
        state = self._storage.state
        by_tag: dict[int, list[tuple[datetime, int, int, datetime]]] = defaultdict(list)
        for s in state.sessions.values():
            by_tag[s.tag_id].append((s.started_at, s.id or 0, s.device_id, s.ended_at))
        rows = []
        for tag_id, sessions in by_tag.items():
            tag = state.tags.get(tag_id)
            person_id = tag.person_id if tag else None
            ordered = sorted(sessions)
            for before, after in itertools.pairwise(ordered):
                row = TransitionRow(
                    id=after[1],
                    tag_id=tag_id,
                    person_id=person_id,
                    from_session_id=before[1],
                    to_session_id=after[1],
                    from_device_id=before[2],
                    to_device_id=after[2],
                    transition_start_at=before[3],
                    transition_end_at=after[0],
                    transition_seconds=max((after[0] - before[3]).total_seconds(), 0.0),
                )
                if _transition_matches(row, where):
                    rows.append(row)
        rows.sort(key=lambda r: (r.transition_end_at, r.id), reverse=True)
        return rows[:limit]

    async def totals(
        self, where: UsageFilter, by: Dimension, limit: int | None = None
    ) -> list[UsageTotals]:
        tallies: dict[int | None, _Tally] = defaultdict(_Tally)
        names: dict[int | None, str | None] = {}
        for use in self._usage(where, rolled=True):
            for key, name in self._keys(use, by):
                tallies[key].add(use, use.dwell, use.sessions)
                names[key] = name
        if by == "all" and not tallies:
            tallies[None] = _Tally()
            names[None] = None
        ordered = sorted(tallies.items(), key=lambda kv: (-round(kv[1].dwell, 3), kv[0] or 0))
        rows = []
        for key, tally in ordered[:limit]:
            place = tally.sample if by == "device" else None
            rows.append(
                UsageTotals(
                    key_id=key,
                    key_name=names[key],
                    sessions_count=tally.sessions,
                    total_dwell_seconds=tally.dwell,
                    unique_tags_count=len(tally.tags),
                    unique_people_count=len(tally.people),
                    unique_devices_count=len(tally.devices),
                    first_session_at=tally.first,
                    last_session_at=tally.last,
                    device_mac_address=place.device_mac_address if place else None,
                    building_id=place.building_id if place else None,
                    building_name=place.building_name if place else None,
                    floor_id=place.floor_id if place else None,
                    floor_name=place.floor_name if place else None,
                    floor_plan_id=place.floor_plan_id if place else None,
                    floor_plan_name=place.floor_plan_name if place else None,
                )
            )
        return rows

    def _keys(self, use: _Use, by: Dimension) -> Iterable[tuple[int | None, str | None]]:
        """The keys a usage row adds to (a person in two groups adds to both)."""
        if by == "group":
            state = self._storage.state
            return [
                (group_id, state.person_groups[group_id].name)
                for group_id, person_id in sorted(state.memberships)
                if person_id == use.person_id and group_id in state.person_groups
            ]
        key, name = {
            "all": (None, None),
            "device": (use.device_id, use.device_name),
            "tag": (use.tag_id, use.tag_name),
            "person": (use.person_id, use.person_name),
            "building": (use.building_id, use.building_name),
            "floor": (use.floor_id, use.floor_name),
        }[by]
        return [] if key is None and by != "all" else [(key, name)]

    async def totals_by(
        self, where: UsageFilter, dimensions: Sequence[Dimension], limit: int | None = None
    ) -> dict[Dimension, list[UsageTotals]]:
        return {by: await self.totals(where, by, limit) for by in dimensions}

    async def overview_totals(
        self, where: UsageFilter, dimensions: Sequence[Dimension], limit: int | None = None
    ) -> OverviewTotals:
        return overview_of(await self.totals_by(where, ("all", *dimensions), limit), dimensions)

    async def calendar(self, where: UsageFilter, granularity: Granularity) -> list[TimeBucket]:
        window = Window(from_ts=where.from_ts, to_ts=where.to_ts)
        tallies = {day: _Tally() for day in calendar_days(window, self._zone, granularity)}
        for use in self._usage(where, rolled=True):
            tally = tallies.get(bucket_day(use.day, granularity))
            if tally is not None:
                tally.add(use, use.dwell, use.sessions)
        return [_bucket(local_midnight(day, self._zone), tally) for day, tally in tallies.items()]

    def _pieces(self, where: UsageFilter) -> list[tuple[datetime, _Use, float]]:
        """Each live session cut at the UTC hours of the window: (hour, session, dwell)."""
        hours = set(hour_starts(Window(from_ts=where.from_ts, to_ts=where.to_ts)))
        pieces = []
        for use in self._usage(where, rolled=False):
            if use.start_c is None or use.end_c is None:
                continue
            first = hour_floor(use.start_c)
            current = first
            while current < use.end_c or current == first:
                if current in hours:
                    end = min(use.end_c, current + _HOUR)
                    start = max(use.start_c, current)
                    pieces.append((current, use, (end - start).total_seconds()))
                current += _HOUR
        return pieces

    async def hourly(self, where: UsageFilter) -> list[TimeBucket]:
        window = Window(from_ts=where.from_ts, to_ts=where.to_ts)
        tallies = {hour: _Tally() for hour in hour_starts(window)}
        for hour, use, dwell in self._pieces(where):
            tallies[hour].add(use, dwell, 1)
        return [_bucket(hour, tally) for hour, tally in tallies.items()]

    async def hours_of_day(self, where: UsageFilter, *, per_device: bool) -> list[HourOfDayBucket]:
        tallies: dict[tuple[int, int], _Tally] = defaultdict(_Tally)
        if not per_device:
            for h in range(24):
                tallies[(h, 0)] = _Tally()
        for hour, use, dwell in self._pieces(where):
            local = hour.astimezone(self._zone).hour
            tallies[(local, use.device_id if per_device else 0)].add(use, dwell, 0)
        return [
            HourOfDayBucket(
                hour=h,
                device_id=device_id if per_device else None,
                device_name=tally.sample.device_name if per_device and tally.sample else None,
                total_dwell_seconds=tally.dwell,
                sessions_count=len(tally.session_ids),
                unique_tags_count=len(tally.tags),
                unique_people_count=len(tally.people),
            )
            for (h, device_id), tally in sorted(tallies.items())
        ]

    async def dwell_stats(self, where: UsageFilter) -> DwellStats:
        dwells = [u.dwell for u in self._usage(where, rolled=False)]
        if not dwells:
            return DwellStats()
        return DwellStats(
            avg_dwell_seconds=sum(dwells) / len(dwells),
            p50_dwell_seconds=percentile(dwells, 0.5),
            p95_dwell_seconds=percentile(dwells, 0.95),
        )

    async def concurrency(self, where: UsageFilter) -> list[ConcurrencyBucket]:
        window = Window(from_ts=where.from_ts, to_ts=where.to_ts)
        hours = hour_starts(window)
        peaks = dict.fromkeys(hours, 0)
        # Each person's sessions joined into islands of continuous presence: one person with
        # two tags, or two overlapping sessions, is one person present.
        intervals: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        for use in self._usage(where, rolled=False):
            if use.person_id is not None and use.start_c is not None and use.end_c is not None:
                intervals[use.person_id].append((use.start_c, use.end_c))
        events: dict[datetime, list[tuple[datetime, int]]] = defaultdict(list)
        for spans in intervals.values():
            for start, end in _islands(spans):
                first = hour_floor(start)
                current = first
                while current < end or current == first:
                    if current in peaks:
                        events[current].append((max(start, current), 1))
                        events[current].append((min(end, current + _HOUR), -1))
                    current += _HOUR
        for hour, marks in events.items():
            present = 0
            # Arrivals before departures at the same instant: both were there then.
            for _, delta in sorted(marks, key=lambda m: (m[0], -m[1])):
                present += delta
                peaks[hour] = max(peaks[hour], present)
        return [ConcurrencyBucket(bucket_start=h, peak_concurrency_people=peaks[h]) for h in hours]

    async def register_counts(self) -> RegisterCounts:
        state = self._storage.state
        return RegisterCounts(total_people=len(state.people), total_tags=len(state.tags))

    # --- alerts ---------------------------------------------------------------------------

    def _alerts(self, where: AlertFilter) -> list[AlertEvent]:
        state = self._storage.state
        wanted = {
            "person_id": where.person_id,
            "device_id": where.device_id,
            "event_type": where.event_type,
        }
        events = []
        for event in state.alert_tables.events.values():
            if where.from_ts is not None and event.started_at < where.from_ts:
                continue
            if where.to_ts is not None and event.started_at > where.to_ts:
                continue
            if any(v is not None and getattr(event, k) != v for k, v in wanted.items()):
                continue
            if where.building_id is not None:
                device = state.devices.get(event.device_id) if event.device_id else None
                building = self._place(device)[2] if device else None
                if building is None or building.id != where.building_id:
                    continue
            events.append(event)
        return events

    def _device_name(self, device_id: int | None) -> str | None:
        device = self._storage.state.devices.get(device_id) if device_id is not None else None
        return device.name if device else None

    async def alert_tally(self, where: AlertFilter) -> AlertTally:
        events = self._alerts(where)
        by_type: dict[str, int] = defaultdict(int)
        by_device: dict[int, int] = defaultdict(int)
        for event in events:
            by_type[str(event.event_type)] += 1
            if event.device_id is not None:
                by_device[event.device_id] += 1
        starts = [e.started_at for e in events]
        return AlertTally(
            total_alerts=len(events),
            first_alert_at=min(starts, default=None),
            last_alert_at=max(starts, default=None),
            by_type=[
                AlertTypeCount(event_type=t, alerts_count=n)
                for t, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            by_device=[
                AlertDeviceCount(device_id=d, device_name=self._device_name(d), alerts_count=n)
                for d, n in sorted(by_device.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        )

    async def alert_events(self, where: AlertFilter, limit: int) -> list[AlertEventRow]:
        events = sorted(self._alerts(where), key=lambda e: (e.started_at, e.id), reverse=True)
        return [
            AlertEventRow(
                id=e.id,
                event_type=str(e.event_type),
                rule_id=e.rule_id,
                person_id=e.person_id,
                tag_id=e.tag_id,
                device_id=e.device_id,
                device_name=self._device_name(e.device_id),
                floor_plan_id=e.floor_plan_id,
                floor_id=e.floor_id,
                building_id=e.building_id,
                incident_id=e.incident_id,
                started_at=e.started_at,
                last_seen_at=e.last_seen_at,
                ended_at=e.ended_at,
                is_open=e.is_open,
                message=e.message,
            )
            for e in events[:limit]
        ]

    async def alert_activity(self, since: datetime) -> AlertActivity:
        tables = self._storage.state.alert_tables
        return AlertActivity(
            active_alert_rules=sum(1 for r in tables.rules.values() if r.is_active),
            alerts_opened=sum(1 for e in tables.events.values() if e.started_at >= since),
        )


def _islands(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _bucket(start: datetime, tally: _Tally) -> TimeBucket:
    return TimeBucket(
        bucket_start=start,
        total_dwell_seconds=tally.dwell,
        sessions_count=tally.sessions,
        unique_tags_count=len(tally.tags),
        unique_people_count=len(tally.people),
    )


def _transition_matches(row: TransitionRow, where: TransitionFilter) -> bool:
    checks: list[tuple[int | None, Callable[[int], bool]]] = [
        (where.person_id, lambda v: row.person_id == v),
        (where.tag_id, lambda v: row.tag_id == v),
        (where.device_id, lambda v: v in (row.from_device_id, row.to_device_id)),
        (where.from_device_id, lambda v: row.from_device_id == v),
        (where.to_device_id, lambda v: row.to_device_id == v),
    ]
    if any(value is not None and not test(value) for value, test in checks):
        return False
    if where.from_ts is not None and row.transition_end_at < where.from_ts:
        return False
    return where.to_ts is None or row.transition_end_at <= where.to_ts
