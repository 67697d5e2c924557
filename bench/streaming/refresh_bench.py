"""What one stream refresh costs as the retained events grow: the limit on sustained freshness.

`StreamingWindowAggregator` keeps every event that can still change a value (24 h for the user view) and
recomputes each changed entity from its retained events. This times `add` + `features_as_of` for a
micro-batch of new purchases (default 4,000: 0.4 s at 10k/s) against buffers of growing size, on one
core, with the smallest buffer as the baseline of the ratios.

    python bench/streaming/refresh_bench.py --sizes 100000 1000000 4000000
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from riskloop_features.streaming import StreamingWindowAggregator
from riskloop_features.transactions import TIMESTAMP
from riskloop_features.windows import USER_REALTIME_WINDOWS

NOW = datetime.now(UTC).replace(microsecond=0)


def purchases(n: int, *, seed: int, users: int, span: timedelta, end: datetime) -> pa.Table:
    """`n` purchases by `users` users at uniform moments within `span` before `end`."""
    rng = np.random.default_rng(seed)
    end_us = np.datetime64(end.replace(tzinfo=None), "us")
    moments = end_us - (rng.uniform(0, span.total_seconds(), n) * 1e6).astype("timedelta64[us]")
    return pa.table(
        {
            "user_id": np.char.add("u", rng.integers(0, users, n).astype(str)),
            "event_timestamp": pa.array(moments, TIMESTAMP),
            "amount": rng.uniform(5, 500, n),
            "event_id": np.char.add("e", rng.integers(0, 500, n).astype(str)),
        }
    )


def refresh_seconds(retained: int, *, batch: int, users: int, refreshes: int) -> float:
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS)
    aggregator.add(purchases(retained, seed=1, users=users, span=timedelta(hours=20), end=NOW))
    aggregator.features_as_of(NOW)
    clock, spent = NOW, 0.0
    for k in range(refreshes):
        clock += timedelta(seconds=0.4)
        fresh = purchases(batch, seed=10 + k, users=users, span=timedelta(seconds=0.4), end=clock)
        started = time.perf_counter()
        aggregator.add(fresh)
        aggregator.features_as_of(clock)
        spent += time.perf_counter() - started
    return spent / refreshes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--batch", type=int, default=4_000, help="new purchases per refresh")
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.core})
    console = Console(width=140)
    table = Table(title=f"one refresh of {args.batch:,} new purchases, user view, 1 core")
    for column in ("retained events", "ms per refresh", "x smallest", "ns per retained event"):
        table.add_column(column, justify="right")
    baseline = None
    for size in args.sizes:
        with console.status(f"{size:,} retained events..."):
            seconds = refresh_seconds(size, batch=args.batch, users=args.users, refreshes=args.refreshes)
        baseline = baseline or seconds
        table.add_row(f"{size:,}", f"{1000 * seconds:.1f}", f"{seconds / baseline:.1f}", f"{1e9 * seconds / size:.0f}")
    console.print(table)
    console.print(
        "Retained events = the last 24 h of purchases: at 10k/s that is 864M. Cost that grows with them is why "
        "sustained freshness needs pre-aggregated tiles (see the stream worker's CHANGELOG)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
