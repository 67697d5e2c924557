"""Restart recovery: rebuild the window state from the log before serving any write, so a restarted
worker computes the same values as one that never stopped (no snapshot to lose or to trust)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from aiokafka import ConsumerRecord

from riskloop_config.settings import KafkaSettings
from riskloop_features.windows import WindowSpec
from riskloop_stream_worker.pipeline import FeaturePipeline
from riskloop_streaming.decoding import decode_transactions
from riskloop_streaming.replay import ReplayResult, replay_topic

log = logging.getLogger(__name__)


def replay_since(specs: Sequence[WindowSpec], now: datetime) -> datetime | None:
    """How far back the state must be rebuilt: the longest window (24 h for users), or the whole topic when
    a view carries a sum since the first event (an event's tickets sold, hence its inventory)."""
    if any(spec.has_unbounded for spec in specs):
        return None
    return now - max(spec.retention for spec in specs)


async def rebuild_state(
    pipeline: FeaturePipeline, kafka: KafkaSettings, *, since: datetime | None, timeout: float = 600.0
) -> ReplayResult:
    """Load the topic from `since` to its current end into the pipeline; returns where the replay stopped."""

    async def load(batch: list[ConsumerRecord]) -> None:
        purchases, _ = decode_transactions([m.value for m in batch])  # the live intake dead-letters the rest
        await pipeline.load(purchases)

    result = await replay_topic(kafka, kafka.raw_transactions_topic, since=since, on_batch=load, timeout=timeout)
    log.info(
        "state rebuilt from the log",
        extra={"messages": result.messages, "ends": result.ends, "since": since.isoformat() if since else None},
    )
    return result
