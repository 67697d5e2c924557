"""Evaluation figures as PNG bytes (matplotlib, headless), for MLflow artifacts."""

from __future__ import annotations

import io
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def pr_curve_png(labels: np.ndarray, scores: np.ndarray, *, pr_auc: float) -> bytes:
    precision, recall, _ = precision_recall_curve(labels, scores)
    figure, axes = plt.subplots(figsize=(5, 4))
    axes.plot(recall, precision, label=f"PR-AUC {pr_auc:.3f}")
    axes.axhline(labels.mean(), linestyle="--", color="grey", label=f"base rate {labels.mean():.3f}")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall (holdout)", xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="upper right")
    return _png(figure)


def roc_curve_png(labels: np.ndarray, scores: np.ndarray, *, roc_auc: float, target_fpr: float) -> bytes:
    fpr, tpr, _ = roc_curve(labels, scores)
    figure, axes = plt.subplots(figsize=(5, 4))
    axes.plot(fpr, tpr, label=f"ROC-AUC {roc_auc:.3f}")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey")
    axes.axvline(target_fpr, linestyle=":", color="red", label=f"target FPR {target_fpr:g}")
    axes.set(xlabel="false-positive rate", ylabel="recall", title="ROC (holdout)")
    axes.legend(loc="lower right")
    return _png(figure)


def calibration_png(table: pd.DataFrame) -> bytes:
    figure, axes = plt.subplots(figsize=(5, 4))
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    axes.plot(table["mean_score"], table["fraud_rate"], marker="o", label="model")
    axes.set(xlabel="mean predicted probability", ylabel="observed fraud rate", title="Calibration (holdout)")
    axes.legend(loc="upper left")
    return _png(figure)


def importance_png(importance: Mapping[str, float], *, top: int = 25) -> bytes:
    ranked = sorted(importance.items(), key=lambda item: item[1])[-top:]
    figure, axes = plt.subplots(figsize=(6, max(2.5, 0.3 * len(ranked) + 1)))
    axes.barh([name for name, _ in ranked], [value for _, value in ranked])
    axes.set(xlabel="gain", title="Feature importance")
    return _png(figure)
