"""``GET /health``: liveness plus the state of what the API depends on."""

import asyncio
import time

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from securityvision.adapters.chatwoot import ChatwootPublisher
from securityvision.adapters.mqtt.probe import BrokerProbe
from securityvision.application.ports import Storage
from securityvision.application.relay import OutboxRelay, RelayState
from securityvision.domain.chatwoot import CHATWOOT_CHANNEL
from securityvision.domain.errors import StorageError
from securityvision.domain.outbox import OutboxBacklog
from securityvision.domain.webhooks import WEBHOOK_CHANNEL
from securityvision.entrypoints.http.auth import PUBLIC
from securityvision.entrypoints.http.schemas import (
    ChatwootHealth,
    ComponentHealth,
    DeliveryHealth,
    HealthRead,
    OutboxHealth,
    RelayHealth,
    WebhooksHealth,
)

_CACHE_SECONDS = 5.0
# An outbox message older than this means delivery is stuck (the relay retries within minutes).
_OUTBOX_STUCK_SECONDS = 300.0


class HealthChecker:
    """Probes each dependency at most once per few seconds, so a load balancer polling
    ``/health`` does not hammer the database and the broker."""

    def __init__(
        self,
        storage: Storage,
        broker: BrokerProbe | None,
        chatwoot_enabled: bool,
        relay: OutboxRelay | None = None,
        *,
        chatwoot_relay: OutboxRelay | None = None,
        chatwoot_publisher: ChatwootPublisher | None = None,
        webhook_relay: OutboxRelay | None = None,
    ):
        self._storage = storage
        self._broker = broker
        self._chatwoot_enabled = chatwoot_enabled
        self._relay = relay
        self._chatwoot_relay = chatwoot_relay
        self._chatwoot_publisher = chatwoot_publisher
        self._webhook_relay = webhook_relay
        self._cached: tuple[float, HealthRead] | None = None
        self._lock = asyncio.Lock()

    async def read(self) -> HealthRead:
        async with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > _CACHE_SECONDS:
                self._cached = (now, await self._probe())
            return self._cached[1]

    async def _probe(self) -> HealthRead:
        database, broker, outbox, chatwoot, webhooks = await asyncio.gather(
            self._database(),
            self._broker_state(),
            self._outbox(),
            self._chatwoot(),
            self._webhooks(),
        )
        degraded = database.status != "up" or broker.status == "down" or outbox.status == "stuck"
        return HealthRead(
            status="degraded" if degraded else "ok",
            database=database,
            broker=broker,
            chatwoot=chatwoot,
            webhooks=webhooks,
            outbox=outbox,
        )

    async def _outbox(self) -> OutboxHealth:
        relay = self._relay_state()
        try:
            async with asyncio.timeout(3):
                async with self._storage.unit_of_work() as uow:
                    backlog = await uow.outbox.backlog()
        except (StorageError, TimeoutError):
            return OutboxHealth(status="down", relay=relay)
        age = backlog.oldest_age_seconds
        return OutboxHealth(
            status="stuck" if age is not None and age > _OUTBOX_STUCK_SECONDS else "up",
            backlog=backlog.count,
            oldest_age_seconds=None if age is None else round(age, 3),
            relay=relay,
        )

    async def _chatwoot(self) -> ChatwootHealth:
        if not self._chatwoot_enabled or self._chatwoot_relay is None:
            return ChatwootHealth(status="disabled")
        delivery = await self._delivery(self._chatwoot_relay, CHATWOOT_CHANNEL)
        publisher = self._chatwoot_publisher
        state = publisher.state if publisher is not None else None
        status, detail = delivery.status, delivery.detail
        if delivery.relay is not None and delivery.relay.broker == "disconnected":
            status, detail = "down", "Chatwoot cannot be reached"
        return ChatwootHealth(
            status=status,
            detail=detail,
            relay=delivery.relay,
            backlog=delivery.backlog,
            dead_letters=delivery.dead_letters,
            oldest_age_seconds=delivery.oldest_age_seconds,
            last_error=state.last_error if state else None,
            last_error_at=state.last_error_at if state else None,
            last_delivered_at=state.last_delivered_at if state else None,
        )

    async def _webhooks(self) -> WebhooksHealth:
        if self._webhook_relay is None:
            return WebhooksHealth(status="disabled")
        # Each delivery is a request of its own: no standing connection to be down, and a
        # failing subscriber shows as messages waiting (``stuck``).
        delivery = await self._delivery(self._webhook_relay, WEBHOOK_CHANNEL)
        return WebhooksHealth(**msgspec.structs.asdict(delivery))

    async def _delivery(self, relay: OutboxRelay, channel: str) -> DeliveryHealth:
        """What every outbound channel shows: its relay, its backlog, and ``up`` or ``stuck``
        by the age of its oldest message."""
        backlog = await self._channel_backlog(channel)
        age = None if backlog is None else backlog.oldest_age_seconds
        status, detail = _delivery_status(age)
        return DeliveryHealth(
            status=status,
            detail=detail,
            relay=self._relay_state(relay),
            backlog=None if backlog is None else backlog.count,
            dead_letters=None if backlog is None else backlog.dead,
            oldest_age_seconds=None if age is None else round(age, 3),
        )

    async def _channel_backlog(self, channel: str) -> OutboxBacklog | None:
        """What waits on ``channel``; None when it could not be read."""
        try:
            async with asyncio.timeout(3):
                async with self._storage.unit_of_work() as uow:
                    return await uow.outbox.backlog(channel)
        except (StorageError, TimeoutError):
            return None

    def _relay_state(self, relay: OutboxRelay | None = None) -> RelayHealth:
        relay = relay or self._relay
        if relay is None:
            return RelayHealth(state="disabled", broker="none")
        status = relay.status
        if status.state is not RelayState.ACTIVE:
            return RelayHealth(state=status.state.value, broker="none")
        return RelayHealth(
            state=status.state.value, broker="connected" if status.connected else "disconnected"
        )

    async def _database(self) -> ComponentHealth:
        try:
            async with asyncio.timeout(3):
                await self._storage.ping()
        except (StorageError, TimeoutError) as exc:
            return ComponentHealth(status="down", detail=str(exc) or "timed out")
        return ComponentHealth(status="up")

    async def _broker_state(self) -> ComponentHealth:
        if self._broker is None:
            return ComponentHealth(status="disabled")
        try:
            await self._broker.check()
        except ConnectionError as exc:
            return ComponentHealth(status="down", detail=str(exc))
        return ComponentHealth(status="up")


def _delivery_status(oldest_age_seconds: float | None) -> tuple[str, str | None]:
    """A channel's delivery: ``stuck`` when its oldest message waited too long."""
    if oldest_age_seconds is not None and oldest_age_seconds > _OUTBOX_STUCK_SECONDS:
        return "stuck", "messages wait longer than they should"
    return "up", None


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]

    @get("/", opt={PUBLIC: True})
    async def health(self, health_checker: NamedDependency[HealthChecker]) -> HealthRead:
        """Always 200 while the process serves; ``status`` is ``degraded`` when the database or
        the broker is down or outbox delivery is stuck, and each component says which."""
        return await health_checker.read()
