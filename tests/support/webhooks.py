"""A real HTTP server receiving webhooks, for delivery tests: it can be down (not listening),
answer 503 with ``Retry-After`` a few times, and records every request it accepted."""

import asyncio
import contextlib
import socket

import msgspec


class Received(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    headers: dict[str, str]
    body: bytes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WebhookReceiver:
    """``await start()`` listens on ``port`` (chosen up front, so subscriptions can name the
    URL while the server is still down); ``busy`` requests are answered 503 first; paths
    outside ``/hooks/`` are 404."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.refused = 0
        self.busy = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/soc"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if not path.startswith("/hooks/"):
                response = b"HTTP/1.1 404 Not Found\r\n"
            elif self.busy > 0:
                self.busy -= 1
                self.refused += 1
                response = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
            else:
                self.received.append(Received(path=path, headers=headers, body=body))
                response = b"HTTP/1.1 204 No Content\r\n"
            writer.write(response + b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
