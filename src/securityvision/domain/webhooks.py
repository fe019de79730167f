"""Outbound webhooks: subscriptions, the event types they may filter on, the envelope every
delivery carries and its signature.

A delivery is ``POST <url>`` with the JSON body ``{"event_type", "timestamp", "payload"}`` and
the headers ``X-SV-Webhook-Id`` (the subscription), ``X-SV-Event-Type`` and, when the
subscription has a secret, ``X-SV-Signature: sha256=<hex HMAC-SHA256 of the exact body>``.
"""

import hashlib
import hmac
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec

from securityvision.domain.errors import InvalidInput

WEBHOOK_CHANNEL = "webhook"
"""Outbox messages to webhook subscribers; ``destination`` is the subscription id."""

URL_MAX_LENGTH = 1024
NAME_MAX_LENGTH = 255
SECRET_MAX_LENGTH = 1024
SIGNATURE_HEADER = "X-SV-Signature"
WEBHOOK_ID_HEADER = "X-SV-Webhook-Id"
EVENT_TYPE_HEADER = "X-SV-Event-Type"
DELIVERY_HEADER = "X-SV-Delivery-Id"


class WebhookEventType(StrEnum):
    # The register (the original sent these from its CRUD routes).
    BUILDING_CREATED = "BUILDING_CREATED"
    BUILDING_UPDATED = "BUILDING_UPDATED"
    BUILDING_DELETED = "BUILDING_DELETED"
    PERSON_CREATED = "PERSON_CREATED"
    PERSON_UPDATED = "PERSON_UPDATED"
    PERSON_DELETED = "PERSON_DELETED"
    TAG_CREATED = "TAG_CREATED"
    TAG_UPDATED = "TAG_UPDATED"
    TAG_DELETED = "TAG_DELETED"
    DEVICE_CREATED = "DEVICE_CREATED"
    DEVICE_UPDATED = "DEVICE_UPDATED"
    DEVICE_DELETED = "DEVICE_DELETED"
    DEVICE_POSITION_UPDATED = "DEVICE_POSITION_UPDATED"
    ALERT_RULE_CREATED = "ALERT_RULE_CREATED"
    ALERT_RULE_UPDATED = "ALERT_RULE_UPDATED"
    ALERT_RULE_DELETED = "ALERT_RULE_DELETED"
    # Alert events: the event's own type, sent when it opens and when it closes.
    FORBIDDEN_SECTOR = "FORBIDDEN_SECTOR"
    DWELL_TIME = "DWELL_TIME"
    GATEWAY_OFFLINE = "GATEWAY_OFFLINE"
    GATEWAY_ONLINE = "GATEWAY_ONLINE"
    # Incidents, whoever opened them (the original forgot those its rules opened).
    INCIDENT_CREATED = "INCIDENT_CREATED"
    INCIDENT_UPDATED = "INCIDENT_UPDATED"
    INCIDENT_STATUS_CHANGED = "INCIDENT_STATUS_CHANGED"
    INCIDENT_REOPENED = "INCIDENT_REOPENED"
    INCIDENT_MESSAGE_CREATED = "INCIDENT_MESSAGE_CREATED"


def event_type_of(text: str) -> WebhookEventType:
    try:
        return WebhookEventType(text.strip().upper())
    except ValueError:
        raise InvalidInput(
            f"unknown event type {text!r} (see /api/v1/webhooks/event-types)",
            code="unknown_event_type",
        ) from None


class _SubscriptionFields(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    url: str
    # None: every event type.
    event_type_filter: WebhookEventType | None = None
    is_active: bool = True


class NewWebhookSubscription(_SubscriptionFields, frozen=True, kw_only=True):
    """A subscription about to be stored (its secret is kept apart, encrypted)."""


class WebhookSubscription(_SubscriptionFields, frozen=True, kw_only=True):
    id: int
    # Whether a secret is set; the secret itself is never part of a subscription as read.
    has_secret: bool = False
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: WebhookEventType) -> bool:
        return self.is_active and self.event_type_filter in (None, event_type)


_S = TypeVar("_S", NewWebhookSubscription, WebhookSubscription)


def checked_subscription(subscription: _S) -> _S:
    """A name, and an absolute ``http(s)`` URL with a host (any host: loopback and private
    networks included, an admin's choice, SPEC §9)."""
    name = subscription.name.strip()
    if not name:
        raise InvalidInput("name is required", code="name_required")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"name must have at most {NAME_MAX_LENGTH} characters", code="too_long")
    url = subscription.url.strip()
    if len(url) > URL_MAX_LENGTH:
        raise InvalidInput(f"url must have at most {URL_MAX_LENGTH} characters", code="too_long")
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port
    except ValueError:
        valid = False
    if not valid or any(c.isspace() for c in url):
        raise InvalidInput("url must be an absolute http(s) URL", code="invalid_url")
    return msgspec.structs.replace(subscription, name=name, url=url)


def check_secret(secret: str) -> str:
    if len(secret) > SECRET_MAX_LENGTH:
        raise InvalidInput(
            f"secret_token must have at most {SECRET_MAX_LENGTH} characters", code="too_long"
        )
    return secret


def envelope(event_type: WebhookEventType, timestamp: datetime, payload: dict[str, Any]) -> bytes:
    """The exact body of a delivery (what the signature covers)."""
    return msgspec.json.encode(
        {"event_type": str(event_type), "timestamp": timestamp.isoformat(), "payload": payload}
    )


def signature(secret: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``body`` under ``secret``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """How a receiver checks a delivery: constant-time comparison with the expected value."""
    return hmac.compare_digest(signature(secret, body), header.strip())
