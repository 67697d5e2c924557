"""From Kafka messages to the pipeline: decode, dead-letter what breaks the contract, skip what the
restart replay already counted."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import pyarrow as pa

from riskloop_stream_worker.pipeline import FeaturePipeline
from riskloop_stream_worker.records import Intake
from riskloop_streaming.dead_letters import DeadLetter, DeadLetterPublisher
from riskloop_streaming.decoding import decode_transactions
from riskloop_streaming.metrics import StreamMetrics, lags


class Message(Protocol):
    """The fields of an aiokafka ConsumerRecord the intake reads; `timestamp` in milliseconds."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int


class TransactionIntake:
    def __init__(
        self,
        pipeline: FeaturePipeline,
        *,
        dead_letters: DeadLetterPublisher,
        metrics: StreamMetrics,
        replayed_until: Mapping[int, int],
    ) -> None:
        self._pipeline = pipeline
        self._dead_letters = dead_letters
        self._metrics = metrics
        # Per partition, the offset the restart replay read up to: below it, events are already in the state.
        self._replayed_until = dict(replayed_until)
        self._next_offsets: dict[int, int] = {}
        self._topic: str | None = None
        self.taken = 0  # messages handed over so far, whatever became of them

    async def take(self, messages: Sequence[Message]) -> Intake:
        table, errors = decode_transactions([message.value for message in messages])
        for index, error in errors:
            message = messages[index]
            # Dead-lettered even below the replay end: the previous run may have died before doing it.
            letter = DeadLetter(
                message.value, message.key, message.topic, message.partition, message.offset, error.kind, error.reason
            )
            await self._dead_letters.publish(letter)
            self._metrics.count_dead_letter(error.kind)
        broken = {index for index, _ in errors}
        decoded = [message for i, message in enumerate(messages) if i not in broken]  # the table's rows, in order
        fresh = [m.offset >= self._replayed_until.get(m.partition, 0) for m in decoded]
        if not all(fresh):
            table = table.filter(pa.array(fresh, pa.bool_()))
        for message in messages:
            self._next_offsets[message.partition] = message.offset + 1
        self.taken += len(messages)
        if messages:
            self._topic = messages[0].topic
            self._metrics.count_events(self._topic, len(messages))
        stamps = [m.timestamp / 1000 for m, new in zip(decoded, fresh, strict=True) if new]
        self._pipeline.accept(table, stamps)
        return Intake(table.num_rows, len(decoded) - table.num_rows, len(errors))

    def record_lag(self, highwater: Callable[[int], int | None]) -> None:
        """Publish, per partition taken so far, how far behind its high watermark the intake is."""
        if self._topic is None:
            return
        self._metrics.record_lag(self._topic, lags((p, highwater(p), n) for p, n in self._next_offsets.items()))
