"""The Prometheus metrics every stream app exposes, under one naming scheme, on its own registry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class StreamMetrics:
    """`app` labels every series so one Prometheus can tell the sink from the worker."""

    app: str
    registry: CollectorRegistry
    consumer_lag: Gauge
    events: Counter
    batch_seconds: Histogram
    errors: Counter
    dead_letters: Counter
    aging_backlog: Gauge

    @classmethod
    def create(cls, app: str, *, registry: CollectorRegistry | None = None) -> StreamMetrics:
        # A registry per instance: several apps (or tests) in one process must not collide on names.
        registry = registry or CollectorRegistry()
        return cls(
            app=app,
            registry=registry,
            consumer_lag=Gauge(
                "riskloop_stream_consumer_lag",
                "Messages behind the partition's high watermark.",
                ["app", "topic", "partition"],
                registry=registry,
            ),
            events=Counter(
                "riskloop_stream_events",
                "Messages consumed (rate() gives events per second).",
                ["app", "topic"],
                registry=registry,
            ),
            batch_seconds=Histogram(
                "riskloop_stream_batch_seconds",
                "Time to process one batch (write, compute or flush).",
                ["app", "stage"],
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            errors=Counter(
                "riskloop_stream_errors", "Failures that were retried or skipped.", ["app", "kind"], registry=registry
            ),
            dead_letters=Counter(
                "riskloop_stream_dead_letters",
                "Messages sent to the dead-letter topic.",
                ["app", "kind"],
                registry=registry,
            ),
            aging_backlog=Gauge(
                "riskloop_stream_aging_backlog",
                "Entities whose window value aged (a tile left) but is not written yet: spread over refreshes.",
                ["app", "view"],
                registry=registry,
            ),
        )

    def record_lag(self, topic: str, lags: Mapping[int, int]) -> None:
        for partition, lag in lags.items():
            self.consumer_lag.labels(self.app, topic, str(partition)).set(max(lag, 0))

    def count_events(self, topic: str, count: int) -> None:
        if count:
            self.events.labels(self.app, topic).inc(count)

    def observe_batch(self, stage: str, seconds: float) -> None:
        self.batch_seconds.labels(self.app, stage).observe(seconds)

    def count_error(self, kind: str) -> None:
        self.errors.labels(self.app, kind).inc()

    def count_dead_letter(self, kind: str) -> None:
        self.dead_letters.labels(self.app, kind).inc()

    def sample(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """The current value of one series (for tests and tools); 0 when it was never touched."""
        value = self.registry.get_sample_value(name, {"app": self.app, **(labels or {})})
        return 0.0 if value is None else value


def start_metrics_server(port: int, *, registry: CollectorRegistry, addr: str = "0.0.0.0") -> int:
    """Serve /metrics on `port` in a daemon thread; 0 picks a free port. Returns the port it listens on."""
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return int(server.server_port)


def lags(highwaters: Iterable[tuple[int, int | None, int | None]]) -> dict[int, int]:
    """(partition, high watermark, position) triples to lags, skipping partitions not yet fetched."""
    return {p: hw - pos for p, hw, pos in highwaters if hw is not None and pos is not None}
