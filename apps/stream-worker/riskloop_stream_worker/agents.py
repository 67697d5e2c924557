"""The worker's agent and timers: short loops over the intake and the pipeline."""

from __future__ import annotations

import faust
from faust.types import TP, AgentT

from riskloop_stream_worker.intake import TransactionIntake
from riskloop_stream_worker.pipeline import FeaturePipeline


def register_agents(
    app: faust.App,
    *,
    topic: faust.TopicT,
    intake: TransactionIntake,
    pipeline: FeaturePipeline,
    batch_size: int = 5_000,
    batch_seconds: float = 0.02,
    age_out_seconds: float = 1.0,
) -> AgentT:
    """Registers the intake agent, the arrival-driven refresh and the age-out timer; returns the agent."""

    @app.agent(topic, name="raw-transactions")
    async def transactions(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch_size, within=batch_seconds):
            await intake.take([event.message for event in events])

    @app.task
    async def refresh_on_arrival() -> None:
        await pipeline.follow_arrivals()

    # Values also change when events age out, with no new event: refresh every second regardless.
    @app.timer(interval=age_out_seconds)
    async def age_out() -> None:
        await pipeline.age_out(interval=age_out_seconds)
        intake.record_lag(lambda topic, partition: app.consumer.highwater(TP(topic, partition)))

    return transactions
