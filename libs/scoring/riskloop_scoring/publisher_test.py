from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from riskloop_config.settings import KafkaSettings
from riskloop_scoring.publisher import PredictionPublisher
from riskloop_testing.services import KafkaBroker, free_port


async def _consume(servers: str, topic: str, want: set[str], timeout: float) -> list[dict[str, object]]:
    """Records of `topic` until all transaction ids of `want` are seen (delivery is at least once)."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=servers, auto_offset_reset="earliest", group_id="t")
    await consumer.start()
    got: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + timeout
        while not want <= {r["transaction_id"] for r in got} and time.monotonic() < deadline:
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
        ids = {f"t{i}" for i in range(20)}
        got = asyncio.run(_consume(kafka.bootstrap_servers, kafka.predictions_topic, ids, timeout=30))
        assert publisher.connected
        assert publisher.publish("t20", {"transaction_id": "t20"}) is True
    finally:
        publisher.close()
    assert sorted(r["transaction_id"] for r in got) == sorted(ids)
    assert publisher.stats.dropped == 0


def test_a_missing_broker_never_blocks_and_drops_are_counted() -> None:
    dropped: list[int] = []
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    publisher = PredictionPublisher(kafka, queue_size=10, on_drop=dropped.append, retry_seconds=0.1)
    try:
        started = time.monotonic()
        handed_over = [publisher.publish(f"t{i}", {"transaction_id": f"t{i}"}) for i in range(1000)]
        assert time.monotonic() - started < 0.5
        assert not any(handed_over) and not publisher.connected
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
    ids = {"warm", *(f"t{i}" for i in range(5))}
    got = asyncio.run(_consume(kafka.bootstrap_servers, kafka.predictions_topic, ids, timeout=30))
    assert sorted(r["transaction_id"] for r in got) == sorted(ids)
    assert publisher.stats.dropped == 0


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"
        time.sleep(0.1)


def test_a_broker_outage_is_reported_and_what_it_refused_is_sent_when_it_returns(
    durable_kafka_broker: KafkaBroker,
) -> None:
    broker = durable_kafka_broker  # keeps the topic over the restart, as a real Kafka does
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, predictions_topic="predictions.outage")
    publisher = PredictionPublisher(kafka, retry_seconds=0.2)
    try:
        publisher.publish("before", {"transaction_id": "before"})
        _wait_for(lambda: publisher.stats.sent == 1, 30, "sent")
        assert publisher.connected
        broker.stop()
        # Published while the producer still counts as connected: handed over, then refused by a dead broker.
        in_flight = {f"in-flight-{i}" for i in range(5)}
        for key in sorted(in_flight):
            publisher.publish(key, {"transaction_id": key})
        _wait_for(lambda: not publisher.publish("during", {"transaction_id": "during"}), 30, "disconnected")
        broker.start()  # same port, same log
        _wait_for(lambda: publisher.publish("after", {"transaction_id": "after"}), 60, "reconnected")
        want = in_flight | {"during", "after"}
        got = asyncio.run(_consume(broker.bootstrap_servers, kafka.predictions_topic, want, timeout=60))
    finally:
        publisher.close()
    assert want <= {r["transaction_id"] for r in got}
    assert publisher.stats.dropped == 0
