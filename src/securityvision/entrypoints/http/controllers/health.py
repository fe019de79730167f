"""``GET /health``: liveness plus the state of what the API depends on."""

import asyncio
import time

from litestar import Controller, get
from litestar.di import NamedDependency

from securityvision.adapters.mqtt.probe import BrokerProbe
from securityvision.application.ports import Storage
from securityvision.application.relay import OutboxRelay, RelayState
from securityvision.domain.errors import StorageError
from securityvision.entrypoints.http.auth import PUBLIC
from securityvision.entrypoints.http.schemas import (
    ComponentHealth,
    HealthRead,
    OutboxHealth,
    RelayHealth,
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
    ):
        self._storage = storage
        self._broker = broker
        self._chatwoot_enabled = chatwoot_enabled
        self._relay = relay
        self._cached: tuple[float, HealthRead] | None = None
        self._lock = asyncio.Lock()

    async def read(self) -> HealthRead:
        async with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > _CACHE_SECONDS:
                self._cached = (now, await self._probe())
            return self._cached[1]

    async def _probe(self) -> HealthRead:
        database, broker, outbox = await asyncio.gather(
            self._database(), self._broker_state(), self._outbox()
        )
        chatwoot = ComponentHealth(status="up" if self._chatwoot_enabled else "disabled")
        degraded = database.status != "up" or broker.status == "down" or outbox.status == "stuck"
        return HealthRead(
            status="degraded" if degraded else "ok",
            database=database,
            broker=broker,
            chatwoot=chatwoot,
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

    def _relay_state(self) -> RelayHealth:
        if self._relay is None:
            return RelayHealth(state="disabled", broker="none")
        status = self._relay.status
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


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]

    @get("/", opt={PUBLIC: True})
    async def health(self, health_checker: NamedDependency[HealthChecker]) -> HealthRead:
        """Always 200 while the process serves; ``status`` is ``degraded`` when the database or
        the broker is down or outbox delivery is stuck, and each component says which."""
        return await health_checker.read()
