"""How ``serve`` and ``dev`` talk HTTP: uvicorn's h11 protocol with ``TCP_NODELAY`` on every
connection, and an idle keep-alive longer than the front end's polling.

``TCP_NODELAY``: asyncio turns Nagle's algorithm off only on sockets whose ``proto`` is
``IPPROTO_TCP``. ``serve --workers N`` binds the listening socket itself (``proto`` 0) and
hands it to its worker processes, so the connections they accept kept Nagle on. uvicorn writes
a response's head and body separately; the body then waited for the client's delayed ACK, and
every request on a kept-alive connection took ~40 ms more than its work (measured: 4 ms with
one worker, 44 to 48 ms with two; bench/README.md, the API under polling). Setting the option
on each accepted connection makes both modes alike.

Keep-alive: uvicorn closes a connection idle for 5 s by default, the very period at which the
front end polls ``/incidents/my`` and ``/devices/status``; a poll sent as the server closes
the connection fails (``RemoteProtocolError`` in the client). An idle timeout above the
longest polling period, and above the 60 s idle timeout of the usual reverse proxies (nginx,
cloud load balancers), keeps connections open between polls and the proxy, not the server,
the side that closes them.
"""

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

KEEP_ALIVE_SECONDS = 65


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with Nagle's algorithm off on the accepted connection."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):
            raise TypeError(f"HTTP needs a stream transport, not {type(transport).__name__}")
        no_delay(transport)
        super().connection_made(transport)


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on a TCP transport (a no-op for Unix sockets)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
