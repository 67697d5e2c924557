"""riskloop-trainer: train on a labelled table with search, gate against the champion, promote, roll back."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from riskloop_config.cli import Command, run_app
from riskloop_config.settings import RiskloopSettings

if TYPE_CHECKING:  # the commands import the training stack lazily, so `--help` and `config` stay fast
    import pandas as pd

    from riskloop_training.pipeline import TrainingOutcome
    from riskloop_training.reload import ReloadOutcome

# Exit statuses: 0 done (a gate rejection is a normal outcome), 1 an operation failed (search, reload,
# rollback), 2 bad input.
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _error(message: str) -> None:
    # soft_wrap: one message stays one line, whatever the terminal width, so logs and greps keep it whole.
    Console(stderr=True, highlight=False).print(f"[bold red]riskloop-trainer: error:[/] {message}", soft_wrap=True)


def _configure_train(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="labelled table: .csv, .csv.gz or .parquet (needs --label)")
    source.add_argument(
        "--from-feature-store",
        action="store_true",
        help="the fraud model: purchases in the raw-events archive labelled by chargebacks known at --cutoff, "
        "with point-in-time features from the feature store",
    )
    parser.add_argument("--label", help="the binary label column (0/1, true/false) of --data")
    parser.add_argument(
        "--cutoff", type=_utc_moment, help="with --from-feature-store: labels known before this ISO time (default now)"
    )
    parser.add_argument(
        "--label-maturity-days",
        type=int,
        default=30,
        help="with --from-feature-store: days without a chargeback before a purchase counts as legit (default 30)",
    )
    parser.add_argument("--time-column", help="event time column; enables (and defaults to) the time split")
    parser.add_argument(
        "--split", choices=["time", "stratified"], help="default: time with --time-column, else stratified"
    )
    parser.add_argument("--validation-fraction", type=float, default=0.2, help="share of rows held out (default 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split and the search (default 0)")
    parser.add_argument("--trials", type=int, default=20, help="search trial budget (default 20)")
    parser.add_argument("--timeout-seconds", type=float, help="search time budget in seconds (default none)")
    parser.add_argument(
        "--target-fpr", type=float, default=0.01, help="false-positive rate the threshold keeps (default 0.01)"
    )
    parser.add_argument(
        "--cost-ratio",
        type=float,
        help="choose the threshold by cost instead: a missed fraud costs this many false alarms",
    )
    parser.add_argument("--drop-columns", default="", help="comma-separated id-like columns to leave out")
    parser.add_argument(
        "--margin",
        type=float,
        default=0.01,
        help="how much the challenger must beat the champion by on pr_auc (default 0.01)",
    )
    parser.add_argument("--min-roc-auc", type=float, default=0.6, help="absolute roc_auc floor (default 0.6)")
    parser.add_argument("--metrics-out", type=Path, help="write the holdout metrics JSON here")
    parser.add_argument(
        "--no-promote", action="store_true", help="register and report the gate decision, never move the alias"
    )


def _utc_moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _load_frame(settings: RiskloopSettings, args: argparse.Namespace) -> pd.DataFrame:
    """The training table: a labelled file, or the fraud model's point-in-time set from the feature store."""
    if not args.from_feature_store:
        from riskloop_training.dataset import read_table

        return read_table(args.data)
    from riskloop_features import EmptyTrainingSet, LabelPolicy, RawDataMissing, archive_training_frame, feature_store
    from riskloop_training.dataset import InvalidTrainingData

    policy = LabelPolicy(
        cutoff=args.cutoff or datetime.now(UTC), maturity=timedelta(days=args.label_maturity_days)
    )
    raw_root = settings.s3.bucket_uri(settings.s3.raw_events_bucket)
    store = feature_store(settings.feast, redis=settings.redis)
    try:
        return archive_training_frame(store, raw_root, policy, s3=settings.s3)
    except (EmptyTrainingSet, RawDataMissing) as exc:
        raise InvalidTrainingData(f"no training set in the feature store: {exc}") from exc


def _metrics_table(outcome: TrainingOutcome) -> Table:
    table = Table(title=f"holdout metrics, version {outcome.version}")
    table.add_column("metric")
    table.add_column("challenger", justify="right")
    champion = outcome.decision.champion_metrics
    if champion is not None:
        table.add_column(f"champion v{outcome.decision.champion_version}", justify="right")
    for name in (
        "roc_auc",
        "pr_auc",
        "recall_at_fpr",
        "brier",
        "threshold",
        "precision_at_threshold",
        "fpr_at_threshold",
    ):
        row = [name, f"{outcome.metrics.as_dict()[name]:.4f}"]
        if champion is not None:
            row.append(f"{champion[name]:.4f}")
        table.add_row(*row)
    return table


def _train(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    from riskloop_features import ID_COLUMNS, LABEL, TIMESTAMP_FIELD
    from riskloop_training.dataset import InvalidTrainingData
    from riskloop_training.metrics import ThresholdRule
    from riskloop_training.pipeline import TrainingRequest, train_and_register
    from riskloop_training.registry import GatePolicy
    from riskloop_training.search import SearchConfig, SearchFailed
    from riskloop_training.splits import SplitKind

    if args.data is not None and not args.label:
        _error("--data needs --label: the name of the binary label column")
        return EXIT_BAD_INPUT
    if args.from_feature_store:
        # The fraud model's frame has a fixed shape: its label, its event time and its id columns.
        args.label, args.time_column = LABEL, args.time_column or TIMESTAMP_FIELD
        args.drop_columns = ",".join([*ID_COLUMNS, args.drop_columns])
    if args.trials < 1:
        _error("--trials must be at least 1")
        return EXIT_BAD_INPUT
    if not 0 < args.target_fpr < 1:
        _error("--target-fpr must be between 0 and 1")
        return EXIT_BAD_INPUT
    request = TrainingRequest(
        label=args.label,
        time_column=args.time_column,
        split=SplitKind(args.split) if args.split else None,
        validation_fraction=args.validation_fraction,
        drop_columns=tuple(c.strip() for c in args.drop_columns.split(",") if c.strip()),
        search=SearchConfig(
            trials=args.trials, timeout_seconds=args.timeout_seconds, seed=args.seed, show_progress=True
        ),
        threshold=ThresholdRule(target_fpr=args.target_fpr, cost_ratio=args.cost_ratio),
        gates=GatePolicy(margin=args.margin, floors={"roc_auc": args.min_roc_auc}),
        promote=not args.no_promote,
    )
    console = _console()
    try:
        frame = _load_frame(settings, args)
        outcome = train_and_register(frame, request, mlflow_settings=settings.mlflow, fraud_api=settings.fraud_api)
    except InvalidTrainingData as exc:
        _error(str(exc))
        return EXIT_BAD_INPUT
    except SearchFailed as exc:
        _error(f"search failed: {exc}")
        return EXIT_FAILED
    console.print(_metrics_table(outcome))
    console.print(
        f"search: {outcome.search.trials_completed} trials completed, {outcome.search.trials_pruned} pruned "
        f"in {outcome.search.seconds:.1f}s; split {outcome.split.kind.value}: "
        f"{len(outcome.split.train)} train / {len(outcome.split.validation)} holdout rows"
    )
    if args.metrics_out is not None:
        args.metrics_out.parent.mkdir(parents=True, exist_ok=True)
        args.metrics_out.write_text(json.dumps(outcome.metrics.headline(), indent=2, sort_keys=True) + "\n")
    verdict = "[green]PASS[/]" if outcome.decision.promote else "[yellow]REJECT[/]"
    console.print(f"gates: {verdict} {outcome.decision.reason}")
    if outcome.promoted:
        console.print(f"promoted: version {outcome.version} is now {settings.mlflow.champion_alias!r}")
    elif outcome.decision.promote:
        console.print(f"not promoted (--no-promote): version {outcome.version} registered")
    else:
        console.print(f"not promoted: version {outcome.version} registered, champion unchanged")
    return _report_reload(outcome.reload)


def _report_reload(reload: ReloadOutcome | None) -> int:
    if reload is None:
        return 0
    if reload.ok:
        _console().print(f"fraud service reloaded ({reload.url}: {reload.detail})")
        return 0
    _error(f"fraud service reload failed ({reload.url}: {reload.detail}); the alias move stands")
    return EXIT_FAILED


def _rollback(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    from riskloop_training.model_contract import NoChampion
    from riskloop_training.registry import NoPreviousChampion, rollback
    from riskloop_training.reload import request_reload

    try:
        move = rollback(settings.mlflow)
    except (NoChampion, NoPreviousChampion) as exc:
        _error(str(exc))
        return EXIT_FAILED
    _console().print(
        f"rolled back: {settings.mlflow.model_name!r} {settings.mlflow.champion_alias!r} is version "
        f"{move.champion} again (was {move.previous})"
    )
    return _report_reload(request_reload(settings.fraud_api))


def _champion(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    from riskloop_training.model_contract import NoChampion, load_champion

    try:
        loaded = load_champion(settings.mlflow)
    except NoChampion as exc:
        _error(str(exc))
        return EXIT_FAILED
    table = Table(title=f"{settings.mlflow.model_name} @{settings.mlflow.champion_alias}: version {loaded.version}")
    table.add_column("field")
    table.add_column("value", justify="right")
    for name, value in loaded.metadata.metrics.items():
        table.add_row(name, f"{value:.4f}")
    table.add_row("target_fpr", str(loaded.metadata.target_fpr))
    table.add_row("features", str(len(loaded.metadata.feature_names)))
    window = loaded.metadata.training_window
    table.add_row("training window", f"{window.start} .. {window.end}" if window else "-")
    table.add_row("run", loaded.run_id or "-")
    _console().print(table)
    return 0


COMMANDS = {
    "train": Command(
        "train on a labelled CSV/Parquet table or on the feature store, register, gate and promote",
        _train,
        _configure_train,
    ),
    "rollback": Command("move the champion alias back to the previous champion", _rollback),
    "champion": Command("print the current champion version and its holdout metrics", _champion),
}


def main(argv: Sequence[str] | None = None) -> int:
    # MLflow's per-file download bars are noise in a CLI's output and logs.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # XGBoost's OpenMP threads spin while idle by default; on a shared or busy machine that makes a
    # two-thread fit ~10x slower than a one-thread fit. Passive waiting costs little. Set before xgboost
    # loads (it is imported lazily by the commands).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return run_app("riskloop-trainer", __doc__ or "", COMMANDS, argv)


if __name__ == "__main__":
    sys.exit(main())
