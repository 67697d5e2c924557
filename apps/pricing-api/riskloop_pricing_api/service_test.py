"""The pricing API over real HTTP: `riskloop-pricing-api serve` in a subprocess, on the real Redis."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from riskloop_config.settings import FeastSettings, RedisSettings
from riskloop_features import EVENT_HISTORICAL_VIEW, EVENT_KEY, EVENT_REALTIME_VIEW, PROMOTER_KEY, TIMESTAMP_FIELD
from riskloop_testing import services

READY_TIMEOUT = 120.0  # generous: BentoML and Feast imports are slow on a loaded CI machine
MULTIPLIERS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5)
# Buyers who answer price so that 1.25 earns the most (1.25 * 0.6 = 0.75 against at most 0.42 elsewhere).
CONVERSION = {0.8: 0.30, 0.9: 0.32, 1.0: 0.35, 1.1: 0.38, 1.25: 0.60, 1.5: 0.20}
# The one event the test feature store knows: selling 5% of capacity per 5 minutes with 10% of seats left.
HOT_EVENT, HOT_PROMOTER = "e-hot", "p-1"


def feast_settings(feast_dir: Path) -> FeastSettings:
    return FeastSettings(
        online_store="redis",
        registry=str(feast_dir / "registry.db"),
        offline_root=str(feast_dir / "offline"),
        repo_path=feast_dir,
    )


def apply_feature_definitions(feast_dir: Path, *, redis_host: str, redis_port: int, redis_db: int) -> Any:
    """Apply Riskloop's feature definitions to a file registry whose online store is the given Redis database.
    Only the registry is written: applying needs no reachable online store."""
    from riskloop_features import feature_definitions, feature_store

    settings = feast_settings(feast_dir)
    store = feature_store(settings, redis=RedisSettings(host=redis_host, port=redis_port, db=redis_db))
    store.apply(feature_definitions(settings.offline_root).objects())
    return store


def publish_hot_event(store: Any) -> None:
    """Write the one event the test feature store knows to its online store."""
    now = pd.Timestamp.now(tz="UTC")
    store.write_to_online_store(
        EVENT_REALTIME_VIEW,
        pd.DataFrame(
            {
                EVENT_KEY: [HOT_EVENT],
                TIMESTAMP_FIELD: [now],
                "current_inventory": [100],
                "sell_through_rate_5min": [0.05],
                "concurrent_viewers": [30],
            }
        ),
    )
    store.write_to_online_store(
        EVENT_HISTORICAL_VIEW,
        pd.DataFrame(
            {
                EVENT_KEY: [HOT_EVENT],
                PROMOTER_KEY: [HOT_PROMOTER],
                TIMESTAMP_FIELD: [now],
                "total_tickets_sold": [900],
                "avg_ticket_price": [60.0],
                "promoter_success_rate": [0.8],
            }
        ),
    )


@contextlib.contextmanager
def served_pricing_api(
    workdir: Path,
    *,
    redis_host: str,
    redis_port: int,
    redis_db: int,
    feast_online_store: str = "sqlite",
    feature_timeout_seconds: float = 0.5,
) -> Iterator[str]:
    """Run the `serve` command on a free port until /readyz answers; stop its whole process group after."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = services.free_port()
    env = {
        **services.subprocess_env(),
        "ENVIRONMENT": "local",
        "BENTOML_DO_NOT_TRACK": "true",
        "DO_NOT_TRACK": "1",
        "BENTOML_HOME": str(workdir / "bentoml"),
        "RISKLOOP_DATA_DIR": str(workdir / "var"),
        "RISKLOOP_REDIS__HOST": redis_host,
        "RISKLOOP_REDIS__PORT": str(redis_port),
        "RISKLOOP_REDIS__DB": str(redis_db),
        "RISKLOOP_FEAST__ONLINE_STORE": feast_online_store,
        "RISKLOOP_FEAST__REGISTRY": str(workdir / "feast" / "registry.db"),
        "RISKLOOP_FEAST__SQLITE_PATH": str(workdir / "feast" / "online.db"),
        "RISKLOOP_FEAST__OFFLINE_ROOT": str(workdir / "feast" / "offline"),
        "RISKLOOP_FEAST__REPO_PATH": str(workdir / "feast"),
        "RISKLOOP_PRICING_API__REDIS_KEY_PREFIX": "test:pricing",
        "RISKLOOP_PRICING_API__FEATURE_TIMEOUT_SECONDS": str(feature_timeout_seconds),
    }
    log_path = workdir / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "riskloop_pricing_api", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches BentoML's workers too
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        services.wait_for_http(f"{base_url}/readyz", process=process, log_path=log_path, timeout=READY_TIMEOUT)
        yield base_url
    finally:
        services.stop_process_group(process, grace_seconds=20)


@pytest.fixture(scope="module")
def leased_redis() -> Iterator[services.RedisDatabase]:
    try:
        with services.redis_database() as database:
            yield database
    except services.ServiceUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def api(leased_redis: services.RedisDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    workdir = tmp_path_factory.mktemp("pricing-api")
    store = apply_feature_definitions(
        workdir / "feast", redis_host=leased_redis.host, redis_port=leased_redis.port, redis_db=leased_redis.db
    )
    publish_hot_event(store)
    with served_pricing_api(
        workdir,
        redis_host=leased_redis.host,
        redis_port=leased_redis.port,
        redis_db=leased_redis.db,
        feast_online_store="redis",
        # Generous, so a loaded test machine does not turn a slow healthy lookup into a fallback.
        feature_timeout_seconds=3.0,
    ) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def degraded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The service pointed at a port nothing listens on: Redis, posteriors and online features alike, is down."""
    workdir = tmp_path_factory.mktemp("pricing-api-degraded")
    dead_port = services.free_port()
    apply_feature_definitions(workdir / "feast", redis_host="127.0.0.1", redis_port=dead_port, redis_db=0)
    with served_pricing_api(
        workdir, redis_host="127.0.0.1", redis_port=dead_port, redis_db=0, feast_online_store="redis"
    ) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


def _locations(response: httpx.Response) -> list[str]:
    return [str(part) for item in response.json()["detail"] for part in item["loc"]]


def test_recommend_segments_an_event_by_its_online_features(api: httpx.Client) -> None:
    body = {"event_id": HOT_EVENT, "promoter_id": HOT_PROMOTER, "base_price": 60.0, "category": "concerts"}
    response = api.post("/recommend", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["segment"] == "high-concerts"
    assert answer["features_missing"] == [] and answer["reasons"] == [] and answer["degraded"] is False


def test_without_a_promoter_the_historical_features_are_missing_but_the_event_is_still_segmented(
    api: httpx.Client,
) -> None:
    answer = api.post("/recommend", json={"event_id": HOT_EVENT, "base_price": 60.0}).json()
    assert answer["segment"] == "high-any"
    assert answer["features_missing"] == ["total_tickets_sold", "avg_ticket_price", "promoter_success_rate"]


def test_recommend_prices_an_unknown_event_on_the_default_segment_within_the_guards(api: httpx.Client) -> None:
    response = api.post("/recommend", json={"event_id": "never-seen", "base_price": 80.0, "category": "concerts"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["event_id"] == "never-seen" and body["segment"] == "default" and body["degraded"] is False
    assert body["multiplier"] in MULTIPLIERS and body["price"] == pytest.approx(80.0 * body["multiplier"])
    assert "sell_through_rate_5min" in body["features_missing"]
    assert any("default segment" in reason for reason in body["reasons"])


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/recommend", {"base_price": 10.0}, "event_id"),
        ("/recommend", {"event_id": "e1", "base_price": 0}, "base_price"),
        ("/recommend", {"event_id": "e1", "base_price": -3}, "base_price"),
        ("/recommend", {"event_id": "e1", "base_price": "cheap"}, "base_price"),
        ("/recommend", {"event_id": "", "base_price": 10.0}, "event_id"),
        ("/recommend", {"event_id": "e1", "base_price": 10.0, "discount": 5}, "discount"),
        ("/feedback", {"event_id": "e1", "segment": "default", "multiplier": 1.0}, "sold"),
        ("/feedback", {"event_id": "e1", "segment": "default", "multiplier": 1.3, "sold": True}, "multiplier"),
        ("/feedback", {"event_id": "e1", "segment": "vip-lounge", "multiplier": 1.0, "sold": True}, "segment"),
        ("/feedback", {"event_id": "e1", "segment": "default", "multiplier": -1, "sold": True}, "multiplier"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(api: httpx.Client, route: str, body: dict, field: str) -> None:
    response = api.post(route, json=body)
    assert response.status_code == 422, response.text
    assert field in _locations(response)


def test_feedback_returns_the_updated_posterior(api: httpx.Client) -> None:
    body = {"event_id": "e1", "segment": "high-sports", "multiplier": 1.1, "sold": True}
    first = api.post("/feedback", json=body).json()
    second = api.post("/feedback", json={**body, "sold": False}).json()
    assert first["ok"] is True and first["segment"] == "high-sports"
    arm = next(a for a in second["posterior"] if a["multiplier"] == 1.1)
    assert (arm["sold"], arm["unsold"], arm["conversion_mean"]) == (1, 1, 0.5)
    assert [a["multiplier"] for a in second["posterior"]] == list(MULTIPLIERS)


def test_pricing_learns_the_revenue_optimal_arm_from_feedback(
    api: httpx.Client, leased_redis: services.RedisDatabase
) -> None:
    # Start from the prior: other tests of this module may have sent feedback for the default segment.
    redis.Redis(host=leased_redis.host, port=leased_redis.port, db=leased_redis.db).delete(
        "test:pricing:posterior:default"
    )
    buyers = np.random.default_rng(20261129)
    late = Counter[float]()
    rounds = 500
    for round_ in range(rounds):
        offer = api.post("/recommend", json={"event_id": "e-learn", "base_price": 40.0}).json()
        sold = bool(buyers.random() < CONVERSION[offer["multiplier"]])
        feedback = {"event_id": "e-learn", "segment": offer["segment"], "multiplier": offer["multiplier"], "sold": sold}
        assert api.post("/feedback", json=feedback).status_code == 200
        if round_ >= rounds - 150:
            late[offer["multiplier"]] += 1
    assert late.most_common(1)[0][0] == 1.25, late
    metrics = api.get("/metrics").text
    assert 'riskloop_pricing_recommendations_total{arm="1.25",segment="default"}' in metrics
    assert 'riskloop_pricing_feedback_total{arm="1.25",outcome="sold"}' in metrics
    assert "riskloop_pricing_request_seconds_bucket" in metrics


def test_with_redis_down_recommend_still_answers_degraded_and_fast(degraded_api: httpx.Client) -> None:
    for _ in range(5):
        started = time.monotonic()
        response = degraded_api.post("/recommend", json={"event_id": HOT_EVENT, "base_price": 25.0})
        # Feast alone would retry a dead Redis for seconds per call; the lookup timeout and pause bound it.
        assert time.monotonic() - started < 2.0
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["degraded"] is True and body["multiplier"] in MULTIPLIERS and body["segment"] == "default"
        assert any("uniform prior" in reason for reason in body["reasons"])
        assert any("online feature" in reason for reason in body["reasons"])
    assert "riskloop_pricing_degraded_total" in degraded_api.get("/metrics").text


def test_with_redis_down_feedback_is_503_with_a_clear_message(degraded_api: httpx.Client) -> None:
    response = degraded_api.post(
        "/feedback", json={"event_id": "e1", "segment": "default", "multiplier": 1.0, "sold": True}
    )
    assert response.status_code == 503, response.text
    assert "feedback not recorded" in response.json()["error"] and "Redis" in response.json()["error"]
    assert "Traceback" not in response.text


def test_liveness_and_readiness_answer(api: httpx.Client) -> None:
    assert api.get("/livez").status_code == 200
    assert api.get("/readyz").status_code == 200



@pytest.mark.parametrize("route", ["/recommend", "/feedback"])
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_request_generated_from_the_openapi_spec_makes_a_server_error(
    api: httpx.Client, route: str, mode: schemathesis.GenerationMode
) -> None:
    operation = schemathesis.openapi.from_url(f"{api.base_url}/docs.json")[route]["POST"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def no_server_error(case: schemathesis.Case) -> None:
        # Beyond "no 5xx": every status and body the service sends must be the one its spec documents.
        case.call_and_validate(
            base_url=str(api.base_url),
            timeout=10,
            checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
        )

    no_server_error()


def test_serve_refuses_guards_that_leave_no_price_and_exits_at_once(tmp_path: Path) -> None:
    env = {
        **services.subprocess_env(),
        "BENTOML_DO_NOT_TRACK": "true",
        "RISKLOOP_PRICING_API__MIN_PRICE_MULTIPLIER": "2.0",
        "RISKLOOP_PRICING_API__MAX_PRICE_MULTIPLIER": "1.5",
    }
    done = subprocess.run(
        [sys.executable, "-m", "riskloop_pricing_api", "serve", "--port", str(services.free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "min=2.0 max=1.5" in done.stderr
