"""How fast the shared window maths computes the real-time feature tables, against a naive pandas baseline.

Generates N synthetic purchases with numpy (default 10M: 200k users, 5k events, 30 days), times
`window_feature_changes` for user_realtime_fraud_features and event_realtime_metrics (the exact function
the batch job and the stream aggregator call), then a per-user pandas `groupby().rolling()` baseline on a
subset, extrapolated linearly to N and labelled as such.

    python bench/features/batch_aggregation_bench.py --events 1000000
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from riskloop_features import EVENT_REALTIME_WINDOWS, USER_REALTIME_WINDOWS, window_feature_changes
from riskloop_features.transactions import TIMESTAMP

START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 30


@dataclass(frozen=True)
class Timing:
    label: str
    events: int
    seconds: float
    output_rows: int
    cpu_seconds: float
    extrapolated: bool = False

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds


def synthetic_purchases(n: int, *, users: int, events: int, seed: int = 42) -> tuple[pa.Table, pa.Table]:
    """(purchases, catalog): Zipf-ish user activity, uniform times over DAYS, repeated identical seconds."""
    rng = np.random.default_rng(seed)
    start_us = int(START.timestamp()) * 1_000_000
    # Whole seconds: many purchases share a timestamp, as with real second-resolution sources.
    ts = start_us + rng.integers(0, DAYS * 86_400, n, dtype=np.int64) * 1_000_000
    user = np.minimum(rng.zipf(1.3, n), users) - 1
    user = (user * 7919 + rng.integers(0, users, n) * (user >= 50)) % users  # a heavy head, a long tail
    event = rng.integers(0, events, n)
    tickets = rng.integers(1, 5, n).astype(np.int32)
    amount = np.round(tickets * rng.uniform(20, 200, n), 2)
    purchases = pa.table(
        {
            "user_id": pa.array([f"u{i}" for i in range(users)]).take(pa.array(user)),
            "event_timestamp": pa.array(ts, pa.int64()).cast(TIMESTAMP),
            "event_id": pa.array([f"e{i}" for i in range(events)]).take(pa.array(event)),
            "amount": amount,
            "tickets": tickets,
        }
    )
    catalog = pa.table(
        {
            "event_id": pa.array([f"e{i}" for i in range(events)]),
            "capacity": pa.array(rng.integers(500, 50_000, events), pa.int64()),
        }
    )
    return purchases, catalog


def time_shared(purchases: pa.Table, catalog: pa.Table) -> list[Timing]:
    timings = []
    for spec in (USER_REALTIME_WINDOWS, EVENT_REALTIME_WINDOWS):
        began, cpu = time.perf_counter(), time.process_time()
        out = window_feature_changes(purchases, spec, catalog=catalog if spec.uses_catalog else None)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        label = f"shared window_feature_changes: {spec.view}"
        timings.append(Timing(label, purchases.num_rows, seconds, out.num_rows, cpu))
    return timings


def time_pandas_baseline(purchases: pa.Table, subset: int, total: int) -> Timing:
    """The naive way: per-user time-based rolling windows in pandas (1h count/sum, 24h mean). It is not
    even the same feature (rolling windows include the current row and miss values at expiry times)."""
    frame = purchases.slice(0, subset).to_pandas()
    began, cpu = time.perf_counter(), time.process_time()
    frame = frame.sort_values(["user_id", "event_timestamp"]).set_index("event_timestamp")
    grouped = frame.groupby("user_id")["amount"]
    hour = grouped.rolling("1h")
    _count = hour.count()
    _sum = grouped.rolling("1h").sum()
    _mean = grouped.rolling("24h").mean()
    _distinct = frame.groupby("user_id")["event_id"].apply(
        lambda s: pd.Series(pd.factorize(s)[0], index=s.index).rolling("1h").apply(lambda w: len(set(w)), raw=True)
    )
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return Timing(
        f"pandas groupby().rolling(), {subset:,} events, extrapolated x{total / subset:.0f}",
        total,
        seconds * total / subset,
        len(_count),
        cpu * total / subset,
        extrapolated=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="synthetic purchases to aggregate")
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--catalog-events", type=int, default=5_000)
    parser.add_argument("--baseline-events", type=int, default=1_000_000, help="subset the pandas baseline runs on")
    args = parser.parse_args()
    console = Console(width=160)

    began = time.perf_counter()
    purchases, catalog = synthetic_purchases(args.events, users=args.users, events=args.catalog_events)
    console.print(f"generated {purchases.num_rows:,} purchases in {time.perf_counter() - began:.1f}s")

    shared = time_shared(purchases, catalog)
    baseline = time_pandas_baseline(purchases, min(args.baseline_events, args.events), args.events)

    table = Table(title=f"Window features over {args.events:,} purchases ({args.users:,} users, {DAYS} days)")
    for column in ("computation", "wall seconds", "CPU seconds (all threads)", "events/s (wall)", "output rows"):
        table.add_column(column, justify="right" if column != "computation" else "left")
    for t in (*shared, baseline):
        seconds = f"{t.seconds:,.1f}" + (" (extrapolated)" if t.extrapolated else "")
        table.add_row(t.label, seconds, f"{t.cpu_seconds:,.1f}", f"{t.events_per_second:,.0f}", f"{t.output_rows:,}")
    console.print(table)
    # Wall time depends on what else runs; CPU time over the machine's cores bounds the uncontended wall time.
    console.print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} during the run")
    user = shared[0]
    console.print(
        f"user_realtime_fraud_features: shared windows {user.seconds:.1f}s"
        f" vs pandas {baseline.seconds:.1f}s (extrapolated): "
        f"{baseline.seconds / user.seconds:.1f}x faster; goal <= 60 s for 10M: "
        + (
            "judged at --events 10000000 only"
            if args.events < 10_000_000
            else ("[green]met[/green]" if user.seconds <= 60 else "[red]missed[/red]")
        )
    )


if __name__ == "__main__":
    main()
