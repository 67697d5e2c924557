"""The stages of the local loop, each a call into the libraries the deployables use:

simulate a world -> archive raw events as Parquet -> batch features (shared window maths) into the
offline tables and the online store -> point-in-time training set with matured labels only -> Optuna
search, MLflow run, registry gates and the champion alias -> score the newest transactions with the
champion and its online features.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from riskloop_config import RiskloopSettings


@dataclass(frozen=True)
class DemoOptions:
    seed: int = 7
    users: int = 2_000
    events: int = 80
    days: int = 40
    label_maturity: timedelta = timedelta(days=14)
    trials: int = 8


@dataclass
class DemoReport:
    stages: list[tuple[str, float, str]] = field(default_factory=list)

    def table(self) -> Table:
        table = Table(title="Riskloop local loop")
        table.add_column("stage")
        table.add_column("seconds", justify="right")
        table.add_column("result")
        for name, seconds, result in self.stages:
            table.add_row(name, f"{seconds:.1f}", result)
        return table


@contextmanager
def _stage(report: DemoReport, console: Console, name: str) -> Iterator[Callable[[str], None]]:
    outcome: dict[str, str] = {"text": ""}
    started = time.perf_counter()
    with console.status(f"{name} ..."):
        yield lambda text: outcome.__setitem__("text", text)
    seconds = time.perf_counter() - started
    report.stages.append((name, seconds, outcome["text"]))
    console.log(f"[green]done[/] {name} in {seconds:.1f}s: {outcome['text']}")


def run_loop(settings: RiskloopSettings, options: DemoOptions, *, console: Console) -> DemoReport:
    import pyarrow.compute as pc

    from riskloop_features import (
        ID_COLUMNS,
        LABEL,
        TIMESTAMP_FIELD,
        LabelPolicy,
        archive_training_frame,
        feature_definitions,
        feature_store,
        run_feature_engineering,
    )
    from riskloop_simulation import WorldConfig, simulate, write_parquet
    from riskloop_training.pipeline import TrainingRequest, train_and_register
    from riskloop_training.search import SearchConfig

    report = DemoReport()
    for folder in (settings.data_dir, settings.s3.local_root, Path(settings.feast.registry).parent):
        Path(folder).mkdir(parents=True, exist_ok=True)
    raw_root = settings.s3.bucket_uri(settings.s3.raw_events_bucket)

    with _stage(report, console, "simulate world") as done:
        world = WorldConfig(seed=options.seed, n_users=options.users, n_events=options.events, days=options.days)
        data = simulate(world)
        fraud = pc.sum(data.ground_truth.column("is_fraud").cast("int64")).as_py()
        done(
            f"{data.transactions.num_rows:,} transactions, {fraud:,} fraudulent, "
            f"{data.chargebacks.num_rows:,} chargebacks"
        )

    with _stage(report, console, "archive raw events") as done:
        write_parquet(data, raw_root)
        done(f"Parquet under {raw_root}")

    cutoff = world.end
    with _stage(report, console, "batch features + materialize") as done:
        store = feature_store(settings.feast)
        store.apply(feature_definitions(settings.feast.offline_root).objects())
        job = run_feature_engineering(
            raw_root=raw_root, offline_root=settings.feast.offline_root, as_of=cutoff, store=store
        )
        done(_describe(job))

    with _stage(report, console, "point-in-time training set") as done:
        policy = LabelPolicy(cutoff=cutoff, maturity=options.label_maturity)
        frame = archive_training_frame(store, raw_root, policy)
        done(f"{len(frame):,} rows with matured labels, {int(frame[LABEL].sum()):,} fraud")

    with _stage(report, console, "search, register, gate") as done:
        request = TrainingRequest(
            label=LABEL,
            time_column=TIMESTAMP_FIELD,
            drop_columns=ID_COLUMNS,
            search=SearchConfig(trials=options.trials, show_progress=True),
        )
        outcome = train_and_register(frame, request, mlflow_settings=settings.mlflow)
        metrics = outcome.metrics
        done(
            f"version {outcome.version}: pr_auc {metrics.pr_auc:.3f}, roc_auc {metrics.roc_auc:.3f}; "
            f"{'promoted to champion' if outcome.promoted else 'not promoted: ' + outcome.decision.reason}"
        )
    console.print(report.table())
    console.print(f"MLflow runs and plots: mlflow ui --backend-store-uri {settings.mlflow.tracking_uri}")
    return report


def _describe(job: Any) -> str:
    offline = ", ".join(f"{view} {rows:,}" for view, rows in job.offline_rows.items())
    online = sum(job.online_rows.values())
    return f"{job.transactions:,} transactions -> offline rows: {offline}; {online:,} online rows"
