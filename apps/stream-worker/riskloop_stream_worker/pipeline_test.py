"""The pipeline without a broker (refreshes, ageing out, write order), and its intake on the real broker
(replay skipping)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from riskloop_config.settings import RiskloopSettings
from riskloop_features.streaming import StreamingWindowAggregator
from riskloop_features.windows import USER_REALTIME_WINDOWS
from riskloop_stream_worker.app import create_app
from riskloop_stream_worker.intake import TransactionIntake
from riskloop_stream_worker.pipeline import FeaturePipeline
from riskloop_stream_worker.services import register_services
from riskloop_stream_worker.worker import WorkerOptions
from riskloop_streaming.dead_letters import DeadLetterPublisher
from riskloop_streaming.decoding import transactions_table
from riskloop_streaming.metrics import StreamMetrics
from riskloop_streaming.testing import fresh_kafka_settings, produce_transactions, sample_transaction
from riskloop_streaming.topics import ensure_topics
from riskloop_testing.services import KafkaBroker

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


class MemoryStore:
    """An online store in a dict: the last row written per (view, entity), and every write in order."""

    def __init__(self, *, failures: int = 0) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, int]] = []
        self._failures = failures

    def write(self, view: str, rows: pa.Table) -> None:
        if self._failures:
            self._failures -= 1
            raise ConnectionError("store unavailable")
        self.writes.append((view, rows.num_rows))
        for row in rows.to_pylist():
            self.rows[(view, row["user_id"])] = row


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def user_pipeline(store: MemoryStore, clock: Clock, *, aging_rows: int | None = None) -> FeaturePipeline:
    return FeaturePipeline(
        [StreamingWindowAggregator(USER_REALTIME_WINDOWS)],
        writer=store,
        metrics=StreamMetrics.create("test-worker"),
        clock=clock,
        write_retry_seconds=0.01,
        aging_rows=aging_rows,
    )


def test_values_fall_as_events_age_out_without_new_events() -> None:
    store, clock = MemoryStore(), Clock(T0 + timedelta(minutes=1))
    pipeline = user_pipeline(store, clock)

    async def scenario() -> None:
        pipeline.accept(transactions_table([sample_transaction(i, at=T0, users=1) for i in (1, 2)]))
        await pipeline.refresh()
        await pipeline.drain()
        assert store.rows[(USER_REALTIME_WINDOWS.view, "u00000")]["user_txn_count_1h"] == 2
        clock.now = T0 + timedelta(hours=1, minutes=1)
        await pipeline.age_out(interval=1.0)  # just refreshed: the timer skips this tick
        assert pipeline.refreshes == 1
        await pipeline.age_out(interval=0.0)  # what the 1 s timer does
        await pipeline.drain()

    asyncio.run(scenario())
    row = store.rows[(USER_REALTIME_WINDOWS.view, "u00000")]
    assert row["user_txn_count_1h"] == 0 and row["user_avg_amount_24h"] is not None
    pipeline.close()


def test_aged_values_are_written_a_few_per_refresh_and_the_backlog_is_reported() -> None:
    store, clock = MemoryStore(), Clock(T0 + timedelta(minutes=1))
    pipeline = user_pipeline(store, clock, aging_rows=2)
    labels = {"app": "test-worker", "view": USER_REALTIME_WINDOWS.view}
    counts: list[int] = []

    async def scenario() -> None:
        pipeline.accept(transactions_table([sample_transaction(i, at=T0, users=5) for i in range(5)]))
        await pipeline.refresh()
        clock.now = T0 + timedelta(hours=1, minutes=1)  # every user's 1 h tile has left
        for _ in range(3):
            await pipeline.refresh()
            await pipeline.drain()
            counts.append(sum(row["user_txn_count_1h"] == 0 for row in store.rows.values()))
            counts.append(int(pipeline.metrics.registry.get_sample_value("riskloop_stream_aging_backlog", labels)))

    asyncio.run(scenario())
    assert counts == [2, 3, 4, 1, 5, 0]  # aged values written, then what is still waiting, per refresh
    pipeline.close()


def test_a_clock_stepping_back_does_not_stop_the_refreshes() -> None:
    store, clock = MemoryStore(), Clock(T0)
    pipeline = user_pipeline(store, clock)

    async def scenario() -> None:
        await pipeline.refresh()
        clock.now = T0 - timedelta(seconds=5)
        pipeline.accept(transactions_table([sample_transaction(1, at=T0 - timedelta(minutes=1))]))
        await pipeline.refresh()
        await pipeline.drain()

    asyncio.run(scenario())
    assert pipeline.as_of == T0 and len(store.rows) == 1
    pipeline.close()


def test_failed_writes_are_retried_in_order() -> None:
    store, clock = MemoryStore(failures=2), Clock(T0 + timedelta(minutes=1))
    pipeline = user_pipeline(store, clock)

    async def scenario() -> None:
        pipeline.accept(transactions_table([sample_transaction(1, at=T0, users=5)]))
        await pipeline.refresh()
        clock.now += timedelta(seconds=1)
        pipeline.accept(transactions_table([sample_transaction(2, at=T0, users=5)]))
        await pipeline.refresh()
        await pipeline.drain()

    asyncio.run(scenario())
    assert store.writes == [(USER_REALTIME_WINDOWS.view, 1), (USER_REALTIME_WINDOWS.view, 1)]
    assert pipeline.metrics.sample("riskloop_stream_errors_total", {"kind": "online_write"}) == 2
    pipeline.close()


def test_the_reader_feeds_new_events_and_skips_those_the_replay_counted(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=1)
    ensure_topics(kafka)
    produce_transactions(kafka, [sample_transaction(i, at=T0, users=1) for i in range(5)])  # offsets 0..4
    settings = RiskloopSettings(
        environment="local",
        postgres={"host": "x"},
        redis={"host": "x"},
        s3={"backend": "local"},
        kafka=kafka.model_dump(),
        feast={"online_store": "sqlite", "registry": "x"},
        mlflow={"tracking_uri": "x"},
        fraud_api={"admin_token": "x"},
        data_dir=tmp_path,
    )
    store, clock = MemoryStore(), Clock(T0 + timedelta(minutes=1))
    pipeline = user_pipeline(store, clock)
    app = create_app(settings, app_id="test-worker")
    assert Path(app.conf.datadir) == tmp_path / "faust"  # not a folder in whatever directory the worker runs from
    dead_letters = DeadLetterPublisher(kafka)
    # Offsets 0 and 1 were replayed into the state at start: the live reading must not count them again.
    intake = TransactionIntake(pipeline, dead_letters=dead_letters, metrics=pipeline.metrics, replayed_until={0: 2})
    options = WorkerOptions()
    reading = register_services(
        app,
        kafka=kafka,
        intake=intake,
        pipeline=pipeline,
        batch_size=options.batch_size,
        batch_seconds=options.batch_seconds,
        age_out_seconds=options.age_out_seconds,
    )

    async def scenario() -> None:
        await reading.reader.start()
        try:
            while intake.taken < 5:
                await reading.reader.read_once()
        finally:
            await reading.reader.stop()
            await dead_letters.stop()
        await pipeline.refresh()
        await pipeline.drain()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert store.rows[(USER_REALTIME_WINDOWS.view, "u00000")]["user_txn_count_1h"] == 3
    pipeline.close()
