"""The live event stream: events committed anywhere (API or worker, any process) reach every
connected console."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from securityvision.application.ports import EventSource
from securityvision.domain.events import LiveEvent

SUBSCRIBER_QUEUE = 1000


class EventHub:
    """One source per process, fanned out to every subscriber.

    - A subscriber that falls more than 1000 events behind is sent a ``stream.gap`` note in
      place of what it missed, rather than slowing everyone else down.
    """

    def __init__(self, source: EventSource) -> None:
        self._source = source
        self._subscribers: set[asyncio.Queue[LiveEvent | None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._pump())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def _pump(self) -> None:
        async for event in self._source.stream():
            for queue in list(self._subscribers):
                if queue.full():
                    continue
                if queue.qsize() == SUBSCRIBER_QUEUE - 1:
                    queue.put_nowait(None)  # a gap: the console reloads what it shows
                else:
                    queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator["asyncio.Queue[LiveEvent | None]"]:
        queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
