"""The outbox and named locks in process memory, for the in-memory storage (memory.py).

Kept apart from memory.py only to keep that file about the repositories; the contract suite
runs the same outbox tests against these and the PostgreSQL ones.
"""

import contextlib
import itertools
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import timedelta

import msgspec

from securityvision.application.ports import Clock
from securityvision.domain.outbox import (
    ERROR_MAX_LENGTH,
    NewOutboxMessage,
    OutboxBacklog,
    OutboxMessage,
)


class InMemoryOutbox:
    """Over the unit of work's copy of the outbox table (a dict by id), so what is added is
    discarded with a rolled-back unit of work and published with a committed one."""

    def __init__(
        self, messages: dict[int, OutboxMessage], ids: "itertools.count[int]", clock: Clock
    ) -> None:
        self._messages = messages
        self._ids = ids
        self._clock = clock

    async def add(self, message: NewOutboxMessage) -> int:
        now = self._clock.now()
        stored = OutboxMessage(
            id=next(self._ids),
            created_at=now,
            next_attempt_at=now,
            **msgspec.structs.asdict(message),
        )
        self._messages[stored.id] = stored
        return stored.id

    async def due(self, channel: str, *, limit: int = 100) -> Sequence[OutboxMessage]:
        now = self._clock.now()
        mine = sorted(
            (m for m in self._messages.values() if m.channel == channel and m.dead_at is None),
            key=_by_id,
        )
        waiting = {m.destination for m in mine if m.next_attempt_at > now}
        return [m for m in mine if m.destination not in waiting][:limit]

    async def mark_delivered(self, message_ids: Collection[int]) -> None:
        for message_id in message_ids:
            self._messages.pop(message_id, None)

    async def mark_failed(self, message_id: int, *, error: str, retry_in: timedelta) -> None:
        message = self._messages.get(message_id)
        if message is None:
            return
        self._messages[message_id] = msgspec.structs.replace(
            message,
            attempts=message.attempts + 1,
            last_error=error[:ERROR_MAX_LENGTH],
            next_attempt_at=self._clock.now() + retry_in,
        )

    async def mark_dead(self, message_id: int, *, error: str) -> None:
        message = self._messages.get(message_id)
        if message is None:
            return
        self._messages[message_id] = msgspec.structs.replace(
            message,
            attempts=message.attempts + 1,
            last_error=error[:ERROR_MAX_LENGTH],
            dead_at=self._clock.now(),
        )

    async def backlog(self, channel: str | None = None) -> OutboxBacklog:
        mine = [m for m in self._messages.values() if channel is None or m.channel == channel]
        waiting = [m for m in mine if m.dead_at is None]
        dead = len(mine) - len(waiting)
        if not waiting:
            return OutboxBacklog(dead=dead)
        oldest = min(m.created_at for m in waiting)
        return OutboxBacklog(count=len(waiting), oldest_age=self._clock.now() - oldest, dead=dead)


def _by_id(message: OutboxMessage) -> int:
    return message.id


class InMemoryLease:
    def __init__(self, locks: "InMemoryLocks", name: str) -> None:
        self._locks = locks
        self._name = name

    async def held(self) -> bool:
        return self._locks.holder(self._name) is self


class InMemoryLocks:
    """Named locks of one process (an in-memory storage is one process's anyway)."""

    def __init__(self) -> None:
        self._held: dict[str, InMemoryLease] = {}

    def holder(self, name: str) -> InMemoryLease | None:
        return self._held.get(name)

    def release(self, name: str) -> None:
        """Drop the lock as a lost database connection would (for tests of a take-over)."""
        self._held.pop(name, None)

    @contextlib.asynccontextmanager
    async def try_hold(self, name: str) -> AsyncIterator[InMemoryLease | None]:
        if name in self._held:
            yield None
            return
        lease = InMemoryLease(self, name)
        self._held[name] = lease
        try:
            yield lease
        finally:
            if self._held.get(name) is lease:
                del self._held[name]
