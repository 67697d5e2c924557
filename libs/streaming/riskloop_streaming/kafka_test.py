"""The plumbing on the real broker: topics, dead letters, replay; and the metrics and log formats."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiokafka import ConsumerRecord
from kafka.admin import KafkaAdminClient

from riskloop_streaming.clients import client_kwargs
from riskloop_streaming.dead_letters import DeadLetter, DeadLetterPublisher, dead_letter_from_headers
from riskloop_streaming.logs import configure_json_logging
from riskloop_streaming.metrics import StreamMetrics, start_metrics_server
from riskloop_streaming.replay import replay_topic
from riskloop_streaming.testing import fresh_kafka_settings, produce_transactions, read_topic, sample_transaction
from riskloop_streaming.topics import ensure_topics, topic_specs


class KafkaBroker(Protocol):
    """What these tests use of the harness's broker fixture (libs/testing is not a dependency of this lib)."""

    @property
    def bootstrap_servers(self) -> str: ...


def test_ensure_topics_creates_missing_topics_once(kafka_broker: KafkaBroker) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=3)
    created = ensure_topics(kafka)
    assert sorted(created) == sorted(s.name for s in topic_specs(kafka))
    assert ensure_topics(kafka) == []
    admin = KafkaAdminClient(**client_kwargs(kafka, client_id="test"))
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(created)}
    finally:
        admin.close()
    assert described == {name: 3 for name in created}


def test_dead_letters_keep_the_bytes_the_reason_and_the_source(kafka_broker: KafkaBroker) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers)
    ensure_topics(kafka)
    letter = DeadLetter(b"{oops", b"u1", kafka.raw_transactions_topic, 2, 41, "bad_json", "not JSON: Expecting value")

    async def publish() -> None:
        async with DeadLetterPublisher(kafka) as publisher:
            await publisher.publish(letter)

    asyncio.run(asyncio.wait_for(publish(), 60))
    [message] = read_topic(kafka, kafka.dead_letter_topic, expected=1)
    assert dead_letter_from_headers(message.value, message.key, message.headers) == letter


def test_replay_reads_every_partition_to_its_end(kafka_broker: KafkaBroker) -> None:
    kafka = fresh_kafka_settings(kafka_broker.bootstrap_servers, partitions=3)
    ensure_topics(kafka)
    produce_transactions(kafka, [sample_transaction(i) for i in range(500)])
    seen: list[tuple[int, int]] = []

    def collect(batch: list[ConsumerRecord]) -> None:
        seen.extend((m.partition, m.offset) for m in batch)

    since = datetime.now(UTC) - timedelta(hours=24)
    result = asyncio.run(replay_topic(kafka, kafka.raw_transactions_topic, since=since, on_batch=collect, timeout=60))
    assert result.messages == len(set(seen)) == 500
    assert sum(result.ends.values()) == 500 and set(result.ends) == {0, 1, 2}


def test_metrics_are_served_for_prometheus() -> None:
    metrics = StreamMetrics.create("test-app")
    metrics.count_events("raw", 3)
    metrics.record_lag("raw", {0: 5})
    metrics.count_dead_letter("bad_json")
    metrics.observe_batch("flush", 0.02)
    port = start_metrics_server(0, registry=metrics.registry, addr="127.0.0.1")
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'riskloop_stream_events_total{app="test-app",topic="raw"} 3.0' in body
    assert 'riskloop_stream_consumer_lag{app="test-app",partition="0",topic="raw"} 5.0' in body
    assert metrics.sample("riskloop_stream_dead_letters_total", {"kind": "bad_json"}) == 1


def test_log_lines_are_json_with_their_fields() -> None:
    out = io.StringIO()
    configure_json_logging(app="test-app", stream=out)
    try:
        logging.getLogger("riskloop.test").info("flushed", extra={"partition": 3, "rows": 10})
    finally:
        logging.getLogger().handlers.clear()
    line = json.loads(out.getvalue())
    assert line["message"] == "flushed" and line["partition"] == 3 and line["rows"] == 10
    assert line["app"] == "test-app" and line["level"] == "info"


def test_the_dict_config_gives_the_same_json_lines(capsys: object) -> None:
    import logging.config

    from riskloop_streaming.logs import json_logging_config

    logging.config.dictConfig(json_logging_config(app="test-app"))
    try:
        logging.getLogger("riskloop.test").warning("slow", extra={"seconds": 2.5})
    finally:
        logging.getLogger().handlers.clear()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])  # type: ignore[attr-defined]
    assert line["message"] == "slow" and line["seconds"] == 2.5 and line["app"] == "test-app"
