"""The contract between a trained model and whoever scores with it: the ordered feature list, the fixed
category lists, the decision threshold, and how to load the champion.

Serving imports this module, so it may import only mlflow (skinny), xgboost, numpy and pandas."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskloop_config.settings import MlflowSettings

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

METADATA_ARTIFACT = "riskloop_model.json"
# The metadata also travels inside the logged model (MLmodel `metadata`), so one download serves both.
MLMODEL_METADATA_KEY = "riskloop"
PREVIOUS_CHAMPION_TAG = "riskloop.previous_champion"
PREVIOUS_CHAMPION_ALIAS = "previous-champion"


class NoChampion(LookupError):
    """The registered model has no version under the champion alias (or does not exist yet)."""


class NotARiskloopModel(ValueError):
    """A registered version that lacks the riskloop metadata (logged by something else)."""


class IncompatibleFeatures(ValueError):
    """A frame to score lacks columns the model was trained on."""


@dataclass(frozen=True)
class TrainingWindow:
    start: str
    end: str


@dataclass(frozen=True)
class ModelMetadata:
    """Everything needed to turn a raw row into the model's input, and its score into a decision."""

    feature_names: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    threshold: float
    target_fpr: float | None
    label: str
    data_fingerprint: str
    training_window: TrainingWindow | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature_names": list(self.feature_names),
            "categories": {column: list(values) for column, values in self.categories.items()},
            "threshold": float(self.threshold),
            "target_fpr": None if self.target_fpr is None else float(self.target_fpr),
            "training_window": asdict(self.training_window) if self.training_window else None,
            "data_fingerprint": self.data_fingerprint,
            "label": self.label,
            "metrics": {name: float(value) for name, value in self.metrics.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ModelMetadata:
        window = raw.get("training_window")
        return cls(
            feature_names=tuple(raw["feature_names"]),
            categories={column: tuple(str(v) for v in values) for column, values in raw["categories"].items()},
            threshold=float(raw["threshold"]),
            target_fpr=None if raw.get("target_fpr") is None else float(raw["target_fpr"]),
            label=str(raw["label"]),
            data_fingerprint=str(raw["data_fingerprint"]),
            training_window=TrainingWindow(str(window["start"]), str(window["end"])) if window else None,
            metrics={name: float(value) for name, value in (raw.get("metrics") or {}).items()},
        )

    @classmethod
    def from_json(cls, text: str) -> ModelMetadata:
        return cls.from_dict(json.loads(text))


def encode_features(
    frame: pd.DataFrame, *, feature_names: Sequence[str], categories: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """The model input: the trained columns in trained order, categoricals as pandas categories with the
    FIXED trained category list (unseen values become missing), numerics as float."""
    missing = [name for name in feature_names if name not in frame.columns]
    if missing:
        raise IncompatibleFeatures(f"missing feature columns: {', '.join(missing)}")
    columns: dict[str, pd.Series] = {}
    for name in feature_names:
        column = frame[name]
        if name in categories:
            # Same codes as training regardless of which values this frame happens to contain.
            as_text = column.astype("object").where(column.notna(), None)
            as_text = as_text.map(lambda v: None if v is None else str(v))
            columns[name] = pd.Series(pd.Categorical(as_text, categories=list(categories[name])), index=frame.index)
        else:
            columns[name] = pd.to_numeric(column, errors="coerce").astype("float64")
    return pd.DataFrame(columns, index=frame.index)


@dataclass(frozen=True)
class LoadedModel:
    """A registered model version ready to score raw frames."""

    booster: Any  # xgboost.Booster; typed loosely so importing this module stays cheap
    metadata: ModelMetadata
    version: str
    run_id: str | None = None

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        return encode_features(frame, feature_names=self.metadata.feature_names, categories=self.metadata.categories)

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Fraud probabilities for raw rows."""
        import xgboost as xgb

        matrix = xgb.DMatrix(self.prepare(frame), enable_categorical=True)
        return np.asarray(self.booster.predict(matrix), dtype="float64")

    def decide(self, frame: pd.DataFrame) -> np.ndarray:
        """True where the score reaches the stored threshold."""
        return self.score(frame) >= self.metadata.threshold


def registry_client(settings: MlflowSettings) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.registry_uri or settings.tracking_uri)


def load_model_version(settings: MlflowSettings, version: str, *, client: Any = None) -> LoadedModel:
    """Download one registered version and rebuild its booster and metadata (no sklearn needed)."""
    import tempfile

    from mlflow.models import Model

    client = client or registry_client(settings)
    model_version = client.get_model_version(settings.model_name, str(version))
    with tempfile.TemporaryDirectory(prefix="riskloop-model-") as scratch:
        local = Path(_download_model(client, model_version, scratch, settings))
        mlmodel = Model.load(str(local / "MLmodel"))
        flavor = mlmodel.flavors["xgboost"]
        booster = _trained_rounds(str(local / flavor["data"]))
        raw = (mlmodel.metadata or {}).get(MLMODEL_METADATA_KEY)
        if raw is None:
            raise NotARiskloopModel(
                f"version {model_version.version} of {settings.model_name} carries no riskloop metadata"
            )
    return LoadedModel(
        booster=booster,
        metadata=ModelMetadata.from_dict(raw),
        version=str(model_version.version),
        run_id=model_version.run_id,
    )


def _trained_rounds(path: str) -> Any:
    """The booster cut at its early-stopping best round: the saved file also holds the rounds trained
    after it, which XGBoost's sklearn wrapper skips at predict time and a bare Booster would not."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(path)
    best = booster.attr("best_iteration")
    if best is not None and int(best) + 1 < booster.num_boosted_rounds():
        booster = booster[: int(best) + 1]
    return booster


def _download_model(client: Any, model_version: Any, destination: str, settings: MlflowSettings) -> str:
    import mlflow.artifacts

    # Resolve the artifact location through this client rather than a `models:/` URI, which MLflow would
    # resolve against the process-global registry URI.
    model_id = getattr(model_version, "model_id", None)
    source = str(model_version.source or "")
    if not model_id and source.startswith("models:/m-"):
        model_id = source.removeprefix("models:/")
    location = client.get_logged_model(model_id).artifact_location if model_id else model_version.source
    return mlflow.artifacts.download_artifacts(
        artifact_uri=location, dst_path=destination, tracking_uri=settings.tracking_uri
    )


def champion_version(settings: MlflowSettings, *, client: Any = None) -> str:
    """The version number under the champion alias; `NoChampion` if none."""
    from mlflow.exceptions import MlflowException

    client = client or registry_client(settings)
    try:
        return str(client.get_model_version_by_alias(settings.model_name, settings.champion_alias).version)
    except MlflowException as exc:
        raise NoChampion(f"registered model {settings.model_name!r} has no {settings.champion_alias!r} alias") from exc


def load_champion(settings: MlflowSettings, *, client: Any = None) -> LoadedModel:
    """The model serving should use: the version under `settings.champion_alias`."""
    client = client or registry_client(settings)
    return load_model_version(settings, champion_version(settings, client=client), client=client)
