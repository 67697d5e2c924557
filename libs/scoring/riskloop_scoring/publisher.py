"""Every score to the predictions topic, fire-and-forget: scoring never waits for, or fails with, Kafka.

`publish` only appends to a bounded in-memory buffer (dropping, and counting, when it is full); a daemon
thread runs an aiokafka producer that takes the whole buffer every `flush_seconds`, sends it as one
produce request and waits for its delivery. What the broker did not take (down, restarting, timed out)
goes back to the front of the buffer and is sent again: a broker outage delays predictions instead of
losing them, for as long as the buffer has room. Delivery is therefore at least once: a record whose
delivery timed out may have arrived, and is sent again. `connected` says whether the last delivery
worked, for callers to flag what they publish.

Why a timed drain rather than a queue the producer blocks on: a wake-up per record (a queue get in an
executor thread, a hop back to the producer's loop, one produce request per record) cost about 0.7 ms of
CPU per prediction in the serving process, more than scoring it, and its threads took the GIL from the
requests. Appending to a deque costs no wake-up, JSON encoding happens in the producer thread, and the
predictions topic is at most `flush_seconds` later. Each send costs the process about a millisecond of CPU
(a produce round trip through aiokafka) on top of ~40 µs per record, so the fraud API sends four times a
second rather than twenty (`fraud_api.predictions_flush_seconds`): 65 instead of 155 µs per prediction.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskloop_config.settings import KafkaSettings
from riskloop_streaming.clients import client_kwargs

logger = logging.getLogger(__name__)

Record = tuple[str, dict[str, Any]]  # (key, value before JSON encoding)
Batch = list[Record]

# Above the producer's request timeout (5 s), so a delivery aiokafka is still retrying is not abandoned early.
_DELIVERY_TIMEOUT_SECONDS = 6.0
_FAILURES_BEFORE_RESTART = 3


def _worth_retrying(exc: BaseException) -> bool:
    """Failures another try may get past: the broker down, restarting, slow or without a leader."""
    from aiokafka.errors import KafkaTimeoutError

    return getattr(exc, "retriable", False) or isinstance(exc, (KafkaTimeoutError, TimeoutError, OSError))


@dataclass
class PublisherStats:
    sent: int = 0
    dropped: int = 0


class PredictionPublisher:
    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        queue_size: int = 10_000,
        client_id: str = "riskloop-fraud-api",
        on_drop: Callable[[int], None] | None = None,
        retry_seconds: float = 2.0,
        flush_seconds: float = 0.25,
    ) -> None:
        self._kafka = kafka
        self._topic = kafka.predictions_topic
        self._client_id = client_id
        # Appended by request threads, emptied by the producer thread (deque appends and pops are atomic).
        self._pending: collections.deque[Record] = collections.deque()
        self._queue_size = queue_size
        self._on_drop = on_drop or (lambda n: None)
        self._retry_seconds = retry_seconds
        self._flush_seconds = flush_seconds
        self._stop = threading.Event()
        self.stats = PublisherStats()
        # False until the producer has started, and from any failed start or delivery until the next success.
        self.connected = False
        self._thread = threading.Thread(target=self._run, name="prediction-publisher", daemon=True)
        self._thread.start()

    def publish(self, key: str, record: dict[str, Any]) -> bool:
        """Queue one record (`record` must not be changed afterwards); never blocks, never raises. False when
        it was dropped (buffer full) or waits for a producer that is not connected."""
        if len(self._pending) >= self._queue_size:  # a bound, not an exact one: two threads may both pass
            self._drop(1)
            return False
        self._pending.append((key, record))
        return self.connected

    def _take(self) -> Batch:
        taken = []
        with contextlib.suppress(IndexError):
            for _ in range(len(self._pending)):
                taken.append(self._pending.popleft())
        return taken

    def _drop(self, count: int) -> None:
        self.stats.dropped += count
        self._on_drop(count)

    def _run(self) -> None:
        asyncio.run(self._drain())

    async def _drain(self) -> None:
        from aiokafka import AIOKafkaProducer

        backoff = self._retry_seconds
        while not self._stop.is_set():
            producer = AIOKafkaProducer(
                **client_kwargs(self._kafka, client_id=self._client_id),
                linger_ms=5,
                request_timeout_ms=5000,
                acks=1,
            )
            try:
                await asyncio.wait_for(producer.start(), timeout=10)
            except Exception as exc:  # noqa: BLE001 - a broker that is down is retried, never raised
                self.connected = False
                logger.warning("predictions producer cannot start (%s); retrying in %.0f s", exc, backoff)
                with contextlib.suppress(Exception):
                    await producer.stop()
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = self._retry_seconds
            self.connected = True
            try:
                await self._send_loop(producer)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(producer.stop(), timeout=5)

    async def _sleep(self, seconds: float) -> None:
        # In small steps, so close() is not held up by a long back-off.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._stop.is_set() and (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(0.1, left))

    async def _send_loop(self, producer: Any) -> None:
        failures = 0
        while True:
            stopping = self._stop.is_set()  # read before the last take: what was published before close() goes
            batch = self._take()
            if batch:
                undelivered = await self._deliver(producer, batch)
                self.connected = not undelivered
                if undelivered:
                    if stopping:
                        self._drop(len(undelivered))
                        return
                    self._requeue(undelivered)
                    failures += 1
                    if failures >= _FAILURES_BEFORE_RESTART:
                        # A fresh producer starts from fresh metadata (a restarted broker may hold other partitions).
                        logger.warning("predictions producer failed %d deliveries in a row; restarting it", failures)
                        return
                else:
                    failures = 0
            if stopping:
                return
            await self._sleep(self._flush_seconds)

    async def _deliver(self, producer: Any, batch: Batch) -> Batch:
        """Send `batch` and wait for its delivery; returns the records to send again."""
        sent: list[tuple[asyncio.Future[Any], Record]] = []
        undelivered: Batch = []
        for position, (key, record) in enumerate(batch):
            value = json.dumps(record, separators=(",", ":"), default=str).encode()
            try:
                # Only waits when the producer's buffer is full or the topic's metadata is unknown.
                future = await asyncio.wait_for(
                    producer.send(self._topic, value=value, key=key.encode()), timeout=_DELIVERY_TIMEOUT_SECONDS
                )
            except Exception as exc:  # noqa: BLE001 - the stream is best-effort, scoring never sees this
                if _worth_retrying(exc):
                    undelivered += batch[position:]
                    break
                self._refuse(exc)
                continue
            sent.append((future, (key, record)))
        if sent:
            await asyncio.wait([future for future, _ in sent], timeout=_DELIVERY_TIMEOUT_SECONDS)
        for future, item in sent:
            if future.cancel() or future.cancelled():  # not settled in time: it may still arrive (at least once)
                undelivered.append(item)
            elif (exc := future.exception()) is None:
                self.stats.sent += 1
            elif _worth_retrying(exc):
                undelivered.append(item)
            else:
                self._refuse(exc)
        return undelivered

    def _requeue(self, undelivered: Batch) -> None:
        # Back to the front, oldest first; what no longer fits beside newer predictions is dropped.
        room = max(self._queue_size - len(self._pending), 0)
        self._pending.extendleft(reversed(undelivered[:room]))
        if len(undelivered) > room:
            self._drop(len(undelivered) - room)

    def _refuse(self, exc: BaseException) -> None:
        # The broker or the client will never take this record (too large, topic not allowed): dropped.
        logger.warning("predictions topic refused a record (%s); dropped", exc)
        self._drop(1)

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
