"""BatchReader on the real broker: every message once, in offset order per partition, and commits that
never run ahead of the handler."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from riskloop_config.settings import KafkaSettings
from riskloop_streaming.batches import BatchReader
from riskloop_streaming.clients import client_kwargs
from riskloop_streaming.testing import fresh_kafka_settings, produce_raw
from riskloop_streaming.topics import ensure_topics
from riskloop_testing.services import KafkaBroker


async def committed(kafka: KafkaSettings, group: str, partitions: int) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(**client_kwargs(kafka, client_id="test-committed"), group_id=group)
    await consumer.start()
    try:
        topic = kafka.raw_transactions_topic
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
    finally:
        await consumer.stop()


async def read_until(reader: BatchReader, total: list[int], expected: int, timeout: float = 60) -> None:
    async def loop() -> None:
        while sum(total) < expected:
            await reader.read_once()

    await asyncio.wait_for(loop(), timeout)


def test_every_message_once_in_offset_order_then_committed(kafka_broker: KafkaBroker) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=3)
    ensure_topics(kafka)
    produce_raw(kafka, kafka.raw_transactions_topic, [(f"k{i % 7}".encode(), str(i).encode()) for i in range(300)])
    seen: list[ConsumerRecord] = []
    sizes: list[int] = []

    async def handle(messages: Sequence[ConsumerRecord]) -> None:
        seen.extend(messages)
        sizes.append(len(messages))

    async def scenario() -> dict[int, int | None]:
        reader = BatchReader(
            kafka, kafka.raw_transactions_topic, handle, group_id="g-once", client_id="t", max_records=50
        )
        await reader.start()
        try:
            await read_until(reader, sizes, 300)
        finally:
            await reader.stop()
        return await committed(kafka, "g-once", 3)

    commits = asyncio.run(scenario())
    assert sorted(int(m.value) for m in seen) == list(range(300))
    assert max(sizes) <= 50
    ends = {}
    for partition in range(3):
        offsets = [m.offset for m in seen if m.partition == partition]
        assert offsets == list(range(len(offsets)))
        ends[partition] = len(offsets)
    assert commits == ends


def test_a_failed_batch_is_not_committed(kafka_broker: KafkaBroker) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=1)
    ensure_topics(kafka)
    produce_raw(kafka, kafka.raw_transactions_topic, [(b"k", str(i).encode()) for i in range(20)])
    handled: list[int] = []

    async def handle(messages: Sequence[ConsumerRecord]) -> None:
        if handled:
            raise RuntimeError("store down")
        handled.append(len(messages))

    async def scenario() -> dict[int, int | None]:
        reader = BatchReader(
            kafka, kafka.raw_transactions_topic, handle, group_id="g-fail", client_id="t", max_records=5
        )
        await reader.start()
        try:
            await read_until(reader, handled, 1)
            with pytest.raises(RuntimeError, match="store down"):
                await asyncio.wait_for(reader.run(), 30)
        finally:
            await reader.stop()
        return await committed(kafka, "g-fail", 1)

    assert asyncio.run(scenario()) == {0: handled[0]}
