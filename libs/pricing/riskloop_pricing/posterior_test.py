from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from riskloop_pricing.posterior import BetaPosterior, PosteriorUnavailable, redis_posterior_store
from riskloop_testing.services import RedisDatabase, free_port

ARMS = ("0.8", "1", "1.25")


def test_a_fresh_segment_reads_as_the_uniform_prior(redis_database: RedisDatabase) -> None:
    store = redis_posterior_store(redis_database.url, prefix="t", timeout_seconds=1)
    assert store.read("default", ARMS) == {arm: BetaPosterior(0, 0) for arm in ARMS}
    assert BetaPosterior().mean == 0.5


def test_feedback_from_concurrent_workers_is_never_lost(redis_database: RedisDatabase) -> None:
    store = redis_posterior_store(redis_database.url, prefix="t", timeout_seconds=1)

    def worker(i: int) -> None:
        for _ in range(50):
            store.record("high-any", "1", sold=i % 2 == 0, arms=ARMS)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    assert store.read("high-any", ARMS)["1"] == BetaPosterior(sold=200, unsold=200)


def test_record_returns_the_posteriors_including_this_outcome(redis_database: RedisDatabase) -> None:
    store = redis_posterior_store(redis_database.url, prefix="t", timeout_seconds=1)
    store.record("default", "1.25", sold=True, arms=ARMS)
    after = store.record("default", "1.25", sold=False, arms=ARMS)
    assert after["1.25"] == BetaPosterior(1, 1) and after["0.8"] == BetaPosterior(0, 0)


def test_prefixes_keep_deployments_apart(redis_database: RedisDatabase) -> None:
    a = redis_posterior_store(redis_database.url, prefix="a", timeout_seconds=1)
    b = redis_posterior_store(redis_database.url, prefix="b", timeout_seconds=1)
    a.record("default", "1", sold=True, arms=ARMS)
    assert b.read("default", ARMS)["1"] == BetaPosterior(0, 0)
    assert a.key("default") == "a:posterior:default"


def test_an_unreachable_redis_is_one_named_error_raised_fast() -> None:
    store = redis_posterior_store(f"redis://127.0.0.1:{free_port()}/0", prefix="t", timeout_seconds=0.2)
    with pytest.raises(PosteriorUnavailable, match="unavailable"):
        store.read("default", ARMS)
    with pytest.raises(PosteriorUnavailable):
        store.record("default", "1", sold=True, arms=ARMS)
