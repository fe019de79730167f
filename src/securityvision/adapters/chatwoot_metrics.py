"""Prometheus metrics of the Chatwoot integration: its API requests and webhook calls. (The
outbox relay's own metrics count deliveries per channel, ``chatwoot`` included.)"""

import weakref

from prometheus_client import REGISTRY, CollectorRegistry, Counter

_BY_REGISTRY: "weakref.WeakKeyDictionary[CollectorRegistry, ChatwootMetrics]" = (
    weakref.WeakKeyDictionary()
)


class ChatwootMetrics:
    """The ``ChatwootRequestObserver`` for Prometheus; ``for_registry`` gives the one instance
    of a registry (the default one, which ``/metrics`` serves, unless told)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "securityvision_chatwoot_requests_total",
            "Requests to Chatwoot's API by operation and outcome"
            " (2xx, 4xx, 429, 5xx, timeout, unreachable).",
            ["operation", "outcome"],
            registry=registry,
        )
        self.webhooks = Counter(
            "securityvision_chatwoot_webhooks_total",
            "Chatwoot webhook calls by outcome (processed, duplicate, ignored, unauthorized,"
            " invalid).",
            ["outcome"],
            registry=registry,
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry | None = None) -> "ChatwootMetrics":
        target = REGISTRY if registry is None else registry
        metrics = _BY_REGISTRY.get(target)
        if metrics is None:
            metrics = _BY_REGISTRY[target] = cls(target)
        return metrics

    def request(self, operation: str, outcome: str) -> None:
        self.requests.labels(operation=operation, outcome=outcome).inc()

    def webhook(self, outcome: str) -> None:
        self.webhooks.labels(outcome=outcome).inc()
