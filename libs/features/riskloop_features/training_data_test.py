from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from riskloop_features import (
    EmptyTrainingSet,
    LabelPolicy,
    compute_feature_tables,
    label_transactions,
    training_frame,
    write_offline_tables,
)
from riskloop_features.testing_events import (
    CATALOG,
    T0,
    Purchase,
    catalog_table,
    chargebacks_table,
    local_store,
    transactions_table,
)

CUTOFF = T0 + timedelta(days=40)
PURCHASES = [
    Purchase("old_legit", T0, "u1", "e1"),
    Purchase("old_fraud", T0 + timedelta(hours=1), "u2", "e1"),
    Purchase("young_legit", CUTOFF - timedelta(days=3), "u1", "e2"),
    Purchase("young_fraud", CUTOFF - timedelta(days=2), "u2", "e2"),
    Purchase("fraud_known_late", T0 + timedelta(hours=2), "u3", "e1"),
    Purchase("after_cutoff", CUTOFF + timedelta(hours=1), "u1", "e1"),
]
CHARGEBACKS = [
    ("old_fraud", "u2", T0 + timedelta(days=20)),
    ("young_fraud", "u2", CUTOFF - timedelta(days=1)),
    ("fraud_known_late", "u3", CUTOFF + timedelta(seconds=1)),
]


def labels(policy: LabelPolicy) -> dict[str, int]:
    table = label_transactions(transactions_table(PURCHASES), chargebacks_table(CHARGEBACKS), policy)
    return dict(zip(table.column("transaction_id").to_pylist(), table.column("label").to_pylist(), strict=True))


def test_immature_transactions_without_chargeback_are_excluded() -> None:
    got = labels(LabelPolicy(cutoff=CUTOFF))
    assert got == {"old_legit": 0, "old_fraud": 1, "fraud_known_late": 0, "young_fraud": 1}


def test_chargeback_after_the_cutoff_does_not_label() -> None:
    # Mature and charged back, but the chargeback arrived after the cutoff: legit as far as we knew then.
    assert labels(LabelPolicy(cutoff=CUTOFF))["fraud_known_late"] == 0
    assert labels(LabelPolicy(cutoff=CUTOFF + timedelta(seconds=1)))["fraud_known_late"] == 1


def test_immature_chargeback_after_the_cutoff_excludes_the_transaction() -> None:
    got = labels(LabelPolicy(cutoff=CUTOFF - timedelta(days=1, seconds=1)))
    assert "young_fraud" not in got and "young_legit" not in got


def test_shorter_maturity_admits_younger_legit_transactions() -> None:
    assert labels(LabelPolicy(cutoff=CUTOFF, maturity=timedelta(days=2)))["young_legit"] == 0


def test_training_frame_joins_features_without_the_label_leaking(tmp_path: Path) -> None:
    store, settings = local_store(tmp_path)
    tables = compute_feature_tables(
        transactions_table(PURCHASES), chargebacks_table(CHARGEBACKS), catalog_table(CATALOG)
    )
    write_offline_tables(tables, settings.offline_root)
    frame = training_frame(
        store, transactions_table(PURCHASES), chargebacks_table(CHARGEBACKS), LabelPolicy(cutoff=CUTOFF)
    )
    assert list(frame["transaction_id"]) == ["old_legit", "old_fraud", "fraud_known_late", "young_fraud"]
    by_id = frame.set_index("transaction_id")
    # old_fraud is u2's first purchase: it never sees itself, so it has no user history at all.
    assert pd.isna(by_id.loc["old_fraud", "user_txn_count_1h"])
    assert pd.isna(by_id.loc["old_fraud", "lifetime_purchases"])
    # young_fraud is u2's second purchase; old_fraud's chargeback was known by then, its own was not.
    assert by_id.loc["young_fraud", "lifetime_purchases"] == 1
    assert by_id.loc["young_fraud", "fraud_risk_score"] == pytest.approx((1 + 0.2) / (1 + 10))


def test_no_mature_label_is_an_error(tmp_path: Path) -> None:
    store, _ = local_store(tmp_path)
    with pytest.raises(EmptyTrainingSet):
        training_frame(store, transactions_table(PURCHASES), chargebacks_table([]), LabelPolicy(cutoff=T0))
