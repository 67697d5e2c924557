"""The fraud API's Prometheus metrics. Created at import; under BentoML (several worker processes) the
client runs in multiprocess mode, so gauges declare how their per-process values combine."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY = Histogram(
    "riskloop_fraud_predict_latency_seconds",
    "Time to score one /predict batch, from validated input to results (features, model, reasons).",
    buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
BATCH_SIZE = Histogram(
    "riskloop_fraud_batch_size",
    "Transactions per /predict call.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
SCORE = Histogram(
    "riskloop_fraud_score",
    "Fraud scores returned.",
    buckets=(0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99),
)
FEATURE_MISSES = Counter(
    "riskloop_fraud_feature_misses_total",
    "Model features scored as missing (the online store had no value, or the request lacked it).",
    ["feature"],
)
DEGRADED = Counter(
    "riskloop_fraud_degraded_total",
    "Transactions scored without online features because the online store was unreachable.",
)
PREDICTIONS_DROPPED = Counter(
    "riskloop_fraud_predictions_dropped_total",
    "Scores not published to the predictions topic (queue full or broker unreachable).",
)
DEPENDENCY_UP = Gauge(
    "riskloop_fraud_dependency_up",
    "1 when a dependency (online_store, predictions_topic) answered this worker's last /predict, 0 when it "
    "was down: scores degraded or not published. The lowest of the workers' values.",
    ["dependency"],
    multiprocess_mode="livemin",
)
RELOADS = Counter(
    "riskloop_fraud_model_reloads_total",
    "Model loads by outcome (ok, failed) and trigger (startup, admin, follow).",
    ["outcome", "trigger"],
)
MODEL_INFO = Gauge(
    "riskloop_fraud_model_info",
    "1 for the model version a worker serves (label version), 0 for versions it served before.",
    ["version"],
    multiprocess_mode="liveall",
)
MODEL_REGISTERED = Gauge(
    "riskloop_fraud_model_registered_timestamp_seconds",
    "When the served model version was registered in MLflow (Unix time).",
    multiprocess_mode="livemin",
)
# The model's age at scrape time is appended by the service's /metrics hook (a gauge set at load time would
# not advance between loads).
MODEL_AGE_NAME = "riskloop_fraud_model_age_seconds"


def model_age_text(age_seconds: float | None) -> str:
    """The exposition lines for the model-age gauge, appended to /metrics at scrape time."""
    lines = [
        f"# HELP {MODEL_AGE_NAME} Seconds since the served model version was registered in MLflow.",
        f"# TYPE {MODEL_AGE_NAME} gauge",
    ]
    if age_seconds is not None:
        lines.append(f"{MODEL_AGE_NAME} {age_seconds:.3f}")
    return "\n".join(lines) + "\n"
