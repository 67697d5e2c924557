"""The worker's faust topics: bytes in, so that the shared decoder (and the dead-letter topic) sees what
the producer sent, not what faust's serializer made of it."""

from __future__ import annotations

import faust

from riskloop_config.settings import KafkaSettings


def raw_transactions_topic(app: faust.App, kafka: KafkaSettings) -> faust.TopicT:
    return app.topic(
        kafka.raw_transactions_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=kafka.partitions,
        internal=False,  # created by ensure_topics from the settings, not by faust
    )
