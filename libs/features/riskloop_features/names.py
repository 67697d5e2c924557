"""The names every Riskloop component shares about features: entity join keys, feature view names and the
ordered feature vector of the fraud model. Free of Feast, so the stream worker and the DAGs can use it.
"""

from __future__ import annotations

# Entity join keys: the ids exactly as they appear in TRANSACTION_SCHEMA, as strings, unchanged.
USER_KEY = "user_id"
EVENT_KEY = "event_id"
PROMOTER_KEY = "promoter_id"

# The timestamp column of every offline feature table (Feast's `timestamp_field`).
TIMESTAMP_FIELD = "event_timestamp"

EVENT_REALTIME_VIEW = "event_realtime_metrics"
EVENT_HISTORICAL_VIEW = "event_historical_metrics"
USER_BEHAVIOR_VIEW = "user_purchase_behavior"
USER_REALTIME_VIEW = "user_realtime_fraud_features"

FRAUD_MODEL_SERVICE = "fraud_model_v1"

# The fraud model's feature vector, in the order the model sees it. Changing it means a new model version.
FRAUD_MODEL_FEATURES: tuple[str, ...] = (
    f"{USER_REALTIME_VIEW}:user_txn_count_1h",
    f"{USER_REALTIME_VIEW}:user_txn_amount_1h",
    f"{USER_REALTIME_VIEW}:user_distinct_events_1h",
    f"{USER_REALTIME_VIEW}:user_avg_amount_24h",
    f"{USER_BEHAVIOR_VIEW}:lifetime_purchases",
    f"{USER_BEHAVIOR_VIEW}:fraud_risk_score",
    f"{USER_BEHAVIOR_VIEW}:preferred_category",
    f"{EVENT_REALTIME_VIEW}:current_inventory",
    f"{EVENT_REALTIME_VIEW}:sell_through_rate_5min",
    f"{EVENT_REALTIME_VIEW}:concurrent_viewers",
    f"{EVENT_HISTORICAL_VIEW}:total_tickets_sold",
    f"{EVENT_HISTORICAL_VIEW}:avg_ticket_price",
    f"{EVENT_HISTORICAL_VIEW}:promoter_success_rate",
)


def offline_table_path(offline_root: str, view: str) -> str:
    """The folder (or s3:// prefix) of a view's offline Parquet table: the batch job writes there and the
    view's FileSource reads there."""
    return f"{offline_root.rstrip('/')}/{view}"


def entity_row(*, user_id: str, event_id: str, promoter_id: str) -> dict[str, str]:
    """The Feast entity row of one purchase: the one place the entity key format is decided."""
    return {USER_KEY: str(user_id), EVENT_KEY: str(event_id), PROMOTER_KEY: str(promoter_id)}
