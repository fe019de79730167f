"""``POST /api/v1/integrations/chatwoot/webhook``: Chatwoot's calls (docs/chatwoot.md).

Public for the bearer-token middleware: Chatwoot authenticates by its signature (or, when
that is all that is configured, the original's static token) instead, checked over the raw
body before anything is read from it. Nothing configured means every call is refused.
"""

from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK

from securityvision.adapters.chatwoot_metrics import ChatwootMetrics
from securityvision.application.chatwoot import (
    ChatwootWebhookAuth,
    HandleChatwootWebhook,
    WebhookCall,
)
from securityvision.domain.errors import AuthenticationFailed, InvalidInput
from securityvision.entrypoints.http.auth import PUBLIC


class WebhookAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``processed``, ``duplicate`` (a replayed delivery, or a message already mirrored) or
    ``ignored`` (not ours to act on), with the incident and the timeline entries added."""

    status: str
    incident_id: int | None = None
    message_ids: list[int] = msgspec.field(default_factory=list)
    reason: str | None = None


class ChatwootWebhookController(Controller):
    path = "/integrations/chatwoot"
    tags = ["integrations"]

    @post(["/webhook", "/webhook/"], status_code=HTTP_200_OK, opt={PUBLIC: True})
    async def webhook(
        self,
        request: Request[Any, Any, Any],
        handle_chatwoot_webhook: NamedDependency[HandleChatwootWebhook],
        chatwoot_webhook_auth: NamedDependency[ChatwootWebhookAuth],
        chatwoot_metrics: NamedDependency[ChatwootMetrics],
    ) -> WebhookAnswer:
        """A Chatwoot webhook delivery: 401 unless signed (``X-Chatwoot-Signature: sha256=…``
        over ``"{X-Chatwoot-Timestamp}.{body}"``, within ±300 s); 200 otherwise, acted on
        once per ``X-Chatwoot-Delivery``."""
        headers = request.headers
        call = WebhookCall(
            body=await request.body(),
            signature=headers.get("x-chatwoot-signature"),
            timestamp=headers.get("x-chatwoot-timestamp"),
            delivery_id=headers.get("x-chatwoot-delivery"),
        )
        try:
            chatwoot_webhook_auth.check(call)
        except AuthenticationFailed:
            chatwoot_metrics.webhook("unauthorized")
            raise
        try:
            outcome = await handle_chatwoot_webhook.execute(call)
        except InvalidInput:
            chatwoot_metrics.webhook("invalid")
            raise
        chatwoot_metrics.webhook(outcome.status)
        return WebhookAnswer(
            status=outcome.status,
            incident_id=outcome.incident_id,
            message_ids=list(outcome.message_ids),
            reason=outcome.reason,
        )
