"""The HTTP transport of ``serve``: Nagle's algorithm is off on every accepted connection,
also when the listening socket was bound the way ``serve --workers N`` binds it."""

import asyncio
import socket

import httpx
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from securityvision.entrypoints.http.transport import NoDelayH11Protocol
from tests.support.http import serving
from tests.support.services import free_port

SEEN: list[tuple[str, int]] = []


async def _ok(scope: dict[str, object], receive: object, send: object) -> None:
    assert callable(send)
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _record(name: str, transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    SEEN.append((name, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))


class RecordingUvicorn(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        _record("uvicorn", transport)


class RecordingOurs(NoDelayH11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        _record("ours", transport)


async def _serve_one_request(protocol: type[H11Protocol]) -> None:
    port = free_port()
    config = uvicorn.Config(_ok, host="127.0.0.1", port=port, log_config=None, http=protocol)
    # What uvicorn's process manager does for `--workers N`: bind first, then serve the
    # socket in each worker. This socket's `proto` is 0, so asyncio leaves Nagle on.
    with config.bind_socket() as sock:
        async with (
            serving(config, [sock]) as base,
            httpx.AsyncClient(base_url=base, timeout=5) as client,
        ):
            assert (await client.get("/")).text == "ok"


async def test_connections_accepted_on_a_pre_bound_socket_have_nagle_off() -> None:
    SEEN.clear()
    await _serve_one_request(RecordingUvicorn)
    await _serve_one_request(RecordingOurs)
    # uvicorn's own protocol keeps Nagle on there (the 40 ms per kept-alive request);
    # ours turns it off.
    assert SEEN == [("uvicorn", 0), ("ours", 1)]
