from __future__ import annotations

from datetime import datetime

import pytest

from riskloop_simulation import FraudPatternMix, InvalidWorldConfig, PersonaMix, WorldConfig


def test_defaults_are_valid_and_normalised() -> None:
    config = WorldConfig()
    assert config.persona_mix.shares().sum() == pytest.approx(1.0)
    assert config.effective_fraud_mix().sum() == pytest.approx(1.0)
    assert config.start.utcoffset() is not None and config.start.hour == 0


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidWorldConfig) as caught:
        WorldConfig(n_users=1, days=0, fraud_rate=0.9, drift=2.0, start=datetime(2026, 1, 1))
    problems = " | ".join(caught.value.problems)
    for word in ("n_users", "days", "fraud_rate", "drift", "timezone"):
        assert word in problems


def test_fraud_needs_fraudster_accounts() -> None:
    with pytest.raises(InvalidWorldConfig, match="fraudster"):
        WorldConfig(persona_mix=PersonaMix(fraudster=0.0))
    WorldConfig(persona_mix=PersonaMix(fraudster=0.0), fraud_rate=0.0)


def test_negative_mix_shares_are_rejected() -> None:
    with pytest.raises(InvalidWorldConfig, match="fraud_pattern_mix"):
        WorldConfig(fraud_pattern_mix=FraudPatternMix(card_testing=-1.0))


def test_drift_moves_the_fraud_mix_away_from_card_testing() -> None:
    assert WorldConfig(drift=1.0).effective_fraud_mix()[0] < WorldConfig(drift=0.0).effective_fraud_mix()[0]
