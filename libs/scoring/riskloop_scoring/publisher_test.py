from __future__ import annotations

import asyncio
import json
import time

from riskloop_config.settings import KafkaSettings
from riskloop_scoring.publisher import PredictionPublisher
from riskloop_testing.services import KafkaBroker, free_port


async def _consume(servers: str, topic: str, want: int, timeout: float) -> list[dict[str, object]]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, auto_offset_reset="earliest", group_id="t")
    await consumer.start()
    got: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                got += [json.loads(r.value) for r in records]
    finally:
        await consumer.stop()
    return got


def test_published_scores_reach_the_topic(kafka_broker: KafkaBroker) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_broker.bootstrap_servers, predictions_topic="predictions.test")
    publisher = PredictionPublisher(kafka)
    try:
        for i in range(20):
            publisher.publish(f"t{i}", {"transaction_id": f"t{i}", "fraud_score": 0.5})
        got = asyncio.run(_consume(kafka.bootstrap_servers, kafka.predictions_topic, 20, timeout=30))
    finally:
        publisher.close()
    assert sorted(r["transaction_id"] for r in got) == sorted(f"t{i}" for i in range(20))
    assert publisher.stats.dropped == 0


def test_a_missing_broker_never_blocks_and_drops_are_counted() -> None:
    dropped: list[int] = []
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    publisher = PredictionPublisher(kafka, queue_size=10, on_drop=dropped.append, retry_seconds=0.1)
    try:
        started = time.monotonic()
        for i in range(1000):
            publisher.publish(f"t{i}", {"transaction_id": f"t{i}"})
        assert time.monotonic() - started < 0.5
    finally:
        publisher.close()
    assert publisher.stats.dropped >= 990 and sum(dropped) == publisher.stats.dropped


def test_records_published_just_before_close_are_sent(kafka_broker: KafkaBroker) -> None:
    # The producer thread takes the buffer every flush_seconds; close() must still send what was left in it.
    kafka = KafkaSettings(bootstrap_servers=kafka_broker.bootstrap_servers, predictions_topic="predictions.close")
    publisher = PredictionPublisher(kafka, flush_seconds=60)
    publisher.publish("warm", {"transaction_id": "warm"})
    deadline = time.monotonic() + 30
    while publisher.stats.sent == 0 and time.monotonic() < deadline:  # started, first take sent, now waiting
        time.sleep(0.05)
    for i in range(5):
        publisher.publish(f"t{i}", {"transaction_id": f"t{i}"})
    publisher.close(timeout=10)
    got = asyncio.run(_consume(kafka.bootstrap_servers, kafka.predictions_topic, 6, timeout=30))
    assert sorted(r["transaction_id"] for r in got) == sorted(["warm", *(f"t{i}" for i in range(5))])
    assert publisher.stats.dropped == 0
