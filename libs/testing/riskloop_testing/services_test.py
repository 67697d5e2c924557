"""Each real service is reachable through the harness over a real connection."""

from __future__ import annotations

import asyncio
import os
import uuid

import psycopg
import pytest
import redis

from riskloop_testing.services import KafkaBroker, PostgresDatabase, RedisDatabase, S3Server, subprocess_env


def test_postgres_database_is_fresh_and_writable(postgres_database: PostgresDatabase) -> None:
    with psycopg.connect(postgres_database.dsn()) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()
        assert tables == (0,)
        conn.execute("CREATE TABLE probe (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO probe VALUES (1, 'hello')")
        assert conn.execute("SELECT note FROM probe WHERE id = 1").fetchone() == ("hello",)


def test_redis_database_is_empty_and_isolated(redis_database: RedisDatabase) -> None:
    client = redis.Redis.from_url(redis_database.url)
    assert client.dbsize() == 0
    client.set("probe", "value")
    assert client.get("probe") == b"value"
    other = redis.Redis(host=redis_database.host, port=redis_database.port, db=0)
    assert other.get("probe") is None  # the lease database is not this one


def test_broker_produces_and_consumes_in_a_group(kafka_broker: KafkaBroker) -> None:
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"probe-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap_servers)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap_servers)
    sent = {f"message-{i}".encode() for i in range(50)}
    for value in sent:
        producer.send(topic, key=value[-1:], value=value)
    producer.flush()
    producer.close()

    async def consume() -> set[bytes]:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_broker.bootstrap_servers,
            group_id=f"group-{topic}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        received: set[bytes] = set()
        try:
            async with asyncio.timeout(30):
                while received != sent:
                    batch = await consumer.getmany(timeout_ms=500)
                    for records in batch.values():
                        received.update(r.value for r in records)
            await consumer.commit()
        finally:
            await consumer.stop()
        return received

    assert asyncio.run(consume()) == sent


def test_s3_put_and_get(s3_server: S3Server, s3_bucket: str) -> None:
    client = s3_server.client()
    client.put_object(Bucket=s3_bucket, Key="dir/object.bin", Body=b"\x00payload")
    assert client.get_object(Bucket=s3_bucket, Key="dir/object.bin")["Body"].read() == b"\x00payload"
    listed = client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["dir/object.bin"]


def test_a_child_does_not_inherit_what_imports_set_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import feast.metrics  # noqa: F401 - the import that sets PROMETHEUS_MULTIPROC_DIR as a side effect

    assert "PROMETHEUS_MULTIPROC_DIR" in os.environ
    monkeypatch.setenv("RISKLOOP_TEST_MARKER", "kept")
    env = subprocess_env()
    assert "PROMETHEUS_MULTIPROC_DIR" not in env and "PROMETHEUS_MULTIPROCESS_DIR" not in env
    assert env["RISKLOOP_TEST_MARKER"] == "kept" and env["PYTHONPATH"]
