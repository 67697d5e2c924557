"""Assembling the worker: state rebuilt from the log first, then the faust app that keeps it current."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import faust
import pyarrow as pa

from riskloop_config.settings import RiskloopSettings
from riskloop_features.names import EVENT_REALTIME_VIEW, USER_REALTIME_VIEW
from riskloop_features.online_writer import RedisOnlineWriter
from riskloop_features.streaming import StreamingWindowAggregator
from riskloop_features.windows import EVENT_REALTIME_WINDOWS, USER_REALTIME_WINDOWS
from riskloop_stream_worker.app import APP_ID, create_app
from riskloop_stream_worker.catalog import load_catalog
from riskloop_stream_worker.intake import TransactionIntake
from riskloop_stream_worker.online import FeastOnlineWriter, OnlineWriter, RedisLayoutWriter
from riskloop_stream_worker.pipeline import FeaturePipeline, utc_now
from riskloop_stream_worker.recovery import rebuild_state, replay_since
from riskloop_stream_worker.services import register_services
from riskloop_streaming.dead_letters import DeadLetterPublisher
from riskloop_streaming.metrics import StreamMetrics
from riskloop_streaming.replay import ReplayResult

log = logging.getLogger(__name__)

APP = "stream-worker"


class MissingFeatureViews(LookupError):
    """The Feast registry lacks the views the worker writes: `feast apply` the definitions first."""


@dataclass(frozen=True)
class WorkerOptions:
    batch_size: int = 5_000
    batch_seconds: float = 0.02
    age_out_seconds: float = 1.0
    replay_timeout: float = 600.0
    # Rows per view and refresh for values that only aged (~0.13 s of Redis writes): bursts are spread out.
    aging_rows: int = 10_000


def online_writer(settings: RiskloopSettings) -> OnlineWriter:
    """Redis gets the fast layout writer; any other online store goes through Feast."""
    from riskloop_features.store import feature_store

    store = feature_store(settings.feast, redis=settings.redis)
    names = {view.name for view in store.list_feature_views()}
    missing = sorted({USER_REALTIME_VIEW, EVENT_REALTIME_VIEW} - names)
    if missing:
        raise MissingFeatureViews(f"feature views {missing} are not in the registry {settings.feast.registry}")
    if settings.feast.online_store == "redis":
        join_keys = {spec.view: spec.entity for spec in (USER_REALTIME_WINDOWS, EVENT_REALTIME_WINDOWS)}
        writer = RedisOnlineWriter.from_settings(settings.redis, project=settings.feast.project)
        return RedisLayoutWriter(writer, join_keys)
    return FeastOnlineWriter(store)


def build_pipeline(
    settings: RiskloopSettings,
    *,
    metrics: StreamMetrics,
    writer: OnlineWriter | None = None,
    catalog: pa.Table | None = None,
    options: WorkerOptions | None = None,
) -> FeaturePipeline:
    catalog = load_catalog(settings.s3) if catalog is None else catalog
    aggregators = [
        StreamingWindowAggregator(USER_REALTIME_WINDOWS),
        StreamingWindowAggregator(EVENT_REALTIME_WINDOWS, catalog=catalog),
    ]
    writer = writer or online_writer(settings)
    aging_rows = (options or WorkerOptions()).aging_rows
    return FeaturePipeline(aggregators, writer=writer, metrics=metrics, aging_rows=aging_rows)


def recover(settings: RiskloopSettings, pipeline: FeaturePipeline, options: WorkerOptions) -> ReplayResult:
    since = replay_since([a.spec for a in pipeline.aggregators], utc_now())
    return asyncio.run(rebuild_state(pipeline, settings.kafka, since=since, timeout=options.replay_timeout))


def build_app(
    settings: RiskloopSettings,
    pipeline: FeaturePipeline,
    replay: ReplayResult,
    options: WorkerOptions,
    *,
    app_id: str = APP_ID,
) -> faust.App:
    app = create_app(settings, app_id=app_id)
    intake = TransactionIntake(
        pipeline,
        dead_letters=DeadLetterPublisher(settings.kafka, client_id=f"{APP}-dead-letters"),
        metrics=pipeline.metrics,
        replayed_until=replay.ends,
    )
    register_services(
        app,
        kafka=settings.kafka,
        intake=intake,
        pipeline=pipeline,
        batch_size=options.batch_size,
        batch_seconds=options.batch_seconds,
        age_out_seconds=options.age_out_seconds,
    )
    return app
