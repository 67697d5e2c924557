"""Riskloop's features: Feast definitions, the tiled sliding-window maths shared by the batch job and the
stream aggregator, the batch job, and point-in-time training data.

Import from here only. The names that need Feast (definitions, store config, the batch job, training data)
load on first use, so `riskloop_features` itself, the record schemas and the window maths import without
Feast (the Airflow image has DuckDB and pyarrow but no Feast).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from riskloop_features.names import (
    EVENT_HISTORICAL_VIEW,
    EVENT_KEY,
    EVENT_REALTIME_VIEW,
    FRAUD_MODEL_FEATURES,
    FRAUD_MODEL_SERVICE,
    PROMOTER_KEY,
    TIMESTAMP_FIELD,
    USER_BEHAVIOR_VIEW,
    USER_KEY,
    USER_REALTIME_VIEW,
    entity_row,
    offline_table_path,
)
from riskloop_features.streaming import QueryWentBackwards, SnapshotMismatch, StreamingWindowAggregator
from riskloop_features.transactions import CHARGEBACK_SCHEMA, EVENT_CATALOG_SCHEMA, TIMESTAMP, TRANSACTION_SCHEMA
from riskloop_features.windows import (
    EVENT_REALTIME_WINDOWS,
    USER_REALTIME_WINDOWS,
    Aggregation,
    InvalidWindowInput,
    WindowAggregate,
    WindowFeature,
    WindowSpec,
    latest_per_entity,
    value_as_of,
    window_feature_changes,
)

if TYPE_CHECKING:
    from riskloop_features.batch import (
        FeatureJobReport,
        FeatureTables,
        RawDataMissing,
        compute_feature_tables,
        materialize_online,
        read_raw_archive,
        run_feature_engineering,
        write_offline_tables,
    )
    from riskloop_features.definitions import ENTITIES, FeatureDefinitions, feature_definitions
    from riskloop_features.histories import event_history_snapshots, user_behavior_changes
    from riskloop_features.store import MissingRedisSettings, feature_store, feature_store_config
    from riskloop_features.training_data import (
        ID_COLUMNS,
        LABEL,
        LABELLED_SCHEMA,
        EmptyTrainingSet,
        LabelPolicy,
        archive_training_frame,
        historical_features,
        label_transactions,
        training_frame,
    )

# Name -> module, for the names loaded on first use (they import Feast, or DuckDB-heavy job code).
_LAZY = {
    "FeatureJobReport": "batch",
    "FeatureTables": "batch",
    "RawDataMissing": "batch",
    "compute_feature_tables": "batch",
    "materialize_online": "batch",
    "read_raw_archive": "batch",
    "run_feature_engineering": "batch",
    "write_offline_tables": "batch",
    "ENTITIES": "definitions",
    "FeatureDefinitions": "definitions",
    "feature_definitions": "definitions",
    "event_history_snapshots": "histories",
    "user_behavior_changes": "histories",
    "MissingRedisSettings": "store",
    "feature_store": "store",
    "feature_store_config": "store",
    "ID_COLUMNS": "training_data",
    "LABEL": "training_data",
    "LABELLED_SCHEMA": "training_data",
    "archive_training_frame": "training_data",
    "EmptyTrainingSet": "training_data",
    "LabelPolicy": "training_data",
    "historical_features": "training_data",
    "label_transactions": "training_data",
    "training_frame": "training_data",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'riskloop_features' has no attribute {name!r}")
    return getattr(import_module(f"riskloop_features.{module}"), name)


__all__ = [
    "CHARGEBACK_SCHEMA",
    "ENTITIES",
    "EVENT_CATALOG_SCHEMA",
    "EVENT_HISTORICAL_VIEW",
    "EVENT_KEY",
    "EVENT_REALTIME_VIEW",
    "EVENT_REALTIME_WINDOWS",
    "FRAUD_MODEL_FEATURES",
    "FRAUD_MODEL_SERVICE",
    "ID_COLUMNS",
    "LABEL",
    "LABELLED_SCHEMA",
    "PROMOTER_KEY",
    "TIMESTAMP",
    "TIMESTAMP_FIELD",
    "TRANSACTION_SCHEMA",
    "USER_BEHAVIOR_VIEW",
    "USER_KEY",
    "USER_REALTIME_VIEW",
    "USER_REALTIME_WINDOWS",
    "Aggregation",
    "archive_training_frame",
    "EmptyTrainingSet",
    "FeatureDefinitions",
    "FeatureJobReport",
    "FeatureTables",
    "InvalidWindowInput",
    "LabelPolicy",
    "MissingRedisSettings",
    "QueryWentBackwards",
    "RawDataMissing",
    "SnapshotMismatch",
    "StreamingWindowAggregator",
    "WindowAggregate",
    "WindowFeature",
    "WindowSpec",
    "compute_feature_tables",
    "entity_row",
    "event_history_snapshots",
    "feature_definitions",
    "feature_store",
    "feature_store_config",
    "historical_features",
    "label_transactions",
    "latest_per_entity",
    "materialize_online",
    "offline_table_path",
    "read_raw_archive",
    "run_feature_engineering",
    "training_frame",
    "user_behavior_changes",
    "value_as_of",
    "window_feature_changes",
    "write_offline_tables",
]
