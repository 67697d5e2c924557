"""Gate rules in isolation; the registry moves themselves are tested against a real MLflow server in
pipeline_test.py."""

from __future__ import annotations

import pytest

from riskloop_training.registry import GatePolicy, GateRejected, evaluate_gates, require_promotion


def test_without_a_champion_only_the_floors_decide() -> None:
    policy = GatePolicy(floors={"roc_auc": 0.7})
    assert evaluate_gates(policy, {"roc_auc": 0.8, "pr_auc": 0.2}).promote
    rejected = evaluate_gates(policy, {"roc_auc": 0.65, "pr_auc": 0.2})
    assert not rejected.promote
    assert rejected.reason == "roc_auc 0.6500 < floor 0.7"


def test_challenger_must_beat_the_champion_by_the_margin() -> None:
    policy = GatePolicy(margin=0.01, floors={})
    champion = {"pr_auc": 0.44}
    rejected = evaluate_gates(policy, {"pr_auc": 0.445}, champion=champion, champion_version="3")
    assert not rejected.promote
    assert rejected.reason == "pr_auc 0.4450 <= champion v3 0.4400 + margin 0.01"
    assert evaluate_gates(policy, {"pr_auc": 0.46}, champion=champion, champion_version="3").promote


def test_a_rejection_names_every_failed_rule_and_can_be_raised() -> None:
    policy = GatePolicy(margin=0.0, floors={"roc_auc": 0.7, "brier": 0.1})
    decision = evaluate_gates(
        policy, {"pr_auc": 0.3, "roc_auc": 0.6, "brier": 0.2}, champion={"pr_auc": 0.4}, champion_version="1"
    )
    assert "roc_auc 0.6000 < floor 0.7" in decision.reason
    assert "brier 0.2000 > ceiling 0.1" in decision.reason
    assert "pr_auc 0.3000 <= champion v1 0.4000" in decision.reason
    with pytest.raises(GateRejected, match="roc_auc"):
        require_promotion(decision)
