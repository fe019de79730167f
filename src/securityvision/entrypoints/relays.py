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
async def running(relay: OutboxRelay | None) -> AsyncIterator[None]:
    """Run ``relay`` (if any) in the background for the block; stop it at the end, letting the
    message in hand finish."""
    if relay is None:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop), name="outbox-relay")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=_STOP_SECONDS)
        except TimeoutError:
            log.warning("the outbox relay did not stop in %.0f s; cancelled", _STOP_SECONDS)
