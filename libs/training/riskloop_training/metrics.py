"""Holdout metrics and the decision threshold. Fraud is rare, so ranking quality is read from PR-AUC and
recall at a fixed false-positive rate (what operations can afford to review), not accuracy."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

METRIC_NAMES = ("roc_auc", "pr_auc", "recall_at_fpr", "brier")


@dataclass(frozen=True)
class ThresholdRule:
    """How the decision threshold is chosen: the highest recall whose false-positive rate stays within
    `target_fpr`, or, when `cost_ratio` is given, the lowest expected cost where a missed fraud costs
    `cost_ratio` false alarms."""

    target_fpr: float = 0.01
    cost_ratio: float | None = None


@dataclass(frozen=True)
class HoldoutMetrics:
    roc_auc: float
    pr_auc: float
    recall_at_fpr: float
    brier: float
    threshold: float
    target_fpr: float
    # At the chosen threshold, which may differ from `target_fpr` when a cost ratio picked it.
    fpr_at_threshold: float
    recall_at_threshold: float
    precision_at_threshold: float
    positives: int
    rows: int

    def as_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}

    def headline(self) -> dict[str, float]:
        """The five figures reported everywhere (CLI `--metrics-out`, model metadata)."""
        return {
            "roc_auc": self.roc_auc,
            "pr_auc": self.pr_auc,
            "recall_at_fpr": self.recall_at_fpr,
            "brier": self.brier,
            "threshold": self.threshold,
        }


def threshold_for_fpr(labels: np.ndarray, scores: np.ndarray, target_fpr: float) -> float:
    """The lowest threshold (flag when score >= threshold) whose false-positive rate is <= target_fpr.
    Tie-safe: negatives tied at the boundary are never split, the threshold moves above them."""
    negatives = np.sort(scores[labels == 0])[::-1]
    allowed = int(np.floor(target_fpr * len(negatives)))
    if allowed >= len(negatives):
        return float(np.min(scores))
    # Just above the (allowed+1)-th highest negative: at most `allowed` negatives reach it.
    return float(np.nextafter(negatives[allowed], np.inf))


def threshold_for_cost(labels: np.ndarray, scores: np.ndarray, cost_ratio: float) -> float:
    """The threshold minimising cost_ratio * missed frauds + false alarms on this holdout."""
    candidates = np.unique(scores)
    order = np.argsort(scores)
    sorted_scores, sorted_labels = scores[order], labels[order]
    # For each candidate t: flagged rows are score >= t; counts via searchsorted on the sorted scores.
    below = np.searchsorted(sorted_scores, candidates, side="left")
    positives_below = np.concatenate([[0], np.cumsum(sorted_labels)])[below]
    negatives_below = below - positives_below
    false_alarms = (len(labels) - labels.sum()) - negatives_below
    cost = cost_ratio * positives_below + false_alarms
    return float(candidates[int(np.argmin(cost))])


def _rates(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float, float]:
    flagged = scores >= threshold
    positives = labels == 1
    recall = float((flagged & positives).sum() / max(positives.sum(), 1))
    fpr = float((flagged & ~positives).sum() / max((~positives).sum(), 1))
    precision = float((flagged & positives).sum() / flagged.sum()) if flagged.any() else 0.0
    return recall, fpr, precision


# Frozen, so one shared default instance is safe.
DEFAULT_THRESHOLD_RULE = ThresholdRule()


def holdout_metrics(
    labels: np.ndarray, scores: np.ndarray, *, rule: ThresholdRule = DEFAULT_THRESHOLD_RULE
) -> HoldoutMetrics:
    labels = np.asarray(labels, dtype="int64")
    scores = np.asarray(scores, dtype="float64")
    fpr_threshold = threshold_for_fpr(labels, scores, rule.target_fpr)
    recall_at_fpr, _, _ = _rates(labels, scores, fpr_threshold)
    threshold = fpr_threshold if rule.cost_ratio is None else threshold_for_cost(labels, scores, rule.cost_ratio)
    recall, fpr, precision = _rates(labels, scores, threshold)
    return HoldoutMetrics(
        roc_auc=float(roc_auc_score(labels, scores)),
        pr_auc=float(average_precision_score(labels, scores)),
        recall_at_fpr=recall_at_fpr,
        brier=float(brier_score_loss(labels, scores)),
        threshold=threshold,
        target_fpr=rule.target_fpr,
        fpr_at_threshold=fpr,
        recall_at_threshold=recall,
        precision_at_threshold=precision,
        positives=int(labels.sum()),
        rows=len(labels),
    )


def calibration_table(labels: np.ndarray, scores: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed fraud rate per equal-width score bin (empty bins left out)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(scores, edges[1:-1], right=False), 0, bins - 1)
    frame = pd.DataFrame({"bin": index, "score": scores, "label": labels})
    table = frame.groupby("bin").agg(rows=("label", "size"), mean_score=("score", "mean"), fraud_rate=("label", "mean"))
    table.insert(0, "upper", edges[1:][table.index.to_numpy()])
    table.insert(0, "lower", edges[:-1][table.index.to_numpy()])
    return table.reset_index(drop=True)
