"""The worker's state and its way to the online store.

Micro-batches of decoded purchases (TRANSACTION_SCHEMA tables) are handed to `accept` on the event loop.
A refresh (on new data, and every second from a timer so values fall as tiles age out) asks each
`StreamingWindowAggregator` for the entities whose values changed as of now, then writes them to the
online store. Entities whose value only aged (a tile left its window, up to every user at once) are
written at most `aging_rows` per view and refresh, so a burst of them never holds back new purchases.
Both steps run off the event loop, each on its own single thread: the aggregators are only ever touched
from the compute thread, and writes keep their order on the write thread. Each view is written as soon
as it is computed, and a refresh computes while the previous one's writes are in flight (pipelined),
never more than one ahead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from riskloop_features.streaming import StreamingWindowAggregator
from riskloop_stream_worker.online import OnlineWriter
from riskloop_stream_worker.records import FeatureRows
from riskloop_streaming.metrics import StreamMetrics

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class FeaturePipeline:
    def __init__(
        self,
        aggregators: Sequence[StreamingWindowAggregator],
        *,
        writer: OnlineWriter,
        metrics: StreamMetrics,
        clock: Callable[[], datetime] = utc_now,
        write_retry_seconds: float = 0.5,
        aging_rows: int | None = None,
    ) -> None:
        self.aggregators = tuple(aggregators)
        self.metrics = metrics
        self._writer = writer
        self._clock = clock
        self._write_retry_seconds = write_retry_seconds
        self._aging_rows = aging_rows
        self._compute = ThreadPoolExecutor(1, thread_name_prefix="features-compute")
        self._writes = ThreadPoolExecutor(1, thread_name_prefix="features-write")
        self._pending: list[pa.Table] = []
        self._pending_stamps: list[float] = []
        self._new_data = asyncio.Event()
        self._lock = asyncio.Lock()
        self._write: asyncio.Future[Any] | None = None
        self._previous_write: asyncio.Future[Any] | None = None
        self._as_of: datetime | None = None
        self._refreshed_at = float("-inf")
        self.refreshes = 0

    @property
    def as_of(self) -> datetime | None:
        """The moment of the last refresh: the online store holds every value as of then (once written)."""
        return self._as_of

    def accept(self, purchases: pa.Table, stamps: Sequence[float] = ()) -> None:
        """Queue decoded purchases (and their Kafka timestamps, for freshness) for the next refresh."""
        if purchases.num_rows:
            self._pending.append(purchases)
            self._pending_stamps.extend(stamps)
            self._new_data.set()

    async def load(self, purchases: pa.Table) -> None:
        """Add replayed purchases to the state without writing anything (restart recovery)."""
        if purchases.num_rows:
            await asyncio.get_running_loop().run_in_executor(self._compute, self._add, purchases)

    def _add(self, table: pa.Table) -> None:
        for aggregator in self.aggregators:
            aggregator.add(table)

    async def refresh(self) -> list[FeatureRows]:
        """Compute what changed as of now and start writing it; returns the rows (the writes may still run)."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            now = self._clock()
            if self._as_of is not None and now < self._as_of:
                now = self._as_of  # a clock step back must not make the aggregators refuse the query
            purchases, self._pending = self._pending, []
            stamps, self._pending_stamps = self._pending_stamps, []
            # Backpressure: this compute may overlap the previous refresh's writes, not the ones before.
            if self._previous_write is not None:
                await self._previous_write
            started = time.perf_counter()
            rows, writes = await loop.run_in_executor(self._compute, self._changes, purchases, now, stamps)
            self.metrics.observe_batch("compute", time.perf_counter() - started)
            self._as_of = now
            self._refreshed_at = time.monotonic()
            self.refreshes += 1
            self._previous_write = self._write
            self._write = asyncio.gather(*(asyncio.wrap_future(w) for w in writes)) if writes else None
            return rows

    def _changes(
        self, purchases: list[pa.Table], now: datetime, stamps: list[float]
    ) -> tuple[list[FeatureRows], list[Future[None]]]:
        if purchases:
            self._add(pa.concat_tables(purchases))
        batches, writes = [], []
        for aggregator in self.aggregators:
            rows = aggregator.features_as_of(now, aging_limit=self._aging_rows)
            self.metrics.aging_backlog.labels(self.metrics.app, aggregator.spec.view).set(aggregator.aging_backlog)
            batch = FeatureRows(aggregator.spec.view, rows, now)
            batches.append(batch)
            # Each view is written as soon as it is computed: the user view need not wait for the event view.
            if batch.rows.num_rows:
                writes.append(self._writes.submit(self._write_view, batch, stamps))
        return batches, writes

    def _write_view(self, batch: FeatureRows, stamps: list[float]) -> None:
        started = time.perf_counter()
        self._write_with_retry(batch)
        visible = time.time()
        self.metrics.observe_batch("write", time.perf_counter() - started)
        if batch.view == self.aggregators[0].spec.view:
            for stamp in stamps:
                self.metrics.observe_batch("produce_to_visible", visible - stamp)

    def _write_with_retry(self, batch: FeatureRows) -> None:
        attempt = 0
        while True:
            try:
                self._writer.write(batch.view, batch.rows)
                return
            except Exception as exc:  # noqa: BLE001 - any store failure: the values must still land, in order
                attempt += 1
                self.metrics.count_error("online_write")
                log.warning(
                    "online write failed; retrying",
                    extra={"view": batch.view, "rows": batch.rows.num_rows, "attempt": attempt, "error": repr(exc)},
                )
                time.sleep(min(self._write_retry_seconds * attempt, 5.0))

    async def drain(self) -> None:
        """Wait for the writes in flight."""
        for write in (self._previous_write, self._write):
            if write is not None:
                await write

    async def age_out(self, *, interval: float) -> None:
        """The timer's refresh: values fall as tiles age out even with no new event. Skipped when a refresh
        on arrival ran within `interval` (it already moved every value to its moment)."""
        if time.monotonic() - self._refreshed_at >= interval:
            await self.refresh()

    async def follow_arrivals(self, *, gather: float = 0.02) -> None:
        """Refresh whenever new purchases arrived, `gather` seconds after the first (to fill a micro-batch)."""
        while True:
            await self._new_data.wait()
            await asyncio.sleep(gather)
            self._new_data.clear()
            await self.refresh()

    def close(self) -> None:
        self._compute.shutdown(wait=True)
        self._writes.shutdown(wait=True)
