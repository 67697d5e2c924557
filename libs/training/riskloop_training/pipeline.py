"""The training entry point: a labelled table in, a registered (and maybe promoted) model version out.

Heavy (optuna, scikit-learn, matplotlib): import it as `riskloop_training.pipeline`, not from the package
root, which the serving resolve imports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from riskloop_config.settings import FraudApiSettings, MlflowSettings
from riskloop_training.dataset import LabelledTable, prepare_table
from riskloop_training.metrics import HoldoutMetrics, ThresholdRule, calibration_table, holdout_metrics
from riskloop_training.model_contract import (
    IncompatibleFeatures,
    LoadedModel,
    ModelMetadata,
    NoChampion,
    NotARiskloopModel,
    load_champion,
    registry_client,
)
from riskloop_training.registry import AliasMove, GateDecision, GatePolicy, evaluate_gates, promote, register_candidate
from riskloop_training.reload import ReloadOutcome, request_reload
from riskloop_training.search import SearchConfig, SearchResult, refit, search
from riskloop_training.splits import Split, SplitKind, split_table
from riskloop_training.tracking import log_training_run


@dataclass(frozen=True)
class TrainingRequest:
    label: str
    time_column: str | None = None
    split: SplitKind | None = None  # None: time when time_column is given, else stratified
    validation_fraction: float = 0.2
    # Share of the training part the search tunes and early-stops on; the model is then refit on all of it.
    tuning_fraction: float = 0.2
    drop_columns: tuple[str, ...] = ()
    search: SearchConfig = SearchConfig()
    threshold: ThresholdRule = ThresholdRule()
    gates: GatePolicy = field(default_factory=GatePolicy)
    promote: bool = True  # False: register and report the gate decision, never move the alias


@dataclass(frozen=True)
class TrainingOutcome:
    version: str
    run_id: str
    metrics: HoldoutMetrics
    metadata: ModelMetadata
    decision: GateDecision
    promoted: bool
    search: SearchResult
    split: Split
    alias_move: AliasMove | None = None
    reload: ReloadOutcome | None = None


def _champion_metrics(champion: LoadedModel, split: Split, table: LabelledTable, rule: ThresholdRule) -> HoldoutMetrics:
    # The champion scores the challenger's own holdout rows, through its own feature contract.
    scores = champion.score(split.validation)
    return holdout_metrics(table.labels(split.validation), scores, rule=rule)


def _raw_example(split: Split, table: LabelledTable, rows: int = 5) -> pd.DataFrame:
    # Categoricals as text and numerics as float: what callers hold, and integers in an MLflow schema
    # could not carry the missing values serving may see.
    example = split.validation[list(table.feature_names)].head(rows).reset_index(drop=True)
    columns = {
        name: (
            example[name].astype("object").map(lambda v: None if pd.isna(v) else str(v))
            if name in table.categories
            else example[name].astype("float64")
        )
        for name in table.feature_names
    }
    return pd.DataFrame(columns)


def train_and_register(
    frame: pd.DataFrame,
    request: TrainingRequest,
    *,
    mlflow_settings: MlflowSettings,
    fraud_api: FraudApiSettings | None = None,
    client: Any = None,
    reload: Callable[[FraudApiSettings], ReloadOutcome] = request_reload,
) -> TrainingOutcome:
    """Split (train / holdout, and a tuning slice of train), search, refit, evaluate on the holdout, log,
    register, gate against the champion and, when the gates pass and `request.promote` is set, move the
    champion alias and ask the fraud service (when `fraud_api` is given) to reload. A failed reload is in
    the outcome; it does not undo the promotion."""
    client = client or registry_client(mlflow_settings)
    table = prepare_table(
        frame, label=request.label, time_column=request.time_column, drop_columns=request.drop_columns
    )
    split = split_table(
        table, kind=request.split, validation_fraction=request.validation_fraction, seed=request.search.seed
    )
    # The search and its early stopping see a tuning slice carved from the training part (its latest
    # period, for a time split), never the holdout: the holdout then scores challenger and champion
    # alike, without the challenger having been selected on it.
    tuning = split_table(
        replace(table, frame=split.train),
        kind=split.kind,
        validation_fraction=request.tuning_fraction,
        seed=request.search.seed,
    )
    result = search(
        table.features(tuning.train),
        table.labels(tuning.train),
        table.features(tuning.validation),
        table.labels(tuning.validation),
        config=request.search,
    )
    train_x, valid_x = table.features(split.train), table.features(split.validation)
    train_y, valid_y = table.labels(split.train), table.labels(split.validation)
    # Refit on the whole training part (tuning slice included, it is the most recent data) for the
    # number of rounds early stopping chose.
    model = refit(result, train_x, train_y, config=request.search)
    scores = model.predict_proba(valid_x)[:, 1].astype("float64")
    metrics = holdout_metrics(valid_y, scores, rule=request.threshold)
    metadata = ModelMetadata(
        feature_names=table.feature_names,
        categories=table.categories,
        threshold=metrics.threshold,
        target_fpr=request.threshold.target_fpr,
        label=table.label,
        data_fingerprint=table.fingerprint,
        training_window=split.training_window,
        metrics=metrics.headline(),
    )

    champion_metrics: dict[str, float] | None = None
    decision_note = ""
    try:
        champion: LoadedModel | None = load_champion(mlflow_settings, client=client)
    except NoChampion:
        champion = None
    except NotARiskloopModel as exc:
        # A champion this library cannot score (logged by other means): floors only, and say so.
        champion, decision_note = None, f" (champion not comparable: {exc})"
    if champion is not None:
        try:
            champion_metrics = _champion_metrics(champion, split, table, request.threshold).as_dict()
        except IncompatibleFeatures as exc:
            # A changed feature set cannot be compared on these rows; the floors still apply.
            decision_note = f" (champion v{champion.version} not comparable: {exc})"
    decision = evaluate_gates(
        request.gates,
        metrics.as_dict(),
        champion=champion_metrics,
        champion_version=champion.version if champion is not None and champion_metrics is not None else None,
    )
    if decision_note:
        decision = GateDecision(
            promote=decision.promote,
            reason=decision.reason + decision_note,
            challenger_metrics=decision.challenger_metrics,
        )

    params: dict[str, Any] = {
        **result.params,
        "best_iteration": result.best_iteration,
        "split": split.kind.value,
        "validation_fraction": request.validation_fraction,
        "tuning_fraction": request.tuning_fraction,
        "tuning_pr_auc": result.best_score,
        "seed": request.search.seed,
        "trials_requested": request.search.trials,
        "trials_completed": result.trials_completed,
        "trials_pruned": result.trials_pruned,
        "target_fpr": request.threshold.target_fpr,
        "cost_ratio": request.threshold.cost_ratio,
        "label": table.label,
        "feature_count": len(table.feature_names),
        "train_rows": len(split.train),
        "tuning_rows": len(tuning.validation),
        "validation_rows": len(split.validation),
    }
    tags = {
        "riskloop.label": table.label,
        "riskloop.data_fingerprint": table.fingerprint,
        "riskloop.threshold": f"{metrics.threshold:.6g}",
        "riskloop.split": split.kind.value,
        "riskloop.gate": "pass" if decision.promote else "reject",
        "riskloop.gate_reason": decision.reason[:5000],
    }
    if split.training_window is not None:
        tags["riskloop.training_window_start"] = split.training_window.start
        tags["riskloop.training_window_end"] = split.training_window.end
    tracked = log_training_run(
        mlflow_settings,
        model=model,
        metadata=metadata,
        metrics=metrics,
        params=params,
        tags=tags,
        validation_x=valid_x,
        validation_y=valid_y,
        validation_scores=scores,
        calibration=calibration_table(valid_y, scores),
        raw_input_example=_raw_example(split, table),
    )
    version = register_candidate(
        mlflow_settings,
        model_uri=tracked.model_uri,
        run_id=tracked.run_id,
        tags={"riskloop.gate": tags["riskloop.gate"], "riskloop.gate_reason": tags["riskloop.gate_reason"]},
        client=client,
    )
    alias_move: AliasMove | None = None
    reload_outcome: ReloadOutcome | None = None
    promoted = decision.promote and request.promote
    if promoted:
        alias_move = promote(mlflow_settings, version, client=client)
        if fraud_api is not None:
            reload_outcome = reload(fraud_api)
    return TrainingOutcome(
        version=version,
        run_id=tracked.run_id,
        metrics=metrics,
        metadata=metadata,
        decision=decision,
        promoted=promoted,
        search=result,
        split=split,
        alias_move=alias_move,
        reload=reload_outcome,
    )
