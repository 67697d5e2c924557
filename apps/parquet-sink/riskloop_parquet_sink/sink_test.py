"""The sink on the real broker and S3 server: every record archived once, replays and broker restarts
included, poison messages dead-lettered without stopping the stream."""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from aiokafka import AIOKafkaConsumer, TopicPartition

from riskloop_config.settings import KafkaSettings, S3Settings
from riskloop_features.transactions import TRANSACTION_SCHEMA
from riskloop_parquet_sink.archive import ParquetArchive
from riskloop_parquet_sink.sink import ParquetSink, SinkOptions
from riskloop_streaming.clients import client_kwargs
from riskloop_streaming.dead_letters import dead_letter_from_headers
from riskloop_streaming.decoding import encode_transaction
from riskloop_streaming.testing import (
    fresh_kafka_settings,
    produce_raw,
    produce_transactions,
    producer,
    read_topic,
    sample_transaction,
)
from riskloop_streaming.topics import ensure_topics
from riskloop_testing.services import KafkaBroker, S3Server

START = datetime(2026, 3, 1, 20, tzinfo=UTC)


def transactions(first: int, count: int) -> list[dict]:  # type: ignore[type-arg]
    # 40 s apart from 20:00: a few thousand of them span several event days, so flushes split across dt= folders.
    return [sample_transaction(i, at=START + timedelta(seconds=40 * i)) for i in range(first, first + count)]


def s3_settings(server: S3Server, bucket: str) -> S3Settings:
    return S3Settings(
        backend="s3",
        endpoint_url=server.endpoint_url,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
        region=server.region,
        raw_events_bucket=bucket,
    )


def archived(archive: ParquetArchive) -> pa.Table:
    listing = archive.filesystem.get_file_info(archive.table_root)
    if listing.type.name == "NotFound":
        return TRANSACTION_SCHEMA.empty_table()
    dataset = ds.dataset(archive.table_root, filesystem=archive.filesystem, format="parquet", partitioning="hive")
    return dataset.to_table()


def archived_files(archive: ParquetArchive) -> set[str]:
    from pyarrow.fs import FileSelector

    infos = archive.filesystem.get_file_info(FileSelector(archive.table_root, recursive=True, allow_not_found=True))
    return {i.path.removeprefix(archive.table_root) for i in infos if i.path.endswith(".parquet")}


async def run_sink_until(
    sink: ParquetSink, done: Callable[[], bool], *, timeout: float, during: Callable[[], None] | None = None
) -> None:
    """Run the sink until `done()` holds (checked off the loop), running `during` in a thread meanwhile."""
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(stop))
    try:
        if during is not None:
            await asyncio.wait_for(asyncio.to_thread(during), timeout)
        async with asyncio.timeout(timeout):
            while not await asyncio.to_thread(done):
                if task.done():
                    task.result()
                await asyncio.sleep(0.3)
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


def committed_offsets(kafka: KafkaSettings, group_id: str) -> dict[int, int | None]:
    async def read() -> dict[int, int | None]:
        consumer = AIOKafkaConsumer(
            **client_kwargs(kafka, client_id="check"), group_id=group_id, enable_auto_commit=False
        )
        await consumer.start()
        try:
            return {
                p: await consumer.committed(TopicPartition(kafka.raw_transactions_topic, p))
                for p in range(kafka.partitions)
            }
        finally:
            await consumer.stop()

    return asyncio.run(read())


def caught_up(sink: ParquetSink, *, partitions: int) -> bool:
    """Every partition seen, nothing buffered, everything committed."""
    buffers = list(sink.buffers.values())
    return len(buffers) == partitions and all(
        b.next_offset is not None and not len(b) and b.committed == b.next_offset for b in buffers
    )


def fast_options(**changes: object) -> SinkOptions:
    options = {"group_id": f"sink-{uuid.uuid4().hex[:8]}", "flush_records": 400, "flush_seconds": 0.5}
    options.update(changes)
    return SinkOptions(**options)  # type: ignore[arg-type]


def test_every_produced_transaction_is_archived_exactly_once(
    kafka_broker: KafkaBroker, s3_server: S3Server, s3_bucket: str
) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=3)
    ensure_topics(kafka)
    n = 3000
    produce_transactions(kafka, transactions(0, n))
    options = fast_options()
    sink = ParquetSink(kafka, s3_settings(s3_server, s3_bucket), options=options)
    asyncio.run(run_sink_until(sink, lambda: archived(sink.archive).num_rows >= n, timeout=90))

    table = archived(sink.archive)
    assert table.num_rows == n
    assert pc.count_distinct(table.column("transaction_id")).as_py() == n
    assert table.select(TRANSACTION_SCHEMA.names).cast(TRANSACTION_SCHEMA).schema == TRANSACTION_SCHEMA
    days = sorted(pc.unique(table.column("dt")).to_pylist())
    assert days == ["2026-03-01", "2026-03-02", "2026-03-03"]
    # Nothing left uncommitted: a restart would not replay anything.
    assert sum(v or 0 for v in committed_offsets(kafka, options.group_id).values()) == n
    assert sink.metrics.sample("riskloop_stream_events_total", {"topic": kafka.raw_transactions_topic}) == n


def test_replaying_the_same_offsets_does_not_duplicate_rows(
    kafka_broker: KafkaBroker, s3_server: S3Server, s3_bucket: str
) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=2)
    ensure_topics(kafka)
    n = 1200
    produce_transactions(kafka, transactions(0, n))
    s3 = s3_settings(s3_server, s3_bucket)
    first = ParquetSink(kafka, s3, options=fast_options(flush_records=300, flush_seconds=2))
    asyncio.run(run_sink_until(first, lambda: archived(first.archive).num_rows >= n, timeout=90))
    names = archived_files(first.archive)

    # A new group replays every offset: the same cuts write the same names.
    again = ParquetSink(kafka, s3, options=fast_options(flush_records=300, flush_seconds=2))
    asyncio.run(run_sink_until(again, lambda: caught_up(again, partitions=2), timeout=90))
    assert again.metrics.sample("riskloop_stream_events_total", {"topic": kafka.raw_transactions_topic}) == n
    assert archived_files(again.archive) == names
    assert archived(again.archive).num_rows == n

    # Other cuts (a different flush size) supersede the earlier files instead of adding to them.
    recut = ParquetSink(kafka, s3, options=fast_options(flush_records=170, flush_seconds=2))
    asyncio.run(run_sink_until(recut, lambda: caught_up(recut, partitions=2), timeout=90))
    assert recut.metrics.sample("riskloop_stream_events_total", {"topic": kafka.raw_transactions_topic}) == n
    assert archived_files(recut.archive) != names
    table = archived(recut.archive)
    assert table.num_rows == n
    assert pc.count_distinct(table.column("transaction_id")).as_py() == n


def test_a_broker_restart_mid_stream_loses_nothing(
    durable_kafka_broker: KafkaBroker, s3_server: S3Server, s3_bucket: str
) -> None:
    kafka = fresh_kafka_settings(durable_kafka_broker.bootstrap_servers, partitions=2)
    ensure_topics(kafka)
    n = 2000
    produce_transactions(kafka, transactions(0, n // 2))
    sink = ParquetSink(kafka, s3_settings(s3_server, s3_bucket), options=fast_options(flush_records=200))

    def restart_then_produce_the_rest() -> None:
        import time

        deadline = time.monotonic() + 60
        while archived(sink.archive).num_rows == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        durable_kafka_broker.restart()
        client = producer(kafka, retries=100, request_timeout_ms=30_000)
        try:
            produce_transactions(kafka, transactions(n // 2, n // 2), client=client)
        finally:
            client.close()

    asyncio.run(
        run_sink_until(
            sink, lambda: archived(sink.archive).num_rows >= n, timeout=150, during=restart_then_produce_the_rest
        )
    )
    table = archived(sink.archive)
    assert pc.count_distinct(table.column("transaction_id")).as_py() == n
    assert table.num_rows == n


def test_poison_messages_go_to_the_dead_letter_topic_and_the_stream_keeps_flowing(
    kafka_broker: KafkaBroker, tmp_path: object
) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=1)
    ensure_topics(kafka)
    good = transactions(0, 20)
    missing = encode_transaction(good[0]).replace(b'"amount"', b'"amonut"')
    topic = kafka.raw_transactions_topic
    produce_raw(kafka, topic, [(b"u1", encode_transaction(r)) for r in good[:10]])
    produce_raw(kafka, topic, [(b"u1", b"{not json"), (b"u2", missing)])
    produce_raw(kafka, topic, [(b"u1", encode_transaction(r)) for r in good[10:]])

    local = S3Settings(backend="local", local_root=tmp_path)  # type: ignore[arg-type]
    options = fast_options(flush_records=1000, flush_seconds=0.3)
    sink = ParquetSink(kafka, local, options=options)
    asyncio.run(run_sink_until(sink, lambda: archived(sink.archive).num_rows >= 20, timeout=60))

    assert sorted(archived(sink.archive).column("transaction_id").to_pylist()) == [r["transaction_id"] for r in good]
    letters = [
        dead_letter_from_headers(m.value, m.key, m.headers)
        for m in read_topic(kafka, kafka.dead_letter_topic, expected=2)
    ]
    assert [(letter.offset, letter.kind) for letter in letters] == [(10, "bad_json"), (11, "missing_field")]
    assert letters[0].value == b"{not json" and letters[1].value == missing
    assert "'amount'" in letters[1].reason and letters[1].topic == topic and letters[1].partition == 0
    assert committed_offsets(kafka, options.group_id)[0] == 22
    kinds = collections.Counter(letter.kind for letter in letters)
    for kind, count in kinds.items():
        assert sink.metrics.sample("riskloop_stream_dead_letters_total", {"kind": kind}) == count
