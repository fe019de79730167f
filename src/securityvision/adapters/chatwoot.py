"""Delivering the ``chatwoot`` outbox channel with Chatwoot's Application API over httpx.

The ``Publisher`` the channel's relay drives (application/relay.py): each outbox message is a
``ChatwootDelivery`` (domain/chatwoot.py) for one incident, carried out with the original's
call sequence (ORIGINAL.md §5):

1. the incident's conversation: the one stored on the incident; else one Chatwoot already has
   for it (``POST …/conversations/filter`` on the ``incident_id`` custom attribute, checked
   against ``incident_created_at``); else a new one (``POST …/conversations`` with source id
   ``incident-<id>``, the inbox, the contact ``CHATWOOT_DEFAULT_CONTACT_IDENTIFIER`` found or
   created, the custom attributes and the support group's team) — stored on the incident at
   once, and opened with the summary;
2. the message, as a private note with ``source_id`` ``sv-…`` and
   ``content_attributes.sv_source``: looked up first among the conversation's latest
   messages, so a send retried after Chatwoot took it (a timeout, a crash before the outbox
   was told) is not posted twice; media of ours is uploaded as ``attachments[]`` multipart.

Failures: no answer, a refused connection, 408, 5xx, 429 (with ``Retry-After``) and 401/403
(a token problem the operators fix; no message is at fault) are ``DeliveryFailed`` and
retried; other 4xx are ``DeliveryRejected`` (dead letters). While Chatwoot cannot be reached
the publisher reports itself disconnected and probes it with backoff, so the relay spends no
attempts meanwhile. The access token goes only in the ``api_access_token`` header: it is
never logged nor part of an error.
"""

import asyncio
import contextlib
import email.utils
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import msgspec

from securityvision.application.ports import MediaStore, UnitOfWorkFactory
from securityvision.domain.chatwoot import (
    SV_SOURCE,
    Attachment,
    Conversation,
    OpenConversation,
    PostMessage,
    UpdateAttributes,
    conversation_source_id,
    decode_delivery,
    summary_source_id,
)
from securityvision.domain.media import parse_media_name
from securityvision.domain.outbox import DeliveryFailed, DeliveryRejected, OutboxMessage

log = logging.getLogger("securityvision.chatwoot")

CONTACT_NAME = "SecurityVision"
# How far back a retried message is looked for (Chatwoot pages messages 20 at a time).
LOOKUP_PAGES = 5
RETRY_AFTER_LIMIT = timedelta(hours=1)


class ChatwootRequestObserver(Protocol):
    """Counts requests to Chatwoot by operation and outcome (metrics)."""

    def request(self, operation: str, outcome: str) -> None: ...


class ChatwootState(msgspec.Struct, frozen=True, kw_only=True):
    """What /health shows of the publisher."""

    reachable: bool
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_delivered_at: datetime | None = None


class _Refused(DeliveryRejected):
    def __init__(self, operation: str, status: int) -> None:
        super().__init__(f"{operation}: Chatwoot answered {status}")
        self.status = status


class ChatwootPublisher:
    """The ``Publisher`` of the ``chatwoot`` channel."""

    def __init__(
        self,
        *,
        base_url: str,
        api_access_token: str,
        account_id: int,
        default_inbox: str,
        contact_identifier: str,
        uow: UnitOfWorkFactory,
        media: MediaStore,
        observer: ChatwootRequestObserver | None = None,
        timeout_seconds: float = 10.0,
        probe_backoff: float = 1.0,
        max_probe_backoff: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = api_access_token
        self._account = account_id
        self._default_inbox = default_inbox
        self._contact_identifier = contact_identifier
        self._uow = uow
        self._media = media
        self._observer = observer
        self._timeout = timeout_seconds
        self._probe_backoff = probe_backoff
        self._max_probe_backoff = max_probe_backoff
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._reachable = asyncio.Event()
        self._probe: asyncio.Task[None] | None = None
        self._inboxes: dict[str, int] = {}
        self._contacts: dict[int, int] = {}
        self._filter_warned = False
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._last_delivered_at: datetime | None = None

    # -- Publisher --

    @property
    def connected(self) -> bool:
        return self._client is not None and self._reachable.is_set()

    @property
    def state(self) -> ChatwootState:
        return ChatwootState(
            reachable=self._client is None or self._reachable.is_set(),
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            last_delivered_at=self._last_delivered_at,
        )

    async def start(self) -> None:
        if self._client is not None:
            return
        self._client = httpx.AsyncClient(
            base_url=f"{self._base_url}/api/v1/accounts/{self._account}",
            headers={"api_access_token": self._token, "Accept": "application/json"},
            timeout=self._timeout,
            follow_redirects=False,
            transport=self._transport,
        )
        self._reachable.set()

    async def stop(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def wait_connected(self, within: float) -> bool:
        if self._client is None:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reachable.wait(), timeout=within)
        return self.connected

    async def publish(self, message: OutboxMessage) -> None:
        try:
            delivery = decode_delivery(message.payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise DeliveryRejected(f"not a Chatwoot delivery: {exc}") from exc
        try:
            await self._carry_out(delivery, since=message.created_at)
        except DeliveryFailed as exc:
            self._last_error, self._last_error_at = str(exc), datetime.now(UTC)
            raise
        except DeliveryRejected as exc:
            self._last_error, self._last_error_at = str(exc), datetime.now(UTC)
            raise
        self._last_delivered_at = datetime.now(UTC)

    # -- the call sequence --

    async def _carry_out(
        self, delivery: OpenConversation | PostMessage | UpdateAttributes, *, since: datetime
    ) -> None:
        conversation = delivery.conversation
        conversation_id, opened = await self._conversation(conversation)
        if isinstance(delivery, OpenConversation):
            if not opened:
                await self._post_once(
                    conversation_id,
                    summary_source_id(conversation.incident_id),
                    conversation.summary,
                    since=since,
                )
        elif isinstance(delivery, PostMessage):
            await self._post_once(
                conversation_id,
                delivery.source_id,
                delivery.content,
                since=since,
                attachment=delivery.attachment,
            )
        else:
            await self._call(
                "update_attributes",
                "POST",
                f"/conversations/{conversation_id}/custom_attributes",
                json={"custom_attributes": conversation.custom_attributes},
            )

    async def _conversation(self, conversation: Conversation) -> tuple[int, bool]:
        """The incident's conversation id, and whether it was linked just now (its summary
        then posted)."""
        async with self._uow() as uow:
            known = await uow.chatwoot.conversation_of(conversation.incident_id)
        if known is not None:
            return known, False
        inbox_id = await self._inbox_id(conversation.inbox)
        found = await self._find_conversation(conversation, inbox_id)
        if found is None:
            found = await self._create_conversation(conversation, inbox_id)
        async with self._uow() as uow:
            await uow.chatwoot.link_conversation(conversation.incident_id, found)
            await uow.commit()
        log.info("incident %d is Chatwoot conversation %d", conversation.incident_id, found)
        await self._post_once(
            found,
            summary_source_id(conversation.incident_id),
            conversation.summary,
            since=None,
        )
        return found, True

    async def _inbox_id(self, wanted: str | None) -> int:
        for candidate in (wanted, self._default_inbox):
            if not candidate or not candidate.strip():
                continue
            value = candidate.strip()
            if value.isdigit():
                return int(value)
            if value not in self._inboxes:
                answer = await self._call("list_inboxes", "GET", "/inboxes")
                for inbox in _items(answer):
                    inbox_id = _id(inbox)
                    if inbox_id is None:
                        continue
                    for key in ("inbox_identifier", "identifier", "name"):
                        name = inbox.get(key)
                        if isinstance(name, str) and name:
                            self._inboxes.setdefault(name, inbox_id)
            if value in self._inboxes:
                return self._inboxes[value]
            if candidate is wanted:
                log.warning("Chatwoot inbox %r not found; using the default inbox", value)
        raise DeliveryFailed(
            f"Chatwoot inbox {self._default_inbox!r} (CHATWOOT_DEFAULT_INBOX_IDENTIFIER) not found"
        )

    async def _find_conversation(self, conversation: Conversation, inbox_id: int) -> int | None:
        incident_id = conversation.incident_id
        try:
            answer = await self._call(
                "filter_conversations",
                "POST",
                "/conversations/filter",
                json={
                    "payload": [
                        {
                            "attribute_key": "incident_id",
                            "filter_operator": "equal_to",
                            "values": [str(incident_id)],
                            "query_operator": "AND",
                        },
                        {
                            "attribute_key": "inbox_id",
                            "filter_operator": "equal_to",
                            "values": [str(inbox_id)],
                            "query_operator": None,
                        },
                    ]
                },
            )
        except _Refused as exc:
            # Chatwoot filters on a custom attribute only once it is defined (docs/chatwoot.md).
            if not self._filter_warned:
                log.warning("cannot look Chatwoot conversations up by incident_id: %s", exc)
                self._filter_warned = True
            return None
        created_at = conversation.custom_attributes.get("incident_created_at")
        for item in _items(answer):
            attributes = item.get("custom_attributes")
            if not isinstance(attributes, dict):
                continue
            if str(attributes.get("incident_id")) != str(incident_id):
                continue
            if created_at and attributes.get("incident_created_at") not in (None, created_at):
                continue  # another system's incident of that number
            found = _id(item)
            if found is not None:
                return found
        return None

    async def _create_conversation(self, conversation: Conversation, inbox_id: int) -> int:
        body: dict[str, Any] = {
            "source_id": conversation_source_id(conversation.incident_id),
            "inbox_id": inbox_id,
            "contact_id": await self._contact_id(inbox_id),
            "status": "open",
            "custom_attributes": conversation.custom_attributes,
        }
        if conversation.team_id is not None:
            body["team_id"] = conversation.team_id
        try:
            answer = await self._call("create_conversation", "POST", "/conversations", json=body)
        except _Refused as exc:
            if exc.status != 422:
                raise
            # Taken meanwhile (as the original: look again).
            again = await self._find_conversation(conversation, inbox_id)
            if again is None:
                raise
            return again
        created = _id(answer)
        if created is None:
            raise DeliveryFailed("create_conversation: Chatwoot's answer has no id")
        return created

    async def _contact_id(self, inbox_id: int) -> int:
        if inbox_id in self._contacts:
            return self._contacts[inbox_id]
        found = await self._search_contact()
        if found is None:
            try:
                answer = await self._call(
                    "create_contact",
                    "POST",
                    "/contacts",
                    json={
                        "inbox_id": inbox_id,
                        "name": CONTACT_NAME,
                        "identifier": self._contact_identifier,
                    },
                )
            except _Refused as exc:
                if exc.status != 422:
                    raise
                found = await self._search_contact()  # created meanwhile
                if found is None:
                    raise
            else:
                payload = answer.get("payload") if isinstance(answer, dict) else None
                contact = payload.get("contact", payload) if isinstance(payload, dict) else answer
                found = _id(contact) if isinstance(contact, dict) else None
                if found is None:
                    raise DeliveryFailed("create_contact: Chatwoot's answer has no id")
        self._contacts[inbox_id] = found
        return found

    async def _search_contact(self) -> int | None:
        answer = await self._call(
            "search_contacts", "GET", "/contacts/search", params={"q": self._contact_identifier}
        )
        for contact in _items(answer):
            if contact.get("identifier") == self._contact_identifier:
                return _id(contact)
        return None

    async def _post_once(
        self,
        conversation_id: int,
        source_id: str,
        content: str,
        *,
        since: datetime | None,
        attachment: Attachment | None = None,
    ) -> None:
        if await self._posted(conversation_id, source_id, since):
            log.info("Chatwoot already has %s; not posting it again", source_id)
            return
        path = f"/conversations/{conversation_id}/messages"
        upload = await self._upload(attachment) if attachment is not None else None
        if upload is not None:
            name, data, content_type = upload
            await self._call(
                "post_attachment",
                "POST",
                path,
                data={
                    "content": content,
                    "message_type": "outgoing",
                    "private": "true",
                    "source_id": source_id,
                    "file_type": _file_type(content_type),
                    "content_attributes[sv_source]": SV_SOURCE,
                },
                files=[("attachments[]", (name, data, content_type))],
            )
            return
        if attachment is not None:
            content = f"{content}\n[arquivo anexado]: {attachment.url}"
        await self._call(
            "post_message",
            "POST",
            path,
            json={
                "content": content,
                "message_type": "outgoing",
                "private": True,
                "source_id": source_id,
                "content_attributes": {"sv_source": SV_SOURCE},
            },
        )

    async def _posted(self, conversation_id: int, source_id: str, since: datetime | None) -> bool:
        """Whether the conversation already has our message ``source_id``: its latest pages,
        back to ``since`` (a retry is never older than its outbox message)."""
        before: int | None = None
        oldest_wanted = None if since is None else since.timestamp() - 60
        for _ in range(LOOKUP_PAGES):
            answer = await self._call(
                "list_messages",
                "GET",
                f"/conversations/{conversation_id}/messages",
                params={} if before is None else {"before": before},
            )
            page = _items(answer)
            if any(m.get("source_id") == source_id for m in page):
                return True
            ids = [i for m in page if (i := _id(m)) is not None]
            if not ids:
                return False
            times = [t for m in page if isinstance(t := m.get("created_at"), int | float)]
            if oldest_wanted is None or (times and min(times) < oldest_wanted):
                return False
            before = min(ids)
        return False

    async def _upload(self, attachment: Attachment) -> tuple[str, bytes, str] | None:
        """Our stored image behind a ``/media/…`` URL, to upload; None for anything else."""
        parts = attachment.url.split("/")
        if len(parts) != 4 or parts[:2] != ["", "media"]:
            return None
        parsed = parse_media_name(parts[2], parts[3])
        if parsed is None:
            return None
        kind, image_type = parsed
        data = await self._media.read(kind, parts[3])
        if data is None:
            log.warning("media %s is gone; linking it instead of uploading", attachment.url)
            return None
        return attachment.name or parts[3], data, image_type.content_type

    # -- HTTP --

    async def _call(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        client = self._client
        if client is None:
            raise DeliveryFailed(f"{operation}: the Chatwoot publisher is not started")
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            self._count(operation, "timeout")
            self._lost()
            raise DeliveryFailed(f"{operation}: Chatwoot did not answer in time") from exc
        except httpx.TransportError as exc:
            self._count(operation, "unreachable")
            self._lost()
            raise DeliveryFailed(
                f"{operation}: Chatwoot unreachable ({type(exc).__name__})"
            ) from exc
        status = response.status_code
        self._count(operation, _outcome(status))
        if 200 <= status < 300:
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError as exc:
                raise DeliveryFailed(f"{operation}: Chatwoot's answer is not JSON") from exc
        if status in (429, 503):
            raise DeliveryFailed(
                f"{operation}: Chatwoot answered {status}",
                retry_after=_retry_after(response.headers.get("retry-after")),
            )
        if status in (401, 403):
            raise DeliveryFailed(
                f"{operation}: Chatwoot answered {status}: check CHATWOOT_API_ACCESS_TOKEN and"
                " the token's access to the account and inbox"
            )
        if status == 408 or status >= 500:
            raise DeliveryFailed(f"{operation}: Chatwoot answered {status}")
        raise _Refused(operation, status)

    def _count(self, operation: str, outcome: str) -> None:
        if self._observer is not None:
            self._observer.request(operation, outcome)

    def _lost(self) -> None:
        """Chatwoot cannot be reached: disconnected until a probe gets an answer."""
        if not self._reachable.is_set():
            return
        self._reachable.clear()
        log.warning("Chatwoot %s is unreachable; probing it", self._base_url)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._probe_until_back(), name="chatwoot-probe")

    async def _probe_until_back(self) -> None:
        delay = self._probe_backoff
        while self._client is not None:
            await asyncio.sleep(delay)
            client = self._client
            if client is None:
                return
            try:
                await client.get("/inboxes")
            except httpx.HTTPError:
                delay = min(delay * 2, self._max_probe_backoff)
                continue
            log.info("Chatwoot %s answers again", self._base_url)
            self._reachable.set()
            return


def _items(answer: Any) -> list[dict[str, Any]]:
    """The list of objects in a Chatwoot answer (``payload``, ``data.payload`` or itself)."""
    for candidate in (
        answer,
        answer.get("payload") if isinstance(answer, dict) else None,
        answer.get("data", {}).get("payload")
        if isinstance(answer, dict) and isinstance(answer.get("data"), dict)
        else None,
    ):
        if isinstance(candidate, list):
            return [item for item in candidate if isinstance(item, dict)]
    return []


def _id(item: Mapping[str, Any]) -> int | None:
    value = item.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _outcome(status: int) -> str:
    if status == 429:
        return "429"
    return f"{status // 100}xx"


def _file_type(content_type: str) -> str:
    major = content_type.partition("/")[0]
    return major if major in ("image", "video", "audio") else "file"


def _retry_after(value: str | None) -> timedelta | None:
    """``Retry-After`` in seconds or as an HTTP date; bounded, None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        wait = timedelta(seconds=int(text))
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        wait = max(when - datetime.now(UTC), timedelta(0))
    return min(wait, RETRY_AFTER_LIMIT)
