"""Helpers for ingestion tests: a migrated database of the test's own, a private topic
prefix on the shared broker, a publisher, and polling for rows."""

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import aiomqtt
import psycopg

SHARED_FIXTURES = (
    Path(
        os.environ.get(
            "SECURITYVISION_SHARED_DIR", Path(__file__).resolve().parents[2] / ".." / "shared"
        )
    )
    / "fixtures"
)


def private_prefix() -> str:
    """A topic prefix no other test or run on the same broker uses."""
    return f"sv-test-{uuid.uuid4().hex[:12]}/gateways"


async def publish(
    host: str,
    port: int,
    messages: Iterable[tuple[str, bytes]],
    *,
    qos: int = 1,
    interval: float = 0.0,
) -> int:
    """Publish ``messages`` in order, ``interval`` seconds apart (0: as fast as acknowledged)."""
    count = 0
    async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V311) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=qos)
            count += 1
            if interval:
                await asyncio.sleep(interval)
    return count


async def register_tags(url: str, macs: Iterable[str]) -> dict[str, int]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        ids = {}
        for mac in macs:
            cursor = await conn.execute(
                "INSERT INTO tags (mac_address) VALUES (%s) RETURNING id", [mac]
            )
            row = await cursor.fetchone()
            assert row is not None
            ids[mac] = int(row[0])
        return ids


async def query(url: str, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute(sql, list(params))
        return await cursor.fetchall()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, seconds: float = 20, what: str = "condition"
) -> None:
    try:
        async with asyncio.timeout(seconds):
            while not await condition():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out after {seconds} s waiting for {what}") from None
