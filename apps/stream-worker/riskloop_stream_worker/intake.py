"""From Kafka messages to the pipeline: decode, dead-letter what breaks the contract, skip what the
restart replay already counted."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from riskloop_stream_worker.pipeline import FeaturePipeline
from riskloop_stream_worker.records import Intake
from riskloop_streaming.dead_letters import DeadLetter, DeadLetterPublisher
from riskloop_streaming.decoding import DecodeError, decode_transaction
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
        records: list[dict[str, Any]] = []
        stamps: list[float] = []
        replayed = dead = 0
        for message in messages:
            self._next_offsets[message.partition] = message.offset + 1
            decoded = decode_transaction(message.value)
            if isinstance(decoded, DecodeError):
                # Dead-lettered even below the replay end: the previous run may have died before doing it.
                await self._dead_letters.publish(
                    DeadLetter(
                        message.value,
                        message.key,
                        message.topic,
                        message.partition,
                        message.offset,
                        decoded.kind,
                        decoded.reason,
                    )
                )
                self._metrics.count_dead_letter(decoded.kind)
                dead += 1
            elif message.offset < self._replayed_until.get(message.partition, 0):
                replayed += 1
            else:
                records.append(decoded)
                stamps.append(message.timestamp / 1000)
        self.taken += len(messages)
        if messages:
            self._topic = messages[0].topic
            self._metrics.count_events(self._topic, len(messages))
        self._pipeline.accept(records, stamps)
        return Intake(len(records), replayed, dead)

    def record_lag(self, highwater: Callable[[int], int | None]) -> None:
        """Publish, per partition taken so far, how far behind its high watermark the intake is."""
        if self._topic is None:
            return
        self._metrics.record_lag(self._topic, lags((p, highwater(p), n) for p, n in self._next_offsets.items()))
