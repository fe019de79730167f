"""Alerts: the rules operators set, the events they raise, and the engine that raises them on
every ingest batch (and on the worker's periodic sweep), in the batch's own unit of work.

What an alert event changes goes out with it, in the same transaction: ``alert.opened`` /
``alert.closed`` on the live event stream, a webhook to the subscribers of its type, and —
for a rule with ``create_incident`` — an incident with its timeline and notifications (and,
with ``incident_auto_close_on_end``, its resolution when the alert ends).
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from securityvision.application.alert_ports import AlertEventFilter, AlertRuleFilter
from securityvision.application.incident_pipeline import (
    IncidentNotice,
    IncidentNotifier,
    LiveIncidentNotices,
    NoticeKind,
    when,
)
from securityvision.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from securityvision.application.webhooks import WebhookEvents, alert_payload, rule_payload
from securityvision.domain.alerts import (
    AlertEvent,
    AlertRule,
    AlertRuleType,
    CloseReason,
    GatewayChanges,
    GatewayTransition,
    NewAlertEvent,
    NewAlertRule,
    Place,
    Presence,
    PresenceChanges,
    checked_rule,
    close_event,
    close_stale,
    evaluate_presence,
    gateway_changes,
)
from securityvision.domain.errors import NotFound
from securityvision.domain.events import LiveEvent
from securityvision.domain.incident_rules import render_template
from securityvision.domain.incidents import (
    SYSTEM_AUTHOR,
    TITLE_MAX_LENGTH,
    Incident,
    IncidentStatus,
    MessageType,
    NewIncident,
    NewIncidentMessage,
    Severity,
    change_status,
    clip,
    due_at_for,
    sla_minutes_for,
    status_message,
)
from securityvision.domain.webhooks import WebhookEventType

_UNSET = msgspec.UNSET
STALE_SWEEP_LIMIT = 500


# --- telling the world --------------------------------------------------------------------


def _live(event: AlertEvent) -> LiveEvent:
    data: dict[str, object] = {
        "id": event.id,
        "event_type": str(event.event_type),
        "rule_id": event.rule_id,
        "device_id": event.device_id,
        "tag_id": event.tag_id,
        "person_id": event.person_id,
        "message": event.message,
        "started_at": event.started_at.isoformat(),
        "is_open": event.is_open,
        "incident_id": event.incident_id,
    }
    if not event.is_open:
        data["ended_at"] = event.ended_at.isoformat() if event.ended_at else None
        data["close_reason"] = event.payload.get("close_reason")
    return LiveEvent(event="alert.opened" if event.is_open else "alert.closed", data=data)


class AlertIncidents:
    """Incidents opened by alert rules (``create_incident``) and closed when their alert ends
    (``incident_auto_close_on_end``), with the same SLA rules, timeline entries and
    notifications (event stream, webhooks, Chatwoot) as every other incident."""

    def __init__(self, clock: Clock, notifier: IncidentNotifier | None = None) -> None:
        self._clock = clock
        self._notifier = notifier or LiveIncidentNotices()

    async def open(self, uow: UnitOfWork, rule: AlertRule, event: AlertEvent) -> Incident | None:
        if event.device_id is None:
            return None
        device = await uow.devices.get(event.device_id)
        if device is None:
            return None
        group_id = rule.incident_assigned_group_id
        group = await uow.support_groups.get(group_id) if group_id is not None else None
        now = self._clock.now()
        severity = rule.incident_severity
        sla = rule.incident_sla_minutes or sla_minutes_for(
            severity, group.default_sla_minutes if group else None
        )
        values = _template_values(rule, event, device.name)
        title = ""
        if rule.incident_title_template:
            title = render_template(rule.incident_title_template, values).strip()
        description = (
            render_template(rule.incident_description_template, values)
            if rule.incident_description_template
            else event.message
        )
        incident = await uow.incidents.add(
            NewIncident(
                device_id=device.id,
                title=clip(
                    title or event.message or f"Alerta {event.event_type}", TITLE_MAX_LENGTH
                ),
                description=description,
                kind=rule.incident_kind or f"ALERT_{rule.rule_type}",
                status=IncidentStatus.OPEN,
                severity=severity,
                tenant=device.tenant,
                sla_minutes=sla,
                due_at=due_at_for(now, sla),
                assigned_to_user_id=rule.incident_assigned_to_user_id,
                assigned_group_id=group.id if group else None,
                last_event_at=event.started_at,
                person_name=values["person_name"] or None,
                created_at=now,
            )
        )
        await uow.alert_events.set_incident(event.id, incident.id)
        await self._notifier.notify(uow, IncidentNotice(kind=NoticeKind.CREATED, incident=incident))
        lines = [
            f"Regra de alerta: {rule.name} ({rule.rule_type})",
            event.message or str(event.event_type),
            f"Início: {when(event.started_at)}",
            f"Severidade: {incident.severity} • Status: {incident.status}",
        ]
        message = await uow.incident_messages.add(
            NewIncidentMessage(
                incident_id=incident.id,
                message_type=MessageType.SYSTEM,
                content="\n".join(lines),
                author_name=SYSTEM_AUTHOR,
            )
        )
        await self._notifier.notify(
            uow, IncidentNotice(kind=NoticeKind.MESSAGE, incident=incident, message=message)
        )
        return incident

    async def close(self, uow: UnitOfWork, event: AlertEvent) -> None:
        """Resolve the alert's incident if it is still active (an operator may have taken it
        further already: then it is left alone)."""
        if event.incident_id is None:
            return
        incident = await uow.incidents.get_for_update(event.incident_id)
        if incident is None or not incident.status.is_active:
            return
        now = self._clock.now()
        change = change_status(incident, IncidentStatus.RESOLVED, now)
        saved = await uow.incidents.update(change.incident)
        await self._notifier.notify(
            uow,
            IncidentNotice(
                kind=NoticeKind.UPDATED, incident=saved, previous_status=change.previous
            ),
        )
        reason = event.payload.get("close_reason", "")
        drafts = [
            NewIncidentMessage(
                incident_id=saved.id,
                message_type=MessageType.SYSTEM,
                content=f"Alerta encerrado às {when(event.ended_at or now)} ({reason}).",
                author_name=SYSTEM_AUTHOR,
            ),
            status_message(change, SYSTEM_AUTHOR),
        ]
        for draft in drafts:
            message = await uow.incident_messages.add(draft)
            await self._notifier.notify(
                uow, IncidentNotice(kind=NoticeKind.MESSAGE, incident=saved, message=message)
            )


def _template_values(rule: AlertRule, event: AlertEvent, device_name: str) -> dict[str, Any]:
    """What an alert rule's incident templates may name."""
    payload = event.payload
    return {
        "rule_name": rule.name,
        "rule_type": str(rule.rule_type),
        "event_type": str(event.event_type),
        "message": event.message or "",
        "person_name": payload.get("person_name") or "",
        "tag_mac": payload.get("tag_mac") or "",
        "device_name": device_name,
        "device_id": event.device_id,
        "duration_seconds": payload.get("duration_seconds", 0),
        "max_dwell_seconds": rule.max_dwell_seconds or "",
        "started_at": when(event.started_at),
    }


class AlertOutcomes:
    """Stores what the engine decided and tells everyone, in the caller's unit of work."""

    def __init__(self, incidents: AlertIncidents, webhooks: WebhookEvents | None) -> None:
        self._incidents = incidents
        self._webhooks = webhooks

    async def settle(
        self,
        uow: UnitOfWork,
        *,
        opened: Sequence[NewAlertEvent] = (),
        updated: Sequence[AlertEvent] = (),
        closed: Sequence[AlertEvent] = (),
        rules: Mapping[int, AlertRule] | None = None,
    ) -> list[AlertEvent]:
        """Store the changes; open and close incidents of the rules that ask for it; publish
        ``alert.opened``/``alert.closed`` and enqueue the webhooks. Returns the new events."""
        added = list(await uow.alert_events.add_many(opened)) if opened else []
        if updated or closed:
            await uow.alert_events.update_many([*updated, *closed])
        if not added and not closed:
            return added
        known = dict(rules or {})
        missing = {e.rule_id for e in [*added, *closed] if e.rule_id is not None} - set(known)
        if missing:
            known |= {r.id: r for r in await uow.alert_rules.get_many(missing)}
        new: list[AlertEvent] = []
        for event in added:
            rule = known.get(event.rule_id) if event.rule_id is not None else None
            incident = None
            if rule is not None and rule.create_incident and event.is_open:
                incident = await self._incidents.open(uow, rule, event)
            new.append(
                event
                if incident is None
                else msgspec.structs.replace(event, incident_id=incident.id)
            )
        for event in closed:
            rule = known.get(event.rule_id) if event.rule_id is not None else None
            if rule is not None and rule.incident_auto_close_on_end:
                await self._incidents.close(uow, event)
        # A GATEWAY_ONLINE record is born closed: the consoles hear of the return through
        # the GATEWAY_OFFLINE event closing (and device.status).
        await uow.events.publish(*[_live(e) for e in new if e.is_open], *map(_live, closed))
        if self._webhooks is not None:
            await self._webhooks.emit(
                uow,
                [(WebhookEventType(str(e.event_type)), alert_payload(e)) for e in [*new, *closed]],
            )
        return new


class AlertEngine:
    """Alert events from what an ingest batch changed, set-based: a handful of statements per
    batch whatever its size, none per reading.

    - ``follow`` (inside the ingest batch's unit of work, after presence followed the new
      readings): the presence alerts of the batch's tags (``evaluate_presence``: open,
      update, close) and GATEWAY_OFFLINE/ONLINE from the transitions the batch recorded.
    - ``sweep`` (the worker's periodic pass, with the gateways it found silent): presence
      alerts of tags no longer heard close as ``stale``; silent gateways open
      GATEWAY_OFFLINE.
    - A tag is stale after ``stale_after`` without a reading (twice
      POSITION_STALE_THRESHOLD_SECONDS, as the original).
    """

    def __init__(self, clock: Clock, outcomes: AlertOutcomes, *, stale_after: timedelta) -> None:
        self._clock = clock
        self._outcomes = outcomes
        self._stale = stale_after

    async def follow(
        self,
        uow: UnitOfWork,
        *,
        tag_ids: Collection[int],
        online: Sequence[int] = (),
        offline: Sequence[int] = (),
    ) -> None:
        now = self._clock.now()
        opened: list[NewAlertEvent] = []
        updated: list[AlertEvent] = []
        closed: list[AlertEvent] = []
        rules = list(await uow.alert_rules.active()) if tag_ids else []
        if rules:
            changes = await self._presence(uow, rules, tag_ids, now)
            opened += changes.opened
            updated += changes.updated
            closed += changes.closed
        transitions = [GatewayTransition(device_id=d, online=True, at=now) for d in online]
        transitions += [GatewayTransition(device_id=d, online=False, at=now) for d in offline]
        if transitions:
            gateways = await self._gateways(uow, transitions)
            opened += gateways.opened
            closed += gateways.closed
        await self._outcomes.settle(
            uow, opened=opened, updated=updated, closed=closed, rules={r.id: r for r in rules}
        )

    async def sweep(self, uow: UnitOfWork, *, offline: Sequence[int] = ()) -> None:
        now = self._clock.now()
        stale = await uow.alert_events.stale_presence(now - self._stale, limit=STALE_SWEEP_LIMIT)
        closed = close_stale(stale, now, self._stale)
        opened: list[NewAlertEvent] = []
        if offline:
            gateways = await self._gateways(
                uow, [GatewayTransition(device_id=d, online=False, at=now) for d in offline]
            )
            opened += gateways.opened
            closed += gateways.closed
        await self._outcomes.settle(uow, opened=opened, closed=closed)

    async def _presence(
        self, uow: UnitOfWork, rules: list[AlertRule], tag_ids: Collection[int], now: datetime
    ) -> PresenceChanges:
        open_events = await uow.alert_events.open_presence(tag_ids)
        positions = await uow.presence.positions(tag_ids)
        subjects = await uow.alert_events.subjects(tag_ids)
        starts = await uow.alert_events.stay_starts(
            {(p.tag_id, p.device_id) for p in positions.values()}
        )
        presences = [
            Presence(
                tag_id=p.tag_id,
                device_id=p.device_id,
                since=max(p.since, starts.get((p.tag_id, p.device_id), p.since)),
                last_seen_at=p.last_seen_at,
            )
            for p in positions.values()
        ]
        device_ids = {p.device_id for p in presences} | {
            e.device_id for e in open_events if e.device_id is not None
        }
        places = await uow.alert_events.places(device_ids)
        return evaluate_presence(
            rules=rules,
            presences=presences,
            subjects=subjects,
            places=places,
            open_events=open_events,
            now=now,
            stale_after=self._stale,
        )

    async def _gateways(
        self, uow: UnitOfWork, transitions: list[GatewayTransition]
    ) -> GatewayChanges:
        device_ids = {t.device_id for t in transitions}
        open_offline = await uow.alert_events.open_offline(device_ids)
        places: Mapping[int, Place] = await uow.alert_events.places(device_ids)
        return gateway_changes(transitions, open_offline, places)


# --- rules --------------------------------------------------------------------------------


class AlertRuleChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update (the front end's toggle sends ``{is_active}`` alone)."""

    name: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    rule_type: AlertRuleType | msgspec.UnsetType = _UNSET
    group_id: int | msgspec.UnsetType | None = _UNSET
    device_id: int | msgspec.UnsetType | None = _UNSET
    max_dwell_seconds: int | msgspec.UnsetType | None = _UNSET
    is_active: bool | msgspec.UnsetType = _UNSET
    create_incident: bool | msgspec.UnsetType = _UNSET
    incident_kind: str | msgspec.UnsetType | None = _UNSET
    incident_severity: Severity | msgspec.UnsetType = _UNSET
    incident_title_template: str | msgspec.UnsetType | None = _UNSET
    incident_description_template: str | msgspec.UnsetType | None = _UNSET
    incident_sla_minutes: int | msgspec.UnsetType | None = _UNSET
    incident_assigned_group_id: int | msgspec.UnsetType | None = _UNSET
    incident_assigned_to_user_id: int | msgspec.UnsetType | None = _UNSET
    incident_auto_close_on_end: bool | msgspec.UnsetType = _UNSET


def alert_rule_not_found(rule_id: int) -> NotFound:
    return NotFound(f"alert rule {rule_id} not found", code="alert_rule_not_found")


async def _check_references(uow: UnitOfWork, rule: NewAlertRule | AlertRule) -> None:
    """Everything a rule names must exist, so it never points at nothing."""
    if rule.device_id is not None and await uow.devices.get(rule.device_id) is None:
        raise NotFound(f"device {rule.device_id} not found", code="device_not_found")
    if rule.group_id is not None and await uow.person_groups.get(rule.group_id) is None:
        raise NotFound(f"person group {rule.group_id} not found", code="person_group_not_found")
    group_id, user_id = rule.incident_assigned_group_id, rule.incident_assigned_to_user_id
    if group_id is not None and await uow.support_groups.get(group_id) is None:
        raise NotFound(f"support group {group_id} not found", code="support_group_not_found")
    if user_id is not None and await uow.users.get(user_id) is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found")


class CreateAlertRule:
    """A rule: a name, FORBIDDEN_SECTOR or DWELL_TIME (with a positive limit, 300 s by
    default), optionally a gateway and a person group (each must exist), and what incident
    its events open. Subscribers hear ``ALERT_RULE_CREATED``."""

    def __init__(self, uow: UnitOfWorkFactory, webhooks: WebhookEvents | None = None) -> None:
        self._uow = uow
        self._webhooks = webhooks

    async def execute(self, draft: NewAlertRule) -> AlertRule:
        rule = checked_rule(draft)
        async with self._uow() as uow:
            await _check_references(uow, rule)
            added = await uow.alert_rules.add(rule)
            if self._webhooks is not None:
                await self._webhooks.emit(
                    uow, [(WebhookEventType.ALERT_RULE_CREATED, rule_payload(added))]
                )
            await uow.commit()
        return added


class UpdateAlertRule:
    """Change the fields sent, with the checks of ``CreateAlertRule``. A rule that stops
    applying to its open alerts (deactivated, another gateway or group, another type) closes
    them now (``rule_changed``), so nothing stays open for ever."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        outcomes: AlertOutcomes,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._outcomes = outcomes
        self._webhooks = webhooks

    async def execute(self, rule_id: int, changes: AlertRuleChanges) -> AlertRule:
        values = {
            name: value
            for name in changes.__struct_fields__
            if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
        }
        async with self._uow() as uow:
            rule = await uow.alert_rules.get(rule_id)
            if rule is None:
                raise alert_rule_not_found(rule_id)
            if not values:
                return rule
            changed = checked_rule(msgspec.structs.replace(rule, **values))
            if changed == rule:
                return rule
            await _check_references(uow, changed)
            saved = await uow.alert_rules.update(changed)
            scope = ("is_active", "rule_type", "device_id", "group_id")
            if any(getattr(rule, f) != getattr(saved, f) for f in scope):
                await self._close_all(uow, saved, CloseReason.RULE_CHANGED)
            if self._webhooks is not None:
                await self._webhooks.emit(
                    uow, [(WebhookEventType.ALERT_RULE_UPDATED, rule_payload(saved))]
                )
            await uow.commit()
        return saved

    async def _close_all(self, uow: UnitOfWork, rule: AlertRule, reason: CloseReason) -> None:
        now = self._clock.now()
        events = await uow.alert_events.open_for_rule(rule.id)
        closed = [close_event(e, min(now, e.last_seen_at), reason) for e in events]
        await self._outcomes.settle(uow, closed=closed, rules={rule.id: rule})


class DeleteAlertRule:
    """Remove a rule; its open alerts close (``rule_deleted``), its past events stay (they
    only forget the rule). Subscribers hear ``ALERT_RULE_DELETED``."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        outcomes: AlertOutcomes,
        webhooks: WebhookEvents | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._outcomes = outcomes
        self._webhooks = webhooks

    async def execute(self, rule_id: int) -> None:
        async with self._uow() as uow:
            rule = await uow.alert_rules.get(rule_id)
            if rule is None:
                raise alert_rule_not_found(rule_id)
            events = await uow.alert_events.open_for_rule(rule_id)
            closed = [close_event(e, e.last_seen_at, CloseReason.RULE_DELETED) for e in events]
            await self._outcomes.settle(uow, closed=closed, rules={rule.id: rule})
            await uow.alert_rules.delete(rule_id)
            if self._webhooks is not None:
                await self._webhooks.emit(
                    uow,
                    [
                        (
                            WebhookEventType.ALERT_RULE_DELETED,
                            {"rule_id": rule_id, "deleted_at": self._clock.now().isoformat()},
                        )
                    ],
                )
            await uow.commit()


class GetAlertRule:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, rule_id: int) -> AlertRule:
        async with self._uow() as uow:
            rule = await uow.alert_rules.get(rule_id)
        if rule is None:
            raise alert_rule_not_found(rule_id)
        return rule


class ListAlertRules:
    """Ordered by id; the filters apply before paging (the original paged first)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, where: AlertRuleFilter, *, skip: int = 0, limit: int = 100
    ) -> Sequence[AlertRule]:
        async with self._uow() as uow:
            return await uow.alert_rules.list(where, skip=skip, limit=limit)


# --- events -------------------------------------------------------------------------------


class ListAlertEvents:
    """Newest first (``started_at``); filters before paging."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, where: AlertEventFilter, *, skip: int = 0, limit: int = 50
    ) -> Sequence[AlertEvent]:
        async with self._uow() as uow:
            return await uow.alert_events.list(where, skip=skip, limit=limit)


class GetAlertEvent:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, event_id: int) -> AlertEvent:
        async with self._uow() as uow:
            found = await uow.alert_events.get(event_id)
        if found is None:
            raise NotFound(f"alert event {event_id} not found", code="alert_event_not_found")
        return found


__all__ = [
    "AlertEngine",
    "AlertIncidents",
    "AlertOutcomes",
    "AlertRuleChanges",
    "CreateAlertRule",
    "DeleteAlertRule",
    "GetAlertEvent",
    "GetAlertRule",
    "ListAlertEvents",
    "ListAlertRules",
    "UpdateAlertRule",
    "alert_rule_not_found",
]
