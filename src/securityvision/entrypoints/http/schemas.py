"""HTTP bodies: the wire shapes of the original API, apart from the domain models."""

from datetime import datetime

import msgspec

from securityvision.domain.identity import Role, User


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int
    code: str
    detail: str


class LoginRequest(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    password: str


class TokenResponse(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: str = "bearer"


class UserRead(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    email: str
    full_name: str | None
    role: Role
    is_active: bool
    is_superuser: bool
    chatwoot_agent_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserRead":
        return cls(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            role=user.role,
            is_active=user.is_active,
            is_superuser=user.is_superuser,
            chatwoot_agent_id=user.chatwoot_agent_id,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class UserCreate(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    password: str
    full_name: str | None = None
    role: Role = Role.OPERATOR
    is_active: bool = True
    is_superuser: bool = False
    chatwoot_agent_id: int | None = None


class UserUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """PATCH body: only the fields sent are changed (``password`` is an addition)."""

    full_name: str | msgspec.UnsetType | None = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    is_superuser: bool | msgspec.UnsetType = msgspec.UNSET
    chatwoot_agent_id: int | msgspec.UnsetType | None = msgspec.UNSET
    password: str | msgspec.UnsetType = msgspec.UNSET


class ComponentHealth(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: str
    detail: str | None = None


class RelayHealth(msgspec.Struct, frozen=True, kw_only=True):
    """This process's outbox relay: ``active`` (it delivers), ``standby`` (another process
    does), ``stopped`` or ``disabled``; ``broker`` is its own connection (``connected``,
    ``disconnected``, or ``none`` when it needs none: not active)."""

    state: str
    broker: str


class OutboxHealth(msgspec.Struct, frozen=True, kw_only=True):
    """What waits to be delivered (every channel): ``status`` is ``down`` when it could not
    be read, ``stuck`` when the oldest message waited longer than it should."""

    status: str
    backlog: int | None = None
    oldest_age_seconds: float | None = None
    relay: RelayHealth


class DeliveryHealth(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An outbound channel fed by the outbox: ``status``, its relay, its outbox backlog and
    dead letters, and the age of the oldest message waiting."""

    status: str
    detail: str | None = None
    relay: RelayHealth | None = None
    backlog: int | None = None
    dead_letters: int | None = None
    oldest_age_seconds: float | None = None


class ChatwootHealth(DeliveryHealth, frozen=True, kw_only=True, omit_defaults=True):
    """Chatwoot (docs/chatwoot.md): ``status`` is ``disabled`` (not configured), ``up``,
    ``down`` (this process's active relay cannot reach it) or ``stuck`` (its oldest message
    waited over 5 minutes); and the last error met (never a secret)."""

    last_error: str | None = None
    last_error_at: datetime | None = None
    last_delivered_at: datetime | None = None


class WebhooksHealth(DeliveryHealth, frozen=True, kw_only=True, omit_defaults=True):
    """Outbound webhooks (docs/alerts.md): ``status`` is ``disabled`` (WEBHOOKS_ENABLED=false:
    no relay runs), ``up`` or ``stuck`` (its oldest message waited over 5 minutes: a
    subscriber has been failing)."""


class HealthRead(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    database: ComponentHealth
    broker: ComponentHealth
    chatwoot: ChatwootHealth
    webhooks: WebhooksHealth
    outbox: OutboxHealth | None = None
