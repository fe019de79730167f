"""Fetching images named by URLs in camera events, without becoming a proxy into the network.

The original fetched any URL with ``urllib.urlopen`` — ``file://`` and cloud metadata
addresses included — and published the result under ``/media`` (bug 28). Here:

- only ``http`` and ``https``;
- the host's addresses are resolved first, and a private, loopback, link-local, multicast,
  reserved or unspecified address is refused unless the host is listed in
  ``MEDIA_FETCH_ALLOWED_HOSTS``; when that list is set, only listed hosts are fetched at all;
- redirects are followed by hand, at most three, each hop checked the same way;
- a timeout, and a size cap enforced while reading (``MEDIA_MAX_BYTES``);
- what comes back is only bytes: whether they are an image is the media rules' decision.

A name could resolve differently between the check and the connection (DNS rebinding);
listing the collectors' hosts in ``MEDIA_FETCH_ALLOWED_HOSTS`` closes that too.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

import httpx

from securityvision.domain.errors import InvalidInput

MAX_REDIRECTS = 3


class FetchRefused(InvalidInput):
    """The URL was not fetched; ``code`` is a stable metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}", code=reason)


class SafeFetcher:
    def __init__(
        self,
        *,
        allowed_hosts: Sequence[str],
        max_bytes: int,
        timeout_seconds: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allowed = {h.lower() for h in allowed_hosts}
        self._max_bytes = max_bytes
        self._timeout = timeout_seconds
        self._transport = transport

    async def fetch(self, url: str) -> bytes:
        """The body at ``url``; ``FetchRefused`` when it may not or cannot be had."""
        try:
            # One deadline for everything, name resolution and redirects included: a camera
            # event never waits long on someone else's server.
            async with asyncio.timeout(self._timeout * 2):
                return await self._fetch(url)
        except httpx.HTTPError as exc:
            raise FetchRefused("unreachable", f"{_host(url)}: {type(exc).__name__}") from exc
        except TimeoutError as exc:
            raise FetchRefused("timeout", _host(url)) from exc

    async def _fetch(self, url: str) -> bytes:
        async with httpx.AsyncClient(
            timeout=self._timeout, follow_redirects=False, transport=self._transport
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                await self._check(url)
                async with client.stream("GET", url) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        url = urljoin(url, location)
                        continue
                    if response.status_code != 200:
                        raise FetchRefused(
                            "http_error", f"{response.status_code} from {_host(url)}"
                        )
                    return await self._read(response)
        raise FetchRefused("too_many_redirects", _host(url))

    async def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self._max_bytes:
            raise FetchRefused("too_large", f"{declared} bytes declared")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise FetchRefused("too_large", f"more than {self._max_bytes} bytes")
        return bytes(body)

    async def _check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchRefused("scheme_refused", f"{parts.scheme or 'no'} scheme")
        host = parts.hostname.lower()
        listed = host in self._allowed
        if self._allowed and not listed:
            raise FetchRefused("host_not_allowed", host)
        if listed:
            return
        for address in await _addresses(
            host, parts.port or (443 if parts.scheme == "https" else 80)
        ):
            if not address.is_global or address.is_multicast:
                raise FetchRefused("address_refused", f"{host} is {address}")


async def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise FetchRefused("unresolvable", host) from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"
