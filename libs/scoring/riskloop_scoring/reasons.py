"""Why a transaction scored as it did: the features with the largest tree-SHAP contributions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Reason:
    feature: str
    value: Any  # the raw value the model saw (a category as text), None if missing
    contribution: float  # in log-odds; positive pushes towards fraud


def top_reasons(
    contributions: np.ndarray,
    feature_names: Sequence[str],
    raw_values: Sequence[Sequence[Any]],
    *,
    k: int,
) -> list[list[Reason]]:
    """Per row, the `k` features with the largest |contribution| (the bias column is dropped), largest first."""
    per_feature = contributions[:, : len(feature_names)]
    k = min(k, len(feature_names))
    if k <= 0:
        return [[] for _ in range(per_feature.shape[0])]
    # A stable sort keeps ties in model order, so the same input always gives the same reasons.
    order = np.argsort(-np.abs(per_feature), axis=1, kind="stable")[:, :k]
    return [
        [Reason(feature_names[j], raw_values[i][j], float(per_feature[i, j])) for j in row]
        for i, row in enumerate(order)
    ]
