"""Live events through PostgreSQL NOTIFY: delivered at commit to every listening process,
never for a transaction that rolled back."""

import asyncio
import logging
from collections.abc import AsyncIterator

import msgspec
import psycopg
from psycopg.rows import DictRow

from securityvision.domain.events import LiveEvent

CHANNEL = "securityvision_events"
# NOTIFY payloads are limited to 8000 bytes; a larger event travels as its id alone.
_MAX_PAYLOAD = 7500
_decode = msgspec.json.Decoder(LiveEvent)
log = logging.getLogger("securityvision.events")


def encode(event: LiveEvent) -> str:
    text = msgspec.json.encode(event).decode()
    if len(text.encode()) <= _MAX_PAYLOAD:
        return text
    slim = LiveEvent(event=event.event, data={"id": event.data.get("id"), "truncated": True})
    return msgspec.json.encode(slim).decode()


class PostgresEventLog:
    def __init__(self, conn: psycopg.AsyncConnection[DictRow]) -> None:
        self._conn = conn

    async def publish(self, *events: LiveEvent) -> None:
        if events:
            # One text of one event per line (JSON holds no raw line break), split by the
            # server: a text[] parameter would be dumped element by element in Python.
            await self._conn.execute(
                "SELECT pg_notify(%s, payload) FROM unnest(string_to_array(%s, chr(10)))"
                " AS payload",
                [CHANNEL, "\n".join([encode(event) for event in events])],
            )


class PostgresEventSource:
    """LISTENs on a connection of its own, reconnecting with backoff when it drops."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo

    async def stream(self) -> AsyncIterator[LiveEvent]:
        backoff = 1.0
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            except psycopg.OperationalError as exc:
                log.warning(
                    "event stream cannot reach PostgreSQL (%s); retrying", type(exc).__name__
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
                async for notice in conn.notifies():
                    try:
                        yield _decode.decode(notice.payload)
                    except msgspec.DecodeError:
                        log.warning("ignored a malformed event on %s", CHANNEL)
            except psycopg.OperationalError:
                log.warning("event stream lost PostgreSQL; reconnecting")
            finally:
                await conn.close()
