"""The worker's own Prometheus metrics and the endpoint that serves them."""

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_BATCH_BUCKETS = (1, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 25000)


class WorkerMetrics:
    """Readings accepted and rejected by reason, ingest lag, batch sizes, queue depth.

    Each instance has a registry of its own unless given one: ``dev`` passes the default
    registry, so the API's ``/metrics`` shows the worker's figures too.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.readings_accepted = Counter(
            "securityvision_readings_accepted_total",
            "Readings stored (new; duplicates excluded).",
            registry=self.registry,
        )
        self.readings_duplicate = Counter(
            "securityvision_readings_duplicate_total",
            "Readings already stored (redeliveries, gateways repeating themselves).",
            registry=self.registry,
        )
        self.readings_rejected = Counter(
            "securityvision_readings_rejected_total",
            "Readings or messages refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.unknown_tag_readings = Counter(
            "securityvision_unknown_tag_readings_total",
            "Readings of tags nobody registered (counted, listed at /api/v1/tags/unknown).",
            registry=self.registry,
        )
        self.messages = Counter(
            "securityvision_mqtt_messages_total",
            "MQTT messages processed, by stream.",
            ["stream"],
            registry=self.registry,
        )
        self.batch_readings = Histogram(
            "securityvision_ingest_batch_readings",
            "Readings per committed batch.",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "securityvision_ingest_commit_seconds",
            "Time to store one batch.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ingest_lag = Histogram(
            "securityvision_ingest_lag_seconds",
            "From a message's receipt to the commit that stored it.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "securityvision_ingest_queue_depth",
            "Messages received and not yet stored.",
            registry=self.registry,
        )
        self.broker_connected = Gauge(
            "securityvision_broker_connected",
            "1 while connected to the MQTT broker.",
            registry=self.registry,
        )
        self.storage_errors = Counter(
            "securityvision_ingest_storage_errors_total",
            "Batches that could not be stored (retried until they are).",
            registry=self.registry,
        )
        self.gateway_transitions = Counter(
            "securityvision_gateway_transitions_total",
            "Gateways going online or offline.",
            ["to"],
            registry=self.registry,
        )

    def count_rejections(self, by_reason: Mapping[str, int]) -> None:
        for reason, count in by_reason.items():
            self.readings_rejected.labels(reason).inc(count)

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread (port 0: not at all)."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
