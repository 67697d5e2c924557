from __future__ import annotations

import numpy as np
import pytest

from riskloop_training.metrics import (
    ThresholdRule,
    calibration_table,
    holdout_metrics,
    threshold_for_cost,
    threshold_for_fpr,
)


def test_threshold_keeps_the_false_positive_rate_within_target_even_with_ties() -> None:
    rng = np.random.default_rng(0)
    # Rounded scores: many negatives tie at the boundary.
    scores = np.round(rng.random(5000), 2)
    labels = (rng.random(5000) < scores * 0.2).astype(int)
    for target in (0.001, 0.01, 0.05, 0.2):
        threshold = threshold_for_fpr(labels, scores, target)
        negatives = scores[labels == 0]
        assert (negatives >= threshold).mean() <= target
        # And it is the lowest such threshold: the next tie group down would exceed the target.
        lower = scores[scores < threshold].max()
        assert (negatives >= lower).mean() > target


def test_holdout_metrics_on_a_perfect_and_a_useless_ranking() -> None:
    labels = np.array([0] * 90 + [1] * 10)
    perfect = holdout_metrics(labels, np.linspace(0, 1, 100), rule=ThresholdRule(target_fpr=0.01))
    assert perfect.roc_auc == pytest.approx(1.0)
    assert perfect.pr_auc == pytest.approx(1.0)
    assert perfect.recall_at_fpr == pytest.approx(1.0)
    flat = holdout_metrics(labels, np.full(100, 0.5))
    assert flat.roc_auc == pytest.approx(0.5)
    assert flat.recall_at_fpr == 0.0  # nothing can be flagged without flagging every negative
    assert flat.brier == pytest.approx(0.25)


def test_cost_ratio_threshold_flags_more_when_misses_cost_more() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random(2000)
    labels = (rng.random(2000) < scores**3).astype(int)
    cheap_misses = threshold_for_cost(labels, scores, cost_ratio=0.5)
    dear_misses = threshold_for_cost(labels, scores, cost_ratio=20.0)
    assert dear_misses < cheap_misses
    chosen = holdout_metrics(labels, scores, rule=ThresholdRule(target_fpr=0.01, cost_ratio=20.0))
    assert chosen.threshold == dear_misses


def test_calibration_table_reports_observed_rate_per_score_bin() -> None:
    scores = np.array([0.05, 0.05, 0.95, 0.95])
    labels = np.array([0, 0, 1, 0])
    table = calibration_table(labels, scores, bins=10)
    assert table["rows"].tolist() == [2, 2]
    assert table["fraud_rate"].tolist() == [0.0, 0.5]
    assert table["lower"].tolist() == pytest.approx([0.0, 0.9])
