"""Incidents as operators work them: open, read, assign, move through their statuses, and
talk on their timeline (messages and attachments)."""

import re
from collections.abc import Collection, Sequence
from datetime import datetime

import msgspec

from securityvision.application.incident_pipeline import (
    IncidentNotice,
    IncidentNotifier,
    IncidentPipeline,
    LiveIncidentNotices,
    NoticeKind,
    Overrides,
    when,
)
from securityvision.application.ports import Clock, MediaStore, UnitOfWork, UnitOfWorkFactory
from securityvision.domain.devices import DeviceType
from securityvision.domain.errors import InvalidInput, NotFound
from securityvision.domain.identity import User
from securityvision.domain.incident_rules import SupportGroup
from securityvision.domain.incidents import (
    MESSAGE_MAX_LENGTH,
    Incident,
    IncidentMessage,
    IncidentStatus,
    MediaType,
    MessageType,
    NewIncident,
    NewIncidentMessage,
    Severity,
    change_status,
    check_incident,
    due_at_for,
    sla_minutes_for,
    status_message,
)
from securityvision.domain.media import MAX_IMAGE_PIXELS, MediaKind, check_image

MESSAGES_MAX_LIMIT = 500
_UNSET = msgspec.UNSET


class IncidentDetails(msgspec.Struct, frozen=True, kw_only=True):
    """An incident as the front end reads one: with its group and assignees."""

    incident: Incident
    group: SupportGroup | None = None
    assignees: tuple[User, ...] = ()


class IncidentDraft(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /incidents/``; ``sla_minutes`` None takes the group's default, else the
    severity's; ``due_at`` None is creation plus the SLA."""

    device_id: int
    title: str
    kind: str = "CAMERA_EVENT"
    tenant: str | None = None
    status: IncidentStatus = IncidentStatus.OPEN
    severity: Severity = Severity.MEDIUM
    description: str | None = None
    sla_minutes: int | None = None
    due_at: datetime | None = None
    assigned_to_user_id: int | None = None
    assigned_group_id: int | None = None
    assignee_ids: tuple[int, ...] = ()


class IncidentChanges(msgspec.Struct, frozen=True, kw_only=True):
    """A partial update: UNSET fields stay; ``assignee_ids`` replaces the assignees."""

    title: str | msgspec.UnsetType = _UNSET
    description: str | msgspec.UnsetType | None = _UNSET
    severity: Severity | msgspec.UnsetType = _UNSET
    status: IncidentStatus | msgspec.UnsetType = _UNSET
    chatwoot_conversation_id: int | msgspec.UnsetType | None = _UNSET
    sla_minutes: int | msgspec.UnsetType | None = _UNSET
    due_at: datetime | msgspec.UnsetType | None = _UNSET
    tenant: str | msgspec.UnsetType | None = _UNSET
    kind: str | msgspec.UnsetType = _UNSET
    assigned_to_user_id: int | msgspec.UnsetType | None = _UNSET
    assigned_group_id: int | msgspec.UnsetType | None = _UNSET
    assignee_ids: tuple[int, ...] | msgspec.UnsetType = _UNSET


class FromEventRequest(msgspec.Struct, frozen=True, kw_only=True):
    device_event_id: int
    title: str | None = None
    description: str | None = None
    severity: Severity | None = None
    assigned_group_id: int | None = None
    sla_minutes: int | None = None
    tenant: str | None = None


class MessageDraft(msgspec.Struct, frozen=True, kw_only=True):
    """What a person posts on a timeline; COMMENT unless said otherwise."""

    content: str = ""
    message_type: MessageType = MessageType.COMMENT
    media_type: MediaType | None = None
    media_url: str | None = None
    media_thumb_url: str | None = None
    media_name: str | None = None


def incident_not_found(incident_id: int) -> NotFound:
    return NotFound(f"incident {incident_id} not found", code="incident_not_found")


def author_of(user: User) -> str:
    """How a person signs the timeline."""
    return (user.full_name or "").strip() or user.email


async def details(uow: UnitOfWork, incidents: Sequence[Incident]) -> list[IncidentDetails]:
    """Incidents with their groups and assignees, read in two queries whatever their number."""
    group_ids = {i.assigned_group_id for i in incidents if i.assigned_group_id is not None}
    groups = {g.id: g for g in await uow.support_groups.get_many(group_ids)}
    assignees = await uow.incidents.assignees([i.id for i in incidents])
    return [
        IncidentDetails(
            incident=i,
            group=groups.get(i.assigned_group_id) if i.assigned_group_id is not None else None,
            assignees=tuple(assignees.get(i.id, ())),
        )
        for i in incidents
    ]


async def _one(uow: UnitOfWork, incident: Incident) -> IncidentDetails:
    return (await details(uow, [incident]))[0]


async def _check_references(
    uow: UnitOfWork,
    *,
    user_id: int | None = None,
    group_id: int | None = None,
    assignee_ids: Collection[int] = (),
) -> None:
    """Every user and group named must exist (a 404 naming it, before anything changes)."""
    for wanted in sorted({*assignee_ids, *([user_id] if user_id is not None else [])}):
        if await uow.users.get(wanted) is None:
            raise NotFound(f"user {wanted} not found", code="user_not_found")
    if group_id is not None and await uow.support_groups.get(group_id) is None:
        raise NotFound(f"support group {group_id} not found", code="support_group_not_found")


class CreateIncident:
    """Open an incident by hand.

    - The device must exist; users, group and assignees named must exist.
    - SLA: the one sent, else the group's default, else the severity's; ``due_at`` the one
      sent, else creation plus the SLA. A terminal status at creation closes it at once.
    - ``created_by`` is the caller (the original wrote a fake user id, bug 8); the assignees
      are really stored (bug 12).
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, notifier: IncidentNotifier | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier or LiveIncidentNotices()

    async def execute(self, draft: IncidentDraft, actor: User) -> IncidentDetails:
        now = self._clock.now()
        async with self._uow() as uow:
            device = await uow.devices.get(draft.device_id)
            if device is None:
                raise NotFound(f"device {draft.device_id} not found", code="device_not_found")
            await _check_references(
                uow,
                user_id=draft.assigned_to_user_id,
                group_id=draft.assigned_group_id,
                assignee_ids=draft.assignee_ids,
            )
            group = (
                await uow.support_groups.get(draft.assigned_group_id)
                if draft.assigned_group_id is not None
                else None
            )
            sla = draft.sla_minutes or sla_minutes_for(
                draft.severity, group.default_sla_minutes if group else None
            )
            new = NewIncident(
                device_id=draft.device_id,
                title=draft.title.strip(),
                kind=draft.kind.strip(),
                created_at=now,
                status=draft.status,
                severity=draft.severity,
                description=draft.description,
                tenant=draft.tenant or device.tenant,
                sla_minutes=sla,
                due_at=draft.due_at or due_at_for(now, sla),
                closed_at=None if draft.status.is_active else now,
                assigned_to_user_id=draft.assigned_to_user_id,
                assigned_group_id=draft.assigned_group_id,
                created_by_user_id=actor.id,
            )
            check_incident(new)
            incident = await uow.incidents.add(new)
            await uow.incidents.set_assignees(incident.id, set(draft.assignee_ids))
            await self._notifier.notify(
                uow, IncidentNotice(kind=NoticeKind.CREATED, incident=incident)
            )
            found = await _one(uow, incident)
            await uow.commit()
        return found


class GetIncident:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(self, incident_id: int) -> IncidentDetails:
        async with self._uow() as uow:
            incident = await uow.incidents.get(incident_id)
            if incident is None:
                raise incident_not_found(incident_id)
            return await _one(uow, incident)


class ListIncidents:
    """Newest first; ``only_open`` (OPEN, IN_PROGRESS) and ``device_id`` filter before
    paging (the original paged first)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self,
        *,
        only_open: bool = False,
        device_id: int | None = None,
        skip: int = 0,
        limit: int = 100,
    ) -> list[IncidentDetails]:
        async with self._uow() as uow:
            found = await uow.incidents.list(
                only_open=only_open, device_id=device_id, skip=skip, limit=limit
            )
            return await details(uow, found)


class ListMyIncidents:
    """The caller's queue, newest first: assigned to them, naming them among the assignees,
    assigned to one of their support groups, or assigned to nobody yet."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, actor: User, *, only_open: bool = False, skip: int = 0, limit: int = 100
    ) -> list[IncidentDetails]:
        async with self._uow(read_only=True) as uow:
            found = await uow.incidents.list_for_user(
                actor.id, only_open=only_open, skip=skip, limit=limit
            )
            return await details(uow, found)


class UpdateIncident:
    """Change the fields sent.

    - ``status``: a validated transition (``change_status``: a closed incident is reopened
      before it is closed otherwise); entering a terminal status sets ``closed_at``, leaving
      it clears it; each change leaves the SYSTEM message ``Status alterado de X para Y.``
      signed by the caller. Sending the current status changes nothing.
    - ``sla_minutes`` without ``due_at`` moves the due time to creation plus the new SLA.
    - ``assignee_ids`` replaces the assignees (the original ignored it, bug 12); users and
      groups named must exist.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, notifier: IncidentNotifier | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier or LiveIncidentNotices()

    async def execute(
        self, incident_id: int, changes: IncidentChanges, actor: User
    ) -> IncidentDetails:
        values = {
            name: value
            for name in changes.__struct_fields__
            if not isinstance(value := getattr(changes, name), msgspec.UnsetType)
        }
        assignee_ids = values.pop("assignee_ids", None)
        new_status = values.pop("status", None)
        now = self._clock.now()
        async with self._uow() as uow:
            incident = await uow.incidents.get_for_update(incident_id)
            if incident is None:
                raise incident_not_found(incident_id)
            await _check_references(
                uow,
                user_id=values.get("assigned_to_user_id"),
                group_id=values.get("assigned_group_id"),
                assignee_ids=assignee_ids or (),
            )
            previous = incident.status
            messages: list[NewIncidentMessage] = []
            if new_status is not None and new_status is not incident.status:
                change = change_status(incident, new_status, now)
                incident = change.incident
                messages.append(status_message(change, author_of(actor)))
            if "sla_minutes" in values and "due_at" not in values:
                values["due_at"] = due_at_for(incident.created_at, values["sla_minutes"])
            changed = msgspec.structs.replace(incident, **values)
            if changed == incident and not messages and assignee_ids is None:
                return await _one(uow, incident)
            changed = msgspec.structs.replace(changed, updated_at=now)
            check_incident(changed)
            saved = await uow.incidents.update(changed)
            if assignee_ids is not None:
                await uow.incidents.set_assignees(saved.id, set(assignee_ids))
            await self._notifier.notify(
                uow,
                IncidentNotice(kind=NoticeKind.UPDATED, incident=saved, previous_status=previous),
            )
            for draft in messages:
                message = await uow.incident_messages.add(draft)
                await self._notifier.notify(
                    uow, IncidentNotice(kind=NoticeKind.MESSAGE, incident=saved, message=message)
                )
            found = await _one(uow, saved)
            await uow.commit()
        return found


class OpenIncidentFromEvent:
    """``POST /incidents/from-event``: an operator turns a device event into an incident,
    through the automatic pipeline with their choices over the rule's (title, description,
    severity, group, SLA, tenant) and themselves as creator.

    - Idempotent: an event that already has an incident answers that incident.
    - An incident opens even when no rule matches (the operator asked for it), with no
      cooldown; two requests racing on another server: the loser gets ``incident_exists``.
    """

    def __init__(self, uow: UnitOfWorkFactory, pipeline: IncidentPipeline) -> None:
        self._uow = uow
        self._pipeline = pipeline

    async def execute(self, request: FromEventRequest, actor: User) -> IncidentDetails:
        if request.sla_minutes is not None and request.sla_minutes <= 0:
            raise InvalidInput("sla_minutes must be positive", code="invalid_sla")
        async with self._uow() as uow:
            event = await uow.device_events.get(request.device_event_id)
            if event is None:
                raise _event_not_found(request.device_event_id)
            if request.assigned_group_id is not None:
                await _check_references(uow, group_id=request.assigned_group_id)
            result = await self._pipeline.process(
                uow,
                event,
                overrides=Overrides(
                    title=request.title,
                    description=request.description,
                    severity=request.severity,
                    assigned_group_id=request.assigned_group_id,
                    sla_minutes=request.sla_minutes,
                    tenant=request.tenant,
                    created_by_user_id=actor.id,
                ),
            )
            if result.incident is None:
                raise _event_not_found(request.device_event_id)
            found = await _one(uow, result.incident)
            await uow.commit()
        return found


class OpenIncidentForDeviceEvent:
    """``POST /incidents/from-device-event/{id}``: report a problem with the camera itself
    (kind ``CAMERA_ISSUE``) from one of its events; only cameras' events. An event that
    already has an incident answers that incident."""

    def __init__(self, uow: UnitOfWorkFactory, pipeline: IncidentPipeline) -> None:
        self._uow = uow
        self._pipeline = pipeline

    async def execute(self, device_event_id: int, actor: User) -> IncidentDetails:
        async with self._uow() as uow:
            event = await uow.device_events.get(device_event_id)
            if event is None:
                raise _event_not_found(device_event_id)
            device = await uow.devices.get(event.device_id)
            if device is None or device.type is not DeviceType.CAMERA:
                raise InvalidInput(
                    f"device event {device_event_id} is not a camera's", code="not_a_camera"
                )
            result = await self._pipeline.process(
                uow,
                event,
                overrides=Overrides(
                    title=f"Problema na câmera {device.name}",
                    description=(
                        f"Aberto a partir do evento {event.analytic_type} de"
                        f" {when(event.occurred_at)}."
                    ),
                    kind="CAMERA_ISSUE",
                    created_by_user_id=actor.id,
                ),
            )
            if result.incident is None:
                raise _event_not_found(device_event_id)
            found = await _one(uow, result.incident)
            await uow.commit()
        return found


def _event_not_found(device_event_id: int) -> NotFound:
    return NotFound(f"device event {device_event_id} not found", code="device_event_not_found")


class ListIncidentMessages:
    """The timeline oldest first, at most 500 at a time; ``after_id`` gives only what came
    after the last message the caller has (the front end polls with it)."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def execute(
        self, incident_id: int, *, after_id: int | None = None, limit: int = MESSAGES_MAX_LIMIT
    ) -> list[IncidentMessage]:
        async with self._uow(read_only=True) as uow:
            if await uow.incidents.get(incident_id) is None:
                raise incident_not_found(incident_id)
            return list(
                await uow.incident_messages.list(
                    incident_id, after_id=after_id, limit=min(limit, MESSAGES_MAX_LIMIT)
                )
            )


_SAFE_URL = re.compile(r"^(https?://[^\s]+|/media/[A-Za-z0-9_./-]+)$")


def _check_media_url(value: str | None, field: str) -> None:
    """Only addresses a browser fetches as data: an http(s) URL or one of our ``/media/``
    paths (never ``javascript:`` or ``data:``; the front end puts them in ``src``)."""
    if value is not None and (not _SAFE_URL.match(value) or "/../" in value):
        raise InvalidInput(
            f"{field} must be an http(s) URL or a /media/ path", code="invalid_media_url"
        )


class PostIncidentMessage:
    """A person writes on the timeline.

    - ``message_type`` is COMMENT unless said otherwise (the original's default of TEXT made
      its own COMMENT default a no-op, bug 13); SYSTEM entries are the backend's alone.
    - ``content`` up to 8000 characters, not blank unless a ``media_url`` is attached;
      media URLs are http(s) or ``/media/`` paths.
    - Signed with the caller's name (``author_name``).
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, notifier: IncidentNotifier | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier or LiveIncidentNotices()

    async def execute(self, incident_id: int, draft: MessageDraft, actor: User) -> IncidentMessage:
        if draft.message_type is MessageType.SYSTEM:
            raise InvalidInput(
                "SYSTEM messages are written by the backend only", code="message_type_not_allowed"
            )
        if len(draft.content) > MESSAGE_MAX_LENGTH:
            raise InvalidInput(
                f"content must have at most {MESSAGE_MAX_LENGTH} characters", code="too_long"
            )
        if not draft.content.strip() and draft.media_url is None:
            raise InvalidInput("content is required", code="content_required")
        _check_media_url(draft.media_url, "media_url")
        _check_media_url(draft.media_thumb_url, "media_thumb_url")
        async with self._uow() as uow:
            incident = await uow.incidents.get(incident_id)
            if incident is None:
                raise incident_not_found(incident_id)
            message = await _post(
                uow,
                self._notifier,
                incident,
                NewIncidentMessage(
                    incident_id=incident_id,
                    message_type=draft.message_type,
                    content=draft.content,
                    author_name=author_of(actor),
                    media_type=draft.media_type,
                    media_url=draft.media_url,
                    media_thumb_url=draft.media_thumb_url,
                    media_name=draft.media_name,
                ),
                self._clock.now(),
            )
            await uow.commit()
        return message


async def _post(
    uow: UnitOfWork,
    notifier: IncidentNotifier,
    incident: Incident,
    draft: NewIncidentMessage,
    now: datetime,
) -> IncidentMessage:
    message = await uow.incident_messages.add(draft)
    # The incident changed too (its timeline): lists sorted by update see it move up.
    saved = await uow.incidents.update(msgspec.structs.replace(incident, updated_at=now))
    await notifier.notify(
        uow, IncidentNotice(kind=NoticeKind.MESSAGE, incident=saved, message=message)
    )
    return message


_NAME_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]+")
MEDIA_NAME_MAX_LENGTH = 255


def display_name(file_name: str | None, fallback: str) -> str:
    """The name a client gave its file, only ever shown as text: control characters and
    path separators dropped, cut to 255 characters."""
    cleaned = _NAME_UNSAFE.sub("_", (file_name or "").strip()).strip("._ ")
    return (cleaned or fallback)[:MEDIA_NAME_MAX_LENGTH]


class AttachFileToIncident:
    """``POST /incidents/{id}/attachments``: a file on the timeline as a MEDIA message.

    - Accepted: PNG, JPEG and WebP images, checked by their own bytes exactly as floor-plan
      images are (size, declared pixels, no markup); anything else, PDF included, is refused
      (``unsupported_image_type``) — see docs/incidents.md.
    - Stored by content hash under ``media/incidents/``, served from ``/media/incidents/``
      with a server-set image type, ``nosniff`` and a sandboxing CSP: never active content.
    - ``description`` is the message's text (else ``Arquivo anexado: <name>``); the client's
      file name is kept only as ``media_name``, shown as text, never used to store.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        media: MediaStore,
        clock: Clock,
        *,
        max_bytes: int,
        notifier: IncidentNotifier | None = None,
        max_pixels: int = MAX_IMAGE_PIXELS,
    ) -> None:
        self._uow = uow
        self._media = media
        self._clock = clock
        self._max_bytes = max_bytes
        self._notifier = notifier or LiveIncidentNotices()
        self._max_pixels = max_pixels

    async def execute(
        self,
        incident_id: int,
        data: bytes,
        *,
        file_name: str | None,
        description: str | None,
        actor: User,
    ) -> IncidentMessage:
        if description is not None and len(description) > MESSAGE_MAX_LENGTH:
            raise InvalidInput(
                f"description must have at most {MESSAGE_MAX_LENGTH} characters", code="too_long"
            )
        image = check_image(data, max_bytes=self._max_bytes, max_pixels=self._max_pixels)
        async with self._uow() as uow:
            incident = await uow.incidents.get(incident_id)
            if incident is None:
                raise incident_not_found(incident_id)
            stored = await self._media.save(image, MediaKind.INCIDENTS)
            name = display_name(file_name, stored.file_name)
            message = await _post(
                uow,
                self._notifier,
                incident,
                NewIncidentMessage(
                    incident_id=incident_id,
                    message_type=MessageType.MEDIA,
                    content=(description or "").strip() or f"Arquivo anexado: {name}",
                    author_name=author_of(actor),
                    media_type=MediaType.of_content_type(stored.content_type),
                    media_url=stored.url,
                    media_name=name,
                ),
                self._clock.now(),
            )
            await uow.commit()
        return message


__all__ = [
    "AttachFileToIncident",
    "CreateIncident",
    "FromEventRequest",
    "GetIncident",
    "IncidentChanges",
    "IncidentDetails",
    "IncidentDraft",
    "ListIncidentMessages",
    "ListIncidents",
    "ListMyIncidents",
    "MessageDraft",
    "OpenIncidentForDeviceEvent",
    "OpenIncidentFromEvent",
    "PostIncidentMessage",
    "UpdateIncident",
    "author_of",
    "details",
    "display_name",
    "incident_not_found",
]
