"""The faust app, built from the settings at process entry (no module-level app, no autodiscovery)."""

from __future__ import annotations

import faust

from riskloop_config.settings import RiskloopSettings
from riskloop_streaming.clients import faust_broker_url

APP_ID = "riskloop-stream-worker"


def create_app(settings: RiskloopSettings, *, app_id: str = APP_ID) -> faust.App:
    return faust.App(
        app_id,
        broker=faust_broker_url(settings.kafka),
        broker_client_id=app_id,
        autodiscover=False,
        # State lives in the window aggregators and is rebuilt from the log: no tables, no changelogs.
        store="memory://",
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        # A killed worker's partitions move to its replacement within seconds, not faust's default minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        stream_buffer_maxsize=65_536,
        broker_max_poll_records=10_000,
    )
