"""Delivering outbound webhooks over HTTP (httpx): the ``webhook`` channel's ``Publisher``.

At send time the subscription is read (its URL may have changed; a deleted or disabled one
takes no more deliveries), its secret decrypted and the signature computed over the exact
body the outbox holds; the outbox itself never holds a secret.

Answers: 2xx delivered; 408, 429, 5xx and network errors are retried (429/503 after their
``Retry-After``); any other answer is a refusal for good (a dead letter). Redirects are not
followed (a subscription names its final URL). Error texts name the subscription and the
status, never the URL (it may carry a token) nor the secret.
"""

import email.utils
import logging
from datetime import UTC, datetime, timedelta

import httpx

from securityvision.application.incident_ports import SecretCipher
from securityvision.application.ports import UnitOfWorkFactory
from securityvision.domain.errors import StorageError
from securityvision.domain.outbox import DeliveryFailed, DeliveryRejected, OutboxMessage
from securityvision.domain.webhooks import (
    DELIVERY_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    WEBHOOK_ID_HEADER,
    signature,
)

log = logging.getLogger("securityvision.webhooks")

_RETRIED = {408, 425, 429}
_MAX_RETRY_AFTER = timedelta(hours=1)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(timedelta(seconds=int(text)), _MAX_RETRY_AFTER)
    try:
        at = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return min(max(at - now, timedelta(0)), _MAX_RETRY_AFTER)


class HttpWebhookPublisher:
    """POSTs each message to its subscription, signed; one pooled httpx client while the
    relay is active."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        cipher: SecretCipher | None,
        timeout_seconds: float = 10.0,
        user_agent: str = "SecurityVision-Webhooks/1",
    ) -> None:
        self._uow = uow
        self._cipher = cipher
        self._timeout = timeout_seconds
        self._user_agent = user_agent
        self._client: httpx.AsyncClient | None = None

    @property
    def connected(self) -> bool:
        # HTTP has no standing connection to lose: each delivery stands on its own.
        return self._client is not None

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout),
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": self._user_agent},
            )

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def wait_connected(self, within: float) -> bool:
        return self._client is not None

    async def publish(self, message: OutboxMessage) -> None:
        client = self._client
        if client is None:
            raise DeliveryFailed("the webhook publisher is not started")
        subscription_id = int(message.destination)
        async with self._uow() as uow:
            subscription = await uow.webhooks.get(subscription_id)
            encrypted = await uow.webhooks.secret(subscription_id)
        if subscription is None:
            raise DeliveryRejected(f"webhook {subscription_id} no longer exists")
        if not subscription.is_active:
            raise DeliveryRejected(f"webhook {subscription_id} is disabled")
        headers = {
            "Content-Type": "application/json",
            WEBHOOK_ID_HEADER: str(subscription_id),
            EVENT_TYPE_HEADER: str(message.options.get("event_type", "")),
            DELIVERY_HEADER: str(message.id),
        }
        if encrypted is not None:
            if self._cipher is None:
                raise DeliveryFailed(
                    f"webhook {subscription_id} has a secret but DEVICE_SECRETS_KEY is not set"
                )
            try:
                secret = self._cipher.decrypt(encrypted)
            except StorageError as exc:
                raise DeliveryRejected(
                    f"webhook {subscription_id}: its secret cannot be decrypted"
                ) from exc
            headers[SIGNATURE_HEADER] = signature(secret, message.payload)
        try:
            response = await client.post(subscription.url, content=message.payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"webhook {subscription_id}: timed out") from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook {subscription_id}: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = f"webhook {subscription_id} answered {status}"
        if status in _RETRIED or status >= 500:
            wait = retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            raise DeliveryFailed(reason, retry_after=wait if status in (429, 503) else None)
        raise DeliveryRejected(reason)


__all__ = ["HttpWebhookPublisher", "retry_after"]
