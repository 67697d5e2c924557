"""The pricing API's Prometheus metrics; BentoML serves them on /metrics with its own (multiprocess-safe)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "riskloop_pricing_request_seconds",
    "Latency of pricing API requests, by route and status.",
    ["route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
RECOMMENDATIONS = Counter(
    "riskloop_pricing_recommendations_total", "Prices recommended, by arm and segment.", ["arm", "segment"]
)
FEEDBACK = Counter("riskloop_pricing_feedback_total", "Feedback recorded, by arm and outcome.", ["arm", "outcome"])
DEGRADED = Counter(
    "riskloop_pricing_degraded_total", "Requests answered without the posterior store, by route.", ["route"]
)
FEATURE_FALLBACKS = Counter(
    "riskloop_pricing_feature_fallbacks_total",
    "Recommendations on the default segment, by cause: the event unknown online or the store failing.",
    ["cause"],
)
