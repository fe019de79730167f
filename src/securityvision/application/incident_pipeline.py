"""From camera events to incidents: the automatic pipeline (ORIGINAL.md §4, with its defects
fixed), and the seam through which incidents leave the system (Chatwoot, webhooks, the event
stream) once those are built.

The cam-bus ingestion calls ``OpenIncidentsForEvent`` (or ``IncidentPipeline.process`` inside
its own unit of work) for every new device event; ``POST /devices/cameras/{id}/events`` and
``POST /incidents/from-event`` go through the same code.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import msgspec

from securityvision.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from securityvision.domain.cameras import (
    DeviceEvent,
    EventFacts,
    event_facts,
    is_face_recognition,
)
from securityvision.domain.devices import Device
from securityvision.domain.errors import NotFound
from securityvision.domain.events import EventName, LiveEvent
from securityvision.domain.incident_rules import (
    DEFAULT_TITLE_TEMPLATE,
    IncidentRule,
    SupportGroup,
    kind_for,
    pick_rule,
    render_template,
)
from securityvision.domain.incidents import (
    SYSTEM_AUTHOR,
    TITLE_MAX_LENGTH,
    Incident,
    IncidentMessage,
    IncidentStatus,
    MediaType,
    MessageType,
    NewIncident,
    NewIncidentMessage,
    Severity,
    clip,
    due_at_for,
    sla_minutes_for,
)
from securityvision.domain.media import StoredMedia


class NoticeKind(StrEnum):
    """What happened to an incident, named as the event stream will name it (SPEC §10)."""

    CREATED = "incident.created"
    UPDATED = "incident.updated"
    MESSAGE = "incident.message"


_LIVE_EVENT: dict[NoticeKind, EventName] = {
    NoticeKind.CREATED: "incident.created",
    NoticeKind.UPDATED: "incident.updated",
    NoticeKind.MESSAGE: "incident.message",
}


class IncidentNotice(msgspec.Struct, frozen=True, kw_only=True):
    kind: NoticeKind
    incident: Incident
    message: IncidentMessage | None = None
    previous_status: IncidentStatus | None = None
    # Where the change came from: None for SecurityVision itself, "chatwoot" for the Chatwoot
    # webhook (whose changes are not sent back to Chatwoot).
    source: str | None = None


class IncidentNotifier(Protocol):
    """Where incident changes go out (Chatwoot, outbound webhooks, the event stream).

    Called inside the unit of work of the change, so an implementation adds to the outbox
    and its messages commit or roll back with the change; it never calls the outside world
    itself.
    """

    async def notify(self, uow: UnitOfWork, notice: IncidentNotice) -> None: ...


class IncidentNotifiers:
    """Several notifiers as one: each is told of every change, in the order given, inside the
    change's unit of work (so a failing one rolls the change back, as it should: a notifier
    only adds to the outbox or the event log, which fail only with the database)."""

    def __init__(self, *notifiers: IncidentNotifier) -> None:
        self._notifiers = notifiers

    async def notify(self, uow: UnitOfWork, notice: IncidentNotice) -> None:
        for notifier in self._notifiers:
            await notifier.notify(uow, notice)


class LiveIncidentNotices:
    """Incident changes on the live event stream (Chatwoot and webhooks come with their own
    issue): ``incident.created``, ``incident.updated``, ``incident.message``, published in the
    change's own transaction, so they reach the consoles only if it commits."""

    async def notify(self, uow: UnitOfWork, notice: IncidentNotice) -> None:
        incident = notice.incident
        data: dict[str, object] = {
            "id": incident.id,
            "title": incident.title,
            "status": str(incident.status),
            "severity": str(incident.severity),
            "kind": incident.kind,
            "device_id": incident.device_id,
            "assigned_group_id": incident.assigned_group_id,
            "updated_at": incident.updated_at.isoformat(),
        }
        if notice.previous_status is not None:
            data["previous_status"] = str(notice.previous_status)
        if notice.message is not None:
            data = {
                "id": notice.message.id,
                "incident_id": incident.id,
                "message_type": str(notice.message.message_type),
                "author_name": notice.message.author_name,
                "created_at": notice.message.created_at.isoformat(),
            }
        await uow.events.publish(LiveEvent(event=_LIVE_EVENT[notice.kind], data=data))


class EventMedia(msgspec.Struct, frozen=True, kw_only=True):
    """An image already fetched and stored for an event (a snapshot, the enrolled photo of a
    recognised person), to be attached to its incident as a MEDIA message."""

    media: StoredMedia
    caption: str | None = None


class Outcome(StrEnum):
    OPENED = "opened"
    JOINED = "joined"
    ENRICHED = "enriched"
    EXISTING = "existing"
    NO_RULE = "no_rule"


class PipelineResult(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
    incident: Incident | None = None


class Overrides(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator asking for an incident (``POST /incidents/from-event``) sets over the
    rule's choices; None keeps the rule's (or the default)."""

    title: str | None = None
    description: str | None = None
    severity: Severity | None = None
    assigned_group_id: int | None = None
    sla_minutes: int | None = None
    tenant: str | None = None
    kind: str | None = None
    created_by_user_id: int | None = None


def when(at: datetime) -> str:
    """Times in timeline texts: UTC, day first, as the control room reads them."""
    return f"{at.astimezone(UTC):%d/%m/%Y %H:%M:%S} UTC"


def _percent(confidence: float) -> str:
    return f"{confidence * 100:.1f}%"


class IncidentPipeline:
    """Turn one stored device event into (at most) one incident.

    1. An event that already has an incident gets nothing more (redeliveries, retries).
    2. The camera's row is held for the rest of the transaction, so events of one camera are
       decided one at a time across workers (the cooldown and the sighting lookup stay true).
    3. The same sighting: when another event of the camera with the same publisher id
       (``EventID``) is already in an incident, this one goes there too. A ``faceRecognized``
       *enriches* it (person, confidence, severity raised to its rule's, never lowered);
       anything else is noted on the timeline.
    4. Otherwise the one deciding rule is picked (``pick_rule``: camera over group over
       global, tenant-specific first, then severity). No rule, no incident.
    5. Cooldown: an open incident of the same camera, rule and person (``Meta.ff_card_id``,
       else ``ff_person_name``, else unknown) whose last event is within
       ``INCIDENT_COOLDOWN_SECONDS`` of this one takes the event (a timeline entry) instead of
       a new incident; the window slides with each event joined.
    6. Else an incident opens: kind from the analytic type, SLA from the rule's group else the
       severity, due time, tenant from the payload (``Tenant``/``tenant``) else the rule else
       the camera, title and description from the rule's templates (safe formatting), a
       SYSTEM message with the details, and a MEDIA message per stored image.
    """

    def __init__(
        self,
        clock: Clock,
        cooldown: timedelta,
        notifier: IncidentNotifier | None = None,
    ) -> None:
        self._clock = clock
        self._cooldown = cooldown
        self._notifier = notifier or LiveIncidentNotices()

    async def process(
        self,
        uow: UnitOfWork,
        event: DeviceEvent,
        media: Sequence[EventMedia] = (),
        *,
        overrides: Overrides | None = None,
    ) -> PipelineResult:
        """Run the pipeline for ``event`` in the caller's unit of work (not committed here).

        With ``overrides`` (an operator's explicit request) an incident is opened even when
        no rule matches and the cooldown does not apply.
        """
        device = await uow.devices.get_for_update(event.device_id)
        current = await uow.device_events.get(event.id)
        if device is None or current is None:
            raise NotFound(f"device event {event.id} not found", code="device_event_not_found")
        existing = await self._existing(uow, current)
        if existing is not None:
            return PipelineResult(outcome=Outcome.EXISTING, incident=existing)
        facts = event_facts(current.payload)
        group_ids = await uow.camera_groups.groups_of_device(device.id)
        rules = await uow.incident_rules.for_analytic_type(current.analytic_type)
        rule = pick_rule(
            rules,
            analytic_type=current.analytic_type,
            device_id=device.id,
            group_ids=group_ids,
            tenant=facts.tenant,
        )
        if overrides is None:
            sighting = await self._same_sighting(uow, current, facts)
            if sighting is not None:
                return await self._attach(
                    uow, sighting, event=current, facts=facts, rule=rule, media=media
                )
            if rule is None:
                return PipelineResult(outcome=Outcome.NO_RULE)
            joined = await self._cooldown_join(
                uow, device, event=current, facts=facts, rule=rule, media=media
            )
            if joined is not None:
                return joined
        opened = await self._open(
            uow, device, event=current, facts=facts, rule=rule, media=media, overrides=overrides
        )
        return PipelineResult(outcome=Outcome.OPENED, incident=opened)

    async def _existing(self, uow: UnitOfWork, event: DeviceEvent) -> Incident | None:
        if event.incident_id is not None:
            found = await uow.incidents.get(event.incident_id)
            if found is not None:
                return found
        return await uow.incidents.for_device_event(event.id)

    async def _same_sighting(
        self, uow: UnitOfWork, event: DeviceEvent, facts: EventFacts
    ) -> Incident | None:
        if facts.event_id is None:
            return None
        for sibling in await uow.device_events.with_event_id(event.device_id, facts.event_id):
            if sibling.id != event.id and sibling.incident_id is not None:
                found = await uow.incidents.get_for_update(sibling.incident_id)
                if found is not None:
                    return found
        return None

    async def _attach(
        self,
        uow: UnitOfWork,
        incident: Incident,
        *,
        event: DeviceEvent,
        facts: EventFacts,
        rule: IncidentRule | None,
        media: Sequence[EventMedia],
    ) -> PipelineResult:
        """The event describes a sighting already in ``incident``."""
        previous = incident.status
        lines: list[str] = []
        changed = incident
        recognized = is_face_recognition(event.analytic_type) and (
            facts.person_name is not None or facts.card_id is not None
        )
        if recognized:
            lines.append(f"Reconhecimento facial às {when(event.occurred_at)}.")
            if facts.person_name:
                lines.append(f"Pessoa reconhecida: {facts.person_name}")
            if facts.confidence is not None:
                lines.append(f"Confiança: {_percent(facts.confidence)}")
            changed = msgspec.structs.replace(
                changed,
                person_name=facts.person_name or changed.person_name,
                confidence=facts.confidence if facts.confidence is not None else changed.confidence,
            )
            if rule is not None and rule.severity.rank > changed.severity.rank:
                lines.append(f"Severidade elevada de {changed.severity} para {rule.severity}.")
                changed = await self._raised(uow, changed, rule.severity)
        else:
            lines.append(
                f"Evento {event.analytic_type} às {when(event.occurred_at)} (mesmo EventID"
                f" {facts.event_id}) registrado neste incidente."
            )
        outcome = Outcome.ENRICHED if recognized else Outcome.JOINED
        return await self._add_event(
            uow, changed, event=event, lines=lines, media=media, previous=previous, outcome=outcome
        )

    async def _raised(self, uow: UnitOfWork, incident: Incident, severity: Severity) -> Incident:
        """A higher severity; its SLA too, when that is shorter and no group sets one."""
        group = await _group(uow, incident.assigned_group_id)
        sla = sla_minutes_for(severity, group.default_sla_minutes if group else None)
        if incident.sla_minutes is None or sla < incident.sla_minutes:
            return msgspec.structs.replace(
                incident,
                severity=severity,
                sla_minutes=sla,
                due_at=due_at_for(incident.created_at, sla),
            )
        return msgspec.structs.replace(incident, severity=severity)

    async def _cooldown_join(
        self,
        uow: UnitOfWork,
        device: Device,
        *,
        event: DeviceEvent,
        facts: EventFacts,
        rule: IncidentRule,
        media: Sequence[EventMedia],
    ) -> PipelineResult | None:
        if self._cooldown <= timedelta(0):
            return None
        found = await uow.incidents.open_for_cooldown(
            device_id=device.id,
            rule_id=rule.id,
            person_key=facts.person_key,
            since=event.occurred_at - self._cooldown,
        )
        if found is None:
            return None
        incident = await uow.incidents.get_for_update(found.id) or found
        seconds = int(self._cooldown.total_seconds())
        lines = [
            f"Novo evento {event.analytic_type} às {when(event.occurred_at)}, agrupado a este"
            f" incidente (mesma câmera, regra e pessoa em até {seconds}s)."
        ]
        if facts.person_name:
            lines.append(f"Pessoa reconhecida: {facts.person_name}")
        return await self._add_event(
            uow,
            incident,
            event=event,
            lines=lines,
            media=media,
            previous=incident.status,
            outcome=Outcome.JOINED,
        )

    async def _add_event(
        self,
        uow: UnitOfWork,
        incident: Incident,
        *,
        event: DeviceEvent,
        lines: list[str],
        media: Sequence[EventMedia],
        previous: IncidentStatus,
        outcome: Outcome,
    ) -> PipelineResult:
        now = self._clock.now()
        last = incident.last_event_at
        changed = msgspec.structs.replace(
            incident,
            last_event_at=event.occurred_at if last is None else max(last, event.occurred_at),
            updated_at=now,
        )
        saved = await uow.incidents.update(changed)
        await uow.device_events.set_incident(event.id, saved.id)
        await self._notifier.notify(
            uow,
            IncidentNotice(kind=NoticeKind.UPDATED, incident=saved, previous_status=previous),
        )
        await self._messages(uow, saved, "\n".join(lines), event, media)
        return PipelineResult(outcome=outcome, incident=saved)

    async def _open(
        self,
        uow: UnitOfWork,
        device: Device,
        *,
        event: DeviceEvent,
        facts: EventFacts,
        rule: IncidentRule | None,
        media: Sequence[EventMedia],
        overrides: Overrides | None,
    ) -> Incident:
        asked = overrides or Overrides()
        now = self._clock.now()
        severity = asked.severity or (rule.severity if rule else Severity.MEDIUM)
        group_id = asked.assigned_group_id or (rule.assigned_group_id if rule else None)
        group = await _group(uow, group_id)
        if group_id is not None and group is None:
            raise NotFound(f"support group {group_id} not found", code="support_group_not_found")
        sla = asked.sla_minutes or sla_minutes_for(
            severity, group.default_sla_minutes if group else None
        )
        values = _template_values(device, event, facts, rule)
        title = asked.title or render_template(
            (rule.title_template if rule else None) or DEFAULT_TITLE_TEMPLATE, values
        )
        description = asked.description
        if description is None and rule is not None and rule.description_template:
            description = render_template(rule.description_template, values)
        incident = await uow.incidents.add(
            NewIncident(
                device_id=device.id,
                title=clip(title.strip() or f"[AUTO] {event.analytic_type}", TITLE_MAX_LENGTH),
                description=description,
                kind=asked.kind or kind_for(event.analytic_type),
                status=IncidentStatus.OPEN,
                severity=severity,
                tenant=asked.tenant
                or facts.tenant
                or (rule.tenant if rule else None)
                or device.tenant,
                device_event_id=event.id,
                sla_minutes=sla,
                due_at=due_at_for(now, sla),
                assigned_to_user_id=rule.assigned_to_user_id if rule else None,
                assigned_group_id=group_id,
                created_by_user_id=asked.created_by_user_id,
                rule_id=rule.id if rule else None,
                person_key=facts.person_key,
                last_event_at=event.occurred_at,
                person_name=facts.person_name,
                confidence=facts.confidence,
                created_at=now,
            )
        )
        await uow.device_events.set_incident(event.id, incident.id)
        await self._notifier.notify(uow, IncidentNotice(kind=NoticeKind.CREATED, incident=incident))
        summary = _summary(incident, event, facts, rule)
        await self._messages(uow, incident, summary, event, media)
        return incident

    async def _messages(
        self,
        uow: UnitOfWork,
        incident: Incident,
        text: str,
        event: DeviceEvent,
        media: Sequence[EventMedia],
    ) -> None:
        drafts = [
            NewIncidentMessage(
                incident_id=incident.id,
                message_type=MessageType.SYSTEM,
                content=text,
                author_name=SYSTEM_AUTHOR,
            )
        ]
        for item in await _not_shown_yet(uow, incident.id, media):
            caption = item.caption or (
                f"Snapshot do evento {event.analytic_type} às {when(event.occurred_at)}"
            )
            drafts.append(
                NewIncidentMessage(
                    incident_id=incident.id,
                    message_type=MessageType.MEDIA,
                    content=caption,
                    author_name=SYSTEM_AUTHOR,
                    media_type=MediaType.of_content_type(item.media.content_type),
                    media_url=item.media.url,
                    media_name=item.media.file_name,
                )
            )
        for draft in drafts:
            message = await uow.incident_messages.add(draft)
            await self._notifier.notify(
                uow, IncidentNotice(kind=NoticeKind.MESSAGE, incident=incident, message=message)
            )


async def _group(uow: UnitOfWork, group_id: int | None) -> SupportGroup | None:
    return None if group_id is None else await uow.support_groups.get(group_id)


def _template_values(
    device: Device, event: DeviceEvent, facts: EventFacts, rule: IncidentRule | None
) -> dict[str, Any]:
    """What a rule's templates may name (unknown names are left as written)."""
    return {
        "analytic_type": event.analytic_type,
        "camera_name": device.name or facts.camera_name or "",
        "rule_name": rule.name if rule else "",
        "device_id": device.id,
        "device_code": device.code or "",
        "tenant": facts.tenant or device.tenant or "",
        "building": facts.building or "",
        "floor": facts.floor or "",
        "person_name": facts.person_name or "",
        "confidence": "" if facts.confidence is None else _percent(facts.confidence),
        "event_id": facts.event_id or "",
        "occurred_at": when(event.occurred_at),
    }


def _summary(
    incident: Incident, event: DeviceEvent, facts: EventFacts, rule: IncidentRule | None
) -> str:
    """The SYSTEM message an opened incident starts with (the details ORIGINAL.md §4 lists)."""
    lines = [
        f"Regra: {rule.name}" if rule else "Aberto manualmente a partir do evento.",
        f"Evento: {event.analytic_type} às {when(event.occurred_at)}",
        f"Prédio: {facts.building or '-'} • Andar/Setor: {facts.floor or '-'}",
    ]
    if facts.person_name:
        lines.append(f"Pessoa reconhecida: {facts.person_name}")
    if facts.confidence is not None:
        lines.append(f"Confiança: {_percent(facts.confidence)}")
    lines.append(f"Severidade: {incident.severity} • Status: {incident.status}")
    return "\n".join(lines)


class OpenIncidentsForEvent:
    """Run the incident pipeline for a stored device event, in a unit of work of its own
    (the cam-bus ingestion calls this for every new event, with the images it stored)."""

    def __init__(self, uow: UnitOfWorkFactory, pipeline: IncidentPipeline) -> None:
        self._uow = uow
        self._pipeline = pipeline

    async def execute(
        self, device_event_id: int, media: Sequence[EventMedia] = ()
    ) -> PipelineResult:
        async with self._uow() as uow:
            event = await uow.device_events.get(device_event_id)
            if event is None:
                raise NotFound(
                    f"device event {device_event_id} not found", code="device_event_not_found"
                )
            result = await self._pipeline.process(uow, event, media)
            await uow.commit()
        return result


async def _not_shown_yet(
    uow: UnitOfWork, incident_id: int, media: Sequence[EventMedia]
) -> list[EventMedia]:
    """The images the incident does not show yet: a recognition repeats its capture's
    snapshot (same bytes, so the same stored file), which is attached once."""
    if not media:
        return []
    shown: set[str] = set()
    after: int | None = None
    while page := await uow.incident_messages.list(incident_id, after_id=after, limit=500):
        shown.update(m.media_url for m in page if m.media_url)
        after = page[-1].id
        if len(page) < 500:
            break
    fresh: list[EventMedia] = []
    for item in media:
        if item.media.url not in shown:
            shown.add(item.media.url)
            fresh.append(item)
    return fresh


__all__ = [
    "EventMedia",
    "IncidentNotice",
    "IncidentNotifier",
    "IncidentNotifiers",
    "IncidentPipeline",
    "LiveIncidentNotices",
    "NoticeKind",
    "OpenIncidentsForEvent",
    "Outcome",
    "Overrides",
    "PipelineResult",
]
