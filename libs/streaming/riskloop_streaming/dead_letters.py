"""The dead-letter topic: messages that cannot be processed, kept byte for byte with why and where from."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from riskloop_config.settings import KafkaSettings
from riskloop_streaming.clients import client_kwargs

log = logging.getLogger(__name__)

REASON_HEADER = "riskloop.dlq.reason"
KIND_HEADER = "riskloop.dlq.kind"
TOPIC_HEADER = "riskloop.dlq.source-topic"
PARTITION_HEADER = "riskloop.dlq.source-partition"
OFFSET_HEADER = "riskloop.dlq.source-offset"


@dataclass(frozen=True)
class DeadLetter:
    """A message that failed, where it came from and why."""

    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int
    kind: str
    reason: str

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            (REASON_HEADER, self.reason.encode()),
            (KIND_HEADER, self.kind.encode()),
            (TOPIC_HEADER, self.topic.encode()),
            (PARTITION_HEADER, str(self.partition).encode()),
            (OFFSET_HEADER, str(self.offset).encode()),
        ]


def dead_letter_from_headers(
    value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]
) -> DeadLetter:
    """The DeadLetter a dead-letter topic message carries (for tools and tests reading the topic)."""
    found = {name: raw.decode() for name, raw in headers}
    return DeadLetter(
        value=value,
        key=key,
        topic=found[TOPIC_HEADER],
        partition=int(found[PARTITION_HEADER]),
        offset=int(found[OFFSET_HEADER]),
        kind=found.get(KIND_HEADER, ""),
        reason=found[REASON_HEADER],
    )


class DeadLetterPublisher:
    """Publishes dead letters and returns only once the broker acknowledged them, so the caller may then
    commit the source offset. Retries through broker outages (the caller's stream waits meanwhile)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        *,
        client_id: str = "riskloop-dead-letters",
        producer: AIOKafkaProducer | None = None,
        retry_seconds: float = 0.5,
    ) -> None:
        self.topic = kafka.dead_letter_topic
        self._kafka = kafka
        self._client_id = client_id
        self._producer = producer
        self._running = False
        self._retry_seconds = retry_seconds

    async def start(self) -> None:
        # aiokafka binds a producer to the running loop: it can only be built here, not in __init__.
        if self._producer is None:
            self._producer = AIOKafkaProducer(**client_kwargs(self._kafka, client_id=self._client_id), acks="all")
        await self._producer.start()
        self._running = True

    async def stop(self) -> None:
        if self._producer is not None and self._running:
            await self._producer.stop()
        self._producer, self._running = None, False

    async def _started(self) -> AIOKafkaProducer:
        # Started on first use when the caller's framework owns the loop (faust): poison messages are rare.
        if not self._running:
            await self.start()
        assert self._producer is not None
        return self._producer

    async def __aenter__(self) -> DeadLetterPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self, letter: DeadLetter) -> None:
        attempt = 0
        while True:
            try:
                producer = await self._started()
                await producer.send_and_wait(self.topic, value=letter.value, key=letter.key, headers=letter.headers())
                return
            except KafkaError as exc:
                attempt += 1
                log.warning(
                    "dead letter publish failed; retrying",
                    extra={"topic": self.topic, "attempt": attempt, "error": repr(exc)},
                )
                await asyncio.sleep(min(self._retry_seconds * attempt, 5.0))
