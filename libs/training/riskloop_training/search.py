"""Hyper-parameter search: Optuna TPE (seeded) over the XGBoost knobs that matter for rare-event
classification, with pruning on intermediate validation PR-AUC, a trial and a time budget, and early
stopping on the validation set."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
import xgboost as xgb
from sklearn.metrics import average_precision_score


class SearchFailed(RuntimeError):
    """No trial completed within the budget (all pruned or failed)."""


@dataclass(frozen=True)
class SearchConfig:
    trials: int = 20
    timeout_seconds: float | None = None
    seed: int = 0
    early_stopping_rounds: int = 30
    max_estimators: int = 600
    # Median pruning starts after this many complete trials and this many boosting rounds.
    pruning_startup_trials: int = 4
    pruning_warmup_rounds: int = 20
    show_progress: bool = False
    n_jobs: int | None = None


@dataclass(frozen=True)
class SearchResult:
    model: xgb.XGBClassifier
    params: Mapping[str, Any]
    best_score: float  # validation PR-AUC of `model`
    best_iteration: int
    trials_completed: int
    trials_pruned: int
    seconds: float
    trial_scores: tuple[float, ...] = field(default_factory=tuple)


class _PruningCallback(xgb.callback.TrainingCallback):
    """Reports validation PR-AUC to Optuna after each round and stops hopeless trials early.
    (optuna-integration's XGBoostPruningCallback does this too; it is not in the lockfile.)"""

    def __init__(self, trial: optuna.Trial, metric: str = "aucpr") -> None:
        self._trial = trial
        self._metric = metric

    def after_iteration(self, model: Any, epoch: int, evals_log: xgb.callback.TrainingCallback.EvalsLog) -> bool:
        scores = evals_log.get("validation_0", {}).get(self._metric)
        if scores:
            latest = scores[-1]
            # With cross-validation XGBoost logs (mean, std) pairs; here it is a plain float.
            self._trial.report(float(latest[0] if isinstance(latest, tuple) else latest), step=epoch)
            if self._trial.should_prune():
                raise optuna.TrialPruned(f"pruned at round {epoch}")
        return False


def _suggest(trial: optuna.Trial, *, imbalance: float, max_estimators: int) -> dict[str, Any]:
    return {
        "max_depth": trial.suggest_int("max_depth", 2, 10),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "n_estimators": trial.suggest_int("n_estimators", 50, max_estimators, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.5, 1.0),
        # Class weight: from none to the full negative/positive ratio.
        "scale_pos_weight": trial.suggest_float("scale_pos_weight", 1.0, max(imbalance, 1.0 + 1e-9), log=True),
    }


def build_model(
    params: Mapping[str, Any],
    *,
    seed: int,
    early_stopping_rounds: int | None,
    callbacks: list[Any] | None = None,
    n_jobs: int | None = None,
) -> xgb.XGBClassifier:
    return xgb.XGBClassifier(
        **params,
        objective="binary:logistic",
        tree_method="hist",
        enable_categorical=True,
        max_cat_to_onehot=1,
        eval_metric="aucpr",
        early_stopping_rounds=early_stopping_rounds,
        callbacks=callbacks,
        random_state=seed,
        n_jobs=n_jobs,
    )


# Frozen, so one shared default instance is safe.
DEFAULT_SEARCH = SearchConfig()


def search(
    train_x: pd.DataFrame,
    train_y: np.ndarray,
    valid_x: pd.DataFrame,
    valid_y: np.ndarray,
    *,
    config: SearchConfig = DEFAULT_SEARCH,
) -> SearchResult:
    """Find the best model on validation PR-AUC. The winning trial's fitted model is kept rather than
    refitted, so the reported score is exactly the returned model's."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    positives = max(int(train_y.sum()), 1)
    imbalance = (len(train_y) - positives) / positives
    best: dict[str, Any] = {}
    started = time.monotonic()

    def objective(trial: optuna.Trial) -> float:
        params = _suggest(trial, imbalance=imbalance, max_estimators=config.max_estimators)
        model = build_model(
            params,
            seed=config.seed,
            early_stopping_rounds=config.early_stopping_rounds,
            callbacks=[_PruningCallback(trial)],
            n_jobs=config.n_jobs,
        )
        model.fit(train_x, train_y, eval_set=[(valid_x, valid_y)], verbose=False)
        score = float(average_precision_score(valid_y, model.predict_proba(valid_x)[:, 1]))
        if not best or score > best["score"]:
            best.update(score=score, model=model, params=params)
        return score

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=config.seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=config.pruning_startup_trials, n_warmup_steps=config.pruning_warmup_rounds
        ),
    )
    callbacks: list[Any] = []
    progress = None
    if config.show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            TextColumn("search"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            transient=False,
        )
        task = progress.add_task("search", total=config.trials, status="")

        def advance(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
            status = f"best pr_auc {study.best_value:.4f}" if completed else ""
            progress.update(task, advance=1, status=status)

        callbacks.append(advance)
    try:
        if progress is not None:
            progress.start()
        study.optimize(objective, n_trials=config.trials, timeout=config.timeout_seconds, callbacks=callbacks)
    finally:
        if progress is not None:
            progress.stop()
    states = [t.state for t in study.trials]
    completed = states.count(optuna.trial.TrialState.COMPLETE)
    if not best:
        raise SearchFailed(
            f"no trial completed: {len(states)} started, {states.count(optuna.trial.TrialState.PRUNED)} pruned"
        )
    model: xgb.XGBClassifier = best["model"]
    # The trial's callback holds the finished trial; the kept model must not carry it anywhere.
    model.set_params(callbacks=None)
    return SearchResult(
        model=model,
        params=dict(best["params"]),
        best_score=float(best["score"]),
        best_iteration=int(model.best_iteration),
        trials_completed=completed,
        trials_pruned=states.count(optuna.trial.TrialState.PRUNED),
        seconds=time.monotonic() - started,
        trial_scores=tuple(float(t.value) for t in study.trials if t.value is not None),
    )


def refit(
    result: SearchResult, train_x: pd.DataFrame, train_y: np.ndarray, *, config: SearchConfig
) -> xgb.XGBClassifier:
    """The winning parameters fitted on `train_x` (typically the search's fit and tuning rows together)
    for the number of rounds early stopping chose."""
    model = build_model(
        {**result.params, "n_estimators": result.best_iteration + 1},
        seed=config.seed,
        early_stopping_rounds=None,
        n_jobs=config.n_jobs,
    )
    model.fit(train_x, train_y, verbose=False)
    return model
