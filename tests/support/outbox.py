"""A publisher that records, and a subscriber that collects, for outbox and relay tests."""

import asyncio
import contextlib
import json
from datetime import timedelta
from typing import Any

import aiomqtt

from securityvision.domain.outbox import DeliveryFailed, DeliveryRejected, OutboxMessage


class FakePublisher:
    """Records what it published; ``failing`` destinations fail (with ``retry_after`` when
    set), ``rejecting`` ones are refused for good; ``drop_after`` loses the connection after
    that many publications."""

    def __init__(self, name: str = "publisher") -> None:
        self.name = name
        self.sent: list[tuple[str, bytes]] = []
        self.failing: set[str] = set()
        self.rejecting: set[str] = set()
        self.retry_after: timedelta | None = None
        self.connected = True
        self.drop_after: int | None = None
        self.starts = 0
        self.log: list[str] | None = None

    async def start(self) -> None:
        self.starts += 1

    async def stop(self) -> None:
        return None

    async def wait_connected(self, within: float) -> bool:
        if not self.connected:
            await asyncio.sleep(within)
        return self.connected

    async def publish(self, message: OutboxMessage) -> None:
        if not self.connected:
            raise DeliveryFailed("not connected")
        if message.destination in self.rejecting:
            raise DeliveryRejected(f"rejected {message.destination}")
        if message.destination in self.failing:
            raise DeliveryFailed(f"refused {message.destination}", retry_after=self.retry_after)
        if self.log is not None:
            self.log.append(f"{self.name} start")
        await asyncio.sleep(0)
        self.sent.append((message.destination, message.payload))
        if self.log is not None:
            self.log.append(f"{self.name} end")
        if self.drop_after is not None and len(self.sent) >= self.drop_after:
            self.connected = False


class Collected:
    """Messages received on a subscription, as (topic, decoded JSON, retained)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Any, bool]] = []

    def on(self, topic: str) -> list[Any]:
        return [body for t, body, _ in self.messages if t == topic]


async def collect(
    host: str, port: int, topic_filter: str, collected: Collected, ready: asyncio.Event
) -> None:
    """Subscribe at QoS 1 and collect until cancelled; ``ready`` is set once subscribed."""
    async with aiomqtt.Client(host, port, protocol=aiomqtt.ProtocolVersion.V311) as client:
        await client.subscribe(topic_filter, qos=1)
        ready.set()
        async for message in client.messages:
            if not message.topic.matches(topic_filter):
                # amqtt (the embedded broker) also hands a new connection the retained
                # messages of every other client's subscriptions: not ours to look at.
                continue
            payload = message.payload
            assert isinstance(payload, bytes | bytearray)
            collected.messages.append(
                (str(message.topic), json.loads(bytes(payload)), bool(message.retain))
            )


async def retained(host: str, port: int, topic_filter: str, settle: float = 1.0) -> dict[str, Any]:
    """What a subscriber arriving now is given: the retained message of every topic."""
    collected = Collected()
    ready = asyncio.Event()
    task = asyncio.create_task(collect(host, port, topic_filter, collected, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        await asyncio.sleep(settle)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert all(is_retained for _, _, is_retained in collected.messages)
    return {topic: body for topic, body, _ in collected.messages}
