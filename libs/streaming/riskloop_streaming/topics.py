"""The topics Riskloop's stream apps read and write, created from the settings if missing."""

from __future__ import annotations

from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from riskloop_config.settings import KafkaSettings
from riskloop_streaming.clients import client_kwargs


class TopicSetupFailed(RuntimeError):
    """The broker refused to create a topic for another reason than that it already exists."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int


def topic_specs(kafka: KafkaSettings) -> tuple[TopicSpec, ...]:
    """Raw transactions (keyed by user, so a user's purchases stay in order), labels, predictions, dead letters."""
    names = (kafka.raw_transactions_topic, kafka.labels_topic, kafka.predictions_topic, kafka.dead_letter_topic)
    return tuple(TopicSpec(name, kafka.partitions, kafka.replication_factor) for name in names)


def ensure_topics(kafka: KafkaSettings, *, timeout_ms: int = 30_000) -> list[str]:
    """Create the missing topics; returns the names created (empty when all existed). Safe to call on every start."""
    admin = KafkaAdminClient(**client_kwargs(kafka, client_id="riskloop-topic-admin"), request_timeout_ms=timeout_ms)
    try:
        existing = set(admin.list_topics())
        created: list[str] = []
        for spec in topic_specs(kafka):
            if spec.name in existing:
                continue
            try:
                admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, spec.replication_factor)], timeout_ms=timeout_ms
                )
            except TopicAlreadyExistsError:
                continue  # another process created it between our listing and our request
            except KafkaError as exc:
                raise TopicSetupFailed(f"cannot create topic {spec.name!r}: {exc}") from exc
            created.append(spec.name)
        return created
    finally:
        admin.close()
