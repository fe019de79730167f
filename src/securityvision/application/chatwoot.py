"""Chatwoot (SPEC §9, ORIGINAL.md §5, docs/chatwoot.md): incidents mirrored to a
conversation each through the outbox, and the webhook that brings agents' replies and
resolutions back.

- ``ChatwootNotifier`` decides, inside the change's unit of work, what Chatwoot is to be
  told, and adds it to the outbox (channel ``chatwoot``, one destination per incident, so a
  conversation's messages arrive in order); the relay's publisher (adapters/chatwoot.py)
  talks to Chatwoot afterwards.
- ``ChatwootWebhookAuth`` and ``HandleChatwootWebhook`` are the inbound side.
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec

from securityvision.application.incident_pipeline import (
    IncidentNotice,
    IncidentNotifier,
    LiveIncidentNotices,
    NoticeKind,
)
from securityvision.application.incidents import author_of, display_name
from securityvision.application.ports import Clock, MediaStore, UnitOfWork, UnitOfWorkFactory
from securityvision.domain.chatwoot import (
    CHATWOOT_CHANNEL,
    WEBHOOK_SOURCE,
    Attachment,
    ChatwootDelivery,
    Conversation,
    OpenConversation,
    PostMessage,
    UpdateAttributes,
    conversation_source_id,
    destination,
    encode_delivery,
    is_echo,
    message_source_id,
    verify_signature,
    verify_token,
)
from securityvision.domain.errors import AuthenticationFailed, DomainError, InvalidInput
from securityvision.domain.incidents import (
    MESSAGE_MAX_LENGTH,
    Incident,
    IncidentStatus,
    MediaType,
    MessageType,
    NewIncidentMessage,
    change_status,
    clip,
    status_message,
)
from securityvision.domain.media import MAX_IMAGE_PIXELS, MediaKind, StoredMedia, check_image
from securityvision.domain.outbox import NewOutboxMessage

log = logging.getLogger("securityvision.chatwoot")

CHATWOOT_AUTHOR = "Chatwoot"


# --- outbound ----------------------------------------------------------------------------


def summary_text(incident: Incident, group_name: str | None, incident_base_url: str | None) -> str:
    """The private note that opens a conversation (the original's lines)."""
    lines = [
        f"[Incidente #{incident.id}] {incident.title}",
        f"Status: {incident.status} • Severidade: {incident.severity}",
        f"Tenant: {incident.tenant or '-'} • Dispositivo: {incident.device_id}",
    ]
    if group_name:
        lines.append(f"Grupo: {group_name}")
    if incident_base_url:
        lines.append(f"Acesse: {incident_base_url.rstrip('/')}/{incident.id}")
    return "\n".join(lines)


def custom_attributes(incident: Incident) -> dict[str, Any]:
    """The conversation's custom attributes, as the original set them."""
    return {
        "incident_id": incident.id,
        "incident_created_at": incident.created_at.isoformat(),
        "severity": str(incident.severity),
        "status": str(incident.status),
        "tenant": incident.tenant,
        "device_id": incident.device_id,
    }


class ChatwootNotifier:
    """The ``IncidentNotifier`` of Chatwoot: every incident change it cares about becomes an
    outbox message on channel ``chatwoot``, destination ``incident:<id>``.

    - Created: find or create the conversation (in the support group's inbox, else the
      default), with the incident's custom attributes, and post the summary — once (the
      original posted it twice, bug 16).
    - Each timeline entry (comments, system entries, status changes, media): a private note
      ``"{author}:\\n{content}"``; media is uploaded as an attachment.
    - A status change also updates the conversation's custom attributes.
    - Changes the Chatwoot webhook made (``source="chatwoot"``) are not posted back: the
      agent already sees them there.
    """

    def __init__(self, *, incident_base_url: str | None = None) -> None:
        self._incident_base_url = incident_base_url

    async def notify(self, uow: UnitOfWork, notice: IncidentNotice) -> None:
        delivery = await self._delivery(uow, notice)
        if delivery is None:
            return
        await uow.outbox.add(
            NewOutboxMessage(
                channel=CHATWOOT_CHANNEL,
                destination=destination(notice.incident.id),
                payload=encode_delivery(delivery),
            )
        )

    async def _delivery(self, uow: UnitOfWork, notice: IncidentNotice) -> ChatwootDelivery | None:
        incident = notice.incident
        if notice.kind is NoticeKind.UPDATED:
            changed = notice.previous_status is not None and notice.previous_status != (
                incident.status
            )
            if not changed:
                return None
            return UpdateAttributes(conversation=await self._conversation(uow, incident))
        if notice.kind is NoticeKind.CREATED:
            return OpenConversation(conversation=await self._conversation(uow, incident))
        message = notice.message
        if message is None or notice.source == WEBHOOK_SOURCE:
            return None
        author = message.author_name or CHATWOOT_AUTHOR
        content = message.content.strip()
        attachment = None
        if message.media_url:
            attachment = Attachment(
                url=message.media_url,
                name=message.media_name,
                content_type=str(message.media_type) if message.media_type else None,
            )
            content = content or (message.media_name or "Arquivo anexado")
        return PostMessage(
            conversation=await self._conversation(uow, incident),
            source_id=message_source_id(message.id),
            content=f"{author}:\n{content}",
            attachment=attachment,
        )

    async def _conversation(self, uow: UnitOfWork, incident: Incident) -> Conversation:
        group = (
            await uow.support_groups.get(incident.assigned_group_id)
            if incident.assigned_group_id is not None
            else None
        )
        return Conversation(
            incident_id=incident.id,
            inbox=(group.chatwoot_inbox_identifier or None) if group else None,
            team_id=group.chatwoot_team_id if group else None,
            custom_attributes=custom_attributes(incident),
            summary=summary_text(incident, group.name if group else None, self._incident_base_url),
        )


# --- inbound -----------------------------------------------------------------------------


class WebhookCall(msgspec.Struct, frozen=True, kw_only=True):
    """A call to the webhook as it arrived: the raw body and Chatwoot's headers."""

    body: bytes
    signature: str | None = None
    timestamp: str | None = None
    delivery_id: str | None = None


class ChatwootWebhookAuth:
    """Who may call the webhook.

    - With ``CHATWOOT_WEBHOOK_SECRET``: only a request signed by Chatwoot —
      ``X-Chatwoot-Signature: sha256=HMAC(secret, "{X-Chatwoot-Timestamp}.{raw body}")``,
      compared in constant time, the timestamp within ±300 s of our clock.
    - With only ``CHATWOOT_WEBHOOK_TOKEN``: the original's static token, sent as the whole
      ``X-Chatwoot-Signature`` header (compared in constant time).
    - With neither: nobody (the original was open then, bug 30).
    - Neither secret nor token is ever logged or echoed.
    """

    def __init__(self, *, secret: str | None, token: str | None, clock: Clock) -> None:
        self._secret = secret or None
        self._token = token or None
        self._clock = clock

    @property
    def configured(self) -> bool:
        return self._secret is not None or self._token is not None

    def check(self, call: WebhookCall) -> None:
        if self._secret is not None:
            verify_signature(
                secret=self._secret,
                body=call.body,
                timestamp=call.timestamp,
                signature=call.signature,
                now=self._clock.now(),
            )
            return
        if self._token is not None:
            verify_token(expected=self._token, given=call.signature)
            return
        raise AuthenticationFailed(
            "the Chatwoot webhook is not configured (set CHATWOOT_WEBHOOK_SECRET)",
            code="webhook_not_configured",
        )


class AttachmentFetcher(Protocol):
    """Fetches a file Chatwoot serves (adapters/fetch.py's ``SafeFetcher``, allowed only the
    Chatwoot host); raises ``InvalidInput`` when it may not or cannot."""

    async def fetch(self, url: str) -> bytes: ...


class WebhookOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """``processed``, ``duplicate`` (a replay, or a message already mirrored) or ``ignored``
    (an event, or a message, that is none of ours), with what was done."""

    status: str
    incident_id: int | None = None
    message_ids: tuple[int, ...] = ()
    reason: str | None = None


_MESSAGE_EVENTS = frozenset({"message_created", "message_updated"})
_STATUS_EVENT = "conversation_status_changed"
_ATTACHMENT_URL_KEYS = ("data_url", "file_url", "url")


def _ignored(reason: str) -> WebhookOutcome:
    return WebhookOutcome(status="ignored", reason=reason)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _not_to_mirror(
    event: Mapping[str, Any], content: str, attachments: Sequence[object]
) -> str | None:
    """Why a Chatwoot message stays off the timeline, if it does."""
    if is_echo(dict(event)):
        return "our own message"
    if event.get("message_type") in ("activity", 2, "template", 3):
        return "not an agent's message"
    if not content.strip() and not attachments:
        return "an empty message"
    return None


class _Fetched(msgspec.Struct, frozen=True, kw_only=True):
    media: StoredMedia | None = None
    name: str
    problem: str | None = None


class HandleChatwootWebhook:
    """A verified webhook call, turned into incident changes.

    - A replay (an ``X-Chatwoot-Delivery`` already handled) changes nothing; the delivery id
      is recorded in the transaction of its effects, so a call that failed is handled when
      Chatwoot sends it again.
    - ``message_created``/``message_updated``: our own echoes (``sv_source``, ``sv-`` source
      ids) and Chatwoot's activity notes are skipped; a message already mirrored (by
      Chatwoot's message id) is not added again. The incident is the conversation's, else the
      one named by its ``incident_id`` custom attribute or ``incident-N`` source id (and the
      conversation is then remembered). Text becomes a SYSTEM entry when private, else
      OPERATOR, signed by the user whose ``chatwoot_agent_id`` is the sender's id, else the
      sender's name, e-mail, or "Chatwoot". Each attachment is fetched only from the Chatwoot
      host, through the media rules (images only), and becomes a MEDIA entry; one that is
      refused is named in the text instead.
    - ``conversation_status_changed``: ``resolved`` resolves an active incident, ``open``
      reopens a closed one (the usual status transition and timeline entry, signed
      "Chatwoot"); anything else changes nothing.
    - Any other event: ignored.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        media: MediaStore,
        max_bytes: int,
        notifier: IncidentNotifier | None = None,
        fetcher: AttachmentFetcher | None = None,
        chatwoot_base_url: str | None = None,
        max_pixels: int = MAX_IMAGE_PIXELS,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._media = media
        self._max_bytes = max_bytes
        self._notifier = notifier or LiveIncidentNotices()
        self._fetcher = fetcher
        base = urlsplit(chatwoot_base_url) if chatwoot_base_url else None
        self._chatwoot_host = (base.hostname or "").lower() if base else ""
        self._max_pixels = max_pixels

    async def execute(self, call: WebhookCall) -> WebhookOutcome:
        try:
            event = msgspec.json.decode(call.body)
        except msgspec.DecodeError:
            raise InvalidInput("the body is not JSON", code="invalid_payload") from None
        if not isinstance(event, dict):
            raise InvalidInput("the body is not a JSON object", code="invalid_payload")
        kind = event.get("event")
        if kind not in _MESSAGE_EVENTS and kind != _STATUS_EVENT:
            return _ignored(f"event {kind!r} is not handled")
        delivery = (call.delivery_id or "").strip()[:200] or None
        if delivery is not None:
            async with self._uow() as uow:
                if await uow.chatwoot.delivery_seen(delivery):
                    return WebhookOutcome(status="duplicate", reason="delivery already handled")
        if kind == _STATUS_EVENT:
            return await self._status_changed(event, delivery)
        return await self._message(event, delivery)

    # -- messages --

    async def _message(self, event: dict[str, Any], delivery: str | None) -> WebhookOutcome:
        message_id = _int(event.get("id"))
        if message_id is None:
            raise InvalidInput("the message has no id", code="invalid_payload")
        content = event.get("content") if isinstance(event.get("content"), str) else ""
        attachments = [a for a in event.get("attachments") or () if isinstance(a, dict)]
        skipped = _not_to_mirror(event, str(content), attachments)
        if skipped is not None:
            return _ignored(skipped)
        conversation = _dict(event.get("conversation"))
        async with self._uow() as uow:
            incident = await self._incident_of(uow, conversation)
            if incident is None:
                return _ignored("no incident has this conversation")
        # Fetched before the transaction: nothing waits on Chatwoot's file server holding it.
        fetched = [await self._fetch(a) for a in attachments]
        now = self._clock.now()
        async with self._uow() as uow:
            incident = await self._incident_of(uow, conversation, link=True)
            if incident is None:
                return _ignored("no incident has this conversation")
            if delivery is not None and not await uow.chatwoot.claim_delivery(delivery, now):
                return WebhookOutcome(status="duplicate", reason="delivery already handled")
            if not await uow.chatwoot.claim_message(message_id, incident.id):
                await uow.commit()  # the delivery, handled: a replay of it is one too
                return WebhookOutcome(
                    status="duplicate", incident_id=incident.id, reason="message already added"
                )
            author = await self._author(uow, _dict(event.get("sender")))
            drafts = self._drafts(
                incident, str(content), bool(event.get("private")), author, fetched
            )
            added: list[int] = []
            saved = await uow.incidents.update(msgspec.structs.replace(incident, updated_at=now))
            for draft in drafts:
                message = await uow.incident_messages.add(draft)
                added.append(message.id)
                await self._notifier.notify(
                    uow,
                    IncidentNotice(
                        kind=NoticeKind.MESSAGE,
                        incident=saved,
                        message=message,
                        source=WEBHOOK_SOURCE,
                    ),
                )
            await uow.commit()
        return WebhookOutcome(status="processed", incident_id=incident.id, message_ids=tuple(added))

    def _drafts(
        self,
        incident: Incident,
        content: str,
        private: bool,
        author: str,
        fetched: Sequence[_Fetched],
    ) -> list[NewIncidentMessage]:
        text = content.strip()
        refused = [f"[anexo não importado: {f.name} ({f.problem})]" for f in fetched if f.problem]
        if refused:
            text = "\n".join([text, *refused]).strip()
        drafts: list[NewIncidentMessage] = []
        if text:
            drafts.append(
                NewIncidentMessage(
                    incident_id=incident.id,
                    message_type=MessageType.SYSTEM if private else MessageType.OPERATOR,
                    content=clip(text, MESSAGE_MAX_LENGTH),
                    author_name=author,
                )
            )
        for item in fetched:
            if item.media is None:
                continue
            drafts.append(
                NewIncidentMessage(
                    incident_id=incident.id,
                    message_type=MessageType.MEDIA,
                    content=f"Anexo do Chatwoot: {item.name}",
                    author_name=author,
                    media_type=MediaType.of_content_type(item.media.content_type),
                    media_url=item.media.url,
                    media_name=item.name,
                )
            )
        return drafts

    async def _fetch(self, attachment: Mapping[str, Any]) -> _Fetched:
        url = next(
            (
                v
                for k in _ATTACHMENT_URL_KEYS
                if isinstance(v := attachment.get(k), str) and v.strip()
            ),
            None,
        )
        name = display_name(
            str(attachment.get("file_name") or attachment.get("name") or ""), "anexo"
        )
        if url is None:
            return _Fetched(name=name, problem="sem endereço")
        host = (urlsplit(url).hostname or "").lower()
        if self._fetcher is None or not self._chatwoot_host or host != self._chatwoot_host:
            # Only Chatwoot's own files: a webhook never makes us fetch anything else.
            return _Fetched(name=name, problem="fora do Chatwoot")
        try:
            data = await self._fetcher.fetch(url)
            image = check_image(data, max_bytes=self._max_bytes, max_pixels=self._max_pixels)
        except DomainError as exc:
            log.info("Chatwoot attachment %s not imported: %s", name, exc.code)
            return _Fetched(name=name, problem=exc.code)
        stored = await self._media.save(image, MediaKind.INCIDENTS)
        return _Fetched(media=stored, name=name)

    async def _author(self, uow: UnitOfWork, sender: Mapping[str, Any]) -> str:
        agent_id = _int(sender.get("id"))
        if sender.get("type") == "user" and agent_id is not None:
            user = await uow.chatwoot.agent(agent_id)
            if user is not None:
                return author_of(user)
        for key in ("name", "email"):
            value = sender.get(key)
            if isinstance(value, str) and value.strip():
                return clip(value.strip(), 255)
        return CHATWOOT_AUTHOR

    # -- status --

    async def _status_changed(self, event: dict[str, Any], delivery: str | None) -> WebhookOutcome:
        wanted = {"resolved": IncidentStatus.RESOLVED, "open": IncidentStatus.OPEN}.get(
            str(event.get("status"))
        )
        if wanted is None:
            return _ignored(f"conversation status {event.get('status')!r}")
        now = self._clock.now()
        async with self._uow() as uow:
            incident = await self._incident_of(uow, event, link=True)
            if incident is None:
                return _ignored("no incident has this conversation")
            incident = await uow.incidents.get_for_update(incident.id) or incident
            if incident.status.is_active == wanted.is_active:
                return _ignored(f"incident is already {incident.status}")
            if delivery is not None and not await uow.chatwoot.claim_delivery(delivery, now):
                return WebhookOutcome(status="duplicate", reason="delivery already handled")
            change = change_status(incident, wanted, now)
            saved = await uow.incidents.update(change.incident)
            await self._notifier.notify(
                uow,
                IncidentNotice(
                    kind=NoticeKind.UPDATED,
                    incident=saved,
                    previous_status=change.previous,
                    source=WEBHOOK_SOURCE,
                ),
            )
            message = await uow.incident_messages.add(status_message(change, CHATWOOT_AUTHOR))
            await self._notifier.notify(
                uow,
                IncidentNotice(
                    kind=NoticeKind.MESSAGE, incident=saved, message=message, source=WEBHOOK_SOURCE
                ),
            )
            await uow.commit()
        return WebhookOutcome(status="processed", incident_id=saved.id, message_ids=(message.id,))

    # -- which incident --

    async def _incident_of(
        self, uow: UnitOfWork, conversation: Mapping[str, Any], *, link: bool = False
    ) -> Incident | None:
        """The conversation's incident: by its id, else by the ``incident_id`` custom
        attribute or the ``incident-N`` source id (then, with ``link``, remembered)."""
        conversation_id = _int(conversation.get("id"))
        if conversation_id is not None:
            found = await uow.chatwoot.incident_for_conversation(conversation_id)
            if found is not None:
                return await uow.incidents.get(found)
        named = _int(_dict(conversation.get("custom_attributes")).get("incident_id"))
        if named is None:
            source = _dict(conversation.get("contact_inbox")).get("source_id")
            prefix = conversation_source_id(0).removesuffix("0")
            if isinstance(source, str) and source.startswith(prefix):
                named = _int(source.removeprefix(prefix))
        if named is None:
            return None
        incident = await uow.incidents.get(named)
        if incident is None:
            return None
        if link and conversation_id is not None and incident.chatwoot_conversation_id is None:
            await uow.chatwoot.link_conversation(incident.id, conversation_id)
            incident = msgspec.structs.replace(incident, chatwoot_conversation_id=conversation_id)
        return incident


__all__ = [
    "CHATWOOT_AUTHOR",
    "AttachmentFetcher",
    "ChatwootNotifier",
    "ChatwootWebhookAuth",
    "HandleChatwootWebhook",
    "WebhookCall",
    "WebhookOutcome",
    "custom_attributes",
    "summary_text",
]
