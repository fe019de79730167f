"""Is Chatwoot there, and does it take our token? One GET of the Application API (the list of
the account's inboxes), for ``securityvision doctor``. The token goes in the
``api_access_token`` header only and into no message."""

from typing import Any

import httpx
import msgspec

INBOXES_PATH = "/api/v1/accounts/{account_id}/inboxes"


class ChatwootInbox(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    identifier: str | None = None

    def answers_to(self, wanted: str) -> bool:
        """Whether CHATWOOT_DEFAULT_INBOX_IDENTIFIER names this inbox: its id when a number
        (as the original used it), else its identifier or its name."""
        if wanted.isdigit():
            return int(wanted) == self.id
        return wanted in (self.identifier, self.name)


class ChatwootAnswer(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    inboxes: tuple[ChatwootInbox, ...] = ()


async def probe_chatwoot(
    base_url: str, account_id: int, token: str, *, within: float = 5.0
) -> ChatwootAnswer:
    """The HTTP status of the inbox list and, on 200, the inboxes; raises ``ConnectionError``
    (saying why, never with the token) when no HTTP answer came within ``within`` seconds."""
    url = base_url.rstrip("/") + INBOXES_PATH.format(account_id=account_id)
    try:
        async with httpx.AsyncClient(timeout=within, follow_redirects=False) as client:
            response = await client.get(
                url, headers={"api_access_token": token, "accept": "application/json"}
            )
    except httpx.HTTPError as exc:
        reason = str(exc).replace(token, "***") if token else str(exc)
        raise ConnectionError(f"{type(exc).__name__}: {reason or 'no answer'}") from exc
    if response.status_code != httpx.codes.OK:
        return ChatwootAnswer(status=response.status_code)
    return ChatwootAnswer(status=response.status_code, inboxes=_inboxes(response.content))


def _inboxes(body: bytes) -> tuple[ChatwootInbox, ...]:
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ()
    items: Any = document.get("payload") if isinstance(document, dict) else document
    if not isinstance(items, list):
        return ()
    found = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), int):
            identifier = item.get("inbox_identifier") or item.get("identifier")
            found.append(
                ChatwootInbox(
                    id=item["id"],
                    name=str(item.get("name") or ""),
                    identifier=identifier if isinstance(identifier, str) else None,
                )
            )
    return tuple(found)
