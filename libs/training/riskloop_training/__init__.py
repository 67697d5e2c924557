"""riskloop-training: dataset split, search, metrics, MLflow logging and registry gates.

The package root imports only mlflow, xgboost, numpy and pandas (the model contract, data preparation,
splits, registry gates and rollback), so the serving resolve can import it. The training path needs
optuna, scikit-learn and matplotlib and is imported explicitly:

    from riskloop_training.pipeline import TrainingRequest, train_and_register
"""

from __future__ import annotations

from riskloop_training.dataset import InvalidTrainingData, LabelledTable, prepare_table, read_table
from riskloop_training.model_contract import (
    METADATA_ARTIFACT,
    IncompatibleFeatures,
    LoadedModel,
    ModelMetadata,
    NoChampion,
    NotARiskloopModel,
    TrainingWindow,
    champion_version,
    encode_features,
    load_champion,
    load_model_version,
)
from riskloop_training.registry import (
    AliasMove,
    GateDecision,
    GatePolicy,
    GateRejected,
    NoPreviousChampion,
    evaluate_gates,
    promote,
    register_candidate,
    rollback,
)
from riskloop_training.reload import ReloadOutcome, request_reload
from riskloop_training.splits import Split, SplitKind, split_table

__all__ = [
    "METADATA_ARTIFACT",
    "AliasMove",
    "GateDecision",
    "GatePolicy",
    "GateRejected",
    "IncompatibleFeatures",
    "InvalidTrainingData",
    "LabelledTable",
    "LoadedModel",
    "ModelMetadata",
    "NoChampion",
    "NoPreviousChampion",
    "NotARiskloopModel",
    "ReloadOutcome",
    "Split",
    "SplitKind",
    "TrainingWindow",
    "champion_version",
    "encode_features",
    "evaluate_gates",
    "load_champion",
    "load_model_version",
    "prepare_table",
    "promote",
    "read_table",
    "register_candidate",
    "request_reload",
    "rollback",
    "split_table",
]
