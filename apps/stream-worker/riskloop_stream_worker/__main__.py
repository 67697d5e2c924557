"""riskloop-stream-worker: stream worker: tiled sliding-window features from Kafka into the online store."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from riskloop_config.cli import Command, run_app
from riskloop_config.settings import RiskloopSettings
from riskloop_stream_worker.worker import APP, WorkerOptions, build_app, build_pipeline, recover
from riskloop_streaming.logs import configure_json_logging, json_logging_config
from riskloop_streaming.metrics import StreamMetrics, start_metrics_server
from riskloop_streaming.topics import ensure_topics


def _configure_run(parser: argparse.ArgumentParser) -> None:
    defaults = WorkerOptions()
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="messages per micro-batch at most")
    parser.add_argument("--batch-seconds", type=float, default=defaults.batch_seconds, help="longest wait to fill one")
    parser.add_argument(
        "--aging-rows",
        type=_at_least_one,
        default=defaults.aging_rows,
        help="values that only aged, written per view and refresh at most (the rest follow)",
    )
    parser.add_argument("--metrics-port", type=int, default=9109, help="Prometheus /metrics port; 0 disables")
    parser.add_argument("--log-level", default="INFO")


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _run(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    import faust

    configure_json_logging(app=APP, level=args.log_level)
    options = WorkerOptions(batch_size=args.batch_size, batch_seconds=args.batch_seconds, aging_rows=args.aging_rows)
    ensure_topics(settings.kafka)
    metrics = StreamMetrics.create(APP)
    if args.metrics_port:
        start_metrics_server(args.metrics_port, registry=metrics.registry)
    pipeline = build_pipeline(settings, metrics=metrics, options=options)
    # The state is rebuilt before the app starts, so no write ever comes from a partial state.
    replay = recover(settings, pipeline, options)
    app = build_app(settings, pipeline, replay, options)
    logging_config = json_logging_config(app=APP, level=args.log_level)
    faust.Worker(app, loglevel=args.log_level, quiet=True, logging_config=logging_config).execute_from_commandline()
    return 0


COMMANDS = {
    "run": Command(
        "rebuild the window state from the log, then keep the online store current until SIGTERM", _run, _configure_run
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    return run_app("riskloop-stream-worker", __doc__ or "", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
