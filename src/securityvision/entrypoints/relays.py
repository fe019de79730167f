"""Running outbox relays beside whatever else a process does (the API, ``dev``).

Every API process runs the relay of the ``mqtt`` channel; only the one holding the channel's
lock delivers, the others stand by (application/relay.py). The MQTT worker does not run it:
it writes nothing to the outbox, and a deployment always has API processes.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from securityvision.application.relay import OutboxRelay

log = logging.getLogger("securityvision.relay")

_STOP_SECONDS = 10.0


@contextlib.asynccontextmanager
async def running(*relays: OutboxRelay) -> AsyncIterator[None]:
    """Run ``relays`` in the background for the block; stop them at the end, letting the
    messages in hand finish."""
    if not relays:
        yield
        return
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(relay.run(stop), name=f"outbox-relay-{relay.status.channel}")
        for relay in relays
    ]
    try:
        yield
    finally:
        stop.set()
        _, pending = await asyncio.wait(tasks, timeout=_STOP_SECONDS)
        for task in pending:
            log.warning(
                "the outbox relay %s did not stop in %.0f s; cancelled",
                task.get_name(),
                _STOP_SECONDS,
            )
            task.cancel()
