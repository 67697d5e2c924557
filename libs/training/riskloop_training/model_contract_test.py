from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskloop_training.model_contract import (
    IncompatibleFeatures,
    ModelMetadata,
    TrainingWindow,
    encode_features,
)


def test_categories_encode_identically_whatever_values_a_frame_holds() -> None:
    categories = {"country": ("DE", "FR", "US")}
    only_us = encode_features(
        pd.DataFrame({"country": ["US"], "x": [1]}), feature_names=["x", "country"], categories=categories
    )
    all_three = encode_features(
        pd.DataFrame({"country": ["FR", "US", "DE"], "x": [1, 2, 3]}),
        feature_names=["x", "country"],
        categories=categories,
    )
    assert list(only_us.columns) == ["x", "country"]
    assert only_us["country"].cat.codes.tolist() == [2]
    assert all_three["country"].cat.codes.tolist() == [1, 2, 0]
    unseen = encode_features(
        pd.DataFrame({"country": ["ZZ"], "x": [1]}), feature_names=["x", "country"], categories=categories
    )
    assert unseen["country"].isna().all()
    assert only_us["x"].dtype == np.float64


def test_a_frame_missing_a_trained_column_is_refused_by_name() -> None:
    with pytest.raises(IncompatibleFeatures, match="amount"):
        encode_features(pd.DataFrame({"x": [1]}), feature_names=["x", "amount"], categories={})


def test_metadata_round_trips_through_json() -> None:
    metadata = ModelMetadata(
        feature_names=("amount", "country"),
        categories={"country": ("DE", "FR")},
        threshold=0.73,
        target_fpr=0.01,
        label="is_fraud",
        data_fingerprint="ab" * 32,
        training_window=TrainingWindow("2026-01-01T00:00:00+00:00", "2026-01-24T00:00:00+00:00"),
        metrics={"pr_auc": 0.5},
    )
    assert ModelMetadata.from_json(metadata.to_json()) == metadata
    assert set(metadata.to_dict()) == {
        "feature_names",
        "categories",
        "threshold",
        "target_fpr",
        "training_window",
        "data_fingerprint",
        "label",
        "metrics",
    }


def test_the_package_root_imports_without_the_training_only_stack() -> None:
    """The 'serving' resolve has mlflow-skinny and xgboost but no optuna, scikit-learn or matplotlib:
    importing the package root (the model contract, registry, rollback) must not need them."""
    import os
    import subprocess
    import sys

    program = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {"sklearn", "optuna", "matplotlib"}:
            raise ImportError("not in the serving resolve: " + name)
sys.meta_path.insert(0, Block())
import riskloop_training
from riskloop_training import load_champion, rollback, encode_features
print(len(riskloop_training.__all__))
"""
    path = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
    completed = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, "MLFLOW_DISABLE_TELEMETRY": "true"},
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
