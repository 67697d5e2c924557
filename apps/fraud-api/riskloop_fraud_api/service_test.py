"""FraudService over real HTTP: `bentoml serve` in a subprocess, the real Redis, broker and an MLflow
registry holding models trained here (plain xgboost, logged like libs/training does)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from riskloop_config.settings import MlflowSettings, RedisSettings
from riskloop_fraud_api.testing_server import ADMIN_TOKEN, RunningServer, served, server_env
from riskloop_scoring.testing_models import (
    PrivateRedis,
    RegisteredVersion,
    break_artifacts,
    local_mlflow,
    register_model,
    train_booster,
    write_default_features,
)
from riskloop_testing import services

pytestmark = pytest.mark.timeout(600)

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ONLINE_FEATURES = {
    "user_txn_count_1h",
    "user_txn_amount_1h",
    "preferred_category",
    "event_realtime_metrics:current_inventory",
}


def txn(transaction_id: str = "t1", user_id: str = "u1", event_id: str = "e1", **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "user_id": user_id,
        "event_id": event_id,
        "promoter_id": "p1",
        "amount": 300.0,
        "tickets": 2,
        **extra,
    }


def predict(server: RunningServer, *transactions: dict[str, Any], timeout: float = 10) -> httpx.Response:
    return httpx.post(f"{server.url}/predict", json={"transactions": list(transactions)}, timeout=timeout)


def reload(server: RunningServer) -> httpx.Response:
    return httpx.post(f"{server.url}/admin/reload", headers=AUTH, timeout=60)


def published_ids(broker: services.KafkaBroker, topic: str, want: set[str], timeout: float = 30) -> set[str]:
    """The transaction ids on `topic`, read until all of `want` are seen or `timeout` passes."""

    async def consume() -> set[str]:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest", group_id="service-test"
        )
        await consumer.start()
        seen: set[str] = set()
        try:
            deadline = time.monotonic() + timeout
            while not want <= seen and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    seen |= {json.loads(r.value)["transaction_id"] for r in records}
        finally:
            await consumer.stop()
        return seen

    return asyncio.run(consume())


def set_champion(mlflow: MlflowSettings, version: str) -> None:
    from riskloop_training.model_contract import registry_client

    registry_client(mlflow).set_registered_model_alias(mlflow.model_name, mlflow.champion_alias, version)


def wait_until_all_serve(server: RunningServer, version: str, *, timeout: float = 20, streak: int = 30) -> None:
    """Until `streak` consecutive predictions (spread over the workers) report `version`."""
    deadline, seen, last = time.monotonic() + timeout, 0, None
    while seen < streak:
        assert time.monotonic() < deadline, f"workers did not all serve version {version} within {timeout}s: {last}"
        response = predict(server, txn())
        last = (response.status_code, response.text[:300])
        # A worker still loading its first model answers 503: not yet serving `version`, so the streak restarts.
        served = response.status_code == 200 and response.json()["predictions"][0]["model_version"] == version
        seen = seen + 1 if served else 0


@dataclass(frozen=True)
class Registry:
    mlflow: MlflowSettings
    v1: RegisteredVersion
    v2: RegisteredVersion


@pytest.fixture(scope="module")
def registry(mlflow_server: services.MlflowServer) -> Registry:
    """A model in the test run's MLflow tracking server (Postgres backend, artifacts proxied to S3), as
    deployed: the served app reads the registry and downloads the model over HTTP."""
    suffix = uuid.uuid4().hex[:8]
    mlflow = MlflowSettings(
        tracking_uri=mlflow_server.url, experiment_name=f"fraud-api-{suffix}", model_name=f"fraud-{suffix}"
    )
    booster, metadata = train_booster()
    v1 = register_model(mlflow, booster, metadata)
    other, other_metadata = train_booster(rounds=8, seed=21)
    v2 = register_model(mlflow, other, other_metadata, champion=False)
    return Registry(mlflow, v1, v2)


@pytest.fixture(scope="module")
def online_store() -> Iterator[services.RedisDatabase]:
    with services.redis_database() as db:
        write_default_features(RedisSettings(host=db.host, port=db.port, db=db.db), project="riskloop")
        yield db


@pytest.fixture(scope="module")
def server(
    registry: Registry,
    online_store: services.RedisDatabase,
    kafka_broker: services.KafkaBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    env = shared_env(
        registry,
        online_store,
        kafka_broker,
        tmp_path_factory.mktemp("var"),
        RISKLOOP_FRAUD_API__MAX_BATCH_SIZE="8",
        RISKLOOP_KAFKA__PREDICTIONS_TOPIC="predictions.fraud.test",
    )
    with served(env) as running:
        yield running


def shared_env(
    registry: Registry,
    online_store: services.RedisDatabase,
    broker: services.KafkaBroker,
    data_dir: Path,
    **extra: str,
) -> dict[str, str]:
    """A server's environment on this module's registry and online store."""
    return server_env(
        redis_host=online_store.host,
        redis_port=online_store.port,
        redis_db=online_store.db,
        tracking_uri=registry.mlflow.tracking_uri,
        artifact_location=None,
        bootstrap_servers=broker.bootstrap_servers,
        data_dir=data_dir,
        extra={"RISKLOOP_MLFLOW__MODEL_NAME": registry.mlflow.model_name, **extra},
    )


# --- scoring ---------------------------------------------------------------------------------------------


def test_scores_carry_reasons_and_missing_features(server: RunningServer, registry: Registry) -> None:
    response = predict(server, txn("known", payment_method="paypal"), txn("stranger", user_id="u3", event_id="e2"))
    assert response.status_code == 200, response.text
    known, stranger = response.json()["predictions"]
    assert known["transaction_id"] == "known" and stranger["transaction_id"] == "stranger"
    for prediction in (known, stranger):
        assert 0.0 <= prediction["fraud_score"] <= 1.0
        assert prediction["is_fraud"] == (prediction["fraud_score"] >= 0.5)
        assert prediction["model_version"] == registry.v1.version
        assert prediction["degraded"] is False
        assert len(prediction["reasons"]) == 3
        contributions = [abs(r["contribution"]) for r in prediction["reasons"]]
        assert contributions == sorted(contributions, reverse=True)
    assert known["missing_features"] == []
    by_feature = {r["feature"]: r for r in known["reasons"]}
    if "user_txn_count_1h" in by_feature:
        assert by_feature["user_txn_count_1h"]["value"] == 9
    # u3 and e2 have nothing online, and no payment method was sent.
    assert set(stranger["missing_features"]) == ONLINE_FEATURES | {"payment_method"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"transactions": [txn(amount="lots")]}, "amount"),
        ({"transactions": [txn(amount=-1)]}, "amount"),
        ({"transactions": [{k: v for k, v in txn().items() if k != "user_id"}]}, "user_id"),
        ({"transactions": [txn(tickets=0)]}, "tickets"),
        ({"transactions": [txn(colour="red")]}, "colour"),
        ({"transactions": []}, "transactions"),
        ({}, "transactions"),
    ],
)
def test_invalid_requests_are_422_naming_the_field(server: RunningServer, body: dict[str, Any], field: str) -> None:
    response = httpx.post(f"{server.url}/predict", json=body, timeout=10)
    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["detail"])


def test_batches_over_the_limit_are_422(server: RunningServer) -> None:
    response = predict(server, *[txn(f"t{i}") for i in range(9)])
    assert response.status_code == 422
    assert "transactions" in response.json()["error"]
    assert predict(server, *[txn(f"t{i}") for i in range(8)]).status_code == 200


def test_metrics_expose_latency_batches_scores_misses_and_the_model(server: RunningServer, registry: Registry) -> None:
    predict(server, txn(user_id="nobody"))
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    for name in (
        "riskloop_fraud_predict_latency_seconds_bucket",
        "riskloop_fraud_batch_size_bucket",
        "riskloop_fraud_score_bucket",
        'riskloop_fraud_feature_misses_total{feature="user_txn_count_1h"}',
        "riskloop_fraud_model_info{",
        "riskloop_fraud_model_age_seconds ",
        "riskloop_fraud_model_registered_timestamp_seconds",
    ):
        assert name in text, name


def test_published_predictions_reach_the_topic(server: RunningServer, kafka_broker: services.KafkaBroker) -> None:
    ids = {f"pub-{i}" for i in range(5)}
    assert predict(server, *[txn(i) for i in sorted(ids)]).status_code == 200
    assert ids <= published_ids(kafka_broker, "predictions.fraud.test", ids)


# --- reloads ---------------------------------------------------------------------------------------------


def test_reload_needs_the_admin_token(server: RunningServer) -> None:
    assert httpx.post(f"{server.url}/admin/reload", timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.post(f"{server.url}/admin/reload", headers=wrong, timeout=10).status_code == 401


def test_reload_moves_every_worker_to_the_new_champion(server: RunningServer, registry: Registry) -> None:
    set_champion(registry.mlflow, registry.v2.version)
    try:
        response = reload(server)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == registry.v2.version
        assert response.json()["workers"] == 2
        # The answer came once both workers served v2: no request after it may see v1.
        for _ in range(40):
            assert predict(server, txn()).json()["predictions"][0]["model_version"] == registry.v2.version
    finally:
        set_champion(registry.mlflow, registry.v1.version)
        assert reload(server).status_code == 200
        wait_until_all_serve(server, registry.v1.version)


def test_a_failed_reload_reports_an_error_and_keeps_the_old_model(
    server: RunningServer, registry: Registry, mlflow_server: services.MlflowServer, s3_server: services.S3Server
) -> None:
    booster, metadata = train_booster(rounds=3, seed=5)
    broken = register_model(registry.mlflow, booster, metadata)  # becomes the champion
    break_artifacts(broken, mlflow_server, s3_server)
    try:
        response = reload(server)
        assert response.status_code == 502, response.text
        assert f"version {broken.version}" in response.json()["error"]
        assert "previous model still serves" in response.json()["error"]
        for _ in range(20):
            assert predict(server, txn()).json()["predictions"][0]["model_version"] == registry.v1.version
    finally:
        set_champion(registry.mlflow, registry.v1.version)


def test_reloads_under_load_fail_no_request(server: RunningServer, registry: Registry) -> None:
    failures: list[str] = []
    versions: set[str] = set()
    sent = 0
    stop = threading.Event()

    def client() -> None:
        nonlocal sent
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    response = http.post(f"{server.url}/predict", json={"transactions": [txn(), txn("t2", "u2")]})
                    sent += 1
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                    else:
                        versions.update(p["model_version"] for p in response.json()["predictions"])
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for i in range(6):
            version = (registry.v2 if i % 2 == 0 else registry.v1).version
            set_champion(registry.mlflow, version)
            response = reload(server)
            assert response.status_code == 200 and response.json()["version"] == version, response.text
            assert response.json()["workers"] == 2
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        set_champion(registry.mlflow, registry.v1.version)
    assert failures == []
    assert sent > 50 and versions == {registry.v1.version, registry.v2.version}


# --- contract fuzzing --------------------------------------------------------------------------------------


def test_no_generated_request_gets_a_server_error(server: RunningServer) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{server.url}/docs.json")
    schema.config.update(base_url=server.url)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path in ("/predict", "/admin/reload")]
    assert {op.path for op in operations} == {"/predict", "/admin/reload"}
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def no_5xx(case: Any) -> None:
            response = case.call(base_url=server.url, timeout=10)
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.path} {case.body!r}: {response.status_code}"

        no_5xx()
    # Generated bodies both pass validation (200) and fail it (422); reloads without the token are 401.
    assert len(statuses) >= 60 and 200 in statuses and 401 in statuses, sorted(set(statuses))


# --- servers of their own ------------------------------------------------------------------------------------


def test_without_a_champion_the_service_is_unready_answers_503_then_picks_one_up(
    tmp_path: Path, kafka_broker: services.KafkaBroker
) -> None:
    mlflow = local_mlflow(tmp_path / "mlflow")
    with services.redis_database() as db:
        env = server_env(
            redis_host=db.host,
            redis_port=db.port,
            redis_db=db.db,
            tracking_uri=mlflow.tracking_uri,
            artifact_location=str(mlflow.artifact_location),
            bootstrap_servers=kafka_broker.bootstrap_servers,
            data_dir=tmp_path / "var",
        )
        with served(env, ready=False) as running:
            assert httpx.get(f"{running.url}/readyz", timeout=10).status_code == 503
            response = predict(running, txn())
            assert response.status_code == 503
            assert "no fraud model is loaded" in response.json()["error"]
            assert httpx.post(f"{running.url}/admin/reload", headers=AUTH, timeout=30).status_code == 409
            booster, metadata = train_booster()
            version = register_model(mlflow, booster, metadata).version
            running.wait_ready(timeout=30)
            wait_until_all_serve(running, version)


def test_online_store_down_scores_degraded_and_recovers(
    tmp_path: Path, registry: Registry, kafka_broker: services.KafkaBroker
) -> None:
    with PrivateRedis() as store:
        write_default_features(store.settings, project="riskloop")
        env = server_env(
            redis_host="127.0.0.1",
            redis_port=store.port,
            redis_db=0,
            tracking_uri=registry.mlflow.tracking_uri,
            artifact_location=None,
            bootstrap_servers=kafka_broker.bootstrap_servers,
            data_dir=tmp_path / "var",
            extra={
                "RISKLOOP_FRAUD_API__REDIS_RETRY_SECONDS": "0.5",
                "RISKLOOP_MLFLOW__MODEL_NAME": registry.mlflow.model_name,
            },
        )
        with served(env) as running:
            assert predict(running, txn()).json()["predictions"][0]["degraded"] is False
            store.stop()
            for _ in range(5):
                response = predict(running, txn())
                assert response.status_code == 200
                prediction = response.json()["predictions"][0]
                assert prediction["degraded"] is True
                assert set(prediction["missing_features"]) >= ONLINE_FEATURES
            assert "riskloop_fraud_degraded_total" in httpx.get(f"{running.url}/metrics", timeout=10).text
            store.start()
            write_default_features(store.settings, project="riskloop")
            deadline = time.monotonic() + 10
            while predict(running, txn()).json()["predictions"][0]["degraded"]:
                assert time.monotonic() < deadline, "scores stayed degraded after Redis came back"
                time.sleep(0.2)
            prediction = predict(running, txn()).json()["predictions"][0]
            assert not ONLINE_FEATURES & set(prediction["missing_features"])


def _dependency_up(server: RunningServer, dependency: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "riskloop_fraud_dependency_up" and sample.labels.get("dependency") == dependency:
                return sample.value
    return None


def test_predictions_topic_down_scores_still_answer_flagged_and_publishing_recovers(
    tmp_path: Path, registry: Registry, online_store: services.RedisDatabase, durable_kafka_broker: services.KafkaBroker
) -> None:
    def published_streak(want: bool, streak: int, timeout: float) -> None:
        deadline, seen = time.monotonic() + timeout, 0
        while seen < streak:
            assert time.monotonic() < deadline, f"predictions did not report published={want} within {timeout} s"
            response = predict(running, txn())
            assert response.status_code == 200, response.text
            prediction = response.json()["predictions"][0]
            assert prediction["degraded"] is False  # the score itself never depends on the broker
            seen = seen + 1 if prediction["published"] is want else 0
            time.sleep(0.05)

    broker = durable_kafka_broker  # keeps its topics over the restart, as a real Kafka does
    topic = {"RISKLOOP_KAFKA__PREDICTIONS_TOPIC": "predictions.fraud.outage"}
    env = shared_env(registry, online_store, broker, tmp_path / "var", **topic)
    with served(env) as running:
        published_streak(True, streak=10, timeout=30)
        broker.stop()
        published_streak(False, streak=1, timeout=30)
        assert _dependency_up(running, "predictions_topic") == 0
        assert _dependency_up(running, "online_store") == 1
        # Scored while the broker is down (flagged or not: the other worker may not have noticed yet): kept in
        # the publisher's buffer, or handed over and refused, and either way sent once the broker is back.
        assert predict(running, txn("during-outage")).status_code == 200
        broker.start()
        published_streak(True, streak=20, timeout=60)
        ids = {f"after-outage-{i}" for i in range(5)}
        response = predict(running, *[txn(i) for i in sorted(ids)])
        assert all(p["published"] for p in response.json()["predictions"])
        want = ids | {"during-outage"}
        assert want <= published_ids(broker, "predictions.fraud.outage", want)
