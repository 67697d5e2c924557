"""The Parquet sink: raw transactions from Kafka to the raw-events archive, at least once, without duplicates.

Offsets are committed only after the records below them are in the archive (or, for a message that breaks
the contract, after its dead letter was acknowledged). A crash between writing and committing replays the
same offsets into the same file names (see archive.py), so the archive never holds a record twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from riskloop_config.settings import KafkaSettings, S3Settings
from riskloop_parquet_sink.archive import ParquetArchive
from riskloop_parquet_sink.buffers import PartitionBuffer
from riskloop_streaming.clients import client_kwargs
from riskloop_streaming.dead_letters import DeadLetter, DeadLetterPublisher
from riskloop_streaming.decoding import DecodeError, decode_transaction
from riskloop_streaming.metrics import StreamMetrics

log = logging.getLogger(__name__)

APP = "parquet-sink"


@dataclass(frozen=True)
class SinkOptions:
    group_id: str = "riskloop-parquet-sink"
    # A flush writes one file per event day: bigger flushes mean fewer, larger files but later archiving.
    flush_records: int = 50_000
    flush_seconds: float = 30.0
    poll_records: int = 10_000
    poll_ms: int = 200
    retry_seconds: float = 1.0


class _FlushOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Archive and commit what a partition holds before another consumer takes it over."""

    def __init__(self, sink: ParquetSink) -> None:
        self._sink = sink

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._sink.release([tp.partition for tp in revoked])

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._sink.adopt([tp.partition for tp in assigned])


class ParquetSink:
    def __init__(
        self,
        kafka: KafkaSettings,
        s3: S3Settings,
        *,
        options: SinkOptions | None = None,
        archive: ParquetArchive | None = None,
        dead_letters: DeadLetterPublisher | None = None,
        metrics: StreamMetrics | None = None,
    ) -> None:
        self.options = options or SinkOptions()
        self.topic = kafka.raw_transactions_topic
        self.archive = archive or ParquetArchive.from_settings(s3)
        self.metrics = metrics or StreamMetrics.create(APP)
        self._kafka = kafka
        self._dead_letters = dead_letters or DeadLetterPublisher(kafka, client_id=f"{APP}-dead-letters")
        self._consumer: AIOKafkaConsumer | None = None
        self._buffers: dict[int, PartitionBuffer] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then archive and commit what is buffered."""
        consumer = AIOKafkaConsumer(
            **client_kwargs(self._kafka, client_id=APP),
            group_id=self.options.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._consumer = consumer
        await self._dead_letters.start()
        await consumer.start()
        try:
            consumer.subscribe([self.topic], listener=_FlushOnRevoke(self))
            log.info("sink started", extra={"topic": self.topic, "group": self.options.group_id})
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=self.options.poll_ms, max_records=self.options.poll_records)
                for tp, messages in batches.items():
                    await self._accept(tp, messages)
                self._record_lag()
                await self._flush(list(self._buffers), force=False)
                await self._commit()
            await self._flush(list(self._buffers), force=True)
            await self._commit()
        finally:
            await consumer.stop()
            await self._dead_letters.stop()
            self._consumer = None
            log.info("sink stopped", extra={"topic": self.topic})

    @property
    def buffers(self) -> Mapping[int, PartitionBuffer]:
        """What is held per assigned partition (for health checks and tests)."""
        return dict(self._buffers)

    async def release(self, partitions: list[int]) -> None:
        """Archive and commit everything held for `partitions`, then forget them (they are moving away)."""
        await self._flush(partitions, force=True)
        await self._commit()
        for partition in partitions:
            self._buffers.pop(partition, None)

    def adopt(self, partitions: list[int]) -> None:
        for partition in partitions:
            self._buffers.setdefault(partition, PartitionBuffer(partition))

    async def _accept(self, tp: TopicPartition, messages: list[ConsumerRecord]) -> None:
        buffer = self._buffers.setdefault(tp.partition, PartitionBuffer(tp.partition))
        self.metrics.count_events(self.topic, len(messages))
        for message in messages:
            if buffer.seen(message.offset):
                continue
            decoded = decode_transaction(message.value)
            if isinstance(decoded, DecodeError):
                await self._dead_letter(message, decoded)
                buffer.skip(message.offset)
            else:
                buffer.add(message.offset, decoded)

    async def _dead_letter(self, message: ConsumerRecord, error: DecodeError) -> None:
        letter = DeadLetter(
            message.value, message.key, message.topic, message.partition, message.offset, error.kind, error.reason
        )
        await self._dead_letters.publish(letter)
        self.metrics.count_dead_letter(error.kind)
        log.warning(
            "message dead-lettered",
            extra={
                "partition": message.partition,
                "offset": message.offset,
                "kind": error.kind,
                "reason": error.reason,
            },
        )

    async def _flush(self, partitions: list[int], *, force: bool) -> None:
        for partition in partitions:
            buffer = self._buffers.get(partition)
            while buffer is not None and len(buffer):
                due = buffer.due(
                    max_records=self.options.flush_records, max_seconds=self.options.flush_seconds, now=time.monotonic()
                )
                if not (force or due) or not await self._write(buffer):
                    break

    async def _write(self, buffer: PartitionBuffer) -> bool:
        # Files hold at most flush_records rows, cut at fixed counts from the committed offset, so a replay
        # after a crash cuts the same files whatever batch sizes the fetches returned.
        offsets, records = buffer.head(self.options.flush_records)
        started = time.perf_counter()
        try:
            # Off the event loop: the consumer's heartbeats and fetches keep going during the upload.
            files = await asyncio.to_thread(self.archive.write, buffer.partition, offsets, records)
        except OSError as exc:
            # The records stay buffered and uncommitted; the next round retries.
            self.metrics.count_error("archive_write")
            log.error("archive write failed", extra={"partition": buffer.partition, "error": repr(exc)})
            await asyncio.sleep(self.options.retry_seconds)
            return False
        self.metrics.observe_batch("flush", time.perf_counter() - started)
        log.info(
            "flushed", extra={"partition": buffer.partition, "rows": len(records), "files": [f.path for f in files]}
        )
        buffer.archived(offsets[-1])
        return True

    async def _commit(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        offsets = {
            TopicPartition(self.topic, b.partition): b.committable
            for b in self._buffers.values()
            if b.needs_commit() and b.committable is not None
        }
        if not offsets:
            return
        try:
            await consumer.commit(offsets)  # type: ignore[arg-type]
        except KafkaError as exc:
            # Not fatal: the archive already holds the rows; a replay rewrites the same files.
            self.metrics.count_error("commit")
            log.warning("commit failed; will retry", extra={"error": repr(exc)})
            return
        for tp, offset in offsets.items():
            if tp.partition in self._buffers:
                self._buffers[tp.partition].committed = offset

    def _record_lag(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        lags = {}
        for partition, buffer in self._buffers.items():
            highwater = consumer.highwater(TopicPartition(self.topic, partition))
            if highwater is not None and buffer.next_offset is not None:
                lags[partition] = highwater - buffer.next_offset
        self.metrics.record_lag(self.topic, lags)
