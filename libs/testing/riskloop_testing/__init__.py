"""Riskloop's shared test harness: real PostgreSQL, Redis, Kafka-protocol broker and S3 over real connections."""

from riskloop_testing.services import (
    KafkaBroker,
    PostgresDatabase,
    RedisDatabase,
    S3Server,
    ServiceUnavailable,
    free_port,
    kafka_broker,
    postgres_database,
    redis_database,
    s3_server,
    wait_for_port,
)

__all__ = [
    "KafkaBroker",
    "PostgresDatabase",
    "RedisDatabase",
    "S3Server",
    "ServiceUnavailable",
    "free_port",
    "kafka_broker",
    "postgres_database",
    "redis_database",
    "s3_server",
    "wait_for_port",
]
