"""Prometheus metrics of the outbox relays: backlog, deliveries by outcome, relay state."""

import weakref

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from securityvision.domain.outbox import OutboxBacklog

# One set of metrics per registry: an API process builds its app once, but tests (and
# embedding services) build many, and a registry refuses a metric registered twice.
_BY_REGISTRY: "weakref.WeakKeyDictionary[CollectorRegistry, RelayMetrics]" = (
    weakref.WeakKeyDictionary()
)


class RelayMetrics:
    """The ``RelayObserver`` for Prometheus. ``for_registry`` gives the one instance of a
    registry (the default registry, which the API's ``/metrics`` serves, unless told)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.backlog_messages = Gauge(
            "securityvision_outbox_backlog_messages",
            "Messages waiting in the outbox, by channel.",
            ["channel"],
            registry=registry,
        )
        self.oldest_age = Gauge(
            "securityvision_outbox_oldest_age_seconds",
            "Age of the oldest message waiting in the outbox (0 when none), by channel.",
            ["channel"],
            registry=registry,
        )
        self.dead_letters = Gauge(
            "securityvision_outbox_dead_letters",
            "Messages their destination refused for good, kept in the outbox, by channel.",
            ["channel"],
            registry=registry,
        )
        self.deliveries = Counter(
            "securityvision_outbox_deliveries_total",
            "Outbox delivery attempts by channel and outcome (delivered, failed, rejected).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.relay_active = Gauge(
            "securityvision_outbox_relay_active",
            "1 while this process's relay of the channel is the active one.",
            ["channel"],
            registry=registry,
        )
        self.relay_connected = Gauge(
            "securityvision_outbox_relay_connected",
            "1 while the active relay of the channel is connected to its destination.",
            ["channel"],
            registry=registry,
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry | None = None) -> "RelayMetrics":
        target = REGISTRY if registry is None else registry
        metrics = _BY_REGISTRY.get(target)
        if metrics is None:
            metrics = _BY_REGISTRY[target] = cls(target)
        return metrics

    def delivered(self, channel: str) -> None:
        self.deliveries.labels(channel=channel, outcome="delivered").inc()

    def failed(self, channel: str) -> None:
        self.deliveries.labels(channel=channel, outcome="failed").inc()

    def rejected(self, channel: str) -> None:
        self.deliveries.labels(channel=channel, outcome="rejected").inc()

    def backlog(self, channel: str, backlog: OutboxBacklog) -> None:
        self.backlog_messages.labels(channel=channel).set(backlog.count)
        self.dead_letters.labels(channel=channel).set(backlog.dead)
        self.oldest_age.labels(channel=channel).set(backlog.oldest_age_seconds or 0.0)

    def state(self, channel: str, *, active: bool, connected: bool) -> None:
        self.relay_active.labels(channel=channel).set(1 if active else 0)
        self.relay_connected.labels(channel=channel).set(1 if connected else 0)
