"""Ingesting what gateways report: readings, gateway activity, unknown tags.

The worker decodes MQTT messages into ``GatewayMessage``s (an adapter's job) and hands them to
``IngestGatewayMessages`` in batches; a batch is one transaction (or, in lanes, one for its
gateways and one per lane of tags), and the worker acknowledges the batch's messages to the
broker only after all of it committed.
"""

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeAlias

import msgspec

from securityvision.application.alerts import AlertEngine
from securityvision.application.ports import (
    Clock,
    GatewaySighting,
    ReadingRow,
    UnitOfWork,
    UnitOfWorkFactory,
    UnknownTagSighting,
)
from securityvision.application.presence import PRESENCE_LANES, PresenceFollower
from securityvision.domain.events import LiveEvent
from securityvision.domain.presence import Sighting, TagPosition
from securityvision.domain.rtls import MAX_FUTURE_SKEW_SECONDS, GatewayMessage

RAW_PAYLOAD_LIMIT = 4096
RECEIPT_RETENTION = timedelta(days=1)

# Per lane: the turn of the batch before (None: nothing to wait for), and this batch's, done
# once its lane is.
_Turns: TypeAlias = dict[int, tuple[asyncio.Future[None] | None, asyncio.Future[None]]]


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded message as it arrived.

    ``fingerprint`` identifies this delivery of this message — the subscriber's session, the
    MQTT packet id and the content — so that a redelivery (``redelivered``: the broker's DUP
    flag; the broker reuses the packet id, and cannot give it to another message while this
    one is unacknowledged) can be recognised.
    """

    message: GatewayMessage
    received_at: datetime
    fingerprint: bytes
    redelivered: bool = False


class IngestReport(msgspec.Struct, kw_only=True):
    """What a batch did, for metrics and logs."""

    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    unknown_tags: int = 0
    rejected: Counter[str] = msgspec.field(default_factory=Counter)
    gateways_online: list[int] = msgspec.field(default_factory=list)
    gateways_offline: list[int] = msgspec.field(default_factory=list)
    moved: list[TagPosition] = msgspec.field(default_factory=list)


class IngestGatewayMessages:
    """Store one batch of decoded gateway messages: in one transaction, or with ``lanes`` in
    one for what it says of gateways and tags, then one per lane of tags (``execute``).

    - A reading's identity is (gateway, tag, time): stored once, whichever message carries it.
    - A reading without a time takes the time its message was first received; a redelivery of
      that message reuses the first time, so it adds nothing.
    - Late readings of any age are accepted; more than 5 minutes in the future is refused
      (``future_timestamp``).
    - Readings of unregistered tags are counted and listed as unknown, not stored — unless
      ``accept_unknown_tags``, which registers the tag on first sight.
    - Every message is activity of its gateway (registered on first sight), except a report
      that the gateway is offline; a gateway that was not known to be online becomes so, and
      that transition is recorded.
    - Presence sessions and positions follow the new readings in the same transaction, so
      they are never behind the readings they are made of.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        accept_unknown_tags: bool = False,
        presence: PresenceFollower | None = None,
        alerts: AlertEngine | None = None,
        lanes: bool = False,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._accept_unknown_tags = accept_unknown_tags
        self._presence = presence or PresenceFollower()
        self._alerts = alerts
        self._lanes = lanes
        # Per lane, done when the lane of the batch begun last is (see ``execute``).
        self._turns: dict[int, asyncio.Future[None]] = {}

    @property
    def overlapping(self) -> bool:
        """Whether a batch may begin before the previous one is done (with ``lanes``): the
        next batch's gateways, tags and receipts are stored meanwhile, and each of its lanes
        waits for the same lane of the previous batch before opening its transaction."""
        return self._lanes

    async def execute(
        self, deliveries: Sequence[Delivery], *, acknowledged: Sequence[bytes] = ()
    ) -> IngestReport:
        """Store ``deliveries``; ``acknowledged`` are the fingerprints of messages of earlier
        batches the broker has since been told about, whose receipts are no longer needed.

        With ``lanes`` (a storage whose units of work are transactions that may run side by
        side: PostgreSQL), the batch is stored in 1 + ``PRESENCE_LANES`` transactions: first
        what the messages say of gateways, tags and receipts; then, at the same time, one per
        lane of tags, its readings with their presence. A batch that fails part way is
        retried whole: readings already stored are duplicates the second time, and presence
        follows only readings that were new.

        Batches begun while others are being stored (``overlapping``) take turns lane by lane,
        in the order ``execute`` was called: a lane's transaction opens once the same lane of
        the batch before has committed, or failed. A lane waits holding no lock, so the turns
        cannot deadlock with what PostgreSQL locks."""
        turns = self._take_turns()
        try:
            return await self._execute(deliveries, acknowledged, turns)
        finally:
            for previous, mine in turns.values():
                _pass_turn(previous, mine)

    def _take_turns(self) -> _Turns:
        if not self._lanes:
            return {}
        loop = asyncio.get_running_loop()
        turns = {}
        for lane in range(PRESENCE_LANES):
            previous = self._turns.get(lane)
            mine: asyncio.Future[None] = loop.create_future()
            turns[lane] = (None if previous is None or previous.done() else previous, mine)
            self._turns[lane] = mine
        return turns

    async def _execute(
        self,
        deliveries: Sequence[Delivery],
        acknowledged: Sequence[bytes],
        turns: _Turns,
    ) -> IngestReport:
        report = IngestReport(messages=len(deliveries))
        for delivery in deliveries:
            report.rejected.update(r.reason for r in delivery.message.rejections)
        async with self._uow() as uow:
            if acknowledged:
                await uow.ingest.forget_receipts(acknowledged)
            timeless = [d for d in deliveries if needs_receipt(d)]
            first_received = (
                await uow.ingest.first_received(
                    {d.fingerprint: (d.received_at, d.redelivered) for d in timeless}
                )
                if timeless
                else {}
            )
            sightings = _sightings(deliveries)
            device_ids = await uow.ingest.register_gateways(sightings)
            macs = {o.tag_mac for d in deliveries for o in d.message.observations}
            tag_ids = await uow.ingest.tag_ids(macs, register=self._accept_unknown_tags)
            rows, unknown = self._plan(deliveries, device_ids, tag_ids, first_received, report)
            if unknown:
                await uow.ingest.record_unknown_tags(unknown)
            report.gateways_online, report.gateways_offline = await uow.ingest.apply_transitions(
                [device_ids[s.key] for s in sightings if s.online is True],
                [device_ids[s.key] for s in sightings if s.online is False],
                self._clock.now(),
            )
            if self._alerts is not None and (report.gateways_online or report.gateways_offline):
                await self._alerts.follow(
                    uow,
                    tag_ids=(),
                    online=report.gateways_online,
                    offline=report.gateways_offline,
                )
            await uow.events.publish(*live_events(report))
            if not self._lanes:
                await self._store(uow, rows, report)
            await uow.commit()
        if self._lanes:
            await self._store_in_lanes(rows, report, turns)
        return report

    async def _store_in_lanes(
        self,
        rows: Sequence[ReadingRow],
        report: IngestReport,
        turns: _Turns,
    ) -> None:
        by_lane: dict[int, list[ReadingRow]] = {}
        for row in rows:
            by_lane.setdefault(row.tag_id % PRESENCE_LANES, []).append(row)
        lanes = [
            asyncio.create_task(self._store_lane(lane, part, report, *turns[lane]))
            for lane, part in sorted(by_lane.items())
        ]
        try:
            await asyncio.gather(*lanes)
        except BaseException:
            for task in lanes:  # the others roll back; the batch is retried whole
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            raise

    async def _store_lane(
        self,
        lane: int,
        rows: Sequence[ReadingRow],
        report: IngestReport,
        previous: asyncio.Future[None] | None,
        mine: asyncio.Future[None],
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])  # not cancelled with this task
            async with self._uow() as uow:
                await self._store(uow, rows, report, lane=lane)
                await uow.commit()
        finally:
            _pass_turn(previous, mine)

    async def _store(
        self,
        uow: UnitOfWork,
        rows: Sequence[ReadingRow],
        report: IngestReport,
        *,
        lane: int | None = None,
    ) -> None:
        """The readings, and the sessions, positions and alerts that follow them."""
        inserted = await uow.ingest.add_readings(rows)
        moved = await self._presence.follow(
            uow,
            [
                Sighting(tag_id=r.tag_id, device_id=r.device_id, ts=r.ts, rssi=r.rssi)
                for r in inserted
            ],
            lane=lane,
        )
        if self._alerts is not None:  # alerts of these readings, in their transaction
            await self._alerts.follow(uow, tag_ids={r.tag_id for r in inserted})
        await uow.events.publish(*live_events(IngestReport(moved=moved)))
        report.stored += len(inserted)
        report.duplicates += len(rows) - len(inserted)
        report.moved += moved

    def _plan(
        self,
        deliveries: Sequence[Delivery],
        device_ids: Mapping[str, int],
        tag_ids: Mapping[str, int],
        first_received: Mapping[bytes, datetime],
        report: IngestReport,
    ) -> tuple[list[ReadingRow], list[UnknownTagSighting]]:
        rows: dict[tuple[int, int, datetime], ReadingRow] = {}
        unknown: dict[str, UnknownTagSighting] = {}
        now = self._clock.now()
        horizon = now + timedelta(seconds=MAX_FUTURE_SKEW_SECONDS)
        for delivery in deliveries:
            message = delivery.message
            device_id = device_ids[message.gateway_key]
            raw: str | None = None
            for observation in message.observations:
                ts = observation.ts or first_received.get(
                    delivery.fingerprint, delivery.received_at
                )
                if ts > horizon:
                    report.rejected["future_timestamp"] += 1
                    continue
                tag_id = tag_ids.get(observation.tag_mac)
                if tag_id is None:
                    report.unknown_tags += 1
                    previous = unknown.get(observation.tag_mac)
                    latest = previous is None or ts >= previous.seen_at
                    unknown[observation.tag_mac] = UnknownTagSighting(
                        mac=observation.tag_mac,
                        device_id=device_id if latest or previous is None else previous.device_id,
                        rssi=observation.rssi if latest or previous is None else previous.rssi,
                        seen_at=ts if latest or previous is None else previous.seen_at,
                        count=previous.count + 1 if previous else 1,
                    )
                    continue
                if raw is None:
                    raw = _raw_payload(message)
                row = ReadingRow(
                    device_id=device_id,
                    tag_id=tag_id,
                    rssi=observation.rssi,
                    ts=ts,
                    received_at=delivery.received_at,
                    raw_payload=raw,
                )
                rows.setdefault((device_id, tag_id, ts), row)
        return list(rows.values()), list(unknown.values())


def _pass_turn(previous: asyncio.Future[None] | None, mine: asyncio.Future[None]) -> None:
    """Done with a lane: the next batch's may go once the one before this has gone too."""
    if mine.done():
        return
    if previous is None or previous.done():
        mine.set_result(None)
    else:

        def go(_: asyncio.Future[None]) -> None:
            if not mine.done():
                mine.set_result(None)

        previous.add_done_callback(go)


def live_events(report: IngestReport) -> list[LiveEvent]:
    """What a batch tells the consoles: gateways going on/offline, tags changing gateway."""
    events = [
        LiveEvent(event="device.status", data={"id": device_id, "is_online": online})
        for ids, online in ((report.gateways_online, True), (report.gateways_offline, False))
        for device_id in ids
    ]
    events += [
        LiveEvent(
            event="position.changed",
            data={
                "id": p.tag_id,
                "tag_id": p.tag_id,
                "device_id": p.device_id,
                "since": p.since.isoformat(),
                "confidence": p.confidence,
            },
        )
        for p in report.moved
    ]
    return events


class DetectSilentGateways:
    """Mark gateways offline that have been silent longer than the threshold.

    - Runs periodically in every worker; the transition is recorded exactly once, whichever
      worker sees it first (the store's conditional update decides).
    - Old message receipts are forgotten on the way: no redelivery comes a day late.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        threshold: timedelta,
        alerts: AlertEngine | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._threshold = threshold
        self._alerts = alerts

    async def execute(self) -> list[int]:
        now = self._clock.now()
        async with self._uow() as uow:
            offline = await uow.ingest.mark_silent_offline(now - self._threshold, now)
            await uow.ingest.prune_receipts(now - RECEIPT_RETENTION)
            if self._alerts is not None:  # stale alerts closed, silent gateways' alerts
                await self._alerts.sweep(uow, offline=offline)
            await uow.events.publish(*live_events(IngestReport(gateways_offline=offline)))
            await uow.commit()
        return offline


def needs_receipt(delivery: Delivery) -> bool:
    """A message with readings that carry no time of their own: its time of receipt must
    survive a redelivery."""
    return any(o.ts is None for o in delivery.message.observations)


def _sightings(deliveries: Sequence[Delivery]) -> list[GatewaySighting]:
    """One sighting per gateway in the batch, with when it was last active and last said it
    was offline."""
    latest: dict[str, GatewaySighting] = {}
    for delivery in deliveries:
        message = delivery.message
        key = message.gateway_key
        at = delivery.received_at
        seen = latest.get(key) or GatewaySighting(
            key=key,
            mac=message.gateway_mac or message.topic.gateway_mac,
            tenant=message.topic.tenant,
            building=message.topic.building,
            floor=message.topic.floor,
        )
        if message.online is False:
            seen = msgspec.structs.replace(seen, last_offline_at=_later(seen.last_offline_at, at))
        else:
            seen = msgspec.structs.replace(seen, last_active_at=_later(seen.last_active_at, at))
        latest[key] = seen
    return list(latest.values())


def _later(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current


def _raw_payload(message: GatewayMessage) -> str:
    """A bounded trace of where a reading came from (the original stored the record)."""
    topic = message.topic
    text = msgspec.json.encode(
        {
            "gateway": message.gateway_key,
            "kind": topic.kind,
            "tenant": topic.tenant,
            "building": topic.building,
            "floor": topic.floor,
        }
    ).decode()
    return text[:RAW_PAYLOAD_LIMIT]
