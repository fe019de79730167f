"""Things that happened, as the live event stream tells them."""

from typing import Literal

import msgspec

EventName = Literal[
    "incident.created",
    "incident.updated",
    "incident.message",
    "alert.opened",
    "alert.closed",
    "device.status",
    "position.changed",
]


class LiveEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event of ``GET /api/v1/events/stream``: ``data`` holds the entity's ``id`` and its
    main fields (small: it travels through PostgreSQL NOTIFY)."""

    event: EventName
    data: dict[str, object]
