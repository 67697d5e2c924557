from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from riskloop_training.dataset import prepare_table
from riskloop_training.search import SearchConfig, search
from riskloop_training.splits import split_table
from riskloop_training.synthetic import synthetic_transactions


def _data(seed: int = 3) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    table = prepare_table(
        synthetic_transactions(3000, seed=seed, positive_rate=0.08, extra_numeric=3),
        label="is_fraud",
        time_column="event_time",
        drop_columns=("transaction_id", "user_id"),
    )
    split = split_table(table)
    return (
        table.features(split.train),
        table.labels(split.train),
        table.features(split.validation),
        table.labels(split.validation),
    )


def test_search_returns_the_best_trials_model_with_its_exact_validation_score() -> None:
    train_x, train_y, valid_x, valid_y = _data()
    result = search(
        train_x, train_y, valid_x, valid_y, config=SearchConfig(trials=4, seed=1, max_estimators=150, n_jobs=1)
    )
    assert result.trials_completed + result.trials_pruned == 4
    assert result.best_score == max(result.trial_scores)
    rescored = average_precision_score(valid_y, result.model.predict_proba(valid_x)[:, 1])
    assert rescored == result.best_score
    # A learnable signal: far above the base rate.
    assert result.best_score > 2 * valid_y.mean()
    assert set(result.params) == {
        "max_depth",
        "learning_rate",
        "n_estimators",
        "subsample",
        "colsample_bytree",
        "scale_pos_weight",
    }


def test_search_is_reproducible_for_a_seed() -> None:
    train_x, train_y, valid_x, valid_y = _data()
    config = SearchConfig(trials=3, seed=5, max_estimators=100, n_jobs=1)
    first = search(train_x, train_y, valid_x, valid_y, config=config)
    again = search(train_x, train_y, valid_x, valid_y, config=config)
    assert first.params == again.params
    assert first.best_score == again.best_score


def test_median_pruning_stops_hopeless_trials_early() -> None:
    train_x, train_y, valid_x, valid_y = _data()
    # No warm-up and one start-up trial, so any trial below the running median is cut.
    config = SearchConfig(
        trials=12, seed=2, max_estimators=200, pruning_startup_trials=1, pruning_warmup_rounds=0, n_jobs=1
    )
    result = search(train_x, train_y, valid_x, valid_y, config=config)
    assert result.trials_pruned >= 1
    assert result.trials_completed >= 1


def test_time_budget_ends_the_search_before_the_trial_budget() -> None:
    train_x, train_y, valid_x, valid_y = _data()
    result = search(
        train_x,
        train_y,
        valid_x,
        valid_y,
        config=SearchConfig(trials=10_000, timeout_seconds=2.0, seed=0, max_estimators=100, n_jobs=1),
    )
    assert 1 <= result.trials_completed + result.trials_pruned < 10_000
    assert result.seconds < 30
    assert np.isfinite(result.best_score)
