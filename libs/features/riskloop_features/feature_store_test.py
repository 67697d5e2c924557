"""Feast end to end: apply, point-in-time retrieval without leakage, and the online path through the real
Redis online store with the SQL registry on the real PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from riskloop_config.settings import FeastSettings, RedisSettings
from riskloop_features import (
    FRAUD_MODEL_FEATURES,
    USER_REALTIME_WINDOWS,
    StreamingWindowAggregator,
    compute_feature_tables,
    entity_row,
    feature_definitions,
    feature_store,
    historical_features,
    run_feature_engineering,
    value_as_of,
    write_offline_tables,
)
from riskloop_features.testing_events import (
    CATALOG,
    T0,
    Purchase,
    catalog_table,
    chargebacks_table,
    local_store,
    project_name,
    transactions_table,
)
from riskloop_features.transactions import TIMESTAMP

US = timedelta(microseconds=1)
PROBE = T0 + timedelta(hours=5)
BASE = [
    Purchase("a", T0 + timedelta(hours=1), "u1", "e1", amount=50.0),
    Purchase("b", T0 + timedelta(hours=4, minutes=30), "u1", "e2", amount=20.0),
    Purchase("c", T0 + timedelta(hours=4, minutes=58), "u1", "e1", amount=5.0, tickets=2),
    Purchase("d", T0 + timedelta(hours=4, minutes=59), "u2", "e1", amount=7.0),
]


def features_at(store, settings, purchases, chargebacks=()) -> dict[str, object]:  # type: ignore[no-untyped-def]
    tables = compute_feature_tables(
        transactions_table(purchases), chargebacks_table(chargebacks), catalog_table(CATALOG)
    )
    write_offline_tables(tables, settings.offline_root)
    row = {**entity_row(user_id="u1", event_id="e1", promoter_id="p1"), "event_timestamp": PROBE, "transaction_id": "x"}
    rows = pa.Table.from_pylist(
        [row],
        schema=pa.schema(
            [
                ("user_id", pa.string()),
                ("event_id", pa.string()),
                ("promoter_id", pa.string()),
                ("event_timestamp", TIMESTAMP),
                ("transaction_id", pa.string()),
            ]
        ),
    )
    frame = historical_features(store, rows)
    return {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].to_dict().items() if k in _names()}


def _names() -> list[str]:
    return [reference.split(":")[1] for reference in FRAUD_MODEL_FEATURES]


def test_apply_registers_every_view_and_the_fraud_service(tmp_path: Path) -> None:
    store, _ = local_store(tmp_path)
    assert sorted(v.name for v in store.list_feature_views()) == [
        "event_historical_metrics",
        "event_realtime_metrics",
        "user_purchase_behavior",
        "user_realtime_fraud_features",
    ]
    service = store.get_feature_service("fraud_model_v1")
    references = [f"{p.name}:{f.name}" for p in service.feature_view_projections for f in p.features]
    assert references == list(FRAUD_MODEL_FEATURES)
    for view in store.list_feature_views():
        assert view.description and view.owner and view.tags and view.ttl


def test_historical_features_see_only_events_before_t(tmp_path: Path) -> None:
    store, settings = local_store(tmp_path)
    base = features_at(store, settings, BASE)
    assert base["user_txn_count_1h"] == 2 and base["user_txn_amount_1h"] == pytest.approx(25.0)
    assert base["lifetime_purchases"] == 3 and base["current_inventory"] == 100 - 4
    assert base["concurrent_viewers"] == 2

    at_t = features_at(store, settings, [*BASE, Purchase("late", PROBE, "u1", "e1", amount=999.0)])
    after_t = features_at(store, settings, [*BASE, Purchase("later", PROBE + US, "u1", "e1", amount=999.0)])
    assert at_t == base and after_t == base

    changed = [replace(p, amount=p.amount + 1) if p.transaction_id == "c" else p for p in BASE]
    assert features_at(store, settings, changed)["user_txn_amount_1h"] == pytest.approx(26.0)

    known_later = features_at(store, settings, BASE, [("a", "u1", PROBE)])
    known_before = features_at(store, settings, BASE, [("a", "u1", PROBE - US)])
    assert known_later == base
    assert known_before["fraud_risk_score"] > base["fraud_risk_score"]


def test_online_features_through_redis_and_the_sql_registry(
    tmp_path: Path,
    redis_database,
    postgres_database,  # type: ignore[no-untyped-def]
) -> None:
    settings = FeastSettings(
        project=project_name(),
        online_store="redis",
        registry=postgres_database.dsn(driver="postgresql+psycopg"),
        offline_root=str(tmp_path / "offline"),
        repo_path=tmp_path,
    )
    redis = RedisSettings(host=redis_database.host, port=redis_database.port, db=redis_database.db)
    store = feature_store(settings, redis=redis)
    store.apply(feature_definitions(settings.offline_root).objects())

    raw = tmp_path / "raw"
    purchases = [*BASE, Purchase("future", PROBE + timedelta(minutes=1), "u1", "e1", amount=999.0)]
    table = transactions_table(purchases)
    (raw / "transactions" / "dt=2026-03-01").mkdir(parents=True)
    (raw / "event_catalog").mkdir(parents=True)
    import pyarrow.parquet as pq

    pq.write_table(table, raw / "transactions" / "dt=2026-03-01" / "part-0.parquet")
    pq.write_table(catalog_table(CATALOG), raw / "event_catalog" / "catalog.parquet")

    report = run_feature_engineering(raw_root=str(raw), offline_root=settings.offline_root, as_of=PROBE, store=store)
    assert report.transactions == len(BASE)  # the purchase after as_of is not read
    online = store.get_online_features(
        features=list(FRAUD_MODEL_FEATURES), entity_rows=[entity_row(user_id="u1", event_id="e1", promoter_id="p1")]
    ).to_dict()
    tables = compute_feature_tables(transactions_table(BASE), chargebacks_table([]), catalog_table(CATALOG))
    expected = value_as_of(tables.user_realtime_fraud_features, "user_id", "u1", PROBE)
    assert online["user_txn_count_1h"] == [expected["user_txn_count_1h"]] == [2]
    assert online["user_txn_amount_1h"] == [pytest.approx(25.0)]
    assert online["lifetime_purchases"] == [3]
    assert online["current_inventory"] == [96]

    # The stream worker's path: aggregator rows pushed through the push source replace the batch values.
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS)
    aggregator.add(table)
    later = PROBE + timedelta(minutes=2)
    pushed = aggregator.features_as_of(later).to_pandas()
    store.push("user_realtime_fraud_features_push_source", pushed)
    online = store.get_online_features(
        features=[f for f in FRAUD_MODEL_FEATURES if f.startswith("user_realtime")],
        entity_rows=[entity_row(user_id="u1", event_id="e1", promoter_id="p1")],
    ).to_dict()
    assert online["user_txn_count_1h"] == [3]
    assert online["user_txn_amount_1h"] == [pytest.approx(1024.0)]
