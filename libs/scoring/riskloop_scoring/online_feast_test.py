"""The reader against the real thing: libs/features' Feast definitions applied to a Redis online store,
values written by Feast, and read back both by `FeatureStore.get_online_features` and by the reader."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from riskloop_config.settings import RedisSettings
from riskloop_features import FRAUD_MODEL_FEATURES, entity_row, feature_definitions
from riskloop_features.testing_events import local_store
from riskloop_scoring.online import DEFAULT_VIEW_JOIN_KEYS, FeatureRef, RedisFeatureReader
from riskloop_testing.services import RedisDatabase

NOW = datetime.now(UTC)


def test_join_keys_match_the_feast_definitions(tmp_path: Path) -> None:
    from riskloop_features.definitions import ENTITIES

    join_key = {entity.name: entity.join_key for entity in ENTITIES}
    views = feature_definitions(str(tmp_path)).views()
    assert {v.name: tuple(join_key[e] for e in v.entities) for v in views} == dict(DEFAULT_VIEW_JOIN_KEYS)


def test_reader_returns_what_feast_returns_for_every_model_feature(
    tmp_path: Path, redis_database: RedisDatabase
) -> None:
    redis = RedisSettings(host=redis_database.host, port=redis_database.port, db=redis_database.db)
    store, settings = local_store(tmp_path, redis=redis, project="scoring_test")

    def write(view: str, rows: list[dict[str, object]]) -> None:
        store.write_to_online_store(view, pd.DataFrame([{**row, "event_timestamp": NOW} for row in rows]))

    realtime = ("user_id", "user_txn_count_1h", "user_txn_amount_1h", "user_distinct_events_1h", "user_avg_amount_24h")
    write(
        "user_realtime_fraud_features",
        [
            dict(zip(realtime, ("u1", 4, 410.5, 2, 88.0), strict=True)),
            dict(zip(realtime, ("u2", 0, 0.0, 0, None), strict=True)),
        ],
    )
    write("user_purchase_behavior", [
        {"user_id": "u1", "lifetime_purchases": 31, "fraud_risk_score": 0.02, "preferred_category": "concert"},
    ])
    write("event_realtime_metrics", [
        {"event_id": "e1", "current_inventory": 96, "sell_through_rate_5min": 0.01, "concurrent_viewers": 3},
    ])
    historical = ("event_id", "promoter_id", "total_tickets_sold", "avg_ticket_price", "promoter_success_rate")
    write(
        "event_historical_metrics",
        [
            dict(zip(historical, ("e1", "p1", 400, 55.0, 0.7), strict=True)),
            dict(zip(historical, ("e1", "p2", 1, 9.0, 0.1), strict=True)),
        ],
    )
    entities = [
        entity_row(user_id="u1", event_id="e1", promoter_id="p1"),
        entity_row(user_id="u2", event_id="e1", promoter_id="p2"),
        entity_row(user_id="u9", event_id="e9", promoter_id="p1"),
    ]
    feast = store.get_online_features(features=list(FRAUD_MODEL_FEATURES), entity_rows=entities).to_dict()

    refs = [FeatureRef(*ref.split(":")) for ref in FRAUD_MODEL_FEATURES]
    read = RedisFeatureReader(redis, project=settings.project).read(entities, refs)
    assert not read.degraded
    for ref in refs:
        assert [row[ref] for row in read.rows] == feast[ref.name], ref.ref
    assert read.rows[0][FeatureRef("event_historical_metrics", "promoter_success_rate")] == 0.7
    assert read.rows[1][FeatureRef("event_historical_metrics", "promoter_success_rate")] == 0.1
