from __future__ import annotations

import math

import pytest

from riskloop_scoring.online import FeatureRef
from riskloop_scoring.vectors import UnresolvableFeature, VectorPlan


def test_features_resolve_to_request_fields_and_online_refs() -> None:
    plan = VectorPlan.for_model(
        [
            "amount",
            "user_txn_count_1h",
            "event_realtime_metrics:current_inventory",
            "user_purchase_behavior__lifetime_purchases",
        ],
        {},
    )
    assert [s.request_field for s in plan.sources] == ["amount", None, None, None]
    assert plan.online_refs == (
        FeatureRef("user_realtime_fraud_features", "user_txn_count_1h"),
        FeatureRef("event_realtime_metrics", "current_inventory"),
        FeatureRef("user_purchase_behavior", "lifetime_purchases"),
    )


def test_unknown_and_ambiguous_features_are_refused() -> None:
    with pytest.raises(UnresolvableFeature, match="no_such_feature"):
        VectorPlan.for_model(["no_such_feature"], {})
    with pytest.raises(UnresolvableFeature, match="ambiguous"):
        VectorPlan.for_model(["x"], {}, known_online=("a:x", "b:x"))


def test_vectors_follow_the_model_order_and_encode_categories() -> None:
    plan = VectorPlan.for_model(
        ["payment_method", "user_txn_count_1h", "amount", "preferred_category"],
        {"payment_method": ["card", "paypal"], "preferred_category": ["comedy", "concert"]},
    )
    count = FeatureRef("user_realtime_fraud_features", "user_txn_count_1h")
    category = FeatureRef("user_purchase_behavior", "preferred_category")
    matrix, missing, raw = plan.build(
        [
            {"payment_method": "paypal", "amount": 12.5},
            {"payment_method": "crypto", "amount": 1.0},  # unseen category: NaN, but not missing
        ],
        [{count: 4, category: "concert"}, {count: None, category: None}],
    )
    assert matrix[0].tolist() == [1.0, 4.0, 12.5, 1.0]
    assert math.isnan(matrix[1, 0]) and math.isnan(matrix[1, 1]) and matrix[1, 2] == 1.0
    assert missing == [[], ["user_txn_count_1h", "preferred_category"]]
    assert raw[1] == ["crypto", None, 1.0, None]
    assert plan.feature_types == ("c", "q", "q", "c")
