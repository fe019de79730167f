"""Alerts: rules about where tagged people may be and for how long, the events they raise, and
gateways going offline and coming back.

An alert event is a *session*: it opens when the situation starts, is updated while it lasts
and closes when it ends (ORIGINAL.md §4). The decisions are pure functions here; the
application layer feeds them one ingest batch at a time and stores what they return.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import msgspec

from securityvision.domain.errors import InvalidInput
from securityvision.domain.incidents import KIND_MAX_LENGTH, Severity


class AlertRuleType(StrEnum):
    FORBIDDEN_SECTOR = "FORBIDDEN_SECTOR"
    DWELL_TIME = "DWELL_TIME"


class AlertEventType(StrEnum):
    FORBIDDEN_SECTOR = "FORBIDDEN_SECTOR"
    DWELL_TIME = "DWELL_TIME"
    GATEWAY_OFFLINE = "GATEWAY_OFFLINE"
    GATEWAY_ONLINE = "GATEWAY_ONLINE"


PRESENCE_EVENT_TYPES = (AlertEventType.FORBIDDEN_SECTOR, AlertEventType.DWELL_TIME)


class CloseReason(StrEnum):
    """Why an alert event ended (``payload.close_reason``, read by the front end)."""

    LEFT = "left"  # the tag's position moved to another gateway
    STALE = "stale"  # the tag was not heard for longer than the staleness window
    RULE_CHANGED = "rule_changed"  # the rule no longer applies (deactivated, edited)
    RULE_DELETED = "rule_deleted"
    ONLINE = "online"  # the gateway came back


DEFAULT_MAX_DWELL_SECONDS = 300
NAME_MAX_LENGTH = 255
MESSAGE_MAX_LENGTH = 1024


class _AlertRuleFields(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    rule_type: AlertRuleType
    description: str | None = None
    # The person group the rule is about (None: every tag) and the gateway it watches
    # (None: every gateway).
    group_id: int | None = None
    device_id: int | None = None
    max_dwell_seconds: int | None = None
    is_active: bool = True
    # What an event of the rule opens: an incident with these fields (the original stored
    # them and never used them).
    create_incident: bool = False
    incident_kind: str | None = None
    incident_severity: Severity = Severity.MEDIUM
    incident_title_template: str | None = None
    incident_description_template: str | None = None
    incident_sla_minutes: int | None = None
    incident_assigned_group_id: int | None = None
    incident_assigned_to_user_id: int | None = None
    incident_auto_close_on_end: bool = False


class NewAlertRule(_AlertRuleFields, frozen=True, kw_only=True):
    """A rule about to be stored."""


class AlertRule(_AlertRuleFields, frozen=True, kw_only=True):
    id: int
    created_at: datetime
    updated_at: datetime

    def applies(self, device_id: int, group_ids: Collection[int]) -> bool:
        """Whether the rule watches this gateway for a person in these groups."""
        return (
            self.is_active
            and (self.device_id is None or self.device_id == device_id)
            and (self.group_id is None or self.group_id in group_ids)
        )


_R = TypeVar("_R", NewAlertRule, AlertRule)


def checked_rule(rule: _R) -> _R:
    """The rule cleaned and checked: a name; a DWELL_TIME rule has a positive limit (300 s
    when none is given, as the front end's default); incident fields that fit."""
    name = rule.name.strip()
    if not name:
        raise InvalidInput("name is required", code="name_required")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"name must have at most {NAME_MAX_LENGTH} characters", code="too_long")
    max_dwell = rule.max_dwell_seconds
    if rule.rule_type is AlertRuleType.DWELL_TIME and max_dwell is None:
        max_dwell = DEFAULT_MAX_DWELL_SECONDS
    if max_dwell is not None and max_dwell <= 0:
        raise InvalidInput("max_dwell_seconds must be positive", code="invalid_max_dwell")
    kind = (rule.incident_kind or "").strip() or None
    if kind is not None and len(kind) > KIND_MAX_LENGTH:
        raise InvalidInput(
            f"incident_kind must have at most {KIND_MAX_LENGTH} characters", code="too_long"
        )
    if rule.incident_sla_minutes is not None and rule.incident_sla_minutes <= 0:
        raise InvalidInput("incident_sla_minutes must be positive", code="invalid_sla")
    return msgspec.structs.replace(rule, name=name, max_dwell_seconds=max_dwell, incident_kind=kind)


class _AlertEventFields(msgspec.Struct, frozen=True, kw_only=True):
    event_type: AlertEventType
    started_at: datetime
    last_seen_at: datetime
    rule_id: int | None = None
    person_id: int | None = None
    tag_id: int | None = None
    device_id: int | None = None
    floor_plan_id: int | None = None
    floor_id: int | None = None
    building_id: int | None = None
    group_id: int | None = None
    ended_at: datetime | None = None
    is_open: bool = True
    message: str | None = None
    payload: dict[str, Any] = msgspec.field(default_factory=dict)


class NewAlertEvent(_AlertEventFields, frozen=True, kw_only=True):
    """An event about to be stored."""


class AlertEvent(_AlertEventFields, frozen=True, kw_only=True):
    id: int
    incident_id: int | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> tuple[int | None, int | None, int | None]:
        """A presence alert is one session per (rule, tag, gateway)."""
        return (self.rule_id, self.tag_id, self.device_id)


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """A tag and who wears it: what rules about people are matched against."""

    tag_id: int
    tag_mac: str
    person_id: int | None = None
    person_name: str | None = None
    group_ids: frozenset[int] = frozenset()

    @property
    def name(self) -> str:
        return self.person_name or self.tag_mac


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """A gateway and where it is (plan, floor, building), as alerts record it."""

    device_id: int
    device_name: str
    floor_plan_id: int | None = None
    floor_id: int | None = None
    building_id: int | None = None
    last_seen_at: datetime | None = None


class Presence(msgspec.Struct, frozen=True, kw_only=True):
    """Where a tag is: its position's gateway, since when it has been there without a break
    (the later of the position's ``since`` and the start of its current presence session at
    that gateway) and when it was last heard."""

    tag_id: int
    device_id: int
    since: datetime
    last_seen_at: datetime


class PresenceChanges(msgspec.Struct, frozen=True, kw_only=True):
    opened: list[NewAlertEvent] = msgspec.field(default_factory=list)
    updated: list[AlertEvent] = msgspec.field(default_factory=list)
    closed: list[AlertEvent] = msgspec.field(default_factory=list)


def _seconds(delta: timedelta) -> int:
    return max(int(delta.total_seconds()), 0)


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX_LENGTH else text[: MESSAGE_MAX_LENGTH - 1] + "…"


def presence_message(rule: AlertRule, subject: Subject, place: Place, seconds: int) -> str:
    """The original's wording."""
    if rule.rule_type is AlertRuleType.FORBIDDEN_SECTOR:
        return _clip(f"Entrada em setor proibido: {subject.name} no gateway '{place.device_name}'.")
    return _clip(
        f"{subject.name} está há {seconds}s no dispositivo {place.device_name}"
        f" (limite {rule.max_dwell_seconds}s)."
    )


def evaluate_presence(
    *,
    rules: Iterable[AlertRule],
    presences: Iterable[Presence],
    subjects: Mapping[int, Subject],
    places: Mapping[int, Place],
    open_events: Iterable[AlertEvent],
    now: datetime,
    stale_after: timedelta,
) -> PresenceChanges:
    """What the presence of some tags means for their FORBIDDEN_SECTOR and DWELL_TIME alerts.

    - A tag is *present* at its position's gateway when it was heard within ``stale_after``
      of ``now`` (old readings flushed late by a gateway open nothing).
    - FORBIDDEN_SECTOR: a present tag matching an active rule (the rule's gateway, or any;
      the rule's person group, or anyone) has one open event per (rule, tag, gateway),
      started when its stay began; DWELL_TIME: the same once the stay lasts at least the
      rule's ``max_dwell_seconds``.
    - An open event whose situation still holds is updated (``last_seen_at``, duration); one
      whose tag moved elsewhere closes (``left``, ended when it moved), whose tag is no longer
      heard closes (``stale``, ended when last seen), whose rule no longer applies closes
      (``rule_changed``).
    - ``open_events`` are the open presence events of exactly the tags in ``presences`` (and
      of tags that have no presence any more, which all close as stale).
    """
    active = [r for r in rules if r.is_active]
    changes = PresenceChanges()
    wanted: dict[tuple[int, int, int], tuple[AlertRule, Presence]] = {}
    positions = {p.tag_id: p for p in presences}
    for presence in positions.values():
        subject = subjects.get(presence.tag_id)
        if subject is None or presence.last_seen_at < now - stale_after:
            continue
        for rule in active:
            if rule.applies(presence.device_id, subject.group_ids):
                wanted[(rule.id, presence.tag_id, presence.device_id)] = (rule, presence)
    held: set[tuple[int, int, int]] = set()
    for event in open_events:
        key = (event.rule_id or 0, event.tag_id or 0, event.device_id or 0)
        if key in wanted:
            held.add(key)
            rule, presence = wanted[key]
            updated = _updated(event, rule, subjects[presence.tag_id], places, presence)
            if updated is not None:
                changes.updated.append(updated)
        else:
            changes.closed.append(_ended(event, positions.get(key[1]), now, stale_after))
    for key, (rule, presence) in sorted(wanted.items()):
        if key in held:
            continue
        opened = _opened(rule, subjects[presence.tag_id], places, presence)
        if opened is not None:
            changes.opened.append(opened)
    return changes


def _ended(
    event: AlertEvent, presence: Presence | None, now: datetime, stale_after: timedelta
) -> AlertEvent:
    """An open event whose situation no longer holds, closed with why and when."""
    if presence is None or presence.last_seen_at < now - stale_after:
        return close_event(event, event.last_seen_at, CloseReason.STALE)
    if presence.device_id != event.device_id:
        return close_event(event, max(event.last_seen_at, presence.since), CloseReason.LEFT)
    ended = max(event.last_seen_at, min(presence.last_seen_at, now))
    return close_event(event, ended, CloseReason.RULE_CHANGED)


def _opened(
    rule: AlertRule, subject: Subject, places: Mapping[int, Place], presence: Presence
) -> NewAlertEvent | None:
    seconds = _seconds(presence.last_seen_at - presence.since)
    limit = rule.max_dwell_seconds or DEFAULT_MAX_DWELL_SECONDS
    if rule.rule_type is AlertRuleType.DWELL_TIME and seconds < limit:
        return None
    place = places.get(presence.device_id) or Place(
        device_id=presence.device_id, device_name=f"#{presence.device_id}"
    )
    payload: dict[str, Any] = {
        "person_name": subject.person_name,
        "tag_mac": subject.tag_mac,
        "device_name": place.device_name,
        "duration_seconds": seconds,
    }
    if rule.rule_type is AlertRuleType.DWELL_TIME:
        payload["max_dwell_seconds"] = limit
    return NewAlertEvent(
        event_type=AlertEventType(rule.rule_type.value),
        rule_id=rule.id,
        person_id=subject.person_id,
        tag_id=subject.tag_id,
        device_id=presence.device_id,
        floor_plan_id=place.floor_plan_id,
        floor_id=place.floor_id,
        building_id=place.building_id,
        group_id=rule.group_id,
        started_at=presence.since,
        last_seen_at=presence.last_seen_at,
        message=presence_message(rule, subject, place, seconds),
        payload=payload,
    )


def _updated(
    event: AlertEvent,
    rule: AlertRule,
    subject: Subject,
    places: Mapping[int, Place],
    presence: Presence,
) -> AlertEvent | None:
    last_seen = max(event.last_seen_at, presence.last_seen_at)
    if last_seen == event.last_seen_at:
        return None
    seconds = _seconds(last_seen - event.started_at)
    message = event.message
    if rule.rule_type is AlertRuleType.DWELL_TIME:
        place = places.get(presence.device_id)
        if place is not None:
            message = presence_message(rule, subject, place, seconds)
    return msgspec.structs.replace(
        event,
        last_seen_at=last_seen,
        message=message,
        payload=event.payload | {"duration_seconds": seconds},
    )


def close_event(event: AlertEvent, ended_at: datetime, reason: CloseReason) -> AlertEvent:
    """The event ended at ``ended_at`` (never before it started) for ``reason``."""
    ended = max(ended_at, event.started_at)
    return msgspec.structs.replace(
        event,
        is_open=False,
        ended_at=ended,
        last_seen_at=max(event.last_seen_at, ended),
        payload=event.payload
        | {"duration_seconds": _seconds(ended - event.started_at), "close_reason": str(reason)},
    )


def close_stale(
    events: Iterable[AlertEvent], now: datetime, stale_after: timedelta
) -> list[AlertEvent]:
    """Open presence events whose tag has not been heard within ``stale_after``: closed as
    ``stale``, ended when last seen (the original closed them on every detection)."""
    cutoff = now - stale_after
    return [
        close_event(e, e.last_seen_at, CloseReason.STALE)
        for e in events
        if e.is_open and e.event_type in PRESENCE_EVENT_TYPES and e.last_seen_at < cutoff
    ]


class GatewayTransition(msgspec.Struct, frozen=True, kw_only=True):
    device_id: int
    online: bool
    at: datetime


class GatewayChanges(msgspec.Struct, frozen=True, kw_only=True):
    opened: list[NewAlertEvent] = msgspec.field(default_factory=list)
    closed: list[AlertEvent] = msgspec.field(default_factory=list)


def gateway_changes(
    transitions: Sequence[GatewayTransition],
    open_offline: Mapping[int, AlertEvent],
    places: Mapping[int, Place],
) -> GatewayChanges:
    """GATEWAY_OFFLINE / GATEWAY_ONLINE from recorded on/offline transitions (in order).

    - Offline: an open GATEWAY_OFFLINE event starts (``offline_seconds``: how long it had
      been silent), unless one is open already.
    - Online: the open GATEWAY_OFFLINE event closes (``online``) and a closed GATEWAY_ONLINE
      event records the return, with how long the gateway was away. A gateway going online
      without having been reported offline (its first message) raises nothing.
    """
    changes = GatewayChanges()
    still_open = dict(open_offline)
    opened_now: dict[int, NewAlertEvent] = {}
    for t in transitions:
        place = places.get(t.device_id) or Place(
            device_id=t.device_id, device_name=f"#{t.device_id}"
        )
        if not t.online:
            if t.device_id in still_open or t.device_id in opened_now:
                continue
            silent = place.last_seen_at
            offline_seconds = _seconds(t.at - silent) if silent is not None else 0
            opened_now[t.device_id] = NewAlertEvent(
                event_type=AlertEventType.GATEWAY_OFFLINE,
                started_at=t.at,
                last_seen_at=t.at,
                message=_clip(f"Gateway '{place.device_name}' ficou OFFLINE."),
                payload={
                    "device_name": place.device_name,
                    "offline_seconds": offline_seconds,
                    "gateway_last_seen_at": silent.isoformat() if silent else None,
                },
                device_id=place.device_id,
                floor_plan_id=place.floor_plan_id,
                floor_id=place.floor_id,
                building_id=place.building_id,
            )
            continue
        previous = still_open.pop(t.device_id, None)
        pending = opened_now.pop(t.device_id, None)
        if previous is not None:
            changes.closed.append(close_event(previous, t.at, CloseReason.ONLINE))
        away_since = previous.started_at if previous else pending.started_at if pending else None
        if away_since is None:
            continue  # first heard of (or never reported offline): nothing came back
        offline_seconds = _seconds(t.at - away_since)
        changes.opened.append(
            NewAlertEvent(
                event_type=AlertEventType.GATEWAY_ONLINE,
                started_at=t.at,
                last_seen_at=t.at,
                ended_at=t.at,
                is_open=False,
                message=_clip(f"Gateway '{place.device_name}' voltou a ficar online."),
                payload={"device_name": place.device_name, "offline_seconds": offline_seconds},
                device_id=place.device_id,
                floor_plan_id=place.floor_plan_id,
                floor_id=place.floor_id,
                building_id=place.building_id,
            )
        )
    changes.opened[:0] = list(opened_now.values())
    return changes
