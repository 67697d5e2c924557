"""The faust app, built from the settings at process entry (no module-level app, no autodiscovery). It runs
the worker's services, tasks and timers; transactions come in through a BatchReader, not a faust agent."""

from __future__ import annotations

import faust

from riskloop_config.settings import RiskloopSettings
from riskloop_streaming.clients import faust_broker_url

APP_ID = "riskloop-stream-worker"


def create_app(settings: RiskloopSettings, *, app_id: str = APP_ID) -> faust.App:
    app = faust.App(
        app_id,
        broker=faust_broker_url(settings.kafka),
        broker_client_id=app_id,
        autodiscover=False,
        # State lives in the window aggregators and is rebuilt from the log: no tables, no changelogs.
        store="memory://",
        # faust still makes its data folder (default: "<app id>-data" in the working directory).
        datadir=str(settings.data_dir / "faust"),
        web_enabled=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
    )
    # No agents and no tables: faust's own consumer and its conductor must not start (they refuse an empty
    # subscription). faust names this mode after the producer it still starts.
    app.producer_only = True
    return app
