"""The outbox relay: delivers what the use cases put in the outbox, once they committed.

One relay per channel is active at a time across every process (it holds the channel's
lock; the others stand by and take over when it goes), so the messages of one destination —
retained MQTT messages on one topic, say — are never published by two relays at once nor out
of order. Delivery is at least once: a relay that dies between a publication and its
bookkeeping publishes that message again when it (or another) takes over.
"""

import asyncio
import logging
from enum import StrEnum

import msgspec

from securityvision.application.ports import (
    Lease,
    Locks,
    Publisher,
    RelayObserver,
    UnitOfWorkFactory,
)
from securityvision.domain.errors import StorageError
from securityvision.domain.outbox import (
    Backoff,
    DeliveryFailed,
    DeliveryRejected,
    OutboxMessage,
    error_summary,
)

log = logging.getLogger("securityvision.relay")


class RelayState(StrEnum):
    STOPPED = "stopped"
    STANDBY = "standby"  # another process holds the channel's lock (or the database is away)
    ACTIVE = "active"


class RelayStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What /health shows of a relay: whether this process delivers, and whether its
    connection to the destination (the broker) is up."""

    channel: str
    state: RelayState
    connected: bool


class RelayPass(msgspec.Struct, frozen=True, kw_only=True):
    delivered: int = 0
    failed: int = 0
    rejected: int = 0
    # The pass took a whole batch: more may be due at once, so no pause before the next.
    full: bool = False


class DeliverOutbox:
    """One pass over the due messages of a channel.

    - Messages go out one at a time in id order, each acknowledged before the next, and each
      leaves the outbox once acknowledged.
    - A failed message counts an attempt and waits (exponential ``backoff``, or as long as the
      destination asked with ``retry_after``); its destination is held back with it, for the
      rest of the pass and, by the outbox, until the retry, so no later message of that
      destination overtakes it. Other destinations go on.
    - A message refused for good (``DeliveryRejected``) becomes a dead letter and its
      destination goes on: retrying it would only block the ones behind it.
    - Nothing is attempted while the publisher has no connection (that is no message's
      fault and costs no attempt), and the pass ends when the connection goes.
    - With a ``lease``, the pass stops as soon as the lock is no longer held: another relay
      may have taken over.
    """

    def __init__(
        self,
        *,
        channel: str,
        uow: UnitOfWorkFactory,
        publisher: Publisher,
        observer: RelayObserver | None = None,
        backoff: Backoff | None = None,
        batch_size: int = 100,
    ) -> None:
        self._channel = channel
        self._uow = uow
        self._publisher = publisher
        self._observer = observer
        self._backoff = backoff or Backoff()
        self._batch_size = batch_size

    async def execute(self, lease: Lease | None = None) -> RelayPass:
        if not self._publisher.connected:
            return RelayPass()
        async with self._uow() as uow:
            due = await uow.outbox.due(self._channel, limit=self._batch_size)
        delivered = failed = rejected = 0
        held_back: set[str] = set()
        for message in due:
            if message.destination in held_back:
                continue
            if lease is not None and not await lease.held():
                log.warning("relay of %s lost its lock; stopping this pass", self._channel)
                break
            outcome = await self._deliver(message)
            if outcome == "delivered":
                delivered += 1
                continue
            if outcome == "rejected":
                rejected += 1
                continue
            failed += 1
            held_back.add(message.destination)
            if not self._publisher.connected:
                break
        return RelayPass(
            delivered=delivered,
            failed=failed,
            rejected=rejected,
            full=len(due) == self._batch_size and not failed,
        )

    async def _deliver(self, message: OutboxMessage) -> str:
        """Attempt ``message``; ``delivered``, ``failed`` (to retry) or ``rejected``."""
        try:
            await self._publisher.publish(message)
        except DeliveryRejected as exc:
            async with self._uow() as uow:
                await uow.outbox.mark_dead(message.id, error=error_summary(exc))
                await uow.commit()
            log.error(
                "outbox message %d to %s was refused for good and set aside: %s",
                message.id,
                message.destination,
                exc,
            )
            if self._observer is not None:
                self._observer.rejected(self._channel)
            return "rejected"
        except DeliveryFailed as exc:
            retry_in = exc.retry_after or self._backoff.delay(message.attempts + 1)
            async with self._uow() as uow:
                await uow.outbox.mark_failed(
                    message.id, error=error_summary(exc), retry_in=retry_in
                )
                await uow.commit()
            log.warning(
                "could not deliver outbox message %d to %s (attempt %d): %s; retrying in %.0f s",
                message.id,
                message.destination,
                message.attempts + 1,
                exc,
                retry_in.total_seconds(),
            )
            if self._observer is not None:
                self._observer.failed(self._channel)
            return "failed"
        async with self._uow() as uow:
            await uow.outbox.mark_delivered([message.id])
            await uow.commit()
        if self._observer is not None:
            self._observer.delivered(self._channel)
        return "delivered"


class OutboxRelay:
    """Keeps a channel's outbox flowing for as long as the process runs.

    - It delivers only while it holds the channel's lock; otherwise it stands by and tries
      again every ``standby_seconds``, so exactly one process of many delivers.
    - The publisher is connected only while this relay is the active one.
    - It polls for due messages every ``poll_seconds`` when idle, and reports the backlog
      every ``backlog_seconds`` (standing by too: any process can show it).
    - The database or the destination going away never ends it: it waits and resumes.
    """

    def __init__(
        self,
        *,
        channel: str,
        uow: UnitOfWorkFactory,
        publisher: Publisher,
        locks: Locks,
        observer: RelayObserver | None = None,
        backoff: Backoff | None = None,
        batch_size: int = 100,
        poll_seconds: float = 0.5,
        standby_seconds: float = 5.0,
        backlog_seconds: float = 5.0,
    ) -> None:
        self._channel = channel
        self._uow = uow
        self._publisher = publisher
        self._locks = locks
        self._observer = observer
        self._deliver = DeliverOutbox(
            channel=channel,
            uow=uow,
            publisher=publisher,
            observer=observer,
            backoff=backoff,
            batch_size=batch_size,
        )
        self._poll = poll_seconds
        self._standby = standby_seconds
        self._backlog_every = backlog_seconds
        self._state = RelayState.STOPPED

    @property
    def status(self) -> RelayStatus:
        return RelayStatus(
            channel=self._channel,
            state=self._state,
            connected=self._state is RelayState.ACTIVE and self._publisher.connected,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set."""
        retry = 1.0
        try:
            while not stop.is_set():
                try:
                    async with self._locks.try_hold(f"outbox-relay:{self._channel}") as lease:
                        if lease is None:
                            self._report_state(RelayState.STANDBY)
                            await self._report_backlog()
                            await _sleep_unless(stop, self._standby)
                        else:
                            await self._lead(lease, stop)
                except StorageError as exc:
                    log.warning(
                        "outbox relay of %s: %s; retrying in %.0f s", self._channel, exc, retry
                    )
                except Exception:
                    # A bug must not end delivery for the life of the process either.
                    log.exception(
                        "outbox relay of %s failed; retrying in %.0f s", self._channel, retry
                    )
                else:
                    retry = 1.0
                    continue
                self._report_state(RelayState.STANDBY)
                await _sleep_unless(stop, retry)
                retry = min(retry * 2, 30.0)
        finally:
            self._report_state(RelayState.STOPPED)

    async def _lead(self, lease: Lease, stop: asyncio.Event) -> None:
        log.info("outbox relay of %s is active", self._channel)
        self._report_state(RelayState.ACTIVE)
        await self._publisher.start()
        loop = asyncio.get_running_loop()
        reported_at = float("-inf")
        try:
            while not stop.is_set() and await lease.held():
                self._report_state(RelayState.ACTIVE)
                if loop.time() - reported_at >= self._backlog_every:
                    await self._report_backlog()
                    reported_at = loop.time()
                if not await self._publisher.wait_connected(self._poll):
                    continue
                result = await self._deliver.execute(lease)
                if not result.full:
                    await _sleep_unless(stop, self._poll)
        finally:
            await self._publisher.stop()
            self._report_state(RelayState.STANDBY)

    async def _report_backlog(self) -> None:
        if self._observer is None:
            return
        async with self._uow() as uow:
            backlog = await uow.outbox.backlog(self._channel)
        self._observer.backlog(self._channel, backlog)

    def _report_state(self, state: RelayState) -> None:
        self._state = state
        if self._observer is not None:
            status = self.status
            self._observer.state(
                self._channel, active=state is RelayState.ACTIVE, connected=status.connected
            )


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return


__all__ = ["DeliverOutbox", "OutboxRelay", "RelayPass", "RelayState", "RelayStatus"]
