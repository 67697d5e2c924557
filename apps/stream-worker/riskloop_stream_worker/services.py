"""The worker's services, tasks and timers on the faust app: short loops over the intake and the pipeline."""

from __future__ import annotations

import faust
from mode import Service

from riskloop_config.settings import KafkaSettings
from riskloop_stream_worker.intake import TransactionIntake
from riskloop_stream_worker.pipeline import FeaturePipeline
from riskloop_streaming.batches import BatchReader


class TransactionReading(Service):
    """Feeds the intake whole batches of raw transactions (see riskloop_streaming.batches for why not a
    faust agent), started and stopped with the app; the final commit happens on stop."""

    def __init__(self, reader: BatchReader, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.reader = reader

    async def on_start(self) -> None:
        await self.reader.start()

    @Service.task
    async def _read(self) -> None:
        while not self.should_stop:
            await self.reader.read_once()

    async def on_stop(self) -> None:
        await self.reader.stop()


def register_services(
    app: faust.App,
    *,
    kafka: KafkaSettings,
    intake: TransactionIntake,
    pipeline: FeaturePipeline,
    batch_size: int,
    batch_seconds: float,
    age_out_seconds: float,
) -> TransactionReading:
    """Registers the transaction reading, the arrival-driven refresh and the age-out timer (the sizes and
    intervals come from `WorkerOptions`, where their defaults live)."""
    reader = BatchReader(
        kafka,
        kafka.raw_transactions_topic,
        intake.take,
        group_id=app.conf.id,
        client_id=app.conf.id,
        max_records=batch_size,
        max_wait_seconds=batch_seconds,
    )
    reading = TransactionReading(reader)
    app.service(reading)  # type: ignore[arg-type] - faust starts an instance as it is

    @app.task
    async def refresh_on_arrival() -> None:
        await pipeline.follow_arrivals()

    # Values also change when tiles age out, with no new event: refresh every second regardless.
    @app.timer(interval=age_out_seconds)
    async def age_out() -> None:
        await pipeline.age_out(interval=age_out_seconds)
        intake.record_lag(reader.highwater)

    return reading
