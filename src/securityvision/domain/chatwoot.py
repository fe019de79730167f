"""Chatwoot: what SecurityVision sends it (through the outbox) and how its webhook calls are
recognised as genuine (docs/chatwoot.md).

Every incident has one Chatwoot conversation. What goes there is decided when the incident
changes and stored in the outbox as a ``ChatwootDelivery``; the relay's publisher carries it
out later with Chatwoot's Application API. Every message we post carries ``source_id``
``sv-…`` and ``content_attributes.sv_source``, so a retried post is found instead of
repeated, and Chatwoot's webhook echo of it is recognised and skipped.
"""

import hashlib
import hmac
from datetime import datetime
from typing import Any

import msgspec

from securityvision.domain.errors import AuthenticationFailed

CHATWOOT_CHANNEL = "chatwoot"
"""Outbox messages for Chatwoot; ``destination`` is ``incident:<id>`` (order per conversation)."""

SV_SOURCE = "securityvision"
"""``content_attributes.sv_source`` of every message we post."""

SOURCE_ID_PREFIX = "sv-"

WEBHOOK_SOURCE = "chatwoot"
"""``IncidentNotice.source`` of changes the Chatwoot webhook made: not sent back to it."""

SIGNATURE_TOLERANCE_SECONDS = 300


def destination(incident_id: int) -> str:
    return f"incident:{incident_id}"


def summary_source_id(incident_id: int) -> str:
    return f"{SOURCE_ID_PREFIX}incident-{incident_id}"


def message_source_id(message_id: int) -> str:
    return f"{SOURCE_ID_PREFIX}msg-{message_id}"


def conversation_source_id(incident_id: int) -> str:
    """The conversation's ``source_id`` (its contact inbox), as the original named it."""
    return f"incident-{incident_id}"


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    """The conversation of an incident, as it is to be found or created.

    - ``inbox``: the support group's ``chatwoot_inbox_identifier``, else None for the
      default inbox (an id, or an inbox's identifier or name).
    - ``custom_attributes``: ``incident_id, incident_created_at, severity, status, tenant,
      device_id``, as the original set them.
    - ``summary``: the private note that opens it (sent once, ``source_id``
      ``sv-incident-<id>``).
    """

    incident_id: int
    inbox: str | None = None
    team_id: int | None = None
    custom_attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    summary: str = ""


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    """A file of ours to upload with a message (a ``/media/…`` image), or, when it cannot be
    read, only linked to."""

    url: str
    name: str | None = None
    content_type: str | None = None


class OpenConversation(msgspec.Struct, frozen=True, kw_only=True, tag="open"):
    """Find or create the incident's conversation and post its summary."""

    conversation: Conversation


class PostMessage(msgspec.Struct, frozen=True, kw_only=True, tag="message"):
    """Post a timeline entry as a private note (``source_id`` is ``sv-msg-<id>``)."""

    conversation: Conversation
    source_id: str
    content: str
    attachment: Attachment | None = None


class UpdateAttributes(msgspec.Struct, frozen=True, kw_only=True, tag="attributes"):
    """Bring the conversation's custom attributes (status, severity) up to date."""

    conversation: Conversation


ChatwootDelivery = OpenConversation | PostMessage | UpdateAttributes

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ChatwootDelivery)


def encode_delivery(delivery: ChatwootDelivery) -> bytes:
    return _encoder.encode(delivery)


def decode_delivery(payload: bytes) -> ChatwootDelivery:
    """Raises ``msgspec.ValidationError``/``DecodeError`` for a payload that is not one."""
    return _decoder.decode(payload)


def is_echo(message: dict[str, Any]) -> bool:
    """Whether a Chatwoot message is one we posted (our ``sv_source`` or ``sv-`` source id)."""
    attributes = message.get("content_attributes")
    if isinstance(attributes, dict) and attributes.get("sv_source") == SV_SOURCE:
        return True
    source_id = message.get("source_id")
    return isinstance(source_id, str) and source_id.startswith(SOURCE_ID_PREFIX)


# --- the webhook's signature -----------------------------------------------------------


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"{timestamp}.{body}"`` with the webhook's secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    *,
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    now: datetime,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> None:
    """Raise ``AuthenticationFailed`` unless ``signature`` is Chatwoot's for this body and
    timestamp and the timestamp is within ``tolerance_seconds`` of ``now``.

    - The comparison takes the same time whatever the signature (``hmac.compare_digest``).
    - The signature is checked before the time, so a stale timestamp is told apart only for
      a genuine (but late, or replayed) delivery.
    """
    if not timestamp or not signature:
        raise AuthenticationFailed(
            "X-Chatwoot-Signature and X-Chatwoot-Timestamp are required",
            code="webhook_signature_missing",
        )
    expected = webhook_signature(secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise AuthenticationFailed(
            "the webhook signature does not match", code="webhook_signature_invalid"
        )
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        raise AuthenticationFailed(
            "X-Chatwoot-Timestamp is not a Unix time", code="webhook_timestamp_invalid"
        ) from None
    if abs(now.timestamp() - sent_at) > tolerance_seconds:
        raise AuthenticationFailed(
            f"the webhook timestamp is more than {tolerance_seconds} s away from now",
            code="webhook_timestamp_out_of_range",
        )


def verify_token(*, expected: str, given: str | None) -> None:
    """The original's static token (compared in constant time; never logged)."""
    if given is None or not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise AuthenticationFailed("the webhook token does not match", code="webhook_token_invalid")
