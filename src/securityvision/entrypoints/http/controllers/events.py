"""``GET /api/v1/events/stream``: server-sent events for the consoles."""

import asyncio
from collections.abc import AsyncIterator

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import ServerSentEvent, ServerSentEventMessage

from securityvision.application.live import EventHub

KEEP_ALIVE_SECONDS = 15.0


class EventStreamController(Controller):
    path = "/events"
    tags = ["events"]

    @get("/stream")
    async def stream(
        self, event_hub: NamedDependency[EventHub], types: FromQuery[str | None] = None
    ) -> ServerSentEvent:
        """Live events as they are committed, in any process: ``incident.created``,
        ``incident.updated``, ``incident.message``, ``alert.opened``, ``alert.closed``,
        ``device.status``, ``position.changed`` — ``data`` a JSON object with the entity's
        ``id`` and main fields. ``types`` (comma list) narrows them. A ``stream.gap`` event
        means this client fell behind and should reload what it shows. Authenticate with the
        ``Authorization`` header, as every other call."""
        wanted = {t.strip() for t in types.split(",") if t.strip()} if types else None
        return ServerSentEvent(_messages(event_hub, wanted))


async def _messages(
    hub: EventHub, wanted: set[str] | None
) -> AsyncIterator[ServerSentEventMessage]:
    async with hub.subscribe() as queue:
        yield ServerSentEventMessage(data=None, comment="connected", retry=3000)
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEP_ALIVE_SECONDS)
            except TimeoutError:
                yield ServerSentEventMessage(data=None, comment="keep-alive")
                continue
            if event is None:
                yield ServerSentEventMessage(event="stream.gap", data="{}")
            elif wanted is None or event.event in wanted:
                yield ServerSentEventMessage(
                    event=event.event, data=msgspec.json.encode(event.data).decode()
                )
