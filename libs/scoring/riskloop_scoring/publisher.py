"""Every score to the predictions topic, fire-and-forget: scoring never waits for, or fails with, Kafka.

`publish` only puts on a bounded in-memory queue (dropping, and counting, when it is full); a daemon
thread runs an aiokafka producer that drains it. A broker that is down means dropped messages, counted
in `dropped`, and a producer that keeps retrying to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskloop_config.settings import KafkaSettings
from riskloop_streaming.clients import client_kwargs

logger = logging.getLogger(__name__)


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
    ) -> None:
        self._kafka = kafka
        self._topic = kafka.predictions_topic
        self._client_id = client_id
        self._queue: queue.Queue[tuple[bytes, bytes]] = queue.Queue(maxsize=queue_size)
        self._on_drop = on_drop or (lambda n: None)
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()
        self.stats = PublisherStats()
        self._thread = threading.Thread(target=self._run, name="prediction-publisher", daemon=True)
        self._thread.start()

    def publish(self, key: str, record: dict[str, Any]) -> None:
        """Queue one record; never blocks, never raises."""
        try:
            self._queue.put_nowait((key.encode(), json.dumps(record, separators=(",", ":"), default=str).encode()))
        except queue.Full:
            self._drop(1)

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
                logger.warning("predictions producer cannot start (%s); retrying in %.0f s", exc, backoff)
                with contextlib.suppress(Exception):
                    await producer.stop()
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = self._retry_seconds
            try:
                await self._send_loop(producer)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(producer.stop(), timeout=5)

    async def _sleep(self, seconds: float) -> None:
        # In small steps, so close() is not held up by a long back-off.
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._stop.is_set() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)

    async def _send_loop(self, producer: Any) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        while not self._stop.is_set():
            try:
                key, value = await loop.run_in_executor(None, self._queue.get, True, 0.2)
            except queue.Empty:
                continue
            try:
                future = await asyncio.wait_for(producer.send(self._topic, value=value, key=key), timeout=5)
                future.add_done_callback(self._settled)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - drop and count; the stream is best-effort
                self._drop(1)
                failures += 1
                if failures >= 10:
                    logger.warning("predictions producer failing (%s); restarting it", exc)
                    return

    def _settled(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            self._drop(1)
        else:
            self.stats.sent += 1

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
