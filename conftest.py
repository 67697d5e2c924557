"""Fixtures every test may use: real PostgreSQL, Redis, Kafka-protocol broker, S3 and an MLflow tracking
server (libs/testing)."""

from riskloop_testing.fixtures import (
    durable_kafka_broker,
    kafka_broker,
    mlflow_server,
    postgres_database,
    redis_database,
    s3_bucket,
    s3_server,
)

__all__ = [
    "durable_kafka_broker",
    "kafka_broker",
    "mlflow_server",
    "postgres_database",
    "redis_database",
    "s3_bucket",
    "s3_server",
]
