"""Write a simulated world to a folder as Parquet and print what it holds.

    python -m riskloop_simulation.cli --seed 7 --users 10000 --events 300 --days 30 --out var/world
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from riskloop_simulation.config import FRAUD_PATTERNS, FRIENDLY_FRAUD, InvalidWorldConfig, WorldConfig
from riskloop_simulation.world import SimulatedData, simulate
from riskloop_simulation.writer import write_parquet


def _parser() -> argparse.ArgumentParser:
    defaults = WorldConfig()
    parser = argparse.ArgumentParser(prog="riskloop-simulation", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--users", type=int, default=defaults.n_users)
    parser.add_argument("--events", type=int, default=defaults.n_events)
    parser.add_argument("--promoters", type=int, default=None, help="default: min(40, events)")
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument("--fraud-rate", type=float, default=defaults.fraud_rate)
    parser.add_argument("--drift", type=float, default=defaults.drift)
    parser.add_argument("--out", required=True, help="output folder (created)")
    return parser


def summary_rows(data: SimulatedData) -> list[tuple[str, str]]:
    """What a world holds, as (what, how many) rows."""
    n = data.transactions.num_rows
    fraud = pc.sum(data.ground_truth.column("is_fraud").cast(pa.int64())).as_py() or 0
    rows = [
        ("transactions", f"{n:,}"),
        ("fraud share", f"{fraud / n:.2%}" if n else "n/a"),
        ("chargebacks", f"{data.chargebacks.num_rows:,}"),
        ("events", f"{data.events.num_rows:,}"),
    ]
    patterns = data.ground_truth.column("fraud_pattern")
    reasons = data.chargebacks.column("reason")
    for pattern in FRAUD_PATTERNS:
        count = pc.sum(pc.equal(patterns, pattern).cast(pa.int64())).as_py() or 0
        charged = pc.sum(pc.equal(reasons, pattern).cast(pa.int64())).as_py() or 0
        rows.append((f"  {pattern}", f"{count:,} ({charged:,} charged back)"))
    friendly = pc.sum(pc.equal(reasons, FRIENDLY_FRAUD).cast(pa.int64())).as_py() or 0
    rows.append((f"  {FRIENDLY_FRAUD} chargebacks", f"{friendly:,}"))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    try:
        config = WorldConfig(
            seed=args.seed,
            n_users=args.users,
            n_events=args.events,
            n_promoters=args.promoters if args.promoters is not None else min(40, args.events),
            days=args.days,
            fraud_rate=args.fraud_rate,
            drift=args.drift,
        )
    except InvalidWorldConfig as exc:
        console.print(f"[red]{exc}[/red]")
        return 2

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("simulating days", total=config.days)
        data = simulate(config, progress=lambda done, total: progress.update(task, completed=done))
        progress.add_task(f"writing {args.out}", total=None)
        write_parquet(data, args.out)

    table = Table(title=f"world seed={config.seed} -> {args.out}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in summary_rows(data):
        table.add_row(what, count)
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
