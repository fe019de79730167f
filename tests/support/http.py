"""A real uvicorn server inside the test's event loop, for what an in-process test client
cannot show (streams that never end, what happens on the socket)."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn

STARTUP_SECONDS = 5.0


@contextlib.asynccontextmanager
async def serving(
    config: uvicorn.Config, sockets: list[socket.socket] | None = None
) -> AsyncIterator[str]:
    """Serve ``config`` until the block ends; yields the base URL once the server listens."""
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=sockets))
    try:
        async with asyncio.timeout(STARTUP_SECONDS):
            while not server.started:
                if serving.done():
                    serving.result()  # the server failed to start: raise its error
                await asyncio.sleep(0.05)
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        await serving
