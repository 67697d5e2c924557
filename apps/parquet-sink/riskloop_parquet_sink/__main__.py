"""riskloop-parquet-sink: parquet sink: archives raw events from Kafka to the raw-events bucket."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence

from riskloop_config.cli import Command, run_app
from riskloop_config.settings import RiskloopSettings
from riskloop_parquet_sink.sink import APP, ParquetSink, SinkOptions
from riskloop_streaming.logs import configure_json_logging
from riskloop_streaming.metrics import start_metrics_server
from riskloop_streaming.topics import ensure_topics


def _configure_run(parser: argparse.ArgumentParser) -> None:
    defaults = SinkOptions()
    parser.add_argument("--group-id", default=defaults.group_id, help="consumer group (default: %(default)s)")
    parser.add_argument(
        "--flush-records", type=int, default=defaults.flush_records, help="flush a partition at this many records"
    )
    parser.add_argument(
        "--flush-seconds", type=float, default=defaults.flush_seconds, help="or when its oldest record waited this long"
    )
    parser.add_argument("--metrics-port", type=int, default=9108, help="Prometheus /metrics port; 0 disables")
    parser.add_argument("--log-level", default="INFO")


async def _serve(sink: ParquetSink) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await sink.run(stop)


def _run(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    configure_json_logging(app=APP, level=args.log_level)
    ensure_topics(settings.kafka)
    options = SinkOptions(group_id=args.group_id, flush_records=args.flush_records, flush_seconds=args.flush_seconds)
    sink = ParquetSink(settings.kafka, settings.s3, options=options)
    if args.metrics_port:
        start_metrics_server(args.metrics_port, registry=sink.metrics.registry)
    asyncio.run(_serve(sink))
    return 0


COMMANDS = {
    "run": Command("consume raw transactions and archive them as Parquet until SIGTERM", _run, _configure_run),
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_app("riskloop-parquet-sink", __doc__ or "", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
