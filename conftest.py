"""Fixtures every test may use: real PostgreSQL, Redis, Kafka-protocol broker and S3 (libs/testing)."""

from riskloop_testing.fixtures import kafka_broker, postgres_database, redis_database, s3_bucket, s3_server

__all__ = ["kafka_broker", "postgres_database", "redis_database", "s3_bucket", "s3_server"]
