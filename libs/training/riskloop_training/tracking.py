"""MLflow run logging: params, metrics, figures, importance, the model and its metadata JSON."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import xgboost as xgb

from riskloop_config.settings import MlflowSettings
from riskloop_training import plots
from riskloop_training.metrics import HoldoutMetrics
from riskloop_training.model_contract import METADATA_ARTIFACT, MLMODEL_METADATA_KEY, ModelMetadata


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    experiment_id: str
    model_uri: str


@contextlib.contextmanager
def mlflow_target(settings: MlflowSettings) -> Iterator[None]:
    """Point MLflow's fluent API (which `log_model` needs) at `settings`, restoring the previous target
    afterwards so a library call leaves no global state behind."""
    previous_tracking, previous_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri or settings.tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous_tracking)
        mlflow.set_registry_uri(previous_registry)


def ensure_experiment(settings: MlflowSettings) -> str:
    """The experiment id, creating the experiment (at `artifact_location` when set) on first use."""
    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri)
    existing = client.get_experiment_by_name(settings.experiment_name)
    if existing is not None:
        return str(existing.experiment_id)
    location = settings.artifact_location
    if location and "://" not in location:
        # A bare folder (the local preset) must be absolute: MLflow resolves it in whichever process reads.
        location = Path(location).resolve().as_uri()
    return str(client.create_experiment(settings.experiment_name, artifact_location=location))


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    import logging

    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def feature_importance(model: xgb.XGBClassifier) -> dict[str, float]:
    gains = model.get_booster().get_score(importance_type="gain")
    # Plain per-feature floats for a single-output model; features no tree split on score 0.
    return {
        name: float(value) if not isinstance(value := gains.get(name, 0.0), list) else float(sum(value))
        for name in model.get_booster().feature_names or []
    }


def log_training_run(
    settings: MlflowSettings,
    *,
    model: xgb.XGBClassifier,
    metadata: ModelMetadata,
    metrics: HoldoutMetrics,
    params: Mapping[str, Any],
    tags: Mapping[str, str],
    validation_x: pd.DataFrame,
    validation_y: np.ndarray,
    validation_scores: np.ndarray,
    calibration: pd.DataFrame,
    raw_input_example: pd.DataFrame,
    run_name: str | None = None,
) -> TrackedRun:
    """One MLflow run holding everything needed to audit and serve the candidate."""
    from mlflow.models import infer_signature

    experiment_id = ensure_experiment(settings)
    importance = feature_importance(model)
    with mlflow_target(settings), mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.log_params({name: value for name, value in params.items()})
        mlflow.log_metrics(metrics.as_dict())
        mlflow.set_tags(dict(tags))
        mlflow.log_dict(metadata.to_dict(), METADATA_ARTIFACT)
        mlflow.log_dict(importance, "feature_importance.json")
        mlflow.log_text(calibration.to_csv(index=False), "calibration.csv")
        with tempfile.TemporaryDirectory(prefix="riskloop-plots-") as scratch:
            figures = {
                "pr_curve.png": plots.pr_curve_png(validation_y, validation_scores, pr_auc=metrics.pr_auc),
                "roc_curve.png": plots.roc_curve_png(
                    validation_y, validation_scores, roc_auc=metrics.roc_auc, target_fpr=metrics.target_fpr
                ),
                "calibration.png": plots.calibration_png(calibration),
                "feature_importance.png": plots.importance_png(importance),
            }
            for name, png in figures.items():
                path = Path(scratch) / name
                path.write_bytes(png)
                mlflow.log_artifact(str(path), artifact_path="plots")
        # The signature describes raw rows (categoricals as strings), as callers hold them; serving encodes
        # them through model_contract.encode_features. MLflow's generic pyfunc check cannot do that
        # encoding and would only log a misleading warning, so that logger is quietened meanwhile.
        signature = infer_signature(raw_input_example, validation_scores[: len(raw_input_example)])
        with _quiet("mlflow.models.model"):
            info = mlflow.xgboost.log_model(
                model,
                name="model",
                signature=signature,
                input_example=raw_input_example,
                metadata={MLMODEL_METADATA_KEY: metadata.to_dict()},
                pip_requirements=[
                    f"xgboost=={xgb.__version__}",
                    f"pandas=={pd.__version__}",
                    f"numpy=={np.__version__}",
                ],
            )
    return TrackedRun(run_id=run.info.run_id, experiment_id=experiment_id, model_uri=info.model_uri)
