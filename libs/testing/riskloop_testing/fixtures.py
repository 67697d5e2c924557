"""pytest fixtures over `services`: import them into a conftest (`from riskloop_testing.fixtures import *`).

A service that cannot be had fails the test with how to start it; nothing is skipped silently.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from riskloop_testing import services

__all__ = ["durable_kafka_broker", "kafka_broker", "postgres_database", "redis_database", "s3_bucket", "s3_server"]


def _fail_unavailable(exc: services.ServiceUnavailable) -> None:
    pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[services.PostgresDatabase]:
    """A fresh database on the running PostgreSQL, for this test run."""
    try:
        with services.postgres_database() as database:
            yield database
    except services.ServiceUnavailable as exc:
        _fail_unavailable(exc)


@pytest.fixture
def redis_database() -> Iterator[services.RedisDatabase]:
    """A logical database of the running Redis, leased to this test alone and empty."""
    try:
        with services.redis_database() as database:
            yield database
    except services.ServiceUnavailable as exc:
        _fail_unavailable(exc)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[services.KafkaBroker]:
    """A Tansu Kafka-protocol broker on a free port, in memory, for this test run."""
    try:
        with services.kafka_broker() as broker:
            yield broker
    except services.ServiceUnavailable as exc:
        _fail_unavailable(exc)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[services.S3Server]:
    """An S3 API server (moto) on a free port, for this test run."""
    try:
        with services.s3_server() as server:
            yield server
    except services.ServiceUnavailable as exc:
        _fail_unavailable(exc)


@pytest.fixture
def durable_kafka_broker(s3_server: services.S3Server) -> Iterator[services.KafkaBroker]:
    """A broker of its own whose log lives in the test S3 server: it keeps topics and records over a restart."""
    try:
        with services.durable_kafka_broker(s3_server) as broker:
            yield broker
    except services.ServiceUnavailable as exc:
        _fail_unavailable(exc)


@pytest.fixture
def s3_bucket(s3_server: services.S3Server) -> str:
    """A new, empty bucket on the test S3 server."""
    return s3_server.create_bucket()


@pytest.fixture(scope="session")
def mlflow_server(s3_server: services.S3Server) -> Iterator[services.MlflowServer]:
    """An MLflow tracking server for this test run: its own fresh Postgres database as backend store,
    artifacts proxied to a new bucket on the test S3 server. Run from libs/testing:mlflow-server when the
    test has it packaged (a resolve with mlflow-skinny only), else by this interpreter's mlflow."""
    packaged = services.MLFLOW_SERVER_PEX
    command = [sys.executable, str(packaged.resolve())] if packaged.exists() else None  # a pex is a zip Python runs
    try:
        with (
            services.postgres_database() as database,
            services.mlflow_server(
                backend_store_uri=database.dsn(driver="postgresql+psycopg2"), s3=s3_server, command=command
            ) as server,
        ):
            yield server
    except services.ServiceUnavailable as exc:
        _fail_unavailable(exc)


__all__ += ["mlflow_server"]
