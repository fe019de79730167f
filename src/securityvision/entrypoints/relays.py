"""Running outbox relays beside whatever else a process does (the API, ``dev``).

Every API process runs the relay of the ``mqtt`` channel; only the one holding the channel's
lock delivers, the others stand by (application/relay.py). The MQTT worker does not run it:
it writes nothing to the outbox, and a deployment always has API processes. The expiry of
cam-bus uplinks runs beside the relay, the same way (one active process, under a lock).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

log = logging.getLogger("securityvision.relay")

_STOP_SECONDS = 10.0


class Loop(Protocol):
    """A background job that runs until its ``stop`` event is set (the uplink expiry)."""

    async def run(self, stop: asyncio.Event) -> None: ...


@contextlib.asynccontextmanager
async def running(*loops: Loop) -> AsyncIterator[None]:
    """Run ``loops`` (outbox relays, the uplink expiry) in the background for the block; stop
    them at the end, letting the message in hand finish."""
    if not loops:
        yield
        return
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(loop.run(stop), name=f"background-{type(loop).__name__}")
        for loop in loops
    ]
    try:
        yield
    finally:
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=_STOP_SECONDS)
        for task in pending:
            log.warning(
                "%s did not stop in %.0f s; cancelled",
                task.get_name(),
                _STOP_SECONDS,
            )
            task.cancel()
