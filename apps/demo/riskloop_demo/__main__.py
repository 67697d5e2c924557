"""riskloop-demo: the local closed loop on embedded defaults (simulate, features, train, gate)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import timedelta

from rich.console import Console

from riskloop_config import RiskloopSettings
from riskloop_config.cli import Command, run_app
from riskloop_demo.loop import DemoOptions, run_loop


def _configure(parser: argparse.ArgumentParser) -> None:
    defaults = DemoOptions()
    parser.add_argument("--seed", type=int, default=defaults.seed, help="world seed (same seed, same world)")
    parser.add_argument("--users", type=int, default=defaults.users, help="simulated users")
    parser.add_argument("--events", type=int, default=defaults.events, help="simulated events on sale")
    parser.add_argument("--days", type=int, default=defaults.days, help="days of traffic")
    parser.add_argument(
        "--label-maturity-days", type=int, default=defaults.label_maturity.days,
        help="days without a chargeback before a purchase counts as legit",
    )
    parser.add_argument("--trials", type=int, default=defaults.trials, help="Optuna trials")


def _run(settings: RiskloopSettings, args: argparse.Namespace) -> int:
    options = DemoOptions(
        seed=args.seed,
        users=args.users,
        events=args.events,
        days=args.days,
        label_maturity=timedelta(days=args.label_maturity_days),
        trials=args.trials,
    )
    run_loop(settings, options, console=Console())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_app(
        "riskloop-demo", __doc__ or "", {"run": Command("run the local loop end to end", _run, _configure)}, argv
    )


if __name__ == "__main__":
    raise SystemExit(main())
