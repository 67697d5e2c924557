from __future__ import annotations

import numpy as np

from riskloop_scoring.reasons import top_reasons


def test_top_reasons_rank_by_absolute_contribution_without_the_bias() -> None:
    contributions = np.array([[0.1, -2.0, 0.5, 9.0], [0.0, 0.0, 0.0, -9.0]])  # last column: bias
    reasons = top_reasons(contributions, ["a", "b", "c"], [[1, 2, 3], [4, 5, 6]], k=2)
    assert [(r.feature, r.value, r.contribution) for r in reasons[0]] == [("b", 2, -2.0), ("c", 3, 0.5)]
    # Ties keep model order, so the same input always gives the same reasons.
    assert [r.feature for r in reasons[1]] == ["a", "b"]


def test_k_larger_than_the_features_or_zero() -> None:
    contributions = np.array([[1.0, 2.0, 0.0]])
    assert len(top_reasons(contributions, ["a", "b"], [[1, 2]], k=10)[0]) == 2
    assert top_reasons(contributions, ["a", "b"], [[1, 2]], k=0) == [[]]
