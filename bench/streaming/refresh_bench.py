"""What a stream refresh costs as the history inside the windows grows: the limit on sustained freshness.

`StreamingWindowAggregator` keeps running values and per-tile partial aggregates (windows.py), so a
refresh should cost what changed, not what the windows hold. This loads histories of growing size (the
last 25 h of purchases), then streams --rate purchases/s for --seconds in refreshes every 0.4 s, as the
worker does, on one core. The run crosses a 24 h tile leaving (1/60 of the day's users change at once)
and 1 h tiles leaving each minute; `aging_limit` spreads those as the worker does. The smallest history
is the baseline of the ratios.

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
from rich.progress import Progress
from rich.table import Table

from riskloop_features.streaming import StreamingWindowAggregator
from riskloop_features.transactions import TIMESTAMP
from riskloop_features.windows import USER_REALTIME_WINDOWS

REFRESH = timedelta(seconds=0.4)
_DAY_TILE = timedelta(days=1) / 60
# Half a minute before a 24 h tile's exit, so every run sees one.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOW = _EPOCH + ((datetime.now(UTC) - _EPOCH) // _DAY_TILE + 1) * _DAY_TILE - timedelta(seconds=30)


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


def refresh_seconds(
    history: int, *, rate: int, seconds: float, users: int, aging_limit: int, progress: Progress
) -> tuple[np.ndarray, int, int]:
    """Seconds of each refresh of a stream after `history`; the tiles held and the most rows one returned."""
    aggregator = StreamingWindowAggregator(USER_REALTIME_WINDOWS)
    aggregator.add(purchases(history, seed=1, users=users, span=timedelta(hours=25), end=NOW))
    aggregator.features_as_of(NOW)
    refreshes = int(seconds / REFRESH.total_seconds())
    task = progress.add_task(f"{history:,} events of history", total=refreshes)
    clock, spent, widest = NOW, [], 0
    for k in range(refreshes):
        clock += REFRESH
        fresh = purchases(int(rate * REFRESH.total_seconds()), seed=10 + k, users=users, span=REFRESH, end=clock)
        started = time.perf_counter()
        aggregator.add(fresh)
        rows = aggregator.features_as_of(clock, aging_limit=aging_limit).num_rows
        spent.append(time.perf_counter() - started)
        widest = max(widest, rows)
        progress.advance(task)
    return np.array(spent), aggregator.stats().tiles, widest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--rate", type=int, default=10_000, help="new purchases per second")
    parser.add_argument("--seconds", type=float, default=90.0, help="simulated seconds of stream per size")
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--aging-limit", type=int, default=10_000, help="as the worker's --aging-rows")
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args(argv)
    os.sched_setaffinity(0, {args.core})
    console = Console(width=140)
    table = Table(title=f"refreshes every 0.4 s at {args.rate:,} purchases/s, user view, 1 core")
    for column in ("events of history", "tiles held", "mean ms", "p99 ms", "max ms", "most rows", "x smallest (mean)"):
        table.add_column(column, justify="right")
    baseline = None
    with Progress(console=console, transient=True) as progress:
        for size in args.sizes:
            spent, tiles, widest = refresh_seconds(
                size,
                rate=args.rate,
                seconds=args.seconds,
                users=args.users,
                aging_limit=args.aging_limit,
                progress=progress,
            )
            mean = float(spent.mean())
            baseline = baseline or mean
            table.add_row(
                f"{size:,}",
                f"{tiles:,}",
                f"{1000 * mean:.1f}",
                f"{1000 * np.quantile(spent, 0.99):.1f}",
                f"{1000 * spent.max():.1f}",
                f"{widest:,}",
                f"{mean / baseline:.2f}",
            )
    console.print(table)
    console.print(
        "A refresh adds the new purchases and subtracts the tiles whose exit passed: its cost should not grow with "
        f"the history. Tiles held are at most entities x 61 per window ({args.users:,} users here); 'most rows' "
        f"is the widest refresh, new purchases plus at most {args.aging_limit:,} aged values."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
