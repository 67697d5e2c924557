"""Re-reading a topic from a moment up to where it ended when the replay began: how a stateful worker
rebuilds its state from the log after a restart.

The end of each partition is its high watermark as reported by the first fetch, not ListOffsets: some
Kafka-protocol brokers (Tansu 0.6) answer ListOffsets with the base offset of the last batch, which would
end the replay early. A broker that cannot look offsets up by time (Tansu answers offset 0) only makes the
replay start earlier: never later than asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from riskloop_config.settings import KafkaSettings
from riskloop_streaming.clients import client_kwargs


class ReplayTimedOut(TimeoutError):
    """The replay did not reach the partitions' high watermarks in time (broker down or far too much data)."""


class TopicNotFound(LookupError):
    """The topic to replay has no partitions on the broker."""


@dataclass(frozen=True)
class ReplayResult:
    """Per partition, the offset the replay stopped at: the live stream must skip anything below it."""

    ends: dict[int, int]
    messages: int


async def replay_topic(
    kafka: KafkaSettings,
    topic: str,
    *,
    since: datetime | None,
    on_batch: Callable[[list[ConsumerRecord]], Awaitable[None] | None],
    timeout: float = 600.0,
    max_records: int = 10_000,
    client_id: str = "riskloop-replay",
) -> ReplayResult:
    """Feed every message of `topic` from `since` (None: the beginning) to the current end into `on_batch`,
    partition by partition in offset order. Outside any consumer group: commits nothing."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(kafka, client_id=client_id), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await consumer.topics()  # refreshes the metadata partitions_for_topic reads
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        if not partitions:
            raise TopicNotFound(f"topic {topic!r} has no partitions")
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        if since is None:
            await consumer.seek_to_beginning(*tps)
        else:
            found = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in tps})
            for tp in tps:
                at = found.get(tp)
                if at is None:
                    await consumer.seek_to_end(tp)
                else:
                    consumer.seek(tp, at.offset)
        ends: dict[TopicPartition, int] = {}
        count = 0
        deadline = time.monotonic() + timeout
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=max_records)
            for tp in tps:
                if tp not in ends and consumer.highwater(tp) is not None:
                    ends[tp] = int(consumer.highwater(tp))  # type: ignore[arg-type]
            for tp, messages in batches.items():
                wanted = [m for m in messages if m.offset < ends.get(tp, m.offset + 1)]
                if wanted:
                    count += len(wanted)
                    result = on_batch(wanted)
                    if result is not None:
                        await result
            if len(ends) == len(tps) and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                return ReplayResult({tp.partition: end for tp, end in ends.items()}, count)
            if time.monotonic() > deadline:
                raise ReplayTimedOut(f"replay of {topic!r} did not reach its end within {timeout:.0f}s")
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
