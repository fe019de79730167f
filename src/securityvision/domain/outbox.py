"""The transactional outbox: messages to the outside world, stored with the change that
caused them and delivered afterwards by a relay.

A use case never talks to a broker or a web server while it holds a transaction: it adds a
message to the outbox in its own unit of work, so the message exists exactly when the change
does (a rolled-back change sends nothing, a committed one is never lost), and an unreachable
destination never fails the change. A relay delivers the messages later, at least once, in
order per destination.
"""

from datetime import datetime, timedelta
from typing import Any

import msgspec

MQTT_CHANNEL = "mqtt"
"""Messages published to the MQTT broker; ``destination`` is the topic."""

ERROR_MAX_LENGTH = 500


class NewOutboxMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message to deliver.

    - ``channel`` says which relay delivers it (``mqtt``; later ``webhook``, ``chatwoot``).
    - ``destination`` is where, in the channel's terms (an MQTT topic, a subscription id):
      messages of one destination are delivered in the order they were added.
    - ``payload`` is the exact bytes to send (a signature is computed over them).
    - ``options`` are the channel's delivery options (MQTT: ``qos``, ``retain``); never a
      secret — a relay looks secrets up when it sends.
    """

    channel: str
    destination: str
    payload: bytes
    options: dict[str, Any] = msgspec.field(default_factory=dict)


class OutboxMessage(NewOutboxMessage, frozen=True, kw_only=True):
    """A stored message not delivered yet (a delivered one leaves the outbox)."""

    id: int
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime
    last_error: str | None = None
    # Set when the destination refused the message for good: a dead letter, kept for the
    # operators (and never attempted again) instead of being retried for ever.
    dead_at: datetime | None = None

    @property
    def qos(self) -> int:
        return int(self.options.get("qos", 1))

    @property
    def retain(self) -> bool:
        return bool(self.options.get("retain", False))


class OutboxBacklog(msgspec.Struct, frozen=True, kw_only=True):
    """How much is waiting: a growing ``oldest_age`` means delivery is stuck. ``dead`` counts
    the dead letters (refused for good), which are not waiting and not in ``count``."""

    count: int = 0
    oldest_age: timedelta | None = None
    dead: int = 0

    @property
    def oldest_age_seconds(self) -> float | None:
        return None if self.oldest_age is None else max(self.oldest_age.total_seconds(), 0.0)


class Backoff(msgspec.Struct, frozen=True, kw_only=True):
    """Exponential backoff between attempts of one message: ``first``, then doubling (by
    ``factor``) up to ``limit``."""

    first: timedelta = timedelta(seconds=1)
    factor: float = 2.0
    limit: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1 for the first failure)."""
        exponent = min(max(attempts - 1, 0), 64)  # a message failing for days must not overflow
        seconds = self.first.total_seconds() * self.factor**exponent
        return timedelta(seconds=min(seconds, self.limit.total_seconds()))


class DeliveryFailed(Exception):
    """A message could not be delivered this time; the text says why and holds no secret
    (it is stored with the message and shown to operators).

    ``retry_after`` is the destination's own word on when to try again (HTTP 429 or 503 with
    ``Retry-After``): the relay waits that long instead of its backoff.
    """

    def __init__(self, reason: str, *, retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class DeliveryRejected(Exception):
    """The destination refused the message for good (an HTTP 4xx other than 408 and 429, say):
    sending it again would be refused again. The relay sets it aside as a dead letter, with
    this text (no secret), and the destination's later messages go on."""


def error_summary(exc: BaseException) -> str:
    """What an outbox row remembers of a failure: the error's kind and its first line,
    bounded. The adapters that raise delivery errors write their messages without secrets
    (no passwords, tokens or credentials in URLs), so this is safe to store and show."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    return text[:ERROR_MAX_LENGTH]
