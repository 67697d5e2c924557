from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskloop_pricing.arms import PriceArms, PriceGuards, UnknownArm
from riskloop_pricing.policy import InvalidBasePrice, PricingPolicy
from riskloop_pricing.posterior import PosteriorUnavailable, redis_posterior_store
from riskloop_pricing.segments import DEFAULT_SEGMENT, EventFeatures, UnknownSegment
from riskloop_testing.services import RedisDatabase, free_port

MULTIPLIERS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5)
# Buyers who answer price so that 1.25 earns the most (1.25 * 0.6 = 0.75 against at most 0.42 elsewhere).
CONVERSION = {0.8: 0.30, 0.9: 0.32, 1.0: 0.35, 1.1: 0.38, 1.25: 0.60, 1.5: 0.20}
HOT = EventFeatures(sell_through_rate_5min=0.05, current_inventory=100, total_tickets_sold=900)


def make_policy(url: str, *, low: float = 0.8, high: float = 1.5, timeout: float = 1.0) -> PricingPolicy:
    store = redis_posterior_store(url, prefix="test:pricing", timeout_seconds=timeout)
    return PricingPolicy(PriceArms.build(MULTIPLIERS, PriceGuards(low, high)), store)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base_price=st.floats(min_value=0.01, max_value=1e6, allow_nan=False),
    seed=st.integers(0, 2**32 - 1),
    low=st.sampled_from([0.5, 0.85, 1.0]),
    high=st.sampled_from([1.0, 1.2, 3.0]),
)
def test_the_price_never_leaves_the_guards(
    redis_database: RedisDatabase, base_price: float, seed: int, low: float, high: float
) -> None:
    recommendation = make_policy(redis_database.url, low=low, high=high).recommend(
        HOT, base_price, np.random.default_rng(seed)
    )
    assert low <= recommendation.multiplier <= high
    assert base_price * low <= recommendation.price <= base_price * high


def test_the_same_seed_gives_the_same_recommendation(redis_database: RedisDatabase) -> None:
    policy = make_policy(redis_database.url)
    first = [policy.recommend(HOT, 50.0, np.random.default_rng(7)).multiplier for _ in range(5)]
    assert len(set(first)) == 1


def test_the_policy_learns_the_revenue_optimal_arm_from_feedback(redis_database: RedisDatabase) -> None:
    policy = make_policy(redis_database.url)
    rng, buyers = np.random.default_rng(1), np.random.default_rng(2)
    late = Counter[float]()
    for round_ in range(1500):
        offer = policy.recommend(HOT, 60.0, rng, category="concerts")
        sold = bool(buyers.random() < CONVERSION[offer.multiplier])
        policy.record_feedback(offer.segment, offer.multiplier, sold=sold)
        if round_ >= 1000:
            late[offer.multiplier] += 1
    assert late.most_common(1)[0][0] == 1.25
    assert late[1.25] > 0.8 * sum(late.values())


def test_segments_learn_separately(redis_database: RedisDatabase) -> None:
    policy = make_policy(redis_database.url)
    policy.record_feedback("high-concerts", 1.25, sold=True)
    assert sum(a.sold for a in policy.summary("low-concerts").arms) == 0
    assert [a.sold for a in policy.summary("high-concerts").arms if a.multiplier == 1.25] == [1]


def test_an_event_without_online_features_is_priced_on_the_default_segment_and_says_so(
    redis_database: RedisDatabase,
) -> None:
    recommendation = make_policy(redis_database.url).recommend(EventFeatures(), 40.0, np.random.default_rng(0))
    assert recommendation.segment == DEFAULT_SEGMENT
    assert recommendation.features_missing == EventFeatures.names()
    assert not recommendation.degraded
    assert any("default segment" in reason for reason in recommendation.reasons)


def test_with_redis_down_it_still_prices_from_the_uniform_prior_and_flags_degraded() -> None:
    policy = make_policy(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    recommendation = policy.recommend(HOT, 40.0, np.random.default_rng(0))
    assert recommendation.degraded and 0.8 <= recommendation.multiplier <= 1.5
    assert any("uniform prior" in reason for reason in recommendation.reasons)
    with pytest.raises(PosteriorUnavailable):
        policy.record_feedback(recommendation.segment, recommendation.multiplier, sold=True)


@pytest.mark.parametrize("base_price", [0.0, -1.0, float("nan"), float("inf")])
def test_a_base_price_that_is_not_positive_and_finite_is_refused(
    redis_database: RedisDatabase, base_price: float
) -> None:
    with pytest.raises(InvalidBasePrice):
        make_policy(redis_database.url).recommend(HOT, base_price, np.random.default_rng(0))


def test_feedback_for_an_arm_or_segment_never_offered_is_refused(redis_database: RedisDatabase) -> None:
    policy = make_policy(redis_database.url)
    with pytest.raises(UnknownArm):
        policy.record_feedback(DEFAULT_SEGMENT, 1.33, sold=True)
    with pytest.raises(UnknownSegment):
        policy.record_feedback("vip-lounge", 1.0, sold=True)
