"""Helpers for the tests of the stream apps (and their benchmarks): unique topics, sample purchases on the
wire, producing and reading topics on a real broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from kafka import KafkaProducer

from riskloop_config.settings import KafkaSettings
from riskloop_streaming.clients import client_kwargs
from riskloop_streaming.decoding import encode_transaction


def fresh_kafka_settings(bootstrap_servers: str, *, partitions: int = 3) -> KafkaSettings:
    """Settings whose topics no other test uses (the broker lives for the whole test session)."""
    run = uuid.uuid4().hex[:8]
    return KafkaSettings(
        bootstrap_servers=bootstrap_servers,
        raw_transactions_topic=f"raw.transactions.{run}",
        labels_topic=f"labels.{run}",
        predictions_topic=f"predictions.{run}",
        dead_letter_topic=f"raw.transactions.dlq.{run}",
        partitions=partitions,
    )


def kafka_env(kafka: KafkaSettings) -> dict[str, str]:
    """`kafka` as the RISKLOOP_KAFKA__* variables of a stream app started as a subprocess."""
    return {
        "RISKLOOP_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "RISKLOOP_KAFKA__EMBEDDED_BROKER": "false",
        "RISKLOOP_KAFKA__RAW_TRANSACTIONS_TOPIC": kafka.raw_transactions_topic,
        "RISKLOOP_KAFKA__DEAD_LETTER_TOPIC": kafka.dead_letter_topic,
        "RISKLOOP_KAFKA__LABELS_TOPIC": kafka.labels_topic,
        "RISKLOOP_KAFKA__PREDICTIONS_TOPIC": kafka.predictions_topic,
        "RISKLOOP_KAFKA__PARTITIONS": str(kafka.partitions),
    }


def sample_transaction(
    i: int, *, at: datetime | None = None, users: int = 50, events: int = 7, amount: float | None = None
) -> dict[str, Any]:
    """A valid purchase record (decoded form); deterministic in `i`."""
    at = at or datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=i)
    tickets = 1 + i % 4
    price = 10.0 + (i % 13) * 2.5 if amount is None else amount / tickets
    return {
        "transaction_id": f"t{i:09d}",
        "event_timestamp": at,
        "user_id": f"u{i % users:05d}",
        "event_id": f"e{(i * 7) % events:04d}",
        "promoter_id": "p1",
        "venue_id": "v1",
        "event_category": "concert",
        "ticket_tier": "standard",
        "tickets": tickets,
        "unit_price": price,
        "amount": price * tickets,
        "currency": "EUR",
        "payment_method": "card",
        "card_fingerprint": f"card-{i % users}",
        "device_id": f"device-{i % users}",
        "ip_address": "10.0.0.1",
        "country": "FR",
        "channel": "web",
    }


def producer(kafka: KafkaSettings, **overrides: Any) -> KafkaProducer:
    options: dict[str, Any] = {"acks": "all", "linger_ms": 5, "retries": 50, "retry_backoff_ms": 200}
    options.update(overrides)
    return KafkaProducer(**client_kwargs(kafka, client_id="riskloop-test-producer"), **options)


def produce_transactions(
    kafka: KafkaSettings, records: Iterable[dict[str, Any]], *, client: KafkaProducer | None = None
) -> int:
    """Produce records keyed by user id to the raw transactions topic; returns how many were acknowledged."""
    own = client is None
    client = client or producer(kafka)
    futures = [
        client.send(kafka.raw_transactions_topic, key=r["user_id"].encode(), value=encode_transaction(r))
        for r in records
    ]
    client.flush()
    for future in futures:
        future.get(timeout=60)
    if own:
        client.close()
    return len(futures)


def produce_raw(kafka: KafkaSettings, topic: str, payloads: Sequence[tuple[bytes | None, bytes | None]]) -> None:
    """(key, value) pairs as they are, for messages that break the contract."""
    client = producer(kafka)
    futures = [client.send(topic, key=key, value=value) for key, value in payloads]
    client.flush()
    for future in futures:
        future.get(timeout=60)
    client.close()


async def read_topic_async(
    kafka: KafkaSettings, topic: str, *, expected: int, timeout: float = 60
) -> list[ConsumerRecord]:
    """Every message of `topic` from the beginning until `expected` arrived (or the timeout)."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(kafka, client_id="riskloop-test-reader"), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        partitions: set[int] = set()
        while not partitions and time.monotonic() < deadline:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic) or set()
            if not partitions:
                await asyncio.sleep(0.2)
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        found: list[ConsumerRecord] = []
        while len(found) < expected and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(messages)
        return found
    finally:
        await consumer.stop()


def read_topic(kafka: KafkaSettings, topic: str, *, expected: int, timeout: float = 60) -> list[ConsumerRecord]:
    return asyncio.run(read_topic_async(kafka, topic, expected=expected, timeout=timeout))
